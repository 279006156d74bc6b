//! Key and value encodings.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sharelink_core::listing::{ShareOrderBy, SortKey};
use sharelink_core::{QuotaKey, Share, ShareId, StorageError, UseKind};

/// The value format this build writes and reads.
pub(crate) const FORMAT_VERSION: u8 = 1;

/// Appends a length-prefixed string.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The store layout this build writes (the `format` entry of `meta`):
/// 1 had a `shares_by_creator` index of creation times only; 2 has
/// `share_index`, which orders each creator's shares by every sort key.
pub(crate) const STORE_FORMAT: u32 = 2;

/// The tag of a sort key in `share_index` keys.
fn order_tag(by: ShareOrderBy) -> u8 {
    match by {
        ShareOrderBy::CreatedAt => 0,
        ShareOrderBy::UpdatedAt => 1,
        ShareOrderBy::ShareName => 2,
        ShareOrderBy::Description => 3,
    }
}

/// The `share_index` prefix of one creator's shares in one order:
/// `str(tenant) ++ str(creator) ++ tag`.
pub(crate) fn index_prefix(tenant: &str, creator: &str, by: ShareOrderBy) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + tenant.len() + creator.len() + 8 + 22);
    push_str(&mut k, tenant);
    push_str(&mut k, creator);
    k.push(order_tag(by));
    k
}

/// Orders signed milliseconds as unsigned big-endian bytes.
pub(crate) fn ms_key(ms: i64) -> [u8; 8] {
    (u64::from_be_bytes(ms.to_be_bytes()) ^ (1 << 63)).to_be_bytes()
}

/// Appends a sort key so that byte order is key order: times as
/// [`ms_key`]; texts with every 0 byte escaped as `0 0xFF` and ended by
/// `0 0`, so that a text sorts before every longer text it prefixes.
fn push_sort_key(out: &mut Vec<u8>, key: &SortKey) {
    match key {
        SortKey::Time(ms) => out.extend_from_slice(&ms_key(*ms)),
        SortKey::Text(text) => {
            for &b in text.as_bytes() {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
    }
}

/// The `share_index` key of `(key, id)` under `prefix`.
pub(crate) fn index_key(prefix: &[u8], key: &SortKey, id: &ShareId) -> Vec<u8> {
    let mut k = prefix.to_vec();
    push_sort_key(&mut k, key);
    k.extend_from_slice(id.as_str().as_bytes());
    k
}

/// Every `share_index` key of a share: one per sort key.
pub(crate) fn index_keys(share: &Share) -> Vec<Vec<u8>> {
    ShareOrderBy::ALL
        .iter()
        .map(|&by| {
            let prefix = index_prefix(
                share.tenant().as_str(),
                share.creator().user_id.as_str(),
                by,
            );
            index_key(&prefix, &by.key_of(share), share.id())
        })
        .collect()
}

/// The share id at the end of a `share_index` key under a prefix of
/// `prefix_len` bytes in order `by`.
pub(crate) fn id_from_index_key(
    prefix_len: usize,
    by: ShareOrderBy,
    key: &[u8],
) -> Result<ShareId, StorageError> {
    let corrupt = |reason: &str| StorageError::Corrupt {
        what: "share index entry".into(),
        reason: reason.into(),
    };
    let rest = key
        .get(prefix_len..)
        .ok_or_else(|| corrupt("key too short"))?;
    let id = match by {
        ShareOrderBy::CreatedAt | ShareOrderBy::UpdatedAt => {
            rest.get(8..).ok_or_else(|| corrupt("key too short"))?
        }
        ShareOrderBy::ShareName | ShareOrderBy::Description => {
            let mut i = 0;
            loop {
                match (rest.get(i), rest.get(i + 1)) {
                    (Some(0), Some(0)) => break rest.get(i + 2..).unwrap_or_default(),
                    (Some(0), Some(0xFF)) => i += 2,
                    (Some(0), _) | (None, _) => return Err(corrupt("unterminated text key")),
                    (Some(_), _) => i += 1,
                }
            }
        }
    };
    let text = std::str::from_utf8(id).map_err(|_| corrupt("share id is not UTF-8"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> ShareId {
        ShareId::parse(&format!("sharez{n:06}")).unwrap()
    }

    #[test]
    fn index_keys_sort_like_the_sort_keys_and_give_back_the_id() {
        let prefix = index_prefix("t", "u", ShareOrderBy::ShareName);
        let texts = ["", "a", "a\0", "a\0b", "a\u{1}", "ab", "b", "é", "Ω"];
        let mut keys: Vec<(Vec<u8>, &str)> = texts
            .iter()
            .map(|t| (index_key(&prefix, &SortKey::Text((*t).into()), &id(1)), *t))
            .collect();
        keys.sort();
        let sorted: Vec<&str> = keys.iter().map(|(_, t)| *t).collect();
        let mut expected = texts.to_vec();
        expected.sort();
        assert_eq!(sorted, expected);
        for (key, _) in &keys {
            assert_eq!(
                id_from_index_key(prefix.len(), ShareOrderBy::ShareName, key).unwrap(),
                id(1)
            );
        }
        let times = index_prefix("t", "u", ShareOrderBy::UpdatedAt);
        let early = index_key(&times, &SortKey::Time(-5), &id(2));
        let late = index_key(&times, &SortKey::Time(7), &id(1));
        assert!(early < late);
        assert_eq!(
            id_from_index_key(times.len(), ShareOrderBy::UpdatedAt, &late).unwrap(),
            id(1)
        );
        // Truncated or unterminated keys are corrupt, never a panic.
        for bad in [&prefix[..], &keys[2].0[..prefix.len() + 2]] {
            assert!(id_from_index_key(prefix.len(), ShareOrderBy::ShareName, bad).is_err());
        }
    }
}
