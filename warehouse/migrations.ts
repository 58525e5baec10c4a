// Versioned, idempotent schema migrations, applied at start-up. Each statement is safe to run
// twice (IF NOT EXISTS), so a start-up killed half-way simply runs again.
//
// Sort keys and partitions are chosen for the queries the platform makes; the reasons are in
// warehouse/README.md. The district time zone is part of every time column's type: DDL cannot
// bind it as a parameter, so it is validated (config.ts) and written into the statements.
import type { Warehouse } from './client.ts'
import { nowSeconds } from './time.ts'
import { StartupError } from './startup.ts'

export interface Migration {
  version: number
  name: string
  statements(tz: string): string[]
}

export const caseEventType = `Enum8('submitted' = 1, 'accepted' = 2, 'supplement_requested' = 3, 'supplement_received' = 4,
  'suspended' = 5, 'resumed' = 6, 'transferred' = 7, 'approved' = 8, 'rejected' = 9, 'completed' = 10, 'withdrawn' = 11)`

/** The events of a case as case_state holds them: sorted by time, named fields. */
export const caseStateEventsType = (tz: string) =>
  `Array(Tuple(at DateTime64(3, '${tz}'), type ${caseEventType}, unit_id String, to_unit_id String, due_at Nullable(DateTime64(3, '${tz}')), item_code String, channel String))`

/** Columns every stream table carries about where a row came from. */
const provenance = (tz: string) => `
  content_hash UInt64 COMMENT 'hash of the normalised row: equal ids with other content are conflicting duplicates',
  batch_id UUID,
  source_key LowCardinality(String),
  ingested_at DateTime64(3, '${tz}')`

/** The daily aggregate of cases (migration 7). */
const CASE_DAILY_TABLE = `CREATE TABLE IF NOT EXISTS case_daily (
        kind Enum8('stopped' = 1, 'accepted' = 2), day Date, unit_id String, last_day Date,
        n UInt64, n_completed UInt64, n_verdict UInt64, n_on_time UInt64, n_late UInt64, late_days_over Int64,
        elapsed_sum Int64, elapsed_n UInt64, n_no_supplement UInt64, n_instant UInt64,
        promise_cut_sum Int64, promise_statutory_sum Int64, statutory_elapsed_sum Int64, statutory_sum Int64,
        n_online UInt64, gaps UInt64, version UInt64, elapsed_sq Int64, late_days_over_sq Int64)
        ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(day) ORDER BY (kind, day, unit_id, last_day)`

/**
 * The case_state rows of the cases open now (and, until they are cleared, of cases that were and
 * have since stopped: their newest row says so). What "open now" questions read (migration 7).
 */
const CASE_OPEN_TABLE = `CREATE TABLE IF NOT EXISTS case_open AS case_state ENGINE = ReplacingMergeTree(refreshed_at) ORDER BY case_id`

