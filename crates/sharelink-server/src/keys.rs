//! The fleet's signing keys: one key file that every instance loads, and a
//! rotation that replaces the signing key without refusing anything signed
//! before, during or after it.
//!
//! ## The key file
//! `<data dir>/keys` unless `--keys PATH` (or `SHARELINK_KEYS`) says
//! otherwise; mode 0600; one key per line:
//!
//! ```text
//! sign     k20261202090800-3fa1 <base64 secret> 2026-12-02T09:08:00Z
//! verify   k20261203100000-77c0 <base64 secret> 2026-12-03T10:00:00Z
//! retiring k20261101000000-0b2e <base64 secret> 2026-12-04T19:01:00Z
//! ```
//!
//! - `sign` (exactly one) signs every new share token and download URL;
//! - `verify` (at most one), added by a rotation, is verified but signs
//!   nothing yet;
//! - `retiring` keys verify until their time, then instances drop them.
//!
//! The first instance to start creates the file (from an older data
//! directory's `signing-key` if there is one); instances starting together
//! agree on one file. Every instance re-reads it every [`RELOAD_EVERY`] and
//! runs on its keys from then on.
//!
//! ## Rotation (`sharelink-server rotate-key`)
//! 1. **add** a fresh key as `verify`;
//! 2. **wait** until every live instance acknowledges the file holding it:
//!    each instance writes `<keys>.seen/<instance>` (the digest of the file
//!    it runs on) on every reload; an acknowledgement older than
//!    [`ACK_STALE_AFTER`] is an instance that stopped;
//! 3. **promote** it to `sign`; the old `sign` key becomes `retiring` for
//!    [`sharelink_core::MAX_SIGNED_LIFETIME_SECS`], the longest a token or
//!    URL it signed can live;
//! 4. **retire**: instances stop verifying it at that time by themselves;
//!    a later `rotate-key` removes it from the file.
//!
//! Between 1 and 3 a token signed anywhere verifies everywhere: instances
//! that have reloaded and those that have not both sign with the old key
//! and verify both. After 3, instances that have not reloaded yet still
//! sign with the old key, which every instance still verifies.

mod key_file;
mod rotation;
mod store;
mod watcher;

/// How often a serving instance re-reads the key file.
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub use key_file::{KeyEntry, KeyFile, KeyFileError, KeyRole};
pub use rotation::{RotateStep, RotationReport, rotate};
pub use store::{
    ACK_STALE_AFTER, Acknowledgement, FileDigest, KeyStore, LoadedKeys, Reread, RotationLock,
};
pub use watcher::{KeyReload, KeyWatcher};
