// Which table a write statement counts under (answers.ts keeps an answer across writes to tables
// its SQL does not name): a statement not read is counted under '', which every answer depends on.
import { expect, it } from 'vitest'
import { writtenTable } from './client.ts'

it('reads the table a write statement writes off the statement, and nothing it cannot read', () => {
  expect(writtenTable('INSERT INTO case_state (case_id) SELECT 1')).toBe('case_state')
  expect(writtenTable('\n        INSERT INTO case_daily_cases (case_id, kind)\n SELECT …')).toBe('case_daily_cases')
  expect(writtenTable('insert into `evaluations`(event_id) VALUES')).toBe('evaluations')
  expect(writtenTable('CREATE TABLE IF NOT EXISTS meta (key String) ENGINE = ReplacingMergeTree')).toBe('meta')
  // a body's working table counts under its prefix, so the counts stay a handful of names
  expect(writtenTable('CREATE TABLE ingest_stage_0123456789abcdef0123456789abcdef ENGINE = Memory AS SELECT 1')).toBe('ingest_stage')
  expect(writtenTable('DROP TABLE IF EXISTS ingest_stage_0123456789abcdef0123456789abcdef')).toBe('ingest_stage')
  expect(writtenTable('OPTIMIZE TABLE case_daily FINAL')).toBe('case_daily')
  expect(writtenTable('ALTER TABLE quarantine DELETE WHERE 1')).toBe('quarantine')
  expect(writtenTable('CREATE TABLE IF NOT EXISTS tierscope.case_state ON CLUSTER c (case_id String)')).toBe('case_state')
  expect(writtenTable('DROP TABLE IF EXISTS `tierscope`.`meta`')).toBe('meta')
  // what it cannot place counts for every table
  expect(writtenTable('EXCHANGE TABLES a AND b')).toBe('')
  expect(writtenTable('SYSTEM FLUSH LOGS')).toBe('')
  expect(writtenTable("INSERT INTO FUNCTION file('x.arrow', 'ArrowStream') SELECT 1")).toBe('')
  expect(writtenTable('WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x')).toBe('')
})
