//! The PDS `marker`: the text form of a listing cursor
//! ([`ShareCursor`]).
//!
//! A marker is URL-safe base64 (no padding) of
//! `m1 . <order_by> . <a|d> . <share id> . <t|x><key>`: the order it was
//! issued for, the last share of the page and its sort key (`t` and Unix
//! milliseconds for times, `x` and the text for names and descriptions).
//! The key comes last, so a text key may hold any character.
//!
//! Markers are not secret and not signed: a hand-made marker can only move
//! a listing of the caller's own shares to another position in them. The
//! engine refuses one issued for another order.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sharelink_core::{InputError, ShareCursor, ShareId, ShareOrder, ShareOrderBy, SortKey};

/// Longest marker accepted: a description's key at its longest, encoded.
pub(crate) const MAX_MARKER_LEN: usize = 16 * 1024;

const VERSION: &str = "m1";

/// The marker of `cursor`.
pub(crate) fn encode(cursor: &ShareCursor) -> String {
    let key = match &cursor.key {
        SortKey::Time(ms) => format!("t{ms}"),
        SortKey::Text(text) => format!("x{text}"),
    };
    let direction = if cursor.order.descending { "d" } else { "a" };
    URL_SAFE_NO_PAD.encode(format!(
        "{VERSION}.{}.{direction}.{}.{key}",
        cursor.order.by.as_str(),
        cursor.share_id
    ))
}

/// Parses a marker; `""` is the first page. Never panics.
pub(crate) fn decode(text: &str) -> Result<Option<ShareCursor>, InputError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || InputError::Invalid {
        field: "marker",
        reason: "not a marker returned by this service".into(),
    };
    if text.len() > MAX_MARKER_LEN {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.splitn(5, '.');
    let (Some(VERSION), Some(by), Some(direction), Some(id), Some(key)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let by = ShareOrderBy::ALL
        .into_iter()
        .find(|b| b.as_str() == by)
        .ok_or_else(bad)?;
    let descending = match direction {
        "a" => false,
        "d" => true,
        _ => return Err(bad()),
    };
    let key = match (key.split_at_checked(1), by) {
        (Some(("t", ms)), ShareOrderBy::CreatedAt | ShareOrderBy::UpdatedAt) => {
            SortKey::Time(ms.parse().map_err(|_| bad())?)
        }
        (Some(("x", text)), ShareOrderBy::ShareName | ShareOrderBy::Description) => {
            SortKey::Text(text.to_owned())
        }
        _ => return Err(bad()),
    };
    Ok(Some(ShareCursor {
        order: ShareOrder { by, descending },
        key,
        share_id: ShareId::parse(id).map_err(|_| bad())?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cursor(by: ShareOrderBy, descending: bool, key: SortKey) -> ShareCursor {
        ShareCursor {
            order: ShareOrder { by, descending },
            key,
            share_id: ShareId::parse("sAvciMEXKRz").unwrap(),
        }
    }

    #[test]
    fn markers_roundtrip_for_every_order() {
        for (by, key) in [
            (ShareOrderBy::CreatedAt, SortKey::Time(1_700_000_000_123)),
            (ShareOrderBy::UpdatedAt, SortKey::Time(-5)),
            (ShareOrderBy::ShareName, SortKey::Text("a.b.c — été".into())),
            (ShareOrderBy::Description, SortKey::Text(String::new())),
        ] {
            for descending in [false, true] {
                let c = cursor(by, descending, key.clone());
                assert_eq!(decode(&encode(&c)).unwrap(), Some(c));
            }
        }
        assert_eq!(decode("").unwrap(), None);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for bad in [
            "!!".to_owned(),
            "A".repeat(MAX_MARKER_LEN + 1),
            enc("m1.created_at.d.sAvciMEXKRz"),
            enc("m2.created_at.d.sAvciMEXKRz.t1"),
            enc("m1.size.d.sAvciMEXKRz.t1"),
            enc("m1.created_at.up.sAvciMEXKRz.t1"),
            enc("m1.created_at.d.bad id!.t1"),
            enc("m1.created_at.d.sAvciMEXKRz.tnope"),
            enc("m1.created_at.d.sAvciMEXKRz.xtext"),
            enc("m1.share_name.a.sAvciMEXKRz.t5"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            assert!(decode(&bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in "\\PC{0,200}") {
            let _ = decode(&s);
        }

        #[test]
        fn text_keys_roundtrip(text in "\\PC{0,64}", descending: bool) {
            let c = cursor(ShareOrderBy::ShareName, descending, SortKey::Text(text));
            prop_assert_eq!(decode(&encode(&c)).unwrap(), Some(c));
        }
    }
}