/** The stream tables, their id columns and the id projections migration 2 made. */
const STREAM_TABLE_IDS: Array<[table: string, id: string, oldProjection: string]> = [
  ['case_events', 'event_id', 'by_event_id'], ['evaluations', 'event_id', 'by_event_id'], ['evaluation_followups', 'event_id', 'by_event_id'],
  ['complaints', 'event_id', 'by_event_id'], ['queue_tickets', 'event_id', 'by_event_id'], ['costs', 'entry_id', 'by_entry_id'],
]

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'reference data, keys and settings',
    statements: (tz) => [
      `CREATE TABLE IF NOT EXISTS meta (key String, value String, updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY key`,
      `CREATE TABLE IF NOT EXISTS units (
        unit_id String, name String, tier UInt8, kind LowCardinality(String), parent_id Nullable(String),
        active_from Nullable(Date), active_to Nullable(Date), updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY unit_id`,
      `CREATE TABLE IF NOT EXISTS items (
        item_code String, name String, category LowCardinality(String),
        statutory_days Nullable(UInt16), promised_days Nullable(UInt16), owner_unit_id Nullable(String),
        tiers Array(UInt8), warning_days Nullable(Float64), warning_share Nullable(Float64),
        updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY item_code`,
      `CREATE TABLE IF NOT EXISTS calendar (
        date Date, is_working UInt8, name String, source LowCardinality(String), updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY date`,
      `CREATE TABLE IF NOT EXISTS targets (
        year UInt16, metric_id LowCardinality(String), scope String, value Float64, updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY (year, metric_id, scope)`,
      // api_keys was made here too: its SQL is auth's now (auth/schema.ts, migration 1001)
      `CREATE TABLE IF NOT EXISTS settings (key String, value String, updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY key`,
    ],
  },
  {
    version: 2,
    name: 'the six streams of the data-exchange contract',
    statements: (tz) => [
      // Ordered by case so that one case's life is one contiguous range (case pages, state refresh);
      // the projection answers "is this event_id already stored?" from the same parts, so the
      // dedup lookup and the rows can never disagree after a crash.
      `CREATE TABLE IF NOT EXISTS case_events (
        event_id String, case_id String, type ${caseEventType}, occurred_at DateTime64(3, '${tz}'),
        unit_id LowCardinality(String), item_code LowCardinality(Nullable(String)), channel LowCardinality(Nullable(String)),
        due_at Nullable(DateTime64(3, '${tz}')), to_unit_id Nullable(String), staff_id Nullable(String),
        applicant_type LowCardinality(Nullable(String)), attrs String,
        ${provenance(tz)},
        PROJECTION by_event_id (SELECT event_id, content_hash ORDER BY event_id))
        ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (case_id, occurred_at, event_id)`,
      `CREATE TABLE IF NOT EXISTS evaluations (
        event_id String, unit_id LowCardinality(String), rating UInt8, rating_scheme_received LowCardinality(String),
        active Bool, follow_up Bool, occurred_at DateTime64(3, '${tz}'), channel LowCardinality(String),
        case_id Nullable(String), item_code LowCardinality(Nullable(String)), staff_id Nullable(String),
        comment Nullable(String), real_name Nullable(Bool),
        ${provenance(tz)},
        PROJECTION by_event_id (SELECT event_id, content_hash ORDER BY event_id))
        ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (unit_id, occurred_at, event_id)`,
      `CREATE TABLE IF NOT EXISTS evaluation_followups (
        event_id String, evaluation_id String, type LowCardinality(String), occurred_at DateTime64(3, '${tz}'),
        unit_id LowCardinality(String), note Nullable(String),
        ${provenance(tz)},
        PROJECTION by_event_id (SELECT event_id, content_hash ORDER BY event_id))
        ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (evaluation_id, occurred_at, event_id)`,
      `CREATE TABLE IF NOT EXISTS complaints (
        event_id String, complaint_id String, type LowCardinality(String), occurred_at DateTime64(3, '${tz}'),
        unit_id LowCardinality(String), category Nullable(String), substantiated Nullable(Bool), source LowCardinality(Nullable(String)),
        ${provenance(tz)},
        PROJECTION by_event_id (SELECT event_id, content_hash ORDER BY event_id))
        ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (unit_id, complaint_id, occurred_at, event_id)`,
      `CREATE TABLE IF NOT EXISTS queue_tickets (
        event_id String, ticket_id String, type LowCardinality(String), occurred_at DateTime64(3, '${tz}'),
        unit_id LowCardinality(String), window_id Nullable(String), item_code LowCardinality(Nullable(String)),
        ${provenance(tz)},
        PROJECTION by_event_id (SELECT event_id, content_hash ORDER BY event_id))
        ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (unit_id, occurred_at, ticket_id, event_id)`,
      `CREATE TABLE IF NOT EXISTS costs (
        entry_id String, unit_id LowCardinality(String), period Date, category LowCardinality(String),
        amount Decimal(18, 2), staff_fte Nullable(Float64), note Nullable(String),
        ${provenance(tz)},
        PROJECTION by_entry_id (SELECT entry_id, content_hash ORDER BY entry_id))
        ENGINE = MergeTree PARTITION BY toYear(period) ORDER BY (unit_id, period, entry_id)`,
    ],
  },
  {
    version: 3,
    name: 'case state: one row per case with its events, refreshed on every ingest',
    statements: (tz) => [
      // The clock is computed at query time from these arrays, so any "as of" moment and any
      // calendar update is answered from one compact row per case instead of the raw events.
      `CREATE TABLE IF NOT EXISTS case_state (
        case_id String,
        events ${caseStateEventsType(tz)},
        first_at DateTime64(3, '${tz}'),
        last_at DateTime64(3, '${tz}'),
        refreshed_at DateTime64(3, '${tz}'),
        -- the case's facts from all its events (see clock.ts): what "as of now" questions read,
        -- and what narrows "as of T" questions before the events arrays are looked at
        f_status LowCardinality(String),
        f_accepted_at Nullable(DateTime64(3, '${tz}')),
        f_stopped_at Nullable(DateTime64(3, '${tz}')),
        f_withdrawn_at Nullable(DateTime64(3, '${tz}')),
        f_item_code Nullable(String),
        f_channel Nullable(String),
        f_unit_id String,
        f_due_at Nullable(DateTime64(3, '${tz}')),
        f_suspensions Array(Tuple(DateTime64(3, '${tz}'), Nullable(DateTime64(3, '${tz}')))),
        f_had_supplement Bool)
        ENGINE = ReplacingMergeTree(refreshed_at) ORDER BY case_id`,
      // Written before a batch's events and marked done after its refresh, so a crash in between
      // is repaired at the next start-up (refreshCaseState is idempotent).
      `CREATE TABLE IF NOT EXISTS case_refresh_queue (batch_id UUID, case_id String, queued_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree ORDER BY (batch_id, case_id) TTL toDateTime(queued_at) + INTERVAL 30 DAY`,
      `CREATE TABLE IF NOT EXISTS case_refresh_done (batch_id UUID, done_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree ORDER BY batch_id TTL toDateTime(done_at) + INTERVAL 30 DAY`,
    ],
  },
  {
    version: 4,
    name: 'ingest bookkeeping: batch ids, quarantine, ingest log',
    statements: (tz) => [
      // Working tables of the ingest pipeline (ingest/service.ts): the rows of a batch that are
      // not new; and, where the engine cannot read the body as a file (a ClickHouse server), the
      // body's lines. (Each batch's validated rows live in a Memory table of their own.)
      `CREATE TABLE IF NOT EXISTS ingest_row_status (
        batch_id UUID, row UInt64, status LowCardinality(String), first_row UInt64, staged_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree ORDER BY (batch_id, row) TTL toDateTime(staged_at) + INTERVAL 1 DAY`,
      `CREATE TABLE IF NOT EXISTS ingest_lines (batch_id UUID, row UInt64, line String, staged_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree ORDER BY (batch_id, row) TTL toDateTime(staged_at) + INTERVAL 1 DAY`,
      `CREATE TABLE IF NOT EXISTS quarantine (
        batch_id UUID, stream LowCardinality(String), source_key LowCardinality(String), row UInt32, raw String,
        errors Array(Tuple(field String, code String, message String)), received_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree PARTITION BY toYYYYMM(received_at) ORDER BY (stream, received_at, batch_id, row)`,
      `CREATE TABLE IF NOT EXISTS ingest_batches (
        batch_id UUID, stream LowCardinality(String), source_key LowCardinality(String), source_name String,
        received UInt32, accepted UInt32, duplicates UInt32, rejected UInt32, received_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree PARTITION BY toYYYYMM(received_at) ORDER BY (source_key, stream, received_at)`,
    ],
  },
  {
    version: 5,
    name: 'assessment schemes, one per year, as data',
    statements: (tz) => [
      `CREATE TABLE IF NOT EXISTS assessment_schemes (year UInt16, version String, scheme String, updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY year`,
    ],
  },
  {
    version: 6,
    name: 'dashboard users and their sign-in sessions',
    statements: () => [
      // users and sessions were made here: their SQL is auth's now (auth/schema.ts, migration 1001)
    ],
  },
  {
    version: 7,
    name: 'daily aggregate of stopped and accepted cases: what year-wide indicators read',
    statements: (tz) => [
      // Per day of stop (kind 'stopped') or of acceptance ('accepted'), unit (after transfers) and
      // `last_day`: the sums the case indicators need. A (kind, day, unit) is rebuilt whole from
      // case_state whenever a refresh touches one of its cases (a newer version replaces every row
      // of it; rows that no longer have cases are rewritten with zeros). `last_day` says until
      // when a row's cases may still have events (stopped: the day of the last event; accepted:
      // the Sunday of that week, so fewer rows), so "as of T" questions take from here only the
      // cases whose facts were final by T. cases.ts fills it; metrics reads it.
      CASE_DAILY_TABLE,
      CASE_OPEN_TABLE,
      // The (kind, day, unit) a batch's cases were in before its refresh, written before case_state
      // changes so a crash in between still rebuilds them at repair.
      `CREATE TABLE IF NOT EXISTS case_daily_pending (batch_id UUID, kind Enum8('stopped' = 1, 'accepted' = 2), day Date, unit_id String, queued_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree ORDER BY (batch_id, kind, day, unit_id) TTL toDateTime(queued_at) + INTERVAL 30 DAY`,
    ],
  },
  {
    version: 8,
    name: 'published annual assessments: a publication per year and version, and its frozen figures',
    statements: (tz) => [
      // Written last by reports/publication.ts: figures whose publication row is missing (a crash
      // half-way through publishing) are never read. A year published again is a new version.
      `CREATE TABLE IF NOT EXISTS report_publications (
        year UInt16, version UInt32, publication_id String, published_at DateTime64(3, '${tz}'), published_by String,
        as_of DateTime64(3, '${tz}'), period_from Date, period_to Date, note String,
        scheme String, catalog String, settings String, previous String)
        ENGINE = MergeTree ORDER BY (year, version, publication_id)`,
      `CREATE TABLE IF NOT EXISTS report_units (
        publication_id String, unit_id String, name String, tier UInt8, parent_id Nullable(String),
        composite Nullable(Float64), grade Nullable(String), grade_en Nullable(String), rank Nullable(UInt32), ranked UInt32,
        prev_composite Nullable(Float64), prev_grade Nullable(String), prev_rank Nullable(UInt32), records String)
        ENGINE = MergeTree ORDER BY (publication_id, tier, unit_id)`,
      `CREATE TABLE IF NOT EXISTS report_indicators (
        publication_id String, unit_id String, position UInt16, indicator_id String, category LowCardinality(String),
        value Nullable(Float64), numerator Float64, denominator Nullable(Float64), scored_value Nullable(Float64), small_sample Bool,
        target Nullable(Float64), score Nullable(Float64), weight Float64, points Float64, points_lost Float64, explain Nullable(String),
        prev_value Nullable(Float64), prev_numerator Nullable(Float64), prev_denominator Nullable(Float64))
        ENGINE = MergeTree ORDER BY (publication_id, unit_id, position)`,
    ],
  },
  {
    version: 9,
    name: 'queue tickets, one row each: what the queue indicators read',
    statements: (tz) => [
      // Rebuilt whole per ticket by queue.ts after each batch (a newer version replaces a ticket's
      // row); read with FINAL. Flat columns: the replacing merge of a read is cheap on them. The
      // first issue gives the ticket's unit and item; NULL times are events not (yet) received.
      `CREATE TABLE IF NOT EXISTS queue_ticket_state (
        ticket_id String, unit_id String, item_code Nullable(String),
        issued_at Nullable(DateTime64(3, '${tz}')), called_at Nullable(DateTime64(3, '${tz}')), abandoned_at Nullable(DateTime64(3, '${tz}')),
        events UInt64 COMMENT 'the stored events the row was built from: start-up compares their sum with the stored events',
        version UInt64)
        ENGINE = ReplacingMergeTree(version) ORDER BY ticket_id`,
    ],
  },
  {
    version: 10,
    name: 'the cases with recent events: what questions as of a recent past moment read their events from',
    statements: () => [
      // The case_state rows of every case with an event since a horizon (meta 'case_recent_from',
      // the first of the previous month): as of a moment since then, the cases with later events
      // (whose facts then must be derived from their events) are all here, a month or two of
      // cases instead of all of them. Kept by the refresh; rows before a moved horizon are removed.
      `CREATE TABLE IF NOT EXISTS case_recent AS case_state ENGINE = ReplacingMergeTree(refreshed_at) ORDER BY case_id`,
    ],
  },
  {
    version: 11,
    name: 'the log of changes to the records, and the answers about past moments kept against it',
    statements: (tz) => [
      // changes.ts: a mark when an ingest batch starts storing and one when it is done, with the
      // date of its earliest record (a start without an end is a batch a crash interrupted)
      `CREATE TABLE IF NOT EXISTS data_changes (change_id String, phase Enum8('start' = 1, 'end' = 2), at DateTime64(3, '${tz}'), earliest Date)
        ENGINE = MergeTree ORDER BY at TTL toDateTime(at) + INTERVAL 90 DAY`,
      // metrics' answers as of past moments, by a hash of their query and parameters: read again
      // while no change since \`computed_at\` reaches back to the day asked about (and none to the reference data)
      `CREATE TABLE IF NOT EXISTS past_answers (key String, computed_at DateTime64(3, '${tz}'), rows String)
        ENGINE = ReplacingMergeTree(computed_at) ORDER BY key TTL toDateTime(computed_at) + INTERVAL 90 DAY`,
    ],
  },
  {
    version: 12,
    name: 'the state of the cases at the end of last month',
    statements: () => [
      // For every case with events after the end of last month (meta 'case_month_end_at'): its
      // case_state row as it stood then, built from its events up to then. Questions as of that
      // moment (the joint meeting's comparison with last month) read these as stored facts
      // instead of deriving them from the events. Kept by the refresh; built anew each month.
      `CREATE TABLE IF NOT EXISTS case_month_end AS case_state ENGINE = ReplacingMergeTree(refreshed_at) ORDER BY case_id`,
    ],
  },
  {
    version: 13,
    name: 'the calendar a publication counted on',
    statements: () => [
      // JSON { provisional, provisional_years }: whether the published figures counted days of a
      // year on the provisional calendar, so that a restatement can name the official arrangement
      // loaded since as its cause
      `ALTER TABLE report_publications ADD COLUMN IF NOT EXISTS calendar String DEFAULT '{"provisional":false,"provisional_years":[]}'`,
    ],
  },
  {
    version: 14,
    name: 'ids owned by their source system, and when each key was last used',
    statements: (tz) => [
      // The ingest's lookup of stored ids reads the id, its content hash and the key that stored
      // it from one projection (an id first stored by another source is id_owned_by_other_source);
      // it replaces by_event_id/by_entry_id, which lacked the key. Materialised for the parts
      // already there (a part without it is read from its columns meanwhile: slower, never wrong).
      ...STREAM_TABLE_IDS.flatMap(([table, id, old]) => [
        `ALTER TABLE ${table} ADD PROJECTION IF NOT EXISTS by_id_source (SELECT ${id}, content_hash, source_key ORDER BY ${id})`,
        `ALTER TABLE ${table} MATERIALIZE PROJECTION by_id_source SETTINGS mutations_sync = 1`,
        `ALTER TABLE ${table} DROP PROJECTION IF EXISTS ${old} SETTINGS mutations_sync = 1`,
      ]),
      // api_key_use was made here too: its SQL is auth's now (auth/schema.ts, migration 1001)
    ],
  },
  {
    version: 15,
    name: 'the spread of the daily aggregate\'s means',
    statements: () => [
      // Σ x² of elapsed working days and of days over, for the rankings' t intervals and funnels;
      // the aggregate's basis names its measures, so start-up builds it again to fill them
      'ALTER TABLE case_daily ADD COLUMN IF NOT EXISTS elapsed_sq Int64 DEFAULT 0',
      'ALTER TABLE case_daily ADD COLUMN IF NOT EXISTS late_days_over_sq Int64 DEFAULT 0',
    ],
  },
  {
    version: 16,
    name: 'the hotline\'s closed loop: the complainant\'s rating, and the case and rating a complaint is about',
    statements: () => [
      'ALTER TABLE complaints ADD COLUMN IF NOT EXISTS rating Nullable(UInt8)',
      'ALTER TABLE complaints ADD COLUMN IF NOT EXISTS case_id Nullable(String)',
      'ALTER TABLE complaints ADD COLUMN IF NOT EXISTS evaluation_id Nullable(String)',
    ],
  },
  {
    version: 17,
    name: 'receipts before the derived state: batches due for their refresh, and blocks deduplicated across processes',
    statements: (tz) => [
      // A batch whose rows are stored and whose derived state is not yet refreshed (derived.ts):
      // written after its rows, marked done in case_refresh_done after its refresh; read by every
      // process on a server so that each counts what the others acknowledged.
      `CREATE TABLE IF NOT EXISTS derived_refresh_batches (batch_id UUID, kind LowCardinality(String), queued_at DateTime64(3, '${tz}'))
        ENGINE = MergeTree ORDER BY (queued_at, batch_id) TTL toDateTime(queued_at) + INTERVAL 30 DAY`,
      // The engine drops an insert block it stored already (insert_deduplication_token: the same
      // new rows sent through two processes at once are stored once); a replicated table does
      // this by itself, a plain MergeTree only with a window.
      ...STREAM_TABLE_IDS.map(([t]) => `ALTER TABLE ${t} MODIFY SETTING non_replicated_deduplication_window = 10000`),
    ],
  },
  {
    version: 18,
    name: 'the copies of case_state cleaned by the engine (no deletes, no truncation); case_recent dropped',
    statements: (tz) => [
      // Each copy is made anew (they are derived: start-up fills them from case_state) and the
      // meta key that says it is built is cleared, so the next start-up builds it.
      // case_open: a case that stops gets a row with is_deleted = 1, which FINAL leaves out and
      // the engine's merges remove (a cleanup merge of the whole table once its parts are a
      // minute old: the table holds a few per cent of the cases).
      'DROP TABLE IF EXISTS case_open',
      `CREATE TABLE IF NOT EXISTS case_open ENGINE = ReplacingMergeTree(refreshed_at, is_deleted) ORDER BY case_id
        SETTINGS allow_experimental_replacing_merge_with_cleanup = 1, min_age_to_force_merge_seconds = 60,
          min_age_to_force_merge_on_partition_only = 1, enable_replacing_merge_with_cleanup_for_min_age_to_force_merge = 1
        EMPTY AS SELECT *, toUInt8(0) AS is_deleted FROM case_state`,
      // case_recent (migration 10) goes: measured at 10M events it made no question faster (the
      // prefilter on case_state finds the cases with later events as fast; warehouse/README.md)
      'DROP TABLE IF EXISTS case_recent',
      // case_month_end: each month end's rows under their moment (read only for the moment held),
      // the earlier months' dropped by TTL whole parts at a time.
      'DROP TABLE IF EXISTS case_month_end',
      `CREATE TABLE IF NOT EXISTS case_month_end ENGINE = ReplacingMergeTree(refreshed_at) ORDER BY (month_end, case_id)
        TTL toDateTime(refreshed_at) + INTERVAL 62 DAY SETTINGS ttl_only_drop_parts = 1
        EMPTY AS SELECT toDateTime64(0, 3, '${tz}') AS month_end, * FROM case_state`,
      `INSERT INTO meta (key, value, updated_at) VALUES ('case_open_built', '', now64(3)), ('case_month_end_at', '', now64(3))`,
    ],
  },
  {
    version: 19,
    name: 'case facts for 代办: the unit that accepted a case and the units it was transferred to',
    // Filled by the facts upgrade at start-up (cases.ts FACTS_VERSION), before anything is
    // answered; placed after the other facts in the three tables that hold case_state's rows, so
    // that case_open's INSERT … SELECT * FROM case_state keeps lining up.
    statements: () => ['case_state', 'case_open', 'case_month_end'].map((t) => `ALTER TABLE ${t}
      ADD COLUMN IF NOT EXISTS f_accepted_unit_id String AFTER f_had_supplement,
      ADD COLUMN IF NOT EXISTS f_transfer_units Array(String) AFTER f_accepted_unit_id`),
  },
  {
    version: 20,
    name: 'the rated cases with more than one rating (一事一评 decides among them only)',
    // filled at start-up from every stored rating (ratings.ts RatingStore.repair), then per batch
    statements: () => ['CREATE TABLE IF NOT EXISTS rating_contests (follow_up Bool, rated String) ENGINE = ReplacingMergeTree ORDER BY (follow_up, rated)'],
  },
  {
    version: 21,
    name: 'case_month_end holds every month end since the start of last year',
    // A partition per month end (a question reads one or a few), each dropped whole by TTL once it
    // is older than any month end held (cases.ts defaultMonthEnds: at most 23 months back). The
    // list held is cleared: start-up builds them all (cases.ts holdMonthEnds).
    statements: (tz) => [
      'DROP TABLE IF EXISTS case_month_end',
      `CREATE TABLE IF NOT EXISTS case_month_end ENGINE = ReplacingMergeTree(refreshed_at)
        PARTITION BY toYYYYMM(month_end) ORDER BY (month_end, case_id)
        TTL toDateTime(month_end) + INTERVAL 25 MONTH SETTINGS ttl_only_drop_parts = 1
        EMPTY AS SELECT toDateTime64(0, 3, '${tz}') AS month_end, * FROM case_state`,
      `INSERT INTO meta (key, value, updated_at) VALUES ('case_month_end_at', '', now64(3))`,
    ],
  },
  {
    version: 22,
    name: 'each case\'s contributions to the daily aggregate, which a refresh sums its touched rows from',
    // Keyed where a case counts (a row per kind); a case that moves leaves a row marked deleted
    // where it was (is_deleted), which FINAL leaves out. The daily aggregate's basis is cleared:
    // start-up fills this table from case_state and builds the aggregate from it (cases.ts).
    statements: () => [
      `CREATE TABLE IF NOT EXISTS case_daily_cases ENGINE = ReplacingMergeTree(version, is_deleted)
        PARTITION BY toYYYYMM(day) ORDER BY (kind, day, unit_id, case_id)
        EMPTY AS SELECT '' AS case_id, * EXCEPT version, version, toUInt8(0) AS is_deleted FROM case_daily`,
      `INSERT INTO meta (key, value, updated_at) VALUES ('case_daily_basis', '', now64(3))`,
    ],
  },
  {
    version: 23,
    name: 'the daily aggregate\'s 代办 rows: by the day of acceptance, at the unit that accepted',
    // (a value added to the enums, and the 代办 measures; the basis is cleared, so start-up builds them: cases.ts)
    statements: () => [
      ...['case_daily', 'case_daily_cases', 'case_daily_pending'].map((t) => `ALTER TABLE ${t} MODIFY COLUMN kind Enum8('stopped' = 1, 'accepted' = 2, 'proxy' = 3)`),
      ...['case_daily', 'case_daily_cases'].map((t) => `ALTER TABLE ${t} ${['n_to_hall', 'n_to_hall_verdict', 'n_to_hall_on_time'].map((m) => `ADD COLUMN IF NOT EXISTS ${m} Int64 DEFAULT 0`).join(', ')}`),
      `INSERT INTO meta (key, value, updated_at) VALUES ('case_daily_basis', '', now64(3))`,
    ],
  },
  {
    version: 24,
    name: 'each rating\'s 一事一评 key as a hash beside it, and beside each contested key',
    // (ratings.ts countedRatingsSql: whether a rating's key is contested is a UInt64 in a set,
    // not a tuple of a flag and a string; the ranking still goes by the key itself)
    statements: () => [
      'ALTER TABLE evaluations ADD COLUMN IF NOT EXISTS rated_key UInt64 MATERIALIZED cityHash64(follow_up, ifNull(case_id, event_id))',
      'ALTER TABLE evaluations MATERIALIZE COLUMN rated_key SETTINGS mutations_sync = 1',
      'ALTER TABLE rating_contests ADD COLUMN IF NOT EXISTS rated_key UInt64 MATERIALIZED cityHash64(follow_up, rated)',
      'ALTER TABLE rating_contests MATERIALIZE COLUMN rated_key SETTINGS mutations_sync = 1',
    ],
  },
]

