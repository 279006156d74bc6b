//! Key and value encodings.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sharelink_core::{QuotaKey, ShareId, StorageError, UseKind};

/// The value format this build writes and reads.
pub(crate) const FORMAT_VERSION: u8 = 1;

/// Appends a length-prefixed string.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The creator-index prefix of a tenant and creator.
pub(crate) fn creator_prefix(tenant: &str, creator: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + tenant.len() + creator.len() + 8 + 22);
    push_str(&mut k, tenant);
    push_str(&mut k, creator);
    k
}

/// Orders signed milliseconds as unsigned big-endian bytes.
pub(crate) fn ms_key(ms: i64) -> [u8; 8] {
    (u64::from_be_bytes(ms.to_be_bytes()) ^ (1 << 63)).to_be_bytes()
}

/// The full creator-index key.
pub(crate) fn creator_key(tenant: &str, creator: &str, created_ms: i64, id: &ShareId) -> Vec<u8> {
    let mut k = creator_prefix(tenant, creator);
    k.extend_from_slice(&ms_key(created_ms));
    k.extend_from_slice(id.as_str().as_bytes());
    k
}

/// The share id at the end of a creator-index key.
pub(crate) fn id_from_creator_key(prefix_len: usize, key: &[u8]) -> Result<ShareId, StorageError> {
    let corrupt = |reason: &str| StorageError::Corrupt {
        what: "creator index entry".into(),
        reason: reason.into(),
    };
    let raw = key
        .get(prefix_len + 8..)
        .ok_or_else(|| corrupt("key too short"))?;
    let text = std::str::from_utf8(raw).map_err(|_| corrupt("share id is not UTF-8"))?;
    ShareId::parse(text).map_err(|e| corrupt(&e.to_string()))
}

/// The quota key of a counter.
pub(crate) fn quota_key(key: &QuotaKey) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, key.tenant.as_str());
    push_str(&mut k, key.kind.as_str());
    k.extend_from_slice(key.day.format("%Y-%m-%d").to_string().as_bytes());
    k
}

/// The day (`YYYY-MM-DD`) at the end of a quota key.
pub(crate) fn day_of_quota_key(key: &[u8]) -> Option<&[u8]> {
    key.len().checked_sub(10).and_then(|start| key.get(start..))
}

/// The throttle-client key of a share and client.
pub(crate) fn client_key(share: &str, client: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, share);
    k.extend_from_slice(client.as_bytes());
    k
}

/// The prefix of every throttle-client key of a share.
pub(crate) fn client_prefix(share: &str) -> Vec<u8> {
    let mut k = Vec::new();
    push_str(&mut k, share);
    k
}

/// `[version] ++ JSON`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    let mut out = vec![FORMAT_VERSION];
    serde_json::to_writer(&mut out, value).map_err(|e| StorageError::backend("encode value", e))?;
    Ok(out)
}

/// Decodes `[version] ++ JSON`, refusing other versions.
pub(crate) fn decode<T: DeserializeOwned>(
    what: impl Fn() -> String,
    bytes: &[u8],
) -> Result<T, StorageError> {
    let body = versioned_body(&what, bytes)?;
    serde_json::from_slice(body).map_err(|e| StorageError::Corrupt {
        what: what(),
        reason: e.to_string(),
    })
}

/// `[version] ++ bytes`.
pub(crate) fn with_version(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + bytes.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(bytes);
    out
}

/// The bytes after the version of `[version] ++ bytes`, refusing other
/// versions.
pub(crate) fn versioned_body(
    what: impl Fn() -> String,
    bytes: &[u8],
) -> Result<&[u8], StorageError> {
    let (&version, body) = bytes.split_first().ok_or_else(|| StorageError::Corrupt {
        what: what(),
        reason: "empty value".into(),
    })?;
    check_version(version, &what)?;
    Ok(body)
}

/// `[version] ++ be32`.
pub(crate) fn encode_u32(n: u32) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    out.extend_from_slice(&n.to_be_bytes());
    out
}

/// Decodes `[version] ++ be32`.
pub(crate) fn decode_u32(what: impl Fn() -> String, bytes: &[u8]) -> Result<u32, StorageError> {
    match bytes {
        [version, rest @ ..] => {
            check_version(*version, &what)?;
            let arr: [u8; 4] = rest.try_into().map_err(|_| StorageError::Corrupt {
                what: what(),
                reason: format!("expected 4 bytes, found {}", rest.len()),
            })?;
            Ok(u32::from_be_bytes(arr))
        }
        [] => Err(StorageError::Corrupt {
            what: what(),
            reason: "empty value".into(),
        }),
    }
}

fn check_version(version: u8, what: &impl Fn() -> String) -> Result<(), StorageError> {
    match version {
        FORMAT_VERSION => Ok(()),
        v if v > FORMAT_VERSION => Err(StorageError::IncompatibleFormat {
            found: u32::from(v),
            supported: u32::from(FORMAT_VERSION),
        }),
        v => Err(StorageError::Corrupt {
            what: what(),
            reason: format!("unknown value format {v}"),
        }),
    }
}

/// A share's counters, limits, token epoch and version, kept in the
/// `counters` tree as `[v] ++ 9 × be64` so that counting needs no JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) counters: sharelink_core::Counters,
    pub(crate) limits: sharelink_core::Limits,
    pub(crate) epoch: u64,
    pub(crate) version: u64,
}

impl Counts {
    pub(crate) fn of(share: &sharelink_core::Share) -> Self {
        Self {
            counters: share.counters(),
            limits: share.limits(),
            epoch: share.token_epoch(),
            version: share.version(),
        }
    }

    pub(crate) fn encode(&self) -> [u8; 73] {
        let c = self.counters;
        let l = self.limits;
        let fields = [
            c.access,
            c.preview,
            c.download,
            c.save,
            l.wire(UseKind::Preview),
            l.wire(UseKind::Download),
            l.wire(UseKind::Save),
            self.epoch,
            self.version,
        ];
        let mut out = [0u8; 73];
        out[0] = FORMAT_VERSION;
        for (chunk, v) in out[1..].chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    pub(crate) fn decode(what: impl Fn() -> String, bytes: &[u8]) -> Result<Self, StorageError> {
        let (&version, body) = bytes.split_first().ok_or_else(|| StorageError::Corrupt {
            what: what(),
            reason: "empty counters".into(),
        })?;
        check_version(version, &what)?;
        if body.len() != 72 {
            return Err(StorageError::Corrupt {
                what: what(),
                reason: format!("counters are {} bytes, expected 72", body.len()),
            });
        }
        let mut f = [0u64; 9];
        for (slot, chunk) in f.iter_mut().zip(body.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *slot = u64::from_be_bytes(b);
        }
        let [access, preview, download, save, lp, ld, ls, epoch, version] = f;
        Ok(Self {
            counters: sharelink_core::Counters {
                access,
                preview,
                download,
                save,
            },
            limits: sharelink_core::Limits::from_wire(lp, ld, ls),
            epoch,
            version,
        })
    }
}
