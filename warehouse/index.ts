// warehouse: the ClickHouse connection, schema, reference data and the case state the clock is
// computed from. Everything else reaches ClickHouse through what this file exports. openPlatform
// opens auth's stores (keys, users, the audit log: auth/) on the same connection.
import type { Settings } from './config.ts'
import { openWarehouse, type Warehouse } from './client.ts'
import { Calendar } from './calendar.ts'
import { ReferenceData } from './reference.ts'
import { CaseStore } from './cases.ts'
import { QueueStore } from './queue.ts'
import { RatingStore } from './ratings.ts'
import { ChangeLog } from './changes.ts'
import { SettingsStore } from './settings.ts'
import { DerivedRefresh } from './derived.ts'
import { SharedAnswers } from './answers.ts'
import { SharedStateWatch } from './shared.ts'
import { openAuth, DEFAULT_SESSION_POLICY, type AuditLog, type KeyStore, type SessionPolicy, type UserStore } from '../auth/index.ts'

export { settingsFromEnv, assertTimeZone, type Settings } from './config.ts'
export { openWarehouse, queryRows, BACKGROUND_QUERY_PREFIX, DataDirLockedError, type Warehouse, type WarehouseSettings, type OpenOptions } from './client.ts'
export { Calendar, CalendarMissingError, PartialYearError, arrangementYear, officialCalendarFromPackage, type CalendarDay, type CalendarYear, type CalendarChange, type CalendarStatus } from './calendar.ts'
export { provisionalYear, statutoryHolidays } from './provisional.ts'
export { ReferenceData, UNIT_KINDS, ITEM_CATEGORIES, type Unit, type Item, type Target } from './reference.ts'
export { CALENDAR_WITH, W as workingDayOrdinalSql, workingDayOf, provisionalBetween, calendarParams, CALENDAR_GAP_MARKER } from './clock.ts'
export { SettingsStore, DEFAULT_SETTINGS, limitSchedule, longestLimit, TIER_LIMITS, type TunableSettings, type SettingsChange, type LimitVersion, type TierLimit } from './settings.ts'
export { QueueStore } from './queue.ts'
export { RatingStore, countedRatingsSql } from './ratings.ts'
export { ChangeLog, ANY_DAY } from './changes.ts'
export { CaseStore, CASE_STATUSES, DAILY_MEASURE_SQL, type DailyMeasure, type DailyKind, dailyLastDay, TO_HALL_SQL, type CaseStatus, type CaseRow, type CaseEvent, type CaseFilter } from './cases.ts'
export { sqlString } from './sql.ts'
export { toRfc3339, localDate, epochSeconds, nowSeconds, wallClockToInstant, offsetMinutes, parseTimestamp } from './time.ts'
export { HttpError, sendError } from './http.ts'
export { backupWarehouse, restoreWarehouse, readManifest, lastBackupAt, BackupError, RELEASE_SCHEMA_VERSION, MANIFEST_FILE, type BackupManifest, type BackupProgress } from './backup.ts'
export { backupRoutes } from './backup-routes.ts'
export { StartupError, startupMessage, serverProblem, dataDirProblem } from './startup.ts'
export { derivedBacklog, type DerivedBacklog } from './backlog.ts'
export { DerivedRefresh, DerivedStateError, type DerivedKind } from './derived.ts'
export { SharedAnswers, COMPARED_MOMENTS, withoutMoment } from './answers.ts'
export { SharedStateWatch, SHARED_SWEEP_MS } from './shared.ts'
export { backupCommand, restoreCommand, BACKUP_USAGE } from './backup-cli.ts'
export { readSchema, renderSchema, schemaCommand, SCHEMA_USAGE, PLACEMENT, shardingKey, type Schema, type SchemaOptions, type SchemaStatement, type Placement } from './cluster-schema.ts'
export { warehouseRoutes, asOfParam, calendarErrorToHttp } from './routes.ts'
export { applyMigrations, type Migration } from './migrations.ts'

/** The opened warehouse with its stores, loaded and repaired: what the rest of the platform uses. */
export interface Platform {
  warehouse: Warehouse
  calendar: Calendar
  reference: ReferenceData
  keys: KeyStore
  cases: CaseStore
  queue: QueueStore
  ratings: RatingStore
  changes: ChangeLog
  /** Brings the derived state up to date after receipts; every read of it waits for `settled()`. */
  derived: DerivedRefresh
  /** Every read of the derived state goes through it: waits for the refresher, shares equal questions' answers. */
  answers: SharedAnswers
  settings: SettingsStore
  users: UserStore
  audit: AuditLog
  close(): Promise<void>
}

export async function openPlatform(
  config: Pick<Settings, 'dataDir' | 'timezone' | 'clickhouse'> & Partial<Pick<Settings, 'sessionSecret' | 'sessionHours' | 'backupDir'>>,
  sessionPolicy: Partial<SessionPolicy> = {},
): Promise<Platform> {
  const warehouse = await openWarehouse(config)
  try {
    const calendar = new Calendar(warehouse)
    const reference = new ReferenceData(warehouse)
    const settings = new SettingsStore(warehouse)
    const cases = new CaseStore(warehouse, calendar, reference, () => settings.warnings(reference.units.values()))
    const queue = new QueueStore(warehouse)
    const ratings = new RatingStore(warehouse)
    const changes = new ChangeLog(warehouse)
    const ttlMs = config.sessionHours ? config.sessionHours * 3600_000 : DEFAULT_SESSION_POLICY.ttlMs
    await settings.load()
    await calendar.load()
    await reference.load()
    const { keys, users, audit } = await openAuth(warehouse, reference, { sessionSecret: config.sessionSecret, sessionPolicy: { ttlMs, ...sessionPolicy } })
    await cases.repair()
    await queue.repair()
    await ratings.repair()
    await changes.endInterrupted()
    const derived = new DerivedRefresh(warehouse, { cases, queue, ratings }, changes)
    const answers = new SharedAnswers(warehouse, derived)
    cases.shareRead = (question, read) => answers.answer(question, read)
    cases.keepRead = (question, asOfMs, read) => answers.acrossMoments(question, asOfMs, read)
    // (targets are no derived state: their reads do not wait for the refresher)
    reference.shareRead = (question, read) => answers.answer(question, read, { derived: false })
    // on a server other processes write the small tables too: read again when they do
    const reloadReference = () => reference.load()
    const watch = warehouse.kind === 'server'
      ? new SharedStateWatch(warehouse, [
        { table: 'units', reload: reloadReference },
        { table: 'items', reload: reloadReference },
        { table: 'calendar', reload: () => calendar.load() },
        { table: 'settings', reload: () => settings.load() },
      ])
      : undefined
    watch?.start()
    const close = async () => {
      watch?.stop()
      await derived.close()
      await warehouse.close()
    }
    return { warehouse, calendar, reference, keys, cases, queue, ratings, changes, derived, answers, settings, users, audit, close }
  } catch (err) {
    await warehouse.close()
    throw err
  }
}
