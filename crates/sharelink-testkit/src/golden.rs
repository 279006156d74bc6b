//! Golden stored-share vectors: the bytes a backend writes for a share, and
//! the bodies of earlier formats it must still read.
//!
//! A backend stores a share as a [`ShareRecord`] body plus counters and a
//! version kept beside it (see `sharelink_core::share::record`). These
//! vectors pin the body format:
//! - the **current** vectors are exactly what [`ShareRecord::encode_body`]
//!   writes today; a backend must store these bytes unchanged;
//! - the **legacy** vectors are bodies written by earlier releases (format
//!   0 is the serialized `Share` of releases up to 0.3, captured from that
//!   code); a backend must still read them.
//!
//! [`stored_bodies_match_the_golden_vectors`] runs in every persistent
//! backend's conformance run (`conformance_suite!(stored_bodies: …, …)`): it
//! checks that each vector's bytes come back as the expected share, and
//! that a backend writes the current bytes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sharelink_core::share::{SHARE_RECORD_FORMAT, ShareSpec};
use sharelink_core::*;

/// A backend's raw access to the body it stores for a share, for the golden
/// case only: it reads and overwrites the body bytes (without any version
/// prefix of the backend's own) of an existing share row, bypassing every
/// check.
pub struct StoredBodies<S> {
    /// The stored body of the share, or `None` if there is no such row.
    pub read: fn(&S, &ShareId) -> Option<Vec<u8>>,
    /// Overwrites the stored body of an existing share with these bytes.
    pub write: fn(&S, &ShareId, &[u8]),
}

/// One stored share.
#[derive(Debug, Clone, Copy)]
pub struct GoldenShare {
    /// What the vector shows.
    pub name: &'static str,
    /// Body format (0 = legacy serialized `Share`).
    pub format: u32,
    /// The stored body, byte for byte.
    pub body: &'static str,
    /// Builds the share this body holds, through the domain's own
    /// operations (not through the record).
    pub expected: fn() -> Share,
}

/// The instant the golden shares are created: 2026-03-01T12:00:00.408Z.
fn created() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        + Duration::milliseconds(408)
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("golden fixture: {e}"))
}

/// A members-only share with a password, expiration, limits, two counted
/// uses, then cancelled: every field away from its default.
fn full_share() -> Share {
    let t0 = created();
    let hash = must(
        PasswordHasher::insecure_fast().hash_with_salt(&must(SharePassword::new("1234")), &[7; 16]),
    );
    let spec = ShareSpec {
        tenant: must(TenantId::new("acme")),
        drive_id: must(DriveId::new("drive-1")),
        creator: Creator {
            user_id: must(UserId::new("alice")),
            display_name: "Alice Example".into(),
            phone: "18012345632".into(),
            avatar: "https://example.com/a.png".into(),
        },
        files: must(ShareFiles::listed(vec![
            must(FileId::new("f1")),
            must(FileId::new("f2")),
        ])),
        name: must(ShareName::new("Holiday photos")),
        description: must(Description::new("déscription ✓")),
        expiration: Some(t0 + Duration::days(7)),
        audience: Audience::MembersOnly,
        permissions: Permissions {
            disable_preview: false,
            disable_download: true,
            disable_save: false,
        },
        limits: Limits::from_wire(0, 5, 2),
    };
    let share = must(Share::create(
        must(ShareId::parse("sAvciMEXKRz")),
        spec,
        Some(hash),
        t0,
    ));
    let share = must(must(share.count_use(UseKind::Preview)).count_use(UseKind::Save));
    must(share.cancel(t0 + Duration::seconds(90)))
}