/** Where the numbers of auth's migrations begin (auth/schema.ts): the warehouse's own are below. */
export const AUTH_MIGRATIONS_FROM = 1001

export async function migrate(warehouse: Warehouse): Promise<void> {
  await applyMigrations(warehouse, migrations)
  await checkTimeZone(warehouse)
}

/**
 * Applies the migrations of `list` not yet recorded in schema_migrations, in order. Modules that
 * own tables (auth/schema.ts) keep their SQL and apply it through this, with numbers of their own.
 */
export async function applyMigrations(warehouse: Warehouse, list: Migration[]): Promise<void> {
  const { client, timezone: tz } = warehouse
  // (on a cluster nothing is made here: see requireClusterSchema)
  if (warehouse.cluster) await requireClusterSchema(warehouse)
  else {
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC'))
        ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
    })
  }
  const applied = new Set(
    (await (await client.query({ query: 'SELECT version FROM schema_migrations FINAL', format: 'JSONEachRow' })).json<{ version: number }>())
      .map((r) => Number(r.version)),
  )
  // each list numbers its migrations in a block of its own (the warehouse's below
  // AUTH_MIGRATIONS_FROM, auth's from it): a version past the newest of the list's block was
  // written by a newer release
  const block = (v: number) => (v >= AUTH_MIGRATIONS_FROM ? 1 : 0)
  const known = Math.max(...list.map((x) => x.version))
  const newest = Math.max(0, ...[...applied].filter((v) => block(v) === block(known)))
  if (newest > known) {
    throw new StartupError('schema_from_newer_release', `This warehouse's schema is version ${newest}, written by a newer release of tierscope than this one (which knows versions up to ${known}): run that release or a later one, or restore a backup made by this release into a new directory.`)
  }
  const missing = list.filter((m) => !applied.has(m.version))
  if (warehouse.cluster) {
    if (missing.length > 0) throw clusterSchemaBehind(warehouse.cluster, missing)
    return
  }
  for (const m of missing) {
    for (const statement of m.statements(tz)) await client.command({ query: statement })
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: m.version, name: m.name, applied_at: nowSeconds() }],
      format: 'JSONEachRow',
    })
  }
}

