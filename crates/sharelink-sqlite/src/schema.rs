//! Schema migrations, tracked in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior, params};
use sharelink_core::listing::fold_case;
use sharelink_core::{Counters, ShareRecord, StorageError};

/// The newest schema this build reads and writes.
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// A back-fill step written in Rust, run inside the migration's
/// transaction.
type Backfill = fn(&Connection) -> Result<(), StorageError>;

/// One schema step: SQL, then an optional back-fill.
struct Migration {
    sql: &'static str,
    backfill: Option<Backfill>,
}

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: V1,
        backfill: None,
    },
    Migration {
        sql: V2,
        backfill: Some(backfill_sort_columns),
    },
];

/// Version 1: shares, quotas, throttle records.
pub(crate) const V1: &str = r"
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
";

/// Version 2: the sort columns and indexes that serve every listing order
/// in order (keyset paging), and the case-folded name that name search
/// filters on.
const V2: &str = r"
ALTER TABLE shares ADD COLUMN share_name  TEXT NOT NULL DEFAULT '';
ALTER TABLE shares ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE shares ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
CREATE INDEX shares_by_updated     ON shares (tenant, creator, updated_at_ms, share_id);
CREATE INDEX shares_by_name        ON shares (tenant, creator, share_name, share_id);
CREATE INDEX shares_by_description ON shares (tenant, creator, description, share_id);
";

/// Fills the version-2 columns of every existing share from its body.
fn backfill_sort_columns(tx: &Connection) -> Result<(), StorageError> {
    let rows: Vec<(String, String)> = tx
        .prepare("SELECT share_id, body FROM shares")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(db_err("read shares to back-fill"))?;
    let mut update = tx
        .prepare("UPDATE shares SET share_name = ?2, description = ?3, name_folded = ?4 WHERE share_id = ?1")
        .map_err(db_err("prepare back-fill"))?;
    for (id, body) in rows {
        // Counters and version are not needed for the names.
        let record = ShareRecord::decode_body(body.as_bytes(), Counters::default(), 1)
            .map_err(|e| e.into_storage(format!("share {id}")))?;
        update
            .execute(params![
                id,
                record.name,
                record.description,
                fold_case(&record.name)
            ])
            .map_err(db_err("back-fill"))?;
    }
    Ok(())
}

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
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step.sql).map_err(db_err("migrate"))?;
        if let Some(backfill) = step.backfill {
            backfill(&tx)?;
        }
        tx.pragma_update(None, "user_version", i + 1)
            .map_err(db_err("write user_version"))?;
    }
    tx.commit().map_err(db_err("commit migration"))
}