/// A whole-drive share with every field at its default.
fn plain_share() -> Share {
    let spec = ShareSpec {
        tenant: must(TenantId::new("acme")),
        drive_id: must(DriveId::new("drive-1")),
        creator: Creator::new(must(UserId::new("bob"))),
        files: ShareFiles::AllFiles,
        name: must(ShareName::new("Everything")),
        description: must(Description::new("")),
        expiration: None,
        audience: Audience::Anyone,
        permissions: Permissions::default(),
        limits: Limits::default(),
    };
    must(Share::create(
        must(ShareId::parse("sAllFiles002")),
        spec,
        None,
        created(),
    ))
}

/// Every vector, current and legacy.
pub const GOLDEN_SHARES: &[GoldenShare] = &[
    GoldenShare {
        name: "format 1: every field set",
        format: 1,
        body: r#"{"format":1,"id":"sAvciMEXKRz","tenant":"acme","drive_id":"drive-1","creator":{"user_id":"alice","display_name":"Alice Example","phone":"18012345632","avatar":"https://example.com/a.png"},"files":{"listed":["f1","f2"]},"name":"Holiday photos","description":"déscription ✓","password":"$argon2id$v=19$m=8,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$irBEXPjFZY1RngqXd497ZUapIkmCSr7/IyZNA5WNEaw","expiration":"2026-03-08T12:00:00.408Z","audience":"members_only","permissions":{"disable_preview":false,"disable_download":true,"disable_save":false},"limits":{"preview":0,"download":5,"save":2},"status":"cancelled","moderation":"allowed","created_at":"2026-03-01T12:00:00.408Z","updated_at":"2026-03-01T12:01:30.408Z","token_epoch":1}"#,
        expected: full_share,
    },
    GoldenShare {
        name: "format 1: a whole-drive share with defaults",
        format: 1,
        body: r#"{"format":1,"id":"sAllFiles002","tenant":"acme","drive_id":"drive-1","creator":{"user_id":"bob","display_name":"","phone":"","avatar":""},"files":"all_files","name":"Everything","description":"","password":null,"expiration":null,"audience":"anyone","permissions":{"disable_preview":false,"disable_download":false,"disable_save":false},"limits":{"preview":0,"download":0,"save":0},"status":"enabled","moderation":"allowed","created_at":"2026-03-01T12:00:00.408Z","updated_at":"2026-03-01T12:00:00.408Z","token_epoch":0}"#,
        expected: plain_share,
    },
    GoldenShare {
        name: "format 0 (0.3 and earlier): every field set",
        format: 0,
        body: r#"{"id":"sAvciMEXKRz","tenant":"acme","drive_id":"drive-1","creator":{"user_id":"alice","display_name":"Alice Example","phone":"18012345632","avatar":"https://example.com/a.png"},"files":{"listed":["f1","f2"]},"name":"Holiday photos","description":"déscription ✓","password":"$argon2id$v=19$m=8,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$irBEXPjFZY1RngqXd497ZUapIkmCSr7/IyZNA5WNEaw","expiration":"2026-03-08T12:00:00.408Z","audience":"members_only","permissions":{"disable_preview":false,"disable_download":true,"disable_save":false},"limits":{"preview":0,"download":5,"save":2},"counters":{"access":0,"preview":1,"download":0,"save":1},"status":"cancelled","moderation":"allowed","created_at":"2026-03-01T12:00:00.408Z","updated_at":"2026-03-01T12:01:30.408Z","version":4,"token_epoch":1}"#,
        expected: full_share,
    },
    GoldenShare {
        name: "format 0 (0.3 and earlier): a whole-drive share with defaults",
        format: 0,
        body: r#"{"id":"sAllFiles002","tenant":"acme","drive_id":"drive-1","creator":{"user_id":"bob","display_name":"","phone":"","avatar":""},"files":"all_files","name":"Everything","description":"","password":null,"expiration":null,"audience":"anyone","permissions":{"disable_preview":false,"disable_download":false,"disable_save":false},"limits":{"preview":0,"download":0,"save":0},"counters":{"access":0,"preview":0,"download":0,"save":0},"status":"enabled","moderation":"allowed","created_at":"2026-03-01T12:00:00.408Z","updated_at":"2026-03-01T12:00:00.408Z","version":1,"token_epoch":0}"#,
        expected: plain_share,
    },
];

