// The contract's field specs compiled to ClickHouse SQL, so the engine validates and normalises
// rows itself, at its own speed: JavaScript never touches a row of a stream body. The checks and
// messages mirror validate.ts (which validates reference data and is this compiler's test oracle).
import type { FieldSpec, FieldType, StreamSpec } from './contract.ts'
import { expectedText, periodText, tooLargeCode, tooLargeText, unitInactiveText } from './validate.ts'
import { sqlString } from '../warehouse/index.ts'


const RFC3339_SQL = sqlString(
  '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[Tt ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?([Zz]|[+-]([01]\\d|2[0-3]):?[0-5]\\d)?$',
)

/** What was received, as the message shows it: the JSON text, cut at 80 characters. */
const got = (raw: string) => `if(lengthUTF8(${raw}) > 80, concat(substringUTF8(${raw}, 1, 77), '…'), ${raw})`

interface FieldSql {
  /** The normalised value (Nullable) for the warehouse row. */
  value: string
  /** True when the field has any error: cheap, no message built (most rows are fine). */
  bad: string
  /** Error tuples (field, code, message) this field can raise; '' code when none. */
  error: string
}

function fieldSql(f: FieldSpec, tz: string, stream: string): FieldSql {
  const raw = `r_${f.name}`
  const str = `s_${f.name}`
  const present = `(${raw} != '' AND ${raw} != 'null')`
  const isString = `startsWith(${raw}, '"')`
  const at = (code: string, message: string) => `(${sqlString(f.name)}, ${sqlString(code)}, ${message})`
  const rowField = `concat('row ', toString(row), ', field ${f.name}: `
  const wrong = (code: string, detail = "''") =>
    at(code, `${rowField}expected ${expectedText(f.type).replace(/'/g, "\\'")}, got ', ${got(raw)}, ${detail})`)
  const required =
    f.required === true ? 'true' : f.required === false ? 'false' : `ifNull(s_${f.required.when}, '') IN (${f.required.in.map(sqlString).join(', ')})`
  const requiredText = typeof f.required === 'boolean' ? 'required' : `required when ${f.required.when} is ${f.required.in.join(' or ')}`
  const missing = at('missing_field', `concat('row ', toString(row), ': field ${f.name} is ${requiredText}: expected ${expectedText(f.type).replace(/'/g, "\\'")}')`)

  // [condition, error] pairs checked in order when the field is present
  const checks: Array<[string, string]> = []
  let value: string
  const t: FieldType = f.type
  switch (t.kind) {
    case 'id':
    case 'string':
      checks.push([`NOT ${isString}`, wrong('invalid_type')])
      if (t.kind === 'id') checks.push([`${str} = ''`, wrong('invalid_value', "' (it is empty)'")])
      checks.push([`lengthUTF8(${str}) > ${t.max}`, wrong('too_long', `concat(' (it has ', toString(lengthUTF8(${str})), ' characters)')`)])
      value = str
      break
    case 'enum':
      checks.push([`NOT ${isString}`, wrong('invalid_type')], [`${str} NOT IN (${t.values.map(sqlString).join(', ')})`, wrong('invalid_value')])
      value = str
      break
    case 'timestamp':
      checks.push(
        [`NOT ${isString}`, wrong('invalid_type')],
        [`NOT match(${str}, ${RFC3339_SQL}) OR ts_${f.name} IS NULL`, wrong('invalid_timestamp')],
      )
      if (f.notFuture) {
        checks.push([
          `ts_${f.name} > {now:DateTime64(3, '${tz}')} + INTERVAL 24 HOUR`,
          at('future_timestamp', `concat('row ', toString(row), ', field ${f.name}: ', ${got(raw)}, ' is more than 24 hours in the future; expected a moment that has happened')`),
        ])
      }
      value = `ts_${f.name}`
      break
    case 'boolean':
      checks.push([`${raw} NOT IN ('true', 'false')`, wrong('invalid_type')])
      value = `${raw} = 'true'`
      break
    case 'integer':
      checks.push([`NOT match(${raw}, '^-?[0-9]+(\\\\.0+)?$')`, wrong('invalid_type')], [`NOT (toFloat64OrZero(${raw}) BETWEEN ${t.min} AND ${t.max})`, wrong('out_of_range')])
      value = `toInt64OrNull(splitByChar('.', ${raw})[1])`
      break
    case 'number':
      checks.push([`${isString} OR toFloat64OrNull(${raw}) IS NULL OR NOT isFinite(toFloat64OrNull(${raw}))`, wrong('invalid_type')], [`toFloat64OrNull(${raw}) < ${t.min}`, wrong('out_of_range')])
      value = `toFloat64OrNull(${raw})`
      break
    case 'decimal':
      checks.push(
        [`NOT ${isString} AND toFloat64OrNull(${raw}) IS NULL`, wrong('invalid_type')],
        [`NOT match(trimBoth(${str}), '^-?[0-9]{1,16}(\\\\.[0-9]+)?$')`, wrong('invalid_value')],
        [`length(splitByChar('.', trimBoth(${str}))[2]) > ${t.scale}`, wrong('invalid_value', `concat(' (it has ', toString(length(splitByChar('.', trimBoth(${str}))[2])), ' decimal places)')`)],
      )
      value = `toDecimal128OrNull(trimBoth(${str}), ${t.scale})`
      break
    case 'month':
      checks.push([`NOT ${isString}`, wrong('invalid_type')], [`NOT match(${str}, '^[0-9]{4}-(0[1-9]|1[0-2])$')`, wrong('invalid_value')])
      value = `toDateOrNull(concat(${str}, '-01'))`
      break
    case 'object':
      checks.push([`NOT startsWith(${raw}, '{')`, wrong('invalid_type')])
      if (t.maxBytes !== undefined) {
        // the JSON text as sent, which is what is stored
        const text = tooLargeText(f.name, t.maxBytes)
        checks.push([`length(${raw}) > ${t.maxBytes}`, at(tooLargeCode(f.name), `concat('row ', toString(row), ', field ${f.name}: ', ${sqlString(text.expected)}, ', got ', toString(length(${raw})), ' bytes', ${sqlString(text.advice)})`)])
      }
      value = raw
      break
    case 'date':
      checks.push([`NOT ${isString}`, wrong('invalid_type')], [`toDateOrNull(${str}) IS NULL OR NOT match(${str}, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')`, wrong('invalid_value')])
      value = `toDateOrNull(${str})`
      break
    case 'integer_list':
      throw new Error(`${stream}.${f.name}: list fields are not used by streams`)
  }
  if (f.references) {
    const param = f.references === 'unit' ? '(SELECT arrayJoin({known_units:Array(String)}))' : '(SELECT arrayJoin({known_items:Array(String)}))'
    const what = f.references === 'unit' ? 'unit_id (see the units reference data)' : 'item_code (see the items reference data)'
    checks.push([`${str} NOT IN ${param}`, at(f.references === 'unit' ? 'unknown_unit' : 'unknown_item', `${rowField}expected a known ${what}, got ', ${got(raw)})`)])
  }
  const chain = checks.map(([cond, err]) => `${cond}, ${err}`).join(',\n      ')
  const error = `multiIf(NOT ${present}, if(${required}, ${missing}, ('', '', '')),\n      ${chain},\n      ('', '', ''))`
  const bad = `if(${present}, ${checks.map(([cond]) => `(${cond})`).join(' OR ')}, ${required})`
  return { value: `if(${present}, ${value}, NULL)`, error, bad }
}

