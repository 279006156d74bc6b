//! # sharelink-sqlite
//!
//! A [`Storage`](sharelink_core::Storage) on SQLite (rusqlite with bundled SQLite), for hosts that run
//! on one machine, in one or several processes.
//!
//! ## Schema (version 2, tracked in `PRAGMA user_version`)
//!
//! | table | key | columns |
//! |---|---|---|
//! | `shares` | `share_id` | `tenant`, `creator`, `created_at_ms`, `updated_at_ms`, `expiration_ms` (NULL = never), `status`, `version`, `token_epoch`, counters and limits, `share_name`, `description`, `name_folded`, `body` (the share's [`ShareRecord`](sharelink_core::ShareRecord) body) |
//! | `quota` | `(tenant, kind, day)` | `used` |
//! | `throttle_share` | `share_id` | `body` (JSON) |
//! | `throttle_client` | `(share_id, client)` | `body` (JSON) |
//!
//! One index per listing order, each on `(tenant, creator, <sort column>,
//! share_id)` (`created_at_ms`, `updated_at_ms`, `share_name`,
//! `description`), serves every order forwards or backwards with keyset
//! paging; name search filters on `name_folded`, the name folded by
//! [`fold_case`](sharelink_core::listing::fold_case). Version 2 added
//! these columns and indexes and back-fills them from the bodies of a
//! version-1 database. Migrations run at open inside `BEGIN IMMEDIATE`; a
//! database written by a newer schema is refused with
//! [`StorageError::IncompatibleFormat`](sharelink_core::StorageError::IncompatibleFormat). A row that fails to decode gives
//! [`StorageError::Corrupt`](sharelink_core::StorageError::Corrupt) naming the share, never a panic.
//!
//! ## Durability
//!
//! WAL journal. [`Synchronous::Full`] (the default) fsyncs the WAL at every
//! commit: an acknowledged write survives a process crash *and* a power
//! loss. [`Synchronous::Normal`] fsyncs only at checkpoints: an acknowledged
//! write survives a process crash (SIGKILL), but the last commits may roll
//! back after a power loss or OS crash. Both keep the database consistent.
//!
//! ## Concurrency
//!
//! One writer connection behind a mutex, plus a pool of reader connections
//! (WAL lets them read while the writer writes). Every read-modify-write
//! (insert with its quota charge, counters, throttle state) runs inside
//! `BEGIN IMMEDIATE`, which takes SQLite's write lock, so counters never
//! pass their limits across threads *or* processes sharing the file. A busy
//! timeout (5 s by default) makes contending processes wait instead of failing.
//!
//! ## Cached reads
//!
//! [`Storage::get_share`](sharelink_core::Storage::get_share) answers from
//! a [`StampedCache`] of decoded shares (`SqliteOptions::cached_shares`,
//! 4096 by default) while the database is unchanged: every lookup first
//! reads the WAL's index header, which every commit by any connection of
//! any process rewrites before it returns, and a changed header empties
//! the cache. A cancel, a password change or a counted use made by another
//! process is seen by the next read here exactly as without the cache; what
//! a hit saves is the read transaction (two file locks and the mutex SQLite
//! holds around them), the statement and the decoding.

mod listing;
mod pool;
mod purge;
mod rows;
mod schema;
mod stamped;
mod statements;
mod store;

pub use pool::{SqliteOptions, SqliteStorage, Synchronous};
/// The decoder of stored rows, for the fuzz targets only (`fuzzing` feature).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use rows::decode_stored_share;
pub use stamped::{Stamp, StampedCache, WalStamp};

#[cfg(test)]
mod tests;
