//! [`SqliteStorage`]: the [`Storage`] implementation.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use sharelink_core::fault::{FaultInjector, NoFaults};
use sharelink_core::share::{MAX_COUNT, ShareRecord};
use sharelink_core::storage::{ListMarker, share_is_purgeable};
use sharelink_core::throttle::{self, ClientThrottle, ShareThrottle, ThrottleState};
use sharelink_core::{
    AccessOutcome, AccessRecord, AccessUpdate, ClientKey, Counters, InsertOutcome, PurgeReport,
    PurgeRequest, QuotaCharge, QuotaKey, QuotaOutcome, Share, ShareId, SharePage, ShareQuery,
    ShareStatus, Storage, StorageError, UpdateOutcome, UseCount, UseKind, UseOutcome,
};

use crate::schema::{db_err, migrate};

/// How hard SQLite syncs to disk (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync at every commit: survives power loss. The default.
    #[default]
    Full,
    /// fsync at checkpoints only: survives a process crash, may lose the
    /// last commits on power loss.
    Normal,
}

/// Options for [`SqliteStorage::open`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Durability level (default [`Synchronous::Full`]).
    pub synchronous: Synchronous,
    /// How long a connection waits for another process's lock (default 5 s).
    pub busy_timeout: Duration,
    /// Reader connections besides the writer (default 4; 0 = the writer reads too).
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
        }
    }
}

/// A [`Storage`] in one SQLite database file (or in memory).
pub struct SqliteStorage {
    synchronous: Synchronous,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    faults: Arc<dyn FaultInjector>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic mid-transaction drops the Transaction, which rolls back: the
    // connection is consistent even if the mutex is poisoned.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path`, migrating it to
    /// the current schema. Refuses a database from a newer schema.
    pub fn open(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, StorageError> {
        let path = path.as_ref();
        let mut writer = Connection::open(path).map_err(db_err("open"))?;
        configure(&writer, options, true)?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(options.readers);
        for _ in 0..options.readers {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(db_err("open reader"))?;
            configure(&r, options, false)?;
            readers.push(Mutex::new(r));
        }
        Ok(Self {
            synchronous: options.synchronous,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            faults: Arc::new(NoFaults),
        })
    }

    /// A private in-memory database (one connection; nothing is durable).
    pub fn open_in_memory() -> Result<Self, StorageError> {
        let mut conn = Connection::open_in_memory().map_err(db_err("open in memory"))?;
        migrate(&mut conn)?;
        Ok(Self {
            synchronous: Synchronous::Full,
            writer: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            faults: Arc::new(NoFaults),
        })
    }

    /// Consults `faults` between the statements of multi-part writes (for
    /// atomicity tests; production code never needs this).
    pub fn with_fault_injector(mut self, faults: Arc<dyn FaultInjector>) -> Self {
        self.faults = faults;
        self
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if self.readers.is_empty() {
            return f(&lock(&self.writer));
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self
            .readers
            .get(i)
            .unwrap_or_else(|| unreachable!("index is reduced modulo len"));
        f(&lock(conn))
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer; commits
    /// iff `f` returns `Ok`.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = lock(&self.writer);
        run_tx(&mut conn, f)
    }

    /// Like [`write`](Self::write), but `f` decides whether to commit: the
    /// transaction is rolled back when it returns `Ok((_, false))`.
    fn write_if<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<(T, bool), StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err("begin"))?;
        let (out, commit) = f(&tx)?;
        if commit {
            tx.commit().map_err(db_err("commit"))?;
        } else {
            tx.rollback().map_err(db_err("rollback"))?;
        }
        Ok(out)
    }

    /// Like [`write`](Self::write), for advisory state that need not be
    /// durable: the commit skips the fsync (`synchronous=NORMAL` for this
    /// transaction). The next durable commit makes it durable too.
    fn write_advisory<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = lock(&self.writer);
        if self.synchronous == Synchronous::Normal {
            return run_tx(&mut conn, f);
        }
        exec(&conn, "PRAGMA synchronous = NORMAL", []).map_err(db_err("synchronous"))?;
        let out = run_tx(&mut conn, f);
        let restored = exec(&conn, "PRAGMA synchronous = FULL", [])
            .map(drop)
            .map_err(db_err("synchronous"));
        let out = out?;
        restored?;
        Ok(out)
    }
}

