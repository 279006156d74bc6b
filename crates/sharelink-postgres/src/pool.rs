//! The connection pool, its options, and how a transaction runs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use postgres::Transaction;
use postgres::error::SqlState;
use r2d2_postgres::PostgresConnectionManager;
use sharelink_core::StorageError;
use sharelink_core::fault::{FaultInjector, NoFaults};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{schema, tls};

type Manager = PostgresConnectionManager<MakeRustlsConnect>;
type Pool = r2d2::Pool<Manager>;

/// How many times a transaction that lost a serialization race or a
/// deadlock is retried before the failure is reported.
pub(crate) const MAX_RETRIES: u32 = 8;

/// How to reach the database.
#[derive(Clone)]
pub struct PostgresOptions {
    /// A libpq-style connection string: `postgres://user@host:5432/db` or
    /// `host=… user=… dbname=…`. It may hold a password: it is never logged
    /// and not shown by `Debug`.
    pub url: String,
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// How long to wait for a connection (from the database, or from the
    /// pool when all are busy).
    pub connect_timeout: Duration,
    /// The database cancels a statement that runs longer.
    pub statement_timeout: Duration,
    /// Work in this schema (created if missing) instead of `public`: one
    /// database can then hold several independent stores (tests do).
    pub schema: Option<String>,
    /// The `application_name` the connections report (`pg_stat_activity`),
    /// unless the connection string names one.
    pub application_name: String,
    /// A PEM file of the CAs that sign the database's certificate, for TLS
    /// (see [`crate::tls`]); else the connection string's `sslrootcert`;
    /// else the public web roots.
    pub tls_root_certificates: Option<std::path::PathBuf>,
}

impl PostgresOptions {
    /// Options for `url` with the defaults: 8 connections, 5 s to connect,
    /// 10 s per statement, the `public` schema.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            schema: None,
            application_name: "sharelink".to_owned(),
            tls_root_certificates: None,
        }
    }
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &"<redacted>")
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("schema", &self.schema)
            .field("application_name", &self.application_name)
            .field("tls_root_certificates", &self.tls_root_certificates)
            .finish()
    }
}

/// A [`Storage`](sharelink_core::Storage) on a PostgreSQL database, shared
/// by every instance that connects to it.
pub struct PostgresStorage {
    /// `None` only while being dropped (see the `Drop` impl).
    pool: Option<Pool>,
    /// How many closed connections one call may meet before it gives up
    /// (the pool's size: after an outage every idle connection is stale).
    max_stale: u32,
    pub(crate) faults: Arc<dyn FaultInjector>,
}

impl fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool().state();
        f.debug_struct("PostgresStorage")
            .field("connections", &state.connections)
            .field("idle", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

/// A driver error as a storage error: an outage (lost or refused
/// connection, the server shutting down or out of connections, a statement
/// timeout) is [`StorageError::Unavailable`], which the wire answers with
/// 503 and `Retry-After`; anything else is a backend failure.
pub(crate) fn db_err(what: &'static str) -> impl Fn(postgres::Error) -> StorageError {
    move |e| {
        let message = format!("postgres: {what}");
        if let Some(why) = tls::failure_reason(&e) {
            StorageError::backend(format!("{message}: TLS: {why}"), e)
        } else if is_outage(&e) {
            StorageError::unavailable(message, e)
        } else {
            StorageError::backend(message, e)
        }
    }
}

/// Whether a driver error means "the database cannot serve now".
fn is_outage(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let code = code.code();
        // Class 08: connection exception. 57P01-57P03: admin shutdown,
        // crash shutdown, cannot connect now. 57014: statement timeout or
        // cancel. 53300: too many connections.
        return code.starts_with("08")
            || matches!(code, "57P01" | "57P02" | "57P03" | "57014" | "53300");
    }
    // No SQLSTATE: the failure is below the protocol (I/O, connect).
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// Whether the failure is a lost race worth running the transaction again.
fn is_retryable(e: &StorageError) -> bool {
    let StorageError::Backend {
        source: Some(source),
        ..
    } = e
    else {
        return false;
    };
    source
        .downcast_ref::<postgres::Error>()
        .and_then(postgres::Error::code)
        .is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        })
}

/// A schema name must be a plain identifier: it is spliced into SQL.
fn check_schema_name(name: &str) -> Result<(), StorageError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StorageError::Backend {
            message: format!(
                "postgres: schema name {name:?} must be 1-63 of [a-z0-9_], not starting with a digit"
            ),
            source: None,
        })
    }
}

/// Closing a synchronous `postgres` connection blocks on its own small
/// runtime, which panics on a thread that is running async code. A store
/// is often dropped on one (an async server shutting down drops its
/// router, and with it the engine and this store), so its connections are
/// closed on a thread of their own, and the drop waits for that.
impl Drop for PostgresStorage {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let closing = std::thread::Builder::new()
                .name("sharelink-pg-close".into())
                .spawn(move || drop(pool));
            if let Ok(handle) = closing {
                let _ = handle.join();
            }
        }
    }
}

