//! How the SQL backends put the domain into columns, written once: share
//! status text, quota day text, signed 64-bit integers, counters read back,
//! JSON bodies read back, and the counter and limit column of each use.

use crate::quota::QuotaKey;
use crate::share::{Counters, ShareStatus, UseKind};

use super::{StorageError, UseCount};

/// The `status` column's text.
pub fn status_text(s: ShareStatus) -> &'static str {
    match s {
        ShareStatus::Enabled => "enabled",
        ShareStatus::Cancelled => "cancelled",
    }
}

/// The `day` column's text of a quota key (`YYYY-MM-DD`).
pub fn day_text(key: &QuotaKey) -> String {
    key.day.format("%Y-%m-%d").to_string()
}

/// `n` as a signed 64-bit column value; `what` names it in the error.
pub fn i64_of(n: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(n).map_err(|e| {
        StorageError::backend(format!("{what} does not fit a signed 64-bit column"), e)
    })
}

/// Counters and version read back from the columns `access_count`,
/// `preview_count`, `download_count`, `save_count`, `version` of share
/// `id`; a negative value is [`StorageError::Corrupt`].
pub fn use_count(id: &str, columns: [i64; 5]) -> Result<UseCount, StorageError> {
    let corrupt = |e: std::num::TryFromIntError| StorageError::Corrupt {
        what: format!("share {id}"),
        reason: format!("negative counter or version: {e}"),
    };
    let [access, preview, download, save, version] = columns;
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

/// A JSON column read back; `what` names the row in the
/// [`StorageError::Corrupt`] it becomes when it does not parse.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    what: impl FnOnce() -> String,
    body: &str,
) -> Result<T, StorageError> {
    serde_json::from_str(body).map_err(|e| StorageError::Corrupt {
        what: what(),
        reason: e.to_string(),
    })
}

/// The counter column a [`UseKind`] counts, and the limit column that
/// bounds it (none for accesses).
pub fn use_columns(kind: UseKind) -> (&'static str, Option<&'static str>) {
    match kind {
        UseKind::Access => ("access_count", None),
        UseKind::Preview => ("preview_count", Some("preview_limit")),
        UseKind::Download => ("download_count", Some("download_limit")),
        UseKind::Save => ("save_count", Some("save_limit")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip_and_refuse_what_does_not_fit() {
        assert_eq!(status_text(ShareStatus::Cancelled), "cancelled");
        assert_eq!(i64_of(7, "x").unwrap(), 7);
        assert!(
            i64_of(u64::MAX, "counter")
                .unwrap_err()
                .to_string()
                .contains("counter")
        );
        let count = use_count("s", [1, 2, 3, 4, 5]).unwrap();
        assert_eq!((count.counters.save, count.version), (4, 5));
        assert!(matches!(
            use_count("s", [0, -1, 0, 0, 1]),
            Err(StorageError::Corrupt { .. })
        ));
        let bad: Result<u32, _> = decode_json(|| "row r".into(), "{");
        assert!(matches!(bad, Err(StorageError::Corrupt { what, .. }) if what == "row r"));
        assert_eq!(
            use_columns(UseKind::Download),
            ("download_count", Some("download_limit"))
        );
    }
}