/// `execute` through the connection's statement cache (no re-parsing).
fn exec<P: rusqlite::Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the connection's statement cache (no re-parsing).
fn query_row<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn run_tx<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("begin"))?;
    let out = f(&tx)?;
    tx.commit().map_err(db_err("commit"))?;
    Ok(out)
}

fn configure(conn: &Connection, options: &SqliteOptions, writer: bool) -> Result<(), StorageError> {
    conn.busy_timeout(options.busy_timeout)
        .map_err(db_err("busy_timeout"))?;
    if writer {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(db_err("journal_mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Backend {
                message: format!("sqlite: could not enable WAL (journal_mode is {mode})"),
                source: None,
            });
        }
    }
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(db_err("synchronous"))?;
    Ok(())
}

// ----- encoding -------------------------------------------------------------

fn encode_share(share: &Share) -> Result<String, StorageError> {
    String::from_utf8(ShareRecord::encode_share(share)?)
        .map_err(|e| StorageError::backend("share record body is not UTF-8", e))
}

/// Decodes a stored `shares.body` column for the row with key `id`, with
/// zero counters at version 1. Never panics; exposed for fuzzing.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn decode_stored_share(id: &str, body: &str) -> Result<Share, StorageError> {
    ShareRecord::decode_share(id, body.as_bytes(), Counters::default(), 1)
}

fn decode_json<T: serde::de::DeserializeOwned>(
    what: impl FnOnce() -> String,
    body: &str,
) -> Result<T, StorageError> {
    serde_json::from_str(body).map_err(|e| StorageError::Corrupt {
        what: what(),
        reason: e.to_string(),
    })
}

fn status_text(s: ShareStatus) -> &'static str {
    match s {
        ShareStatus::Enabled => "enabled",
        ShareStatus::Cancelled => "cancelled",
    }
}

fn i64_of(n: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(n)
        .map_err(|e| StorageError::backend(format!("{what} does not fit SQLite's INTEGER"), e))
}

fn day_text(key: &QuotaKey) -> String {
    key.day.format("%Y-%m-%d").to_string()
}

// ----- statements -----------------------------------------------------------

/// The columns a share is rebuilt from, after `share_id`.
const SHARE_COLUMNS: &str =
    "body, access_count, preview_count, download_count, save_count, version";

/// A share row: the JSON body plus the counters and version, which live in
/// columns so that counting is one SQL statement and needs no JSON.
struct ShareRow {
    id: String,
    body: String,
    counters: [i64; 4],
    version: i64,
}

impl ShareRow {
    /// Reads `share_id, SHARE_COLUMNS` starting at column 0.
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            body: r.get(1)?,
            counters: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
            version: r.get(6)?,
        })
    }

    fn decode(self) -> Result<Share, StorageError> {
        let [access, preview, download, save] = self.counters;
        let count = use_count(&self.id, [access, preview, download, save, self.version])?;
        ShareRecord::decode_share(
            &self.id,
            self.body.as_bytes(),
            count.counters,
            count.version,
        )
    }
}

/// Reads the counters and version returned by a counting statement.
fn use_count(id: &str, r: [i64; 5]) -> Result<UseCount, StorageError> {
    let corrupt = |e: std::num::TryFromIntError| StorageError::Corrupt {
        what: format!("share {id}"),
        reason: format!("negative counter or version: {e}"),
    };
    let [access, preview, download, save, version] = r;
    Ok(UseCount {
        counters: Counters {
            access: u64::try_from(access).map_err(corrupt)?,
            preview: u64::try_from(preview).map_err(corrupt)?,
            download: u64::try_from(download).map_err(corrupt)?,
            save: u64::try_from(save).map_err(corrupt)?,
        },
        version: u64::try_from(version).map_err(corrupt)?,
    })
}

