//! Versioned migrations, run once however many instances start at once.

use postgres::Transaction;
use sharelink_core::StorageError;

use crate::pool::db_err;

/// The newest schema this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// The advisory lock every migrating instance takes (an arbitrary,
/// fixed key: "sharelnk" in ASCII).
const MIGRATION_LOCK: i64 = 0x7368_6172_656c_6e6b;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1];

/// Version 1: shares with their sort columns and listing indexes, quotas,
/// and the (unlogged, advisory) throttle records.
const V1: &str = r#"
CREATE TABLE shares (
    share_id       TEXT COLLATE "C" PRIMARY KEY,
    tenant         TEXT COLLATE "C" NOT NULL,
    creator        TEXT COLLATE "C" NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    expiration_ms  BIGINT,
    status         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    token_epoch    BIGINT NOT NULL,
    access_count   BIGINT NOT NULL,
    preview_count  BIGINT NOT NULL,
    download_count BIGINT NOT NULL,
    save_count     BIGINT NOT NULL,
    preview_limit  BIGINT NOT NULL,
    download_limit BIGINT NOT NULL,
    save_limit     BIGINT NOT NULL,
    share_name     TEXT COLLATE "C" NOT NULL,
    description    TEXT COLLATE "C" NOT NULL,
    name_folded    TEXT NOT NULL,
    body           BYTEA NOT NULL
);
CREATE INDEX shares_by_created     ON shares (tenant, creator, created_at_ms, share_id);
CREATE INDEX shares_by_updated     ON shares (tenant, creator, updated_at_ms, share_id);
CREATE INDEX shares_by_name        ON shares (tenant, creator, share_name, share_id);
CREATE INDEX shares_by_description ON shares (tenant, creator, description, share_id);
CREATE INDEX shares_to_purge       ON shares (expiration_ms);
CREATE TABLE quota (
    tenant TEXT NOT NULL,
    kind   TEXT NOT NULL,
    day    TEXT NOT NULL,
    used   BIGINT NOT NULL,
    PRIMARY KEY (tenant, kind, day)
);
CREATE UNLOGGED TABLE throttle_share (
    share_id TEXT COLLATE "C" PRIMARY KEY,
    body     TEXT NOT NULL
);
CREATE UNLOGGED TABLE throttle_client (
    share_id TEXT COLLATE "C" NOT NULL,
    client   TEXT COLLATE "C" NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (share_id, client)
);
"#;

/// Brings the schema to [`SCHEMA_VERSION`], or refuses a newer one. Holds
/// a transaction-level advisory lock, so concurrent instances wait for the
/// first and then find nothing to do.
pub(crate) fn migrate(tx: &mut Transaction<'_>) -> Result<(), StorageError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db_err("take the migration lock"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS sharelink_schema (version INTEGER NOT NULL)")
        .map_err(db_err("create sharelink_schema"))?;
    let found: i32 = tx
        .query_opt("SELECT version FROM sharelink_schema", &[])
        .map_err(db_err("read the schema version"))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(db_err("read the schema version"))?
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StorageError::IncompatibleFormat {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: u32::try_from(SCHEMA_VERSION).unwrap_or(0),
        });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for sql in MIGRATIONS.iter().skip(start) {
        tx.batch_execute(sql).map_err(db_err("migrate"))?;
    }
    if found < SCHEMA_VERSION {
        tx.execute("DELETE FROM sharelink_schema", &[])
            .map_err(db_err("write the schema version"))?;
        tx.execute(
            "INSERT INTO sharelink_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .map_err(db_err("write the schema version"))?;
    }
    Ok(())
}