/**
 * The unit_inactive rule (contract.ts activeUnit) as SQL: a row whose unit and date are valid and
 * whose date lies outside the unit's active period ({unit_from}/{unit_to}, see referenceParams).
 */
function activeUnitSql(spec: StreamSpec): { bad: string; error: string } {
  const rule = spec.activeUnit
  if (!rule) return { bad: 'false', error: "('', '', '')" }
  const month = spec.fields.find((f) => f.name === rule.date)!.type.kind === 'month'
  const unit = `s_${rule.unit}`
  const present = (f: string) => `(r_${f} != '' AND r_${f} != 'null')`
  // a timestamp: its day in the district's zone; a month (its first day): the whole month overlaps
  const first = month ? `v_${rule.date}` : `toDate(ts_${rule.date})`
  const last = month ? `toLastDayOfMonth(v_${rule.date})` : first
  const dated = month ? `substring(toString(v_${rule.date}), 1, 7)` : `toString(toDate(ts_${rule.date}))`
  const bad = `(${present(rule.unit)} AND ${present(rule.date)} AND NOT b_${rule.unit} AND NOT b_${rule.date}
      AND ifNull((mapContains({unit_from:Map(String, Date)}, ${unit}) AND ${last} < {unit_from:Map(String, Date)}[${unit}])
        OR (mapContains({unit_to:Map(String, Date)}, ${unit}) AND ${first} > {unit_to:Map(String, Date)}[${unit}]), false))`
  const message = `concat('row ', toString(row), ', field ${rule.unit}: unit ', ${got(`r_${rule.unit}`)}, ' is in service ', {unit_periods:Map(String, String)}[${unit}],
        ${sqlString(unitInactiveText.dated)}, ${dated}, ${sqlString(unitInactiveText.expected(rule.date))})`
  return { bad, error: `if(b_row_rule, (${sqlString(rule.unit)}, 'unit_inactive', ${message}), ('', '', ''))` }
}

