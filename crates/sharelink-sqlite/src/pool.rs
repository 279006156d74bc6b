//! The connections: options, the writer and its reader pool, and how a
//! transaction runs.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use sharelink_core::fault::{FaultInjector, NoFaults};
use sharelink_core::{Share, ShareId, StorageError};

use crate::rows::select_share;
use crate::schema::{db_err, migrate};
use crate::stamped::StampedCache;

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
    /// Shares kept decoded in memory for [`Storage::get_share`] (default
    /// 4096; 0 = none). They are answered without a read transaction while
    /// no commit, by any connection of any process, has touched the
    /// database since they were read (see [`StampedCache`]), so a cancel or
    /// a password change is seen at once.
    ///
    /// [`Storage::get_share`]: sharelink_core::Storage::get_share
    pub cached_shares: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            cached_shares: 4096,
        }
    }
}

/// A [`Storage`](sharelink_core::Storage) in one SQLite database file (or in memory).
pub struct SqliteStorage {
    synchronous: Synchronous,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    shares: Option<StampedCache<ShareId, Share>>,
    pub(crate) faults: Arc<dyn FaultInjector>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("readers", &self.readers.len())
            .field(
                "cached_shares",
                &self.shares.as_ref().map(StampedCache::len),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
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
        // WAL is on and the writer stays open, so the `-shm` file exists for
        // as long as this store does.
        let shares = match options.cached_shares {
            0 => None,
            n => Some(
                StampedCache::open(path, n).map_err(|e| StorageError::Backend {
                    message: format!(
                        "sqlite: cannot open the wal-index of {}: {e}",
                        path.display()
                    ),
                    source: None,
                })?,
            ),
        };
        Ok(Self {
            synchronous: options.synchronous,
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            shares,
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
            shares: None,
            faults: Arc::new(NoFaults),
        })
    }

    /// Consults `faults` between the statements of multi-part writes (for
    /// atomicity tests; production code never needs this).
    pub fn with_fault_injector(mut self, faults: Arc<dyn FaultInjector>) -> Self {
        self.faults = faults;
        self
    }

    pub(crate) fn read<T>(
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

    /// The share `id`, from the cache of decoded shares while the database
    /// is unchanged, else read (and kept).
    pub(crate) fn share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        match &self.shares {
            Some(cache) => cache.get_or_load(id, || self.read(|conn| select_share(conn, id))),
            None => self.read(|conn| select_share(conn, id)),
        }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer; commits
    /// iff `f` returns `Ok`.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = lock(&self.writer);
        run_tx(&mut conn, f)
    }

    /// Like [`write`](Self::write), but `f` decides whether to commit: the
    /// transaction is rolled back when it returns `Ok((_, false))`.
    pub(crate) fn write_if<T>(
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
    pub(crate) fn write_advisory<T>(
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
pub(crate) fn exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the connection's statement cache (no re-parsing).
pub(crate) fn query_row<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

pub(crate) fn run_tx<T>(
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

pub(crate) fn configure(
    conn: &Connection,
    options: &SqliteOptions,
    writer: bool,
) -> Result<(), StorageError> {
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
