//! Schema migrations, tracked in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};
use sharelink_core::StorageError;

/// The newest schema this build reads and writes.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE shares (
    share_id      TEXT PRIMARY KEY NOT NULL,
    tenant        TEXT NOT NULL,
    creator       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    expiration_ms INTEGER,
    status        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    token_epoch   INTEGER NOT NULL,
    access_count   INTEGER NOT NULL,
    preview_count  INTEGER NOT NULL,
    download_count INTEGER NOT NULL,
    save_count     INTEGER NOT NULL,
    preview_limit  INTEGER NOT NULL,
    download_limit INTEGER NOT NULL,
    save_limit     INTEGER NOT NULL,
    body          TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX shares_by_creator ON shares (tenant, creator, created_at_ms DESC, share_id DESC);
CREATE TABLE quota (
    tenant TEXT NOT NULL,
    kind   TEXT NOT NULL,
    day    TEXT NOT NULL,
    used   INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, day)
) WITHOUT ROWID;
CREATE TABLE throttle_share (
    share_id TEXT PRIMARY KEY NOT NULL,
    body     TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE throttle_client (
    share_id TEXT NOT NULL,
    client   TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (share_id, client)
) WITHOUT ROWID;
"];

pub(crate) fn db_err(what: &str) -> impl FnOnce(rusqlite::Error) -> StorageError + '_ {
    move |e| StorageError::backend(format!("sqlite: {what}"), e)
}

/// Brings the database to [`SCHEMA_VERSION`], or refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("begin migration"))?;
    let found: u32 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err("read user_version"))?;
    if found > SCHEMA_VERSION {
        return Err(StorageError::IncompatibleFormat {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql).map_err(db_err("migrate"))?;
        tx.pragma_update(None, "user_version", i + 1)
            .map_err(db_err("write user_version"))?;
    }
    tx.commit().map_err(db_err("commit migration"))
}