/// The format-0 vector with every field set, and the share it holds: what
/// a backend's migration test writes the old way before reopening.
pub fn legacy_full_share() -> (&'static str, Share) {
    let golden = GOLDEN_SHARES
        .iter()
        .find(|g| g.format == 0 && g.body.contains("Holiday"))
        .unwrap_or_else(|| panic!("the legacy vector is missing"));
    (golden.body, (golden.expected)())
}

/// After a migration: `share` reads back equal, is listed in every order,
/// and a name search (case-insensitive) finds it.
pub fn assert_migrated_share_lists_everywhere(s: &dyn Storage, share: &Share) {
    assert_eq!(
        s.get_share(share.id()).expect("get").as_ref(),
        Some(share),
        "the migrated share reads back"
    );
    let owner = Member {
        tenant: share.tenant().clone(),
        user_id: share.creator().user_id.clone(),
    };
    for by in ShareOrderBy::ALL {
        let query = ShareListQuery {
            filter: ShareFilter {
                name_contains: Some("HOLIDAY".into()),
                ..ShareFilter::default()
            },
            order: ShareOrder::default_for(by),
            ..ShareListQuery::default()
        };
        let page = s.list_shares(&owner, &query).expect("list");
        assert_eq!(page.items, vec![share.clone()], "{by:?}");
    }
}

/// The conformance case: for every vector, a backend reads the vector's
/// bytes back as the expected share (counters and version from its own
/// columns), and for the current format it writes exactly those bytes.
pub fn stored_bodies_match_the_golden_vectors<S: Storage>(s: &S, raw: &StoredBodies<S>) {
    for golden in GOLDEN_SHARES {
        let expected = (golden.expected)();
        let id = expected.id().clone();
        // A fresh row for the share, written by the backend's own path.
        if s.get_share(&id).expect("get").is_none() {
            assert_eq!(
                s.insert_share(&expected, None).expect("insert"),
                InsertOutcome::Inserted,
                "{}",
                golden.name
            );
        }
        if golden.format == SHARE_RECORD_FORMAT {
            let written = (raw.read)(s, &id).expect("the row exists");
            assert_eq!(
                String::from_utf8_lossy(&written),
                golden.body,
                "{}: the backend must write the golden bytes",
                golden.name
            );
        }
        (raw.write)(s, &id, golden.body.as_bytes());
        let read = s.get_share(&id).expect("a golden body decodes");
        assert_eq!(read.as_ref(), Some(&expected), "{}", golden.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_vectors_are_what_the_record_encodes() {
        let current: Vec<_> = GOLDEN_SHARES
            .iter()
            .filter(|g| g.format == SHARE_RECORD_FORMAT)
            .collect();
        assert_eq!(current.len(), 2);
        for golden in current {
            let body = ShareRecord::encode_share(&(golden.expected)()).expect("encode");
            assert_eq!(
                String::from_utf8(body).expect("utf-8"),
                golden.body,
                "{}",
                golden.name
            );
        }
    }

    #[test]
    fn every_vector_decodes_to_its_share() {
        for golden in GOLDEN_SHARES {
            let expected = (golden.expected)();
            let share = ShareRecord::decode_share(
                expected.id().as_str(),
                golden.body.as_bytes(),
                expected.counters(),
                expected.version(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", golden.name));
            assert_eq!(share, expected, "{}", golden.name);
        }
    }

    #[test]
    fn the_full_vector_sets_every_field_away_from_its_default() {
        let s = full_share();
        assert!(s.has_password() && s.expiration().is_some());
        assert_eq!(s.status(), ShareStatus::Cancelled);
        assert_eq!(s.token_epoch(), 1);
        assert_eq!((s.counters().preview, s.counters().save), (1, 1));
        assert_eq!(s.version(), 4);
    }
}
