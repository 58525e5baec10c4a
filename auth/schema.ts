// The tables auth owns, as migrations applied by openPlatform after the warehouse's own
// (warehouse/migrations.ts: numbered, recorded in schema_migrations, every statement IF NOT
// EXISTS). Their numbers start at 1001 so they never meet the warehouse's. The keys, users and
// sessions tables were made by the warehouse's migrations 1, 6 and 14 before auth owned them: on
// such a warehouse migration 1001 finds them there and changes nothing.
import type { Migration } from '../warehouse/migrations.ts'

export const authMigrations: Migration[] = [
  {
    version: 1001,
    name: 'auth: API keys, when each was last used, dashboard users and their sessions',
    statements: (tz) => [
      // only the SHA-256 of a token is stored; a revocation is a later version of the key's row
      `CREATE TABLE IF NOT EXISTS api_keys (
        key_id String, name String, role LowCardinality(String), units Array(String), token_hash String,
        revoked UInt8, created_at DateTime64(3, '${tz}'), updated_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(updated_at) ORDER BY key_id`,
      // last use of each key, written through from memory at most once a minute per key (keys.ts)
      `CREATE TABLE IF NOT EXISTS api_key_use (key_id String, last_used_at DateTime64(3, '${tz}'))
        ENGINE = ReplacingMergeTree(last_used_at) ORDER BY key_id`,
      // one row version per change (password, role, units, disabled): version orders them;
      // failed_logins and locked_until are no longer written (the throttle is users.ts')
      `CREATE TABLE IF NOT EXISTS users (
        username String, display_name String, role LowCardinality(String), units Array(String), password_hash String,
        failed_logins UInt16, locked_until Nullable(DateTime64(3, '${tz}')), disabled UInt8,
        created_at DateTime64(3, '${tz}'), version UInt64)
        ENGINE = ReplacingMergeTree(version) ORDER BY username`,
      // only the SHA-256 of a session token is stored: the token itself lives in the visitor's cookie
      `CREATE TABLE IF NOT EXISTS sessions (
        token_hash String, username String, created_at DateTime64(3, '${tz}'), expires_at DateTime64(3, '${tz}'),
        revoked UInt8, version UInt64)
        ENGINE = ReplacingMergeTree(version) ORDER BY token_hash TTL toDateTime(expires_at) + INTERVAL 1 DAY`,
    ],
  },
  {
    version: 1002,
    name: 'auth: the audit log (append-only)',
    statements: (tz) => [
      // 安全审计: one row per audited request, never updated or deleted by the platform (no TTL:
      // GB/T 22239-2019 asks for at least six months; a district keeps it longer). A plain
      // MergeTree: on a cluster it becomes Replicated with a Distributed table over it, and every
      // process writes its own rows, so nothing depends on one node. `details` is JSON of what
      // changed, never a token or a password.
      `CREATE TABLE IF NOT EXISTS audit_log (
        at DateTime64(3, '${tz}'), audit_id UUID, action LowCardinality(String), status UInt16,
        actor String, actor_name String, role LowCardinality(String), address String,
        method LowCardinality(String), path String, target String, details String, request_id String)
        ENGINE = MergeTree PARTITION BY toYYYYMM(at) ORDER BY (at, audit_id)`,
    ],
  },
]
