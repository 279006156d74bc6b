//! Helpers for tests that need a database: where it is, whether it answers,
//! and a store in a schema of its own that is dropped afterwards.
//!
//! `SHARELINK_TEST_DATABASE_URL` names the database (default
//! [`DEFAULT_TEST_DATABASE_URL`]). Where none answers, [`database_ready`]
//! prints one `skipped: no PostgreSQL at …` line and returns `false`, so
//! that the tests pass without one — unless `SHARELINK_REQUIRE_POSTGRES=1`,
//! where it panics instead (CI sets it).

use std::sync::{Arc, OnceLock};

use postgres::NoTls;
use rand::RngCore;
use sharelink_core::fault::FaultInjector;
use sharelink_core::{ShareId, StorageError};

use crate::pool::db_err;
use crate::redact_url as redacted;
use crate::{PostgresOptions, PostgresStorage};

/// The database the tests use when `SHARELINK_TEST_DATABASE_URL` is unset.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test database's connection string.
pub fn test_database_url() -> String {
    std::env::var("SHARELINK_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// Whether the test database answers. Checked once per process; the
/// first miss prints the one "skipped" line. Panics instead when
/// `SHARELINK_REQUIRE_POSTGRES=1`.
pub fn database_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let url = test_database_url();
        let reachable = url
            .parse::<postgres::Config>()
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                c.connect_timeout(std::time::Duration::from_secs(3));
                c.connect(NoTls).map(drop).map_err(|e| e.to_string())
            });
        match reachable {
            Ok(()) => true,
            Err(e) if std::env::var("SHARELINK_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!(
                    "SHARELINK_REQUIRE_POSTGRES=1 but no PostgreSQL at {}: {e}",
                    redacted(&url)
                )
            }
            Err(e) => {
                // Straight to the stderr handle: the test harness captures
                // `eprintln!` of passing tests, and this line must show.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: no PostgreSQL at {} ({e})",
                    redacted(&url)
                );
                false
            }
        }
    })
}

/// Drops its schema (and everything in it) when dropped.
#[derive(Debug)]
pub struct SchemaGuard {
    url: String,
    schema: String,
}

impl SchemaGuard {
    /// The schema's name.
    pub fn schema(&self) -> &str {
        &self.schema
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.url, NoTls) {
            // Best effort: a leftover schema is only clutter in a test database.
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// A fresh store in a new schema of the test database, consulting
/// `faults`, and the guard that drops the schema.
pub fn fresh_store(
    faults: Arc<dyn FaultInjector>,
) -> Result<(PostgresStorage, SchemaGuard), StorageError> {
    fresh_store_at(&test_database_url(), faults)
}

/// Like [`fresh_store`], on the database at `url` (the test database with
/// other session settings, say).
pub fn fresh_store_at(
    url: &str,
    faults: Arc<dyn FaultInjector>,
) -> Result<(PostgresStorage, SchemaGuard), StorageError> {
    let url = url.to_owned();
    let schema = format!("sl_test_{:016x}", rand::rngs::OsRng.next_u64());
    let guard = SchemaGuard {
        url: url.clone(),
        schema: schema.clone(),
    };
    let mut options = PostgresOptions::new(url);
    options.schema = Some(schema.clone());
    options.application_name = schema;
    options.pool_size = 16;
    let store = PostgresStorage::connect(&options)?.with_fault_injector(faults);
    Ok((store, guard))
}

impl PostgresStorage {
    /// The stored body of a share (the [`ShareRecord`](sharelink_core::ShareRecord)
    /// bytes), or `None` if there is no such share.
    ///
    /// **For the testkit's golden stored-format case only.**
    #[doc(hidden)]
    pub fn danger_raw_share_body(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|conn| {
            conn.query_opt(
                "SELECT body FROM shares WHERE share_id = $1",
                &[&id.as_str()],
            )
            .map_err(db_err("select share body"))?
            .map(|r| r.try_get(0).map_err(db_err("read share body")))
            .transpose()
        })
    }

    /// Overwrites the stored body of a share, bypassing every check.
    ///
    /// **For the testkit's golden stored-format case only**: anything else
    /// that writes here can store a share no rule would allow.
    #[doc(hidden)]
    pub fn danger_overwrite_share_body(
        &self,
        id: &ShareId,
        body: &[u8],
    ) -> Result<(), StorageError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE shares SET body = $1 WHERE share_id = $2",
                &[&body, &id.as_str()],
            )
            .map_err(db_err("overwrite share body"))
            .map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redacted("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redacted(DEFAULT_TEST_DATABASE_URL),
            DEFAULT_TEST_DATABASE_URL
        );
        assert_eq!(redacted("host=db user=app"), "host=db user=app");
        assert_eq!(
            redacted("host=db password=s3cret user=app"),
            "host=db password=*** user=app"
        );
    }
}