/** The reference data a compiled stream binds: known units and items, and the units' active periods. */
export function referenceParams(
  units: Iterable<{ unit_id: string; active_from: string | null; active_to: string | null }>,
  items: Iterable<string>,
): { known_units: string[]; known_items: string[]; unit_from: Record<string, string>; unit_to: Record<string, string>; unit_periods: Record<string, string> } {
  const known_units: string[] = []
  const unit_from: Record<string, string> = {}
  const unit_to: Record<string, string> = {}
  const unit_periods: Record<string, string> = {}
  for (const u of units) {
    known_units.push(u.unit_id)
    if (u.active_from) unit_from[u.unit_id] = u.active_from
    if (u.active_to) unit_to[u.unit_id] = u.active_to
    if (u.active_from || u.active_to) unit_periods[u.unit_id] = periodText({ from: u.active_from, to: u.active_to })
  }
  return { known_units, known_items: [...items], unit_from, unit_to, unit_periods }
}

export interface CompiledStream {
  /** Output columns of the validation select, besides row/line/ok/errors/record_id/unit/content_hash. */
  columns: string[]
  /**
   * SELECT row, line, ok, errors, the stream's columns (normalised), record_id, unit, content_hash
   * FROM a relation `(row UInt64, line String)` given as `source`.
   */
  select(source: string): string
  /**
   * The valid rows of `source` only, as `select` has them but without line, ok and errors: no
   * message is part of the statement (9 KB of SQL instead of 25), which the engine analyses and
   * runs in about a third less time (a body of one case event staged in 71–78 ms instead of
   * 102–131, one of 100,000 in 171–188 ms instead of 208–250; 4 Dec).
   */
  stage(source: string): string
  /** SETTINGS clause the query must run with. */
  settings: string
}

/** A typed column of a columnar body (Arrow), as the source relation names it: `c_<field>`. */
export interface TypedColumn {
  name: string
  kind: 'text' | 'number' | 'bool' | 'timestamp'
}