/*
 * On a cluster the schema is made by `tierscope schema --cluster` (Replicated engines, Distributed
 * tables, ON CLUSTER), never by the migrations' statements, which would make single-server tables
 * on the one node the platform talks to. Start-up only checks that every migration is recorded
 * as applied, and otherwise refuses, saying what to run (warehouse/CLUSTER.md).
 */
const clusterSchemaMade = (cluster: string) =>
  `the cluster schema is made by \`npx tierscope schema --cluster ${cluster} --database <database>\` (run its output with clickhouse-client --multiquery; warehouse/CLUSTER.md)`

async function requireClusterSchema(warehouse: Warehouse): Promise<void> {
  const [exists] = await (await warehouse.client.query({ query: `SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'schema_migrations'`, format: 'JSONEachRow' })).json<{ n: string | number }>()
  if (Number(exists?.n ?? 0) === 0) {
    throw new StartupError('cluster_schema_missing', `CLICKHOUSE_CLUSTER is ${warehouse.cluster}, and this database has no tierscope schema: ${clusterSchemaMade(warehouse.cluster!)}. On a cluster tierscope makes no table itself.`)
  }
}

function clusterSchemaBehind(cluster: string, missing: Migration[]): StartupError {
  return new StartupError('cluster_schema_behind', `CLICKHOUSE_CLUSTER is ${cluster}, and this database's schema lacks migration${missing.length > 1 ? 's' : ''} ${missing.map((m) => `${m.version} (${m.name})`).join(', ')} of this release: on a cluster they are applied ON CLUSTER by hand, to the <table>_local tables and the Distributed tables over them, and recorded in schema_migrations (warehouse/CLUSTER.md "Migrations"); for a new database, ${clusterSchemaMade(cluster)}.`)
}

/** The time zone is baked into the column types: a warehouse made for one zone refuses another. */
async function checkTimeZone(warehouse: Warehouse): Promise<void> {
  const { client, timezone: tz } = warehouse
  const [stored] = await (await client.query({ query: `SELECT value FROM meta FINAL WHERE key = 'timezone'`, format: 'JSONEachRow' })).json<{ value: string }>()
  if (!stored) {
    await client.insert({ table: 'meta', values: [{ key: 'timezone', value: tz, updated_at: nowSeconds() }], format: 'JSONEachRow' })
  } else if (stored.value !== tz) {
    throw new Error(`This warehouse was created for time zone ${stored.value}; TIERSCOPE_TIMEZONE is ${tz}. Use the same zone or a new data directory.`)
  }
}

