// npx tierscope <command>: the platform's command line.
//   ingest --stream S (--url URL --key KEY | --data-dir DIR) [--batch-rows N] FILE...
//   report --year Y --format F --out DIR [--unit ID] (--url URL --key KEY | --data-dir DIR)
//   calendar load FILE [--dry-run] | calendar show YEAR (--url URL --key KEY | --data-dir DIR)
//   backup --out DIR [--base DIR] (--url URL --key KEY | --data-dir DIR); restore --from DIR --data-dir NEW
//   schema [--cluster NAME] [--database DB] [--copy-from DB]
import { parseArgs } from 'node:util'
import { bulkIngest } from './ingest/bulk.ts'
import { CALENDAR_USAGE, calendarCommand, isStreamName, STREAM_NAMES } from './ingest/index.ts'
import { BACKUP_USAGE, backupCommand, restoreCommand, SCHEMA_USAGE, schemaCommand, settingsFromEnv } from './warehouse/index.ts'
import { REPORT_USAGE, reportCommand, reportOptions } from './reports/index.ts'

const usage = `usage:
  tierscope ingest --stream <${STREAM_NAMES.join('|')}> FILE...
      [--url http://host:3000 --key <source or admin key>]   send through a running server's API
      [--data-dir DIR]                                        or write into a warehouse no server holds
                                                              (default: TIERSCOPE_DATA_DIR or ./data)
      [--batch-rows 100000] [--no-progress]
  Files: .ndjson/.jsonl and .csv (also gzip, .gz), .arrow (Arrow IPC), .parquet.
  Safe to interrupt (Ctrl-C stops after the body in flight) and to rerun: stored rows count as duplicates.
${REPORT_USAGE}
${CALENDAR_USAGE}
${BACKUP_USAGE}
${SCHEMA_USAGE}
  When the State Council publishes next year's arrangement: save the notice's text as a file and run
  \`tierscope calendar load notice.txt --dry-run\`, check the dates it lists, then run it without --dry-run.`

async function ingestCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stream: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      'data-dir': { type: 'string' },
      'batch-rows': { type: 'string', default: '100000' },
      'no-progress': { type: 'boolean', default: false },
    },
  })
  const stream = values.stream
  if (!stream || !isStreamName(stream)) throw new Error(`--stream must be one of ${STREAM_NAMES.join(', ')}`)
  if (positionals.length === 0) throw new Error('name at least one FILE to load')
  const batchRows = Number(values['batch-rows'])
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error('--batch-rows must be a positive whole number')
  if (values.url && !values.key) throw new Error('--url needs --key (a source or admin key)')
  const settings = settingsFromEnv()
  let stop = false
  process.on('SIGINT', () => {
    if (stop) process.exit(130)
    stop = true
    console.error('\nStopping after the body in flight… (Ctrl-C again to quit at once)')
  })
  const summary = await bulkIngest({
    stream,
    files: positionals,
    target: values.url ? { url: values.url, key: values.key! } : { dataDir: values['data-dir'] ?? settings.dataDir, timezone: settings.timezone },
    batchRows,
    progress: !values['no-progress'],
    stopRequested: () => stop,
  })
  console.log(`${summary.stopped ? 'Stopped' : 'Done'}: ${summary.received} rows in ${summary.bodies} bodies from ${summary.files} file(s): ` +
    `${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.rejected} rejected.`)
  for (const e of summary.firstErrors) console.log(`  ${e.file}: ${e.message}`)
  if (summary.rejected > summary.firstErrors.length) console.log(`  … all rejected rows are kept in the quarantine (GET /api/v1/ingest/quarantine).`)
  if (summary.stopped) console.log('Run the same command again to finish: rows already stored count as duplicates.')
  return summary.stopped ? 130 : summary.rejected > 0 ? 2 : 0
}

async function reportCommandLine(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      year: { type: 'string' },
      unit: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      version: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      'data-dir': { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
    },
  })
  await reportCommand(reportOptions(values))
  return 0
}

async function calendarCommandLine(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      url: { type: 'string' },
      key: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  })
  const [action, arg] = positionals
  if ((action !== 'load' && action !== 'show') || !arg || positionals.length > 2) throw new Error(`usage:\n${CALENDAR_USAGE}`)
  if (values.url && !values.key) throw new Error('--url needs --key (an admin key)')
  const year = action === 'show' ? Number(arg) : undefined
  if (year !== undefined && !(Number.isInteger(year) && year >= 1901 && year <= 2099)) throw new Error(`calendar show: expected a year, got ${JSON.stringify(arg)}`)
  const settings = settingsFromEnv()
  return calendarCommand({
    action, file: action === 'load' ? arg : undefined, year, dryRun: values['dry-run'],
    target: values.url ? { url: values.url, key: values.key! } : { dataDir: values['data-dir'] ?? settings.dataDir, timezone: settings.timezone },
  })
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'ingest':
      return ingestCommand(rest)
    case 'report':
      return reportCommandLine(rest)
    case 'calendar':
      return calendarCommandLine(rest)
    case 'backup':
      return backupCommand(rest)
    case 'restore':
      return restoreCommand(rest)
    case 'schema':
      return schemaCommand(rest)
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage)
      return command === undefined ? 1 : 0
    default:
      console.error(`unknown command ${JSON.stringify(command)}\n${usage}`)
      return 1
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`tierscope: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  },
)