/**
 * Compiles a stream's spec; the query binds {now:DateTime64} and the reference data of
 * referenceParams ({known_units}, {known_items}, {unit_from}, {unit_to}, {unit_periods}).
 * Without `typed`, the source is `(row, line)` with one JSON object per line. With `typed`, the
 * source has typed columns `c_<field>` (their types already checked against the contract) and a
 * `line` of JSON text that is computed only for rejected rows, whose messages are then built
 * from it by the JSON form; valid rows never pass through JSON at all.
 */
export function compileStream(spec: StreamSpec, tz: string, typed?: TypedColumn[]): CompiledStream {
  const fields = spec.fields.map((f) => ({ f, sql: fieldSql(f, tz, spec.name) }))
  const known = spec.fields.map((f) => sqlString(f.name)).join(', ')
  const attrsHint = spec.fields.some((f) => f.name === 'attrs') ? 'put extra data in attrs' : 'leave it out'

  // per field: its raw JSON text r_, string value s_ and parsed timestamp ts_; from one parse of
  // the line, or straight from a typed column
  const typedBy = new Map((typed ?? []).map((c) => [c.name, c.kind]))
  const extract = spec.fields.flatMap((f) => {
    const r = `r_${f.name}`
    const c = `c_${f.name}`
    if (!typed) {
      const out = [`m[${sqlString(f.name)}] AS ${r}`, `if(startsWith(${r}, '"'), JSONExtractString(${r}), ${r}) AS s_${f.name}`]
      if (f.type.kind === 'timestamp') out.push(`parseDateTime64BestEffortOrNull(s_${f.name}, 3, '${tz}') AS ts_${f.name}`)
      return out
    }
    const kind = typedBy.get(f.name)
    const out: string[] = []
    if (kind === undefined) out.push(`'' AS ${r}`, `'' AS s_${f.name}`)
    else if (kind === 'text') {
      const quoted = f.type.kind === 'object' ? `if(isValidJSON(${c}) AND startsWith(trimLeft(${c}), '{'), ${c}, toJSONString(${c}))` : `concat('"', ${c}, '"')`
      out.push(`if(${c} IS NULL, '', ${quoted}) AS ${r}`, `ifNull(toString(${c}), '') AS s_${f.name}`)
    } else if (kind === 'number') out.push(`if(${c} IS NULL, '', toString(${c})) AS ${r}`, `${r} AS s_${f.name}`)
    else if (kind === 'bool') out.push(`if(${c} IS NULL, '', if(${c}, 'true', 'false')) AS ${r}`, `${r} AS s_${f.name}`)
    else out.push(`if(${c} IS NULL, '', formatDateTime(${c}, '%Y-%m-%dT%H:%i:%SZ', 'UTC')) AS s_${f.name}`, `if(${c} IS NULL, '', concat('"', s_${f.name}, '"')) AS ${r}`)
    if (f.type.kind === 'timestamp') {
      out.push(kind === 'timestamp' ? `toDateTime64(${c}, 3, '${tz}') AS ts_${f.name}` : `parseDateTime64BestEffortOrNull(s_${f.name}, 3, '${tz}') AS ts_${f.name}`)
    }
    return out
  })

  const normalised = new Map(spec.fields.map((f) => [f.name, `v_${f.name}`]))
  // stream-specific normalisation, the same as validate.ts normaliseStream
  if (spec.name === 'case-events') normalised.set('attrs', `ifNull(v_attrs, '')`)
  if (spec.name === 'evaluations') {
    normalised.set('rating', `if(ifNull(v_rating_scheme, 'stars') = 'gbt39046', 6 - v_rating, v_rating)`)
    normalised.set('rating_scheme_received', `ifNull(v_rating_scheme, 'stars')`)
    normalised.delete('rating_scheme')
    normalised.set('active', `ifNull(v_active, true)`)
    normalised.set('follow_up', `ifNull(v_follow_up, false)`)
  }
  const columns = [...normalised.keys()]
  const rule = activeUnitSql(spec)
  // A NULL hashes as its type's default, never as whatever value its computation left under it
  // (a JSON null of a text field left 'null' there, a field left out ''): a record is the same
  // content however it spells a missing value, whichever way the engine computed the column.
  // Where the value under a NULL was the default, the hash is what it was before.
  const hashInput = columns.map((c) => `isNull(${c}), if(isNull(${c}), defaultValueOfArgumentType(assumeNotNull(${c})), assumeNotNull(${c}))`).join(', ')

  const rowsOf = (source: string, { explained }: { explained: boolean }) => `
SELECT row, ${explained ? `${typed ? "if(ok, '', line) AS line" : 'line'}, ok, CAST(errors, 'Array(Tuple(field String, code String, message String))') AS errors, ` : ''}${columns.join(', ')},
  ifNull(${spec.idField}, '') AS record_id, ifNull(${spec.unitField}, '') AS unit,
  cityHash64(${hashInput}) AS content_hash
FROM (
  SELECT row, line,
    ${fields.map(({ f, sql }) => `${sql.value} AS v_${f.name}`).join(',\n    ')},
    ${[...normalised].map(([c, e]) => `${e} AS ${c}`).join(',\n    ')},
    ${fields.map(({ f, sql }) => `${sql.bad} AS b_${f.name}`).join(',\n    ')},
    ${rule.bad} AS b_row_rule,
    is_object AND NOT arrayExists(k -> k NOT IN (${known}), mapKeys(m))
      AND NOT ${fields.map(({ f }) => `b_${f.name}`).join(' AND NOT ')} AND NOT b_row_rule AS ok${explained ? `,
    ${errorsSql}` : ''}
  FROM (
    SELECT row, line,
      ${typed
        ? `true AS is_utf8, true AS is_json, true AS is_object, CAST(map(), 'Map(String, String)') AS m,`
        : `isValidUTF8(line) AS is_utf8, is_utf8 AND isValidJSON(line) AS is_json, is_json AND startsWith(trimLeft(line), '{') AS is_object,
      if(is_object, CAST(JSONExtractKeysAndValuesRaw(line), 'Map(String, String)'), map()) AS m,`}
      ${extract.join(',\n      ')}
    FROM ${source}
  )
)${explained ? '' : '\nWHERE ok'}`
  const errorsSql = `if(ok, [], if(NOT is_utf8, [('', 'invalid_encoding', concat('row ', toString(row), ': the line is not valid UTF-8'))],
      if(NOT is_json, if(countSubstrings(line, '{') + countSubstrings(line, '[') > 900,
        [('', 'too_deep', concat('row ', toString(row), ': the JSON is nested deeper than the 1,000 levels that are read; flatten it (attrs too)'))],
        [('', 'invalid_json', concat('row ', toString(row), ': expected one JSON object on the line, but it does not parse'))]),
      if(NOT is_object, [('', 'not_an_object', concat('row ', toString(row), ': expected a JSON object with the fields of ${spec.name}, got ', ${got('trimBoth(line)')}))],
        arrayConcat(
          arrayMap(k -> (k, 'unknown_field', concat('row ', toString(row), ': field ', k, ' is not part of the ${spec.name} contract; ${attrsHint}')),
                   arrayFilter(k -> k NOT IN (${known}), mapKeys(m))),
          arrayFilter(e -> e.2 != '', [
      ${fields.map(({ sql }) => sql.error).join(',\n      ')},
      ${rule.error}
          ])))))) AS errors`

  return {
    columns,
    // JSON: lazy evaluation would re-parse each line once per branch of the checks. Typed
    // columns cost nothing to read twice, and laziness keeps the JSON line to rejected rows.
    settings: typed ? '' : `SETTINGS short_circuit_function_evaluation = 'disable'`,
    select: (source) => rowsOf(source, { explained: true }),
    stage: (source) => rowsOf(source, { explained: false }),
  }
}