fn select_share(conn: &Connection, id: &ShareId) -> Result<Option<Share>, StorageError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT share_id, {SHARE_COLUMNS} FROM shares WHERE share_id = ?1"
        ))
        .and_then(|mut stmt| stmt.query_row([id.as_str()], ShareRow::read).optional())
        .map_err(db_err("select share"))?;
    row.map(ShareRow::decode).transpose()
}

fn write_share(tx: &Connection, share: &Share, insert: bool) -> Result<usize, StorageError> {
    let sql = if insert {
        "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms, expiration_ms,
                             status, version, token_epoch, body, access_count, preview_count,
                             download_count, save_count, preview_limit, download_limit, save_limit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (share_id) DO NOTHING"
    } else {
        "UPDATE shares SET tenant = ?2, creator = ?3, created_at_ms = ?4, updated_at_ms = ?5,
                expiration_ms = ?6, status = ?7, version = ?8, token_epoch = ?9, body = ?10,
                access_count = ?11, preview_count = ?12, download_count = ?13, save_count = ?14,
                preview_limit = ?15, download_limit = ?16, save_limit = ?17
         WHERE share_id = ?1"
    };
    let (c, l) = (share.counters(), share.limits());
    let stmt = tx
        .prepare_cached(sql)
        .map_err(db_err("prepare write share"));
    stmt?
        .execute(params![
            share.id().as_str(),
            share.tenant().as_str(),
            share.creator().user_id.as_str(),
            share.created_at().timestamp_millis(),
            share.updated_at().timestamp_millis(),
            share.expiration().map(|t| t.timestamp_millis()),
            status_text(share.status()),
            i64_of(share.version(), "version")?,
            i64_of(share.token_epoch(), "token epoch")?,
            encode_share(share)?,
            i64_of(c.access, "counter")?,
            i64_of(c.preview, "counter")?,
            i64_of(c.download, "counter")?,
            i64_of(c.save, "counter")?,
            i64_of(l.wire(UseKind::Preview), "limit")?,
            i64_of(l.wire(UseKind::Download), "limit")?,
            i64_of(l.wire(UseKind::Save), "limit")?,
        ])
        .map_err(db_err("write share"))
}

fn quota_used(conn: &Connection, key: &QuotaKey) -> Result<u32, StorageError> {
    let used: Option<i64> = query_row(
        conn,
        "SELECT used FROM quota WHERE tenant = ?1 AND kind = ?2 AND day = ?3",
        params![key.tenant.as_str(), key.kind.as_str(), day_text(key)],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err("select quota"))?;
    u32::try_from(used.unwrap_or(0)).map_err(|e| StorageError::Corrupt {
        what: format!("quota {} {} {}", key.tenant, key.kind, key.day),
        reason: e.to_string(),
    })
}

/// Takes one unit if `used < limit`; call inside an IMMEDIATE transaction.
fn consume_in(tx: &Connection, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
    if charge.limit == 0 {
        return Ok(QuotaOutcome::Exhausted {
            used: quota_used(tx, &charge.key)?,
        });
    }
    // One statement: the WHERE keeps the counter under its limit.
    let used: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO quota (tenant, kind, day, used) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (tenant, kind, day) DO UPDATE SET used = used + 1 WHERE used < ?4
             RETURNING used",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    charge.key.tenant.as_str(),
                    charge.key.kind.as_str(),
                    day_text(&charge.key),
                    charge.limit
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(db_err("charge quota"))?;
    match used {
        Some(n) => Ok(QuotaOutcome::Consumed {
            used: u32::try_from(n).map_err(|e| StorageError::Corrupt {
                what: format!("quota of tenant {}", charge.key.tenant),
                reason: e.to_string(),
            })?,
        }),
        None => Ok(QuotaOutcome::Exhausted {
            used: quota_used(tx, &charge.key)?,
        }),
    }
}