impl PostgresStorage {
    fn pool(&self) -> &Pool {
        self.pool
            .as_ref()
            .unwrap_or_else(|| unreachable!("the pool is only taken by drop"))
    }

    /// Connects, creates the schema if asked for one, and migrates it to
    /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION) (or refuses a newer one).
    pub fn connect(options: &PostgresOptions) -> Result<Self, StorageError> {
        let settings = tls::split_tls_settings(&options.url);
        let roots = options
            .tls_root_certificates
            .as_deref()
            .or(settings.root_file.as_deref());
        let tls = tls::connector(roots)?;
        let mut config: postgres::Config = settings
            .driver_url
            .parse()
            .map_err(db_err("parse the connection string"))?;
        config.connect_timeout(options.connect_timeout);
        // An `application_name` in the connection string wins.
        if config.get_application_name().is_none() {
            config.application_name(&options.application_name);
        }
        // Session settings go after any the connection string sets itself
        // (its `options`, a `search_path` say), so ours take effect.
        let mut session = config.get_options().map(str::to_owned).unwrap_or_default();
        session.push_str(&format!(
            " -c statement_timeout={}",
            options.statement_timeout.as_millis()
        ));
        // One connection first: a wrong address, password or certificate
        // is reported at once, as itself, not as a pool timeout.
        let mut first = config.connect(tls.clone()).map_err(db_err("connect"))?;
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            first
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .map_err(db_err("create schema"))?;
            session.push_str(&format!(" -c search_path={schema}"));
        }
        drop(first);
        config.options(&session);
        let manager = PostgresConnectionManager::new(config, tls);
        // No test query on every checkout (a round trip per operation):
        // a connection found closed when its transaction begins, or during
        // a read, is replaced and the call goes on (see `write_if`, `read`).
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(options.connect_timeout)
            .build(manager)
            .map_err(|e| StorageError::backend("postgres: build the pool", e))?;
        let store = Self {
            pool: Some(pool),
            max_stale: options.pool_size.max(1) + 1,
            faults: Arc::new(NoFaults),
        };
        store.write(schema::migrate)?;
        Ok(store)
    }

    /// Consults `faults` between the writes of multi-part transactions (for
    /// atomicity tests; production code never needs this).
    pub fn with_fault_injector(mut self, faults: Arc<dyn FaultInjector>) -> Self {
        self.faults = faults;
        self
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, StorageError> {
        self.pool()
            .get()
            .map_err(|e| StorageError::unavailable("postgres: no connection", e))
    }

    /// Runs `f` in a transaction and commits iff it returns `Ok`; a lost
    /// serialization race or a deadlock runs it again (at most
    /// [`MAX_RETRIES`] times).
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.write_if(|tx| f(tx).map(|out| (out, true)))
    }

    /// Like [`write`](Self::write), but `f` decides whether to commit: the
    /// transaction is rolled back when it returns `Ok((_, false))`. A
    /// pooled connection found closed when the transaction begins (the
    /// database restarted, or an admin terminated it) is replaced and the
    /// call goes on: nothing was sent that could have taken effect.
    pub(crate) fn write_if<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<(T, bool), StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = self.connection()?;
        let (mut attempt, mut stale) = (0, 0);
        loop {
            let begin_failed = match conn.transaction() {
                Ok(mut tx) => {
                    attempt += 1;
                    let result = (|| {
                        let (out, commit) = f(&mut tx)?;
                        if commit {
                            tx.commit().map_err(db_err("commit"))?;
                        } else {
                            tx.rollback().map_err(db_err("rollback"))?;
                        }
                        Ok(out)
                    })();
                    match result {
                        Err(e) if is_retryable(&e) && attempt < MAX_RETRIES => continue,
                        Err(e) if is_retryable(&e) => {
                            return Err(StorageError::Unavailable {
                                message: format!(
                                    "postgres: lost a serialization race or deadlock {MAX_RETRIES} times"
                                ),
                                source: Some(Box::new(e)),
                            });
                        }
                        other => return other,
                    }
                }
                Err(e) => db_err("begin")(e),
            };
            if !(conn.is_closed() && stale < self.max_stale) {
                return Err(begin_failed);
            }
            stale += 1;
            conn = self.connection()?;
        }
    }

    /// Runs a read on a pooled connection; a read that finds its
    /// connection closed runs again on a fresh one (reads change nothing).
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&mut postgres::Client) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut conn = self.connection()?;
        let mut stale = 0;
        loop {
            match f(&mut conn) {
                Err(_) if conn.is_closed() && stale < self.max_stale => {
                    stale += 1;
                    conn = self.connection()?;
                }
                other => return other,
            }
        }
    }
}
