// warehouse: the ClickHouse connection, schema, reference data, keys, and the case state the
// clock is computed from. Everything else reaches ClickHouse through what this file exports.
import type { Settings } from './config.ts'
import { openWarehouse, type Warehouse } from './client.ts'
import { Calendar } from './calendar.ts'
import { ReferenceData } from './reference.ts'
import { KeyStore } from './access.ts'
import { CaseStore } from './cases.ts'
import { QueueStore } from './queue.ts'
import { ChangeLog } from './changes.ts'
import { SettingsStore } from './settings.ts'
import { DEFAULT_SESSION_POLICY, UserStore, type SessionPolicy } from './users.ts'

export { settingsFromEnv, assertTimeZone, type Settings } from './config.ts'
export { openWarehouse, queryRows, DataDirLockedError, type Warehouse, type WarehouseSettings, type OpenOptions } from './client.ts'
export { Calendar, CalendarMissingError, PartialYearError, arrangementYear, officialCalendarFromPackage, type CalendarDay, type CalendarYear, type CalendarChange, type CalendarStatus } from './calendar.ts'
export { provisionalYear, statutoryHolidays } from './provisional.ts'
export { ReferenceData, UNIT_KINDS, ITEM_CATEGORIES, type Unit, type Item, type Target } from './reference.ts'
export { KeyStore, ROLES, type Role, type Principal, type ApiKey } from './access.ts'
export { CALENDAR_WITH, W as workingDayOrdinalSql, workingDayOf, provisionalBetween, calendarParams, CALENDAR_GAP_MARKER } from './clock.ts'
export { UserStore, SignInError, UserProblem, USER_ROLES, DEFAULT_SESSION_POLICY, type User, type UserRole, type SessionPolicy } from './users.ts'
export { SettingsStore, DEFAULT_SETTINGS, limitSchedule, longestLimit, TIER_LIMITS, type TunableSettings, type SettingsChange, type LimitVersion } from './settings.ts'
export { QueueStore } from './queue.ts'
export { ChangeLog, ANY_DAY } from './changes.ts'
export { CaseStore, CASE_STATUSES, dailyLastDay, dailyLastEventFloor, type CaseStatus, type CaseRow, type CaseEvent, type CaseFilter } from './cases.ts'
export { sqlString } from './sql.ts'
export { toRfc3339, localDate, epochSeconds, nowSeconds, wallClockToInstant, offsetMinutes, parseTimestamp } from './time.ts'
export { HttpError, principalOf, requireRole, requireReadableUnit, sendError, SESSION_COOKIE } from './http.ts'
export { backupWarehouse, restoreWarehouse, readManifest, lastBackupAt, BackupError, RELEASE_SCHEMA_VERSION, MANIFEST_FILE, type BackupManifest, type BackupProgress } from './backup.ts'
export { backupRoutes } from './backup-routes.ts'
export { StartupError, startupMessage, serverProblem, dataDirProblem } from './startup.ts'
export { derivedBacklog, type DerivedBacklog } from './backlog.ts'
export { backupCommand, restoreCommand, BACKUP_USAGE } from './backup-cli.ts'
export { warehouseRoutes, asOfParam, calendarErrorToHttp, visibleUnits, READER_ROLES } from './routes.ts'

/** The opened warehouse with its stores, loaded and repaired: what the rest of the platform uses. */
export interface Platform {
  warehouse: Warehouse
  calendar: Calendar
  reference: ReferenceData
  keys: KeyStore
  cases: CaseStore
  queue: QueueStore
  changes: ChangeLog
  settings: SettingsStore
  users: UserStore
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
    const keys = new KeyStore(warehouse, reference)
    const settings = new SettingsStore(warehouse)
    const cases = new CaseStore(warehouse, calendar, reference, () => settings.warnings(reference.units.values()))
    const queue = new QueueStore(warehouse)
    const changes = new ChangeLog(warehouse)
    const ttlMs = config.sessionHours ? config.sessionHours * 3600_000 : DEFAULT_SESSION_POLICY.ttlMs
    const users = new UserStore(warehouse, reference, keys, { ...DEFAULT_SESSION_POLICY, ttlMs, ...sessionPolicy })
    await settings.load()
    await calendar.load()
    await reference.load()
    await keys.load()
    await users.load(config.sessionSecret)
    await cases.repair()
    await queue.repair()
    await changes.endInterrupted()
    return { warehouse, calendar, reference, keys, cases, queue, changes, settings, users, close: () => warehouse.close() }
  } catch (err) {
    await warehouse.close()
    throw err
  }
}