fn read_throttle(
    conn: &Connection,
    share: &ShareId,
    client: &ClientKey,
) -> Result<ThrottleState, StorageError> {
    let share_part: Option<String> = query_row(
        conn,
        "SELECT body FROM throttle_share WHERE share_id = ?1",
        [share.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err("select throttle_share"))?;
    let client_part: Option<String> = query_row(
        conn,
        "SELECT body FROM throttle_client WHERE share_id = ?1 AND client = ?2",
        [share.as_str(), client.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err("select throttle_client"))?;
    Ok(ThrottleState {
        share: match share_part {
            Some(b) => decode_json(|| format!("throttle of share {share}"), &b)?,
            None => ShareThrottle::default(),
        },
        client: match client_part {
            Some(b) => decode_json(|| format!("throttle of share {share} client {client}"), &b)?,
            None => ClientThrottle::default(),
        },
    })
}

fn write_throttle(
    tx: &Connection,
    share: &ShareId,
    client: &ClientKey,
    state: &ThrottleState,
    faults: &dyn FaultInjector,
) -> Result<(), StorageError> {
    exec(
        tx,
        "INSERT INTO throttle_share (share_id, body) VALUES (?1, ?2)
         ON CONFLICT (share_id) DO UPDATE SET body = excluded.body",
        params![share.as_str(), to_json(&state.share)?],
    )
    .map_err(db_err("write throttle_share"))?;
    faults.check("update_throttle:after_share_part")?;
    exec(
        tx,
        "INSERT INTO throttle_client (share_id, client, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (share_id, client) DO UPDATE SET body = excluded.body",
        params![share.as_str(), client.as_str(), to_json(&state.client)?],
    )
    .map_err(db_err("write throttle_client"))?;
    Ok(())
}

/// `insert_share` inside an open IMMEDIATE transaction: two statements in
/// the common case (insert the row, charge the quota under its limit). A
/// refused charge deletes the row again, so the outcome writes nothing.
fn insert_in(
    tx: &Connection,
    share: &Share,
    charge: Option<&QuotaCharge>,
    faults: &dyn FaultInjector,
) -> Result<InsertOutcome, StorageError> {
    if let Some(c) = charge {
        if c.limit == 0 {
            // Nothing can be charged; only the outcome's precedence is left
            // to decide (a taken id wins, as in every backend).
            let exists: Option<i64> = query_row(
                tx,
                "SELECT 1 FROM shares WHERE share_id = ?1",
                [share.id().as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err("select share"))?;
            return Ok(match exists {
                Some(_) => InsertOutcome::IdTaken,
                None => InsertOutcome::QuotaExhausted {
                    used: quota_used(tx, &c.key)?,
                },
            });
        }
    }
    insert_steps(tx, share, charge, faults)
}

fn insert_steps(
    tx: &Connection,
    share: &Share,
    charge: Option<&QuotaCharge>,
    faults: &dyn FaultInjector,
) -> Result<InsertOutcome, StorageError> {
    if write_share(tx, share, true)? == 0 {
        return Ok(InsertOutcome::IdTaken);
    }
    faults.check("insert_share:after_share")?;
    if let Some(c) = charge {
        if let QuotaOutcome::Exhausted { used } = consume_in(tx, c)? {
            exec(
                tx,
                "DELETE FROM shares WHERE share_id = ?1",
                [share.id().as_str()],
            )
            .map_err(db_err("undo insert"))?;
            return Ok(InsertOutcome::QuotaExhausted { used });
        }
    }
    faults.check("insert_share:after_quota")?;
    Ok(InsertOutcome::Inserted)
}

/// `count_use` inside an open IMMEDIATE transaction: one `UPDATE … RETURNING`
/// that checks the epoch and the limit in its `WHERE`, and needs no JSON.
fn count_in(
    tx: &Connection,
    id: &ShareId,
    kind: UseKind,
    expected_epoch: u64,
) -> Result<UseOutcome, StorageError> {
    let (count, limit) = match kind {
        UseKind::Access => ("access_count", None),
        UseKind::Preview => ("preview_count", Some("preview_limit")),
        UseKind::Download => ("download_count", Some("download_limit")),
        UseKind::Save => ("save_count", Some("save_limit")),
    };
    // A counter never passes MAX_COUNT (PDS int64): limited uses stop
    // there, accesses saturate.
    let max = MAX_COUNT;
    let under_limit = limit.map_or(String::new(), |l| {
        format!(" AND ({l} = 0 OR {count} < {l}) AND {count} < {max}")
    });
    let epoch = i64_of(expected_epoch, "token epoch")?;
    let counted: Option<[i64; 5]> = tx
        .prepare_cached(&format!(
            "UPDATE shares SET {count} = {count} + ({count} < {max}), version = version + 1
             WHERE share_id = ?1 AND token_epoch = ?2{under_limit}
             RETURNING access_count, preview_count, download_count, save_count, version"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![id.as_str(), epoch], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
            })
            .optional()
        })
        .map_err(db_err("count use"))?;
    if let Some(row) = counted {
        return Ok(UseOutcome::Counted(use_count(id.as_str(), row)?));
    }
    // Nothing counted: say why.
    let state: Option<(i64, i64)> = tx
        .prepare_cached(&format!(
            "SELECT token_epoch, {} FROM shares WHERE share_id = ?1",
            limit.unwrap_or("0")
        ))
        .and_then(|mut stmt| {
            stmt.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err("select share"))?;
    Ok(match state {
        None => UseOutcome::NotFound,
        Some((e, _)) if e != epoch => UseOutcome::EpochMoved,
        Some((_, l)) => UseOutcome::LimitReached {
            limit: match u64::try_from(l).map_err(|e| StorageError::Corrupt {
                what: format!("share {id}"),
                reason: e.to_string(),
            })? {
                0 => MAX_COUNT,
                l => l,
            },
        },
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::backend("encode throttle", e))
}

impl SqliteStorage {
    /// The stored `shares.body` of a share (the [`ShareRecord`] bytes), or
    /// `None` if there is no such share.
    ///
    /// **For the testkit's golden stored-format case only** (see
    /// `sharelink_testkit::golden`).
    #[doc(hidden)]
    pub fn danger_raw_share_body(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|conn| {
            query_row(
                conn,
                "SELECT body FROM shares WHERE share_id = ?1",
                [id.as_str()],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|body| body.map(String::into_bytes))
            .map_err(db_err("select share body"))
        })
    }

    /// Overwrites the stored body of a share with `body`, bypassing every
    /// check.
    ///
    /// **For the testkit's golden stored-format case only**: anything else
    /// that writes here can store a share no rule would allow.
    #[doc(hidden)]
    pub fn danger_overwrite_share_body(
        &self,
        id: &ShareId,
        body: &[u8],
    ) -> Result<(), StorageError> {
        let body = std::str::from_utf8(body)
            .map_err(|e| StorageError::backend("a share body is UTF-8 JSON", e))?;
        self.write(|tx| {
            tx.execute(
                "UPDATE shares SET body = ?1 WHERE share_id = ?2",
                params![body, id.as_str()],
            )
            .map_err(db_err("overwrite share body"))
        })
        .map(drop)
    }
}

impl Storage for SqliteStorage {
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        self.write(|tx| insert_in(tx, share, charge, &*self.faults))
    }

    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        self.write(|tx| {
            batch
                .iter()
                .map(|(share, charge)| insert_in(tx, share, charge.as_ref(), &*self.faults))
                .collect()
        })
    }

    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        self.read(|conn| select_share(conn, id))
    }

    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        self.write(|tx| {
            let current: Option<i64> = query_row(
                tx,
                "SELECT version FROM shares WHERE share_id = ?1",
                [share.id().as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err("select version"))?;
            let Some(current) = current else {
                return Ok(UpdateOutcome::NotFound);
            };
            let current = u64::try_from(current).map_err(|e| StorageError::Corrupt {
                what: format!("share {}", share.id()),
                reason: e.to_string(),
            })?;
            if current != expected_version {
                return Ok(UpdateOutcome::Conflict {
                    current_version: current,
                });
            }
            write_share(tx, share, false)?;
            Ok(UpdateOutcome::Updated)
        })
    }

    fn list_shares(&self, query: &ShareQuery) -> Result<SharePage, StorageError> {
        let limit = query.limit.max(1);
        self.read(|conn| {
            let (after_ms, after_id) = match &query.marker {
                Some(m) => (Some(m.created_at_ms), Some(m.share_id.as_str().to_owned())),
                None => (None, None),
            };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT share_id, body, access_count, preview_count, download_count, save_count,
                            version FROM shares
                     WHERE tenant = ?1 AND creator = ?2
                       AND (?3 OR status <> 'cancelled')
                       AND (?4 IS NULL OR created_at_ms < ?4 OR (created_at_ms = ?4 AND share_id < ?5))
                     ORDER BY created_at_ms DESC, share_id DESC
                     LIMIT ?6",
                )
                .map_err(db_err("prepare list"))?;
            let rows = stmt
                .query_map(
                    params![
                        query.tenant.as_str(),
                        query.creator.as_str(),
                        query.include_cancelled,
                        after_ms,
                        after_id,
                        i64::try_from(limit + 1).unwrap_or(i64::MAX),
                    ],
                    ShareRow::read,
                )
                .map_err(db_err("list"))?;
            let mut items = Vec::with_capacity(limit + 1);
            for row in rows {
                items.push(row.map_err(db_err("list row"))?.decode()?);
            }
            let more = items.len() > limit;
            items.truncate(limit);
            let next_marker = if more { items.last().map(ListMarker::after) } else { None };
            Ok(SharePage { items, next_marker })
        })
    }

    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        self.write(|tx| consume_in(tx, charge))
    }

    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError> {
        self.read(|conn| quota_used(conn, key))
    }

    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        self.write(|tx| count_in(tx, id, kind, expected_epoch))
    }

    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError> {
        let count = match kind {
            UseKind::Access => "access_count",
            UseKind::Preview => "preview_count",
            UseKind::Download => "download_count",
            UseKind::Save => "save_count",
        };
        self.write(|tx| {
            let row: Option<[i64; 5]> = tx
                .prepare_cached(&format!(
                    "UPDATE shares SET {count} = MAX({count} - 1, 0), version = version + 1
                     WHERE share_id = ?1
                     RETURNING access_count, preview_count, download_count, save_count, version"
                ))
                .and_then(|mut stmt| {
                    stmt.query_row([id.as_str()], |r| {
                        Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
                    })
                    .optional()
                })
                .map_err(db_err("refund use"))?;
            row.map(|r| use_count(id.as_str(), r)).transpose()
        })
    }

    fn count_uses(
        &self,
        batch: &[(ShareId, UseKind, u64)],
    ) -> Result<Vec<UseOutcome>, StorageError> {
        self.write(|tx| {
            batch
                .iter()
                .map(|(id, kind, epoch)| count_in(tx, id, *kind, *epoch))
                .collect()
        })
    }

    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError> {
        self.write_if(|tx| {
            // Counting first checks existence and epoch in the same statement.
            let count = match count_in(tx, access.share_id, UseKind::Access, access.expected_epoch)?
            {
                UseOutcome::Counted(c) => c,
                UseOutcome::NotFound => return Ok((AccessOutcome::NotFound, false)),
                UseOutcome::EpochMoved => return Ok((AccessOutcome::EpochMoved, false)),
                UseOutcome::LimitReached { .. } => {
                    return Err(StorageError::Corrupt {
                        what: format!("share {}", access.share_id),
                        reason: "accesses have no per-share limit".into(),
                    });
                }
            };
            let update = apply(read_throttle(tx, access.share_id, access.client)?);
            if let (Some(c), true) = (access.charge, update.charge_quota) {
                if let QuotaOutcome::Exhausted { used } = consume_in(tx, c)? {
                    // Roll the counted access back with the transaction.
                    return Ok((AccessOutcome::QuotaExhausted { used }, false));
                }
            }
            self.faults.check("record_access:after_quota")?;
            write_throttle(
                tx,
                access.share_id,
                access.client,
                &update.throttle,
                &*self.faults,
            )?;
            Ok((AccessOutcome::Recorded(count), true))
        })
    }

    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError> {
        self.write_advisory(|tx| {
            let next = apply(read_throttle(tx, share, client)?);
            write_throttle(tx, share, client, &next, &*self.faults)?;
            Ok(next)
        })
    }

    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        self.write(|tx| {
            let cutoff = request.shares_before.timestamp_millis();
            let mut report = PurgeReport::default();
            // Candidates by the indexed columns, confirmed by the core's rule.
            let mut doomed = Vec::new();
            {
                let mut stmt = tx
                    .prepare(&format!(
                        "SELECT share_id, {SHARE_COLUMNS} FROM shares
                         WHERE (expiration_ms IS NOT NULL AND expiration_ms < ?1)
                            OR (status = 'cancelled' AND updated_at_ms < ?1)"
                    ))
                    .map_err(db_err("prepare purge"))?;
                let rows = stmt
                    .query_map([cutoff], ShareRow::read)
                    .map_err(db_err("purge scan"))?;
                for row in rows {
                    let share = row.map_err(db_err("purge row"))?.decode()?;
                    if share_is_purgeable(&share, request.shares_before) {
                        doomed.push(share.id().to_string());
                    }
                }
            }
            for id in &doomed {
                report.shares += tx
                    .execute("DELETE FROM shares WHERE share_id = ?1", [id])
                    .map_err(db_err("delete share"))?;
                report.throttle_records += tx
                    .execute("DELETE FROM throttle_share WHERE share_id = ?1", [id])
                    .map_err(db_err("delete throttle"))?;
                report.throttle_records += tx
                    .execute("DELETE FROM throttle_client WHERE share_id = ?1", [id])
                    .map_err(db_err("delete throttle"))?;
            }
            let day = request.quota_days_before.format("%Y-%m-%d").to_string();
            report.quota_counters = tx
                .execute("DELETE FROM quota WHERE day < ?1", [day])
                .map_err(db_err("delete quota"))?;

            let policy = request.throttle_policy;
            let stale = |state: ThrottleState| throttle::is_stale(&state, &policy, request.now);
            let mut stale_clients = Vec::new();
            {
                let mut stmt = tx
                    .prepare("SELECT share_id, client, body FROM throttle_client")
                    .map_err(db_err("prepare"))?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })
                    .map_err(db_err("scan throttle_client"))?;
                for row in rows {
                    let (share, client, body) = row.map_err(db_err("throttle row"))?;
                    let c: ClientThrottle = decode_json(
                        || format!("throttle of share {share} client {client}"),
                        &body,
                    )?;
                    if stale(ThrottleState {
                        share: ShareThrottle::default(),
                        client: c,
                    }) {
                        stale_clients.push((share, client));
                    }
                }
            }
            for (share, client) in &stale_clients {
                report.throttle_records += tx
                    .execute(
                        "DELETE FROM throttle_client WHERE share_id = ?1 AND client = ?2",
                        [share, client],
                    )
                    .map_err(db_err("delete throttle"))?;
            }
            let mut stale_shares = Vec::new();
            {
                let mut stmt = tx
                    .prepare("SELECT share_id, body FROM throttle_share")
                    .map_err(db_err("prepare"))?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(db_err("scan throttle_share"))?;
                for row in rows {
                    let (share, body) = row.map_err(db_err("throttle row"))?;
                    let s: ShareThrottle =
                        decode_json(|| format!("throttle of share {share}"), &body)?;
                    if stale(ThrottleState {
                        share: s,
                        client: ClientThrottle::default(),
                    }) {
                        stale_shares.push(share);
                    }
                }
            }
            for share in &stale_shares {
                report.throttle_records += tx
                    .execute("DELETE FROM throttle_share WHERE share_id = ?1", [share])
                    .map_err(db_err("delete throttle"))?;
            }
            Ok(report)
        })
    }
}
