//! # sharelink-postgres
//!
//! A [`Storage`](sharelink_core::Storage) on PostgreSQL, for hosts that run
//! several instances of their service on one database: every quota, use
//! limit and token revocation holds across instances, because every
//! counted change is one conditional statement or one short transaction in
//! the database they share.
//!
//! ## Connecting
//!
//! [`PostgresStorage::connect`] takes a [`PostgresOptions`]: the connection
//! string (`postgres://user@host:5432/db`), the pool size, the connect
//! timeout, the statement timeout, optionally a schema to work in, and the
//! CAs to trust for TLS ([`tls`]: rustls, the chain and the server's name
//! always verified; `sslmode=require` in the connection string refuses a
//! server without TLS). It migrates the schema first (see below), then
//! serves from an `r2d2` pool of synchronous `postgres` connections.
//!
//! ## Schema (version 1, tracked in `sharelink_schema`)
//!
//! | table | key | columns |
//! |---|---|---|
//! | `shares` | `share_id` | `tenant`, `creator`, times in ms, `status`, `version`, `token_epoch`, counters and limits, `share_name`, `description`, `name_folded`, `body` (the [`ShareRecord`](sharelink_core::ShareRecord) body, `BYTEA`) |
//! | `quota` | `(tenant, kind, day)` | `used` |
//! | `throttle_share` (`UNLOGGED`) | `share_id` | `body` (JSON) |
//! | `throttle_client` (`UNLOGGED`) | `(share_id, client)` | `body` (JSON) |
//!
//! Text keys use `COLLATE "C"`, so the database orders them by their bytes
//! as every other backend does. One index per listing order, on `(tenant,
//! creator, <sort column>, share_id)`, serves every order forwards or
//! backwards with keyset paging. Throttle rows are advisory and live in
//! unlogged tables: a database crash may forget recent failures, never
//! corrupt anything.
//!
//! Migrations run inside one transaction holding a transaction-level
//! advisory lock, so N instances starting at once migrate exactly once. A
//! database written by a newer schema is refused with
//! [`StorageError::IncompatibleFormat`](sharelink_core::StorageError::IncompatibleFormat).
//!
//! ## Concurrency
//!
//! Counting a use and charging a quota are single conditional statements
//! (`UPDATE … WHERE … RETURNING`, `INSERT … ON CONFLICT … DO UPDATE …
//! WHERE … RETURNING`), so a counter never passes its limit across
//! connections or instances. Multi-part writes (a share with its quota
//! charge, a token issue with its throttle record and quota) are one
//! transaction that takes its row locks in one order (share, throttle,
//! quota). Serialization failures and deadlocks are retried a bounded
//! number of times.
//!
//! ## Testing
//!
//! The tests read `SHARELINK_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each works in a schema of its
//! own and drops it afterwards. Where no PostgreSQL answers they print one
//! `skipped: no PostgreSQL at …` line and pass, unless
//! `SHARELINK_REQUIRE_POSTGRES=1`.

mod listing;
mod pool;
mod rows;
mod schema;
mod statements;
mod store;
pub mod testing;
pub mod tls;

pub use pool::{PostgresOptions, PostgresStorage};
pub use schema::SCHEMA_VERSION;

/// `url` without a password (`postgres://user:***@host/db`), for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url
            .split(' ')
            .map(|kv| match kv.split_once('=') {
                Some(("password", _)) => "password=***".to_owned(),
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}
