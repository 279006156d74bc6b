//! # sharelink
//!
//! The crate a host depends on: the whole of
//! [`sharelink_core`](https://docs.rs/sharelink-core) re-exported, plus the
//! storage backends behind features (`sqlite` and `sled`, both on by
//! default).
//!
//! ```no_run
//! use sharelink::sqlite::{SqliteOptions, SqliteStorage};
//!
//! # fn main() -> Result<(), sharelink::StorageError> {
//! // Durable by default (WAL, synchronous=FULL).
//! let store = SqliteStorage::open("sharelink-data/sharelink.sqlite", &SqliteOptions::default())?;
//! # let _ = store;
//! # Ok(())
//! # }
//! ```

pub use sharelink_core::*;

/// The SQLite backend (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use sharelink_sqlite as sqlite;

/// The sled backend (feature `sled`).
#[cfg(feature = "sled")]
pub use sharelink_sled as sled;

/// The README's code blocks, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
