//! # sharelink-sled
//!
//! A [`Storage`](sharelink_core::Storage) on [sled](https://docs.rs/sled/0.34)
//! 0.34, an embedded log-structured store, for hosts that run in one process.
//!
//! ## Keyspace
//!
//! | tree | key | value |
//! |---|---|---|
//! | `shares` | share id | `[v] ++ ShareRecord body` (the pinned stored form; counters and version live in `counters`) |
//! | `counters` | share id | `[v] ++ 9 × be64`: access, preview, download, save counts; preview, download, save limits; token epoch; version |
//! | `share_index` | `str(tenant) ++ str(creator) ++ order tag ++ sort key ++ share id`, one entry per sort key (`created_at`, `updated_at`, `share_name`, `description`) | empty |
//! | `quota` | `str(tenant) ++ kind ++ day (YYYY-MM-DD)` | `[v] ++ be32(used)` |
//! | `throttle_share` | share id | `[v] ++ JSON(share part)` |
//! | `throttle_client` | `str(share id) ++ client` | `[v] ++ JSON(client part)` |
//! | `meta` | `format` | `be32(store format)`, currently 2 |
//!
//! `str(x)` is a big-endian u16 length followed by the bytes, so prefixes
//! never collide. A sort key is `be64(ms ^ 1<<63)` for times and, for
//! texts, the bytes with each 0 written `0 0xFF` and ended by `0 0`: byte
//! order is key order, so every listing order is a range scan, forwards or
//! backwards, that starts at the cursor (keyset paging).
//!
//! Store format 1 (0.3) had only a creation-time index,
//! `shares_by_creator`; opening such a store indexes every share under
//! every sort key and drops the old index. `[v]` is the value format version, currently 1. A store or
//! value written by a newer format is refused with
//! [`StorageError::IncompatibleFormat`](sharelink_core::StorageError::IncompatibleFormat);
//! a value that does not decode gives `StorageError::Corrupt` naming the record.
//!
//! ## Durability
//!
//! By default every write calls `Db::flush` (an fsync) before it is
//! acknowledged: an acknowledged write survives a process crash and a power
//! loss. [`SledOptions::flush_every_write`] `= false` skips that; sled then
//! flushes in the background every `flush_every_ms` (500 ms), and up to that
//! much acknowledged work can be lost on a crash.
//!
//! ## Concurrency
//!
//! Every multi-key change (a share with its counters, creator index and
//! quota charge; a counted access with its quota and throttle record) is one
//! sled transaction, and counting touches only the fixed-width `counters`
//! value (no JSON),
//! which sled retries on conflict, so counters never pass their limits
//! across threads. sled locks its directory: one process at a time.

mod codec;
mod store;

pub use store::{LOCK_WAIT, SledOptions, SledStorage};
/// Decoders of stored bytes, for the fuzz targets only (`fuzzing` feature).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use store::{decode_stored_share, decode_stored_u32};

#[cfg(test)]
mod tests;
