use std::num::NonZeroU64;

use chrono::TimeZone;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::code::ErrorCode;
use crate::fields::{FileId, UserId};
use crate::password::PasswordHasher;
use crate::storage::StorageError;
use crate::token::{KeyId, KeyRing, SigningKey};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

fn creator() -> Member {
    Member {
        tenant: tenant(),
        user_id: UserId::new("alice").unwrap(),
    }
}

fn spec(expiration: Option<DateTime<Utc>>) -> ShareSpec {
    ShareSpec {
        tenant: tenant(),
        drive_id: DriveId::new("d1").unwrap(),
        creator: Creator::new(creator().user_id),
        files: ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap(),
        name: ShareName::new("s").unwrap(),
        description: Description::default(),
        expiration,
        audience: Audience::Anyone,
        permissions: Permissions::default(),
        limits: Limits::default(),
    }
}

fn hash(pw: &str) -> PasswordHash {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    PasswordHasher::insecure_fast()
        .hash(&SharePassword::new(pw).unwrap(), &mut rng)
        .unwrap()
}

fn share_with(pw: Option<&str>, expiration: Option<DateTime<Utc>>) -> Share {
    Share::create(
        ShareId::parse("sAvciMEXKRz").unwrap(),
        spec(expiration),
        pw.map(hash),
        t0(),
    )
    .unwrap()
}

fn ring() -> KeyRing {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    KeyRing::new(SigningKey::generate(KeyId::new("k1").unwrap(), &mut rng))
}

fn pw(s: &str) -> SharePassword {
    SharePassword::new(s).unwrap()
}

#[test]
fn create_starts_at_version_one_epoch_zero() {
    let s = share_with(None, None);
    assert_eq!(s.version(), 1);
    assert_eq!(s.token_epoch(), 0);
    assert_eq!(s.status(), ShareStatus::Enabled);
    assert_eq!(s.counters(), Counters::default());
    assert_eq!(s.created_at(), t0());
}

#[test]
fn create_refuses_past_expiration() {
    let err = Share::create(
        ShareId::parse("sAvciMEXKRz").unwrap(),
        spec(Some(t0())),
        None,
        t0(),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameterOutOfRange);
}

#[test]
fn file_list_rules() {
    assert!(ShareFiles::listed(vec![]).is_err());
    let f = FileId::new("a").unwrap();
    assert!(ShareFiles::listed(vec![f.clone(), f]).is_err());
    let many: Vec<FileId> = (0..101)
        .map(|i| FileId::new(format!("f{i}")).unwrap())
        .collect();
    assert!(ShareFiles::listed(many[..100].to_vec()).is_ok());
    assert!(matches!(
        ShareFiles::listed(many),
        Err(InputError::OutOfRange { .. })
    ));
}

#[test]
fn token_needs_the_right_password() {
    let s = share_with(Some("1234"), None);
    assert_eq!(
        s.request_token(None, None, None, t0()).unwrap_err(),
        ShareError::PasswordRequired
    );
    assert_eq!(
        s.request_token(Some(&pw("9999")), None, None, t0())
            .unwrap_err(),
        ShareError::WrongPassword
    );
    let claims = s
        .request_token(Some(&pw("1234")), None, None, t0())
        .unwrap();
    assert_eq!(claims.expires_at(), t0() + Duration::seconds(7200));
    assert_eq!(claims.token_epoch(), 0);
}

#[test]
fn token_lifetime_is_bounded_and_capped_by_expiration() {
    let s = share_with(None, Some(t0() + Duration::seconds(100)));
    let claims = s.request_token(None, None, Some(3600), t0()).unwrap();
    assert_eq!(claims.expires_at(), t0() + Duration::seconds(100));
    let s = share_with(None, None);
    assert_eq!(
        s.request_token(None, None, Some(60), t0())
            .unwrap()
            .expires_at(),
        t0() + Duration::seconds(60)
    );
    assert_eq!(
        s.request_token(None, None, Some(0), t0())
            .unwrap()
            .expires_at(),
        t0() + Duration::seconds(7200)
    );
    assert_eq!(
        s.request_token(None, None, Some(7201), t0())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidParameterOutOfRange
    );
}

#[test]
fn expired_cancelled_forbidden_shares_refuse_tokens() {
    let end = t0() + Duration::hours(1);
    let s = share_with(None, Some(end));
    assert!(matches!(
        s.request_token(None, None, None, end),
        Err(ShareError::Expired { .. })
    ));
    let cancelled = s.clone().cancel(t0()).unwrap();
    assert_eq!(
        cancelled.request_token(None, None, None, t0()).unwrap_err(),
        ShareError::Cancelled
    );
    let forbidden = s.forbid(t0()).unwrap();
    assert_eq!(
        forbidden.request_token(None, None, None, t0()).unwrap_err(),
        ShareError::Forbidden
    );
}

#[test]
fn wrong_state_calls_are_errors() {
    let s = share_with(None, None);
    let cancelled = s.clone().cancel(t0()).unwrap();
    assert_eq!(
        cancelled.clone().cancel(t0()).unwrap_err(),
        ShareError::Cancelled
    );
    assert_eq!(
        s.clone().unforbid(t0()).unwrap_err(),
        ShareError::NotForbidden
    );
    let forbidden = s.forbid(t0()).unwrap();
    assert_eq!(
        forbidden.clone().forbid(t0()).unwrap_err(),
        ShareError::Forbidden
    );
    assert_eq!(
        forbidden.clone().cancel(t0()).unwrap_err(),
        ShareError::Forbidden
    );
    assert_eq!(
        forbidden
            .clone()
            .update(ShareUpdate::default(), t0())
            .unwrap_err(),
        ShareError::Forbidden
    );
    // Unforbid restores the creator's own status.
    let back = cancelled.forbid(t0()).unwrap().unforbid(t0()).unwrap();
    assert_eq!(back.status(), ShareStatus::Cancelled);
}

#[test]
fn epoch_moves_exactly_on_revoking_changes() {
    let s = share_with(Some("1234"), None);
    let renamed = s
        .clone()
        .update(
            ShareUpdate {
                name: Some(ShareName::new("new").unwrap()),
                download_limit: Some(NonZeroU64::new(3)),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    assert_eq!(renamed.token_epoch(), s.token_epoch());
    assert_eq!(renamed.version(), s.version() + 1);
    assert_eq!(renamed.limits().download, NonZeroU64::new(3));

    let revoking = [
        ShareUpdate {
            password: Some(PasswordChange::Remove),
            ..Default::default()
        },
        ShareUpdate {
            expiration: Some(Some(t0() + Duration::days(1))),
            ..Default::default()
        },
        ShareUpdate {
            status: Some(ShareStatus::Cancelled),
            ..Default::default()
        },
        ShareUpdate {
            audience: Some(Audience::MembersOnly),
            ..Default::default()
        },
    ];
    for patch in revoking {
        let next = s.clone().update(patch.clone(), t0()).unwrap();
        assert_eq!(next.token_epoch(), s.token_epoch() + 1, "{patch:?}");
    }
    // Setting a field to its current value is not a change.
    let same = s
        .clone()
        .update(
            ShareUpdate {
                status: Some(ShareStatus::Enabled),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    assert_eq!(same.token_epoch(), s.token_epoch());
}

#[test]
fn update_refuses_past_expiration() {
    let s = share_with(None, None);
    let err = s
        .update(
            ShareUpdate {
                expiration: Some(Some(t0() - Duration::seconds(1))),
                ..Default::default()
            },
            t0(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidParameterOutOfRange);
}

#[test]
fn authorize_checks_token_share_epoch_and_actions() {
    let keys = ring();
    let s = share_with(None, None);
    let claims = s.request_token(None, None, None, t0()).unwrap();
    let token = keys
        .verify_str(keys.sign(&claims).expose_secret(), t0())
        .unwrap();
    assert!(s.authorize(&token, None, Action::Download, t0()).is_ok());

    // Expired token.
    let later = t0() + Duration::seconds(7200);
    assert!(matches!(
        s.authorize(&token, None, Action::Get, later),
        Err(ShareError::Token(TokenError::Expired { .. }))
    ));
    // Epoch moved.
    let changed = s
        .clone()
        .update(
            ShareUpdate {
                password: Some(PasswordChange::Set(hash("x"))),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    assert_eq!(
        changed
            .authorize(&token, None, Action::Get, t0())
            .unwrap_err(),
        ShareError::Token(TokenError::Revoked)
    );
    // Another share.
    let other = Share::create(
        ShareId::parse("otherShare12").unwrap(),
        spec(None),
        None,
        t0(),
    )
    .unwrap();
    assert_eq!(
        other
            .authorize(&token, None, Action::Get, t0())
            .unwrap_err(),
        ShareError::Token(TokenError::WrongShare)
    );
    // Disabled action.
    let no_dl = s
        .clone()
        .update(
            ShareUpdate {
                disable_download: Some(true),
                disable_preview: Some(true),
                disable_save: Some(true),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    for (action, code) in [
        (Action::Download, ErrorCode::ForbiddenNoPermissionDownload),
        (Action::Preview, ErrorCode::ForbiddenNoPermissionPreview),
        (Action::Save, ErrorCode::ForbiddenNoPermissionSave),
    ] {
        assert_eq!(
            no_dl
                .authorize(&token, None, action, t0())
                .unwrap_err()
                .code(),
            code
        );
    }
    assert!(no_dl.authorize(&token, None, Action::List, t0()).is_ok());
}

#[test]
fn limits_are_enforced_by_count_use() {
    let s = share_with(None, None)
        .update(
            ShareUpdate {
                download_limit: Some(NonZeroU64::new(2)),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    let s = s.count_use(UseKind::Download).unwrap();
    let s = s.count_use(UseKind::Download).unwrap();
    assert_eq!(s.counters().download, 2);
    let err = s.clone().count_use(UseKind::Download).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ShareLinkDownloadLimitExceeded);
    // Other counters are independent, and access is never limited.
    let s = s.count_use(UseKind::Preview).unwrap();
    assert_eq!(s.counters().preview, 1);
    let s = s.count_use(UseKind::Access).unwrap();
    assert_eq!(s.counters().access, 1);
}

#[test]
fn members_only_tokens_are_bound_to_the_member() {
    let keys = ring();
    let s = share_with(None, None)
        .update(
            ShareUpdate {
                audience: Some(Audience::MembersOnly),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    assert_eq!(
        s.request_token(None, None, None, t0()).unwrap_err(),
        ShareError::NotMember
    );
    let outsider = Member {
        tenant: TenantId::new("other").unwrap(),
        user_id: UserId::new("bob").unwrap(),
    };
    assert_eq!(
        s.request_token(None, Some(&outsider), None, t0())
            .unwrap_err(),
        ShareError::NotMember
    );
    let bob = Member {
        tenant: tenant(),
        user_id: UserId::new("bob").unwrap(),
    };
    let claims = s.request_token(None, Some(&bob), None, t0()).unwrap();
    assert_eq!(claims.member(), Some(&bob.user_id));
    let token = keys
        .verify_str(keys.sign(&claims).expose_secret(), t0())
        .unwrap();
    assert!(s.authorize(&token, Some(&bob), Action::Get, t0()).is_ok());
    assert_eq!(
        s.authorize(&token, None, Action::Get, t0()).unwrap_err(),
        ShareError::NotMember
    );
    assert_eq!(
        s.authorize(&token, Some(&creator()), Action::Get, t0())
            .unwrap_err(),
        ShareError::NotMember
    );
}

#[test]
fn proof_from_another_epoch_is_refused() {
    let s = share_with(Some("1234"), None);
    let proof = s.verify_password(Some(&pw("1234"))).unwrap();
    let changed = s
        .update(
            ShareUpdate {
                expiration: Some(Some(t0() + Duration::days(2))),
                ..Default::default()
            },
            t0(),
        )
        .unwrap();
    assert_eq!(
        changed.issue_token(&proof, None, None, t0()).unwrap_err(),
        ShareError::Token(TokenError::Revoked)
    );
}

#[test]
fn debug_never_shows_the_password_hash() {
    let s = share_with(Some("hunter22"), None);
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("argon2"), "{dbg}");
    assert!(dbg.contains("has_password: true"));
}

#[test]
fn a_record_roundtrips_every_field() {
    let s = share_with(Some("1234"), Some(t0() + Duration::days(1)))
        .count_use(UseKind::Download)
        .unwrap();
    let record = ShareRecord::from(&s);
    assert_eq!(record.format, SHARE_RECORD_FORMAT);
    let body = record.encode_body().unwrap();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(
        !text.contains("counters") && !text.contains("\"version\""),
        "{text}"
    );
    let back =
        ShareRecord::decode_share(s.id().as_str(), &body, s.counters(), s.version()).unwrap();
    assert_eq!(back, s);
    assert!(back.verify_password(Some(&pw("1234"))).is_ok());
    // The row's key must be the share's id.
    let err = ShareRecord::decode_share("sOtherId0001", &body, s.counters(), s.version());
    assert!(matches!(err, Err(StorageError::Corrupt { .. })), "{err:?}");
}

#[test]
fn a_record_that_breaks_an_invariant_is_refused() {
    let s = share_with(Some("1234"), Some(t0() + Duration::days(1)));
    let good = ShareRecord::from(&s);
    assert_eq!(Share::try_from(good.clone()).unwrap(), s);
    type Breaker = fn(&mut ShareRecord);
    let breakers: [(&str, Breaker); 12] = [
        ("bad id", |r| r.id = "no!".into()),
        ("empty tenant", |r| r.tenant.clear()),
        ("no files", |r| r.files = FilesRecord::Listed(Vec::new())),
        ("duplicate files", |r| {
            r.files = FilesRecord::Listed(vec!["a".into(), "a".into()]);
        }),
        ("limit too large", |r| r.limits.download = MAX_COUNT + 1),
        ("counter too large", |r| r.counters.save = MAX_COUNT + 1),
        ("updated before created", |r| {
            r.updated_at = r.created_at - Duration::seconds(1);
        }),
        ("expired at creation", |r| r.expiration = Some(r.created_at)),
        ("version 0", |r| r.version = 0),
        ("not an argon2id hash", |r| {
            r.password = Some("plain".into())
        }),
        ("control character in name", |r| r.name = "a\u{7}b".into()),
        ("bad creator id", |r| r.creator.user_id.clear()),
    ];
    for (what, breaker) in breakers {
        let mut r = good.clone();
        breaker(&mut r);
        match Share::try_from(r) {
            Err(RecordError::Invalid(_)) => {}
            other => panic!("{what}: expected RecordError::Invalid, got {other:?}"),
        }
    }
}

#[test]
fn a_record_from_a_newer_build_is_incompatible_not_corrupt() {
    let s = share_with(None, None);
    let mut record = ShareRecord::from(&s);
    record.format = SHARE_RECORD_FORMAT + 1;
    let body = record.encode_body().unwrap();
    let err = ShareRecord::decode_share(s.id().as_str(), &body, s.counters(), 1).unwrap_err();
    assert!(
        matches!(err, StorageError::IncompatibleFormat { found, supported }
            if found == SHARE_RECORD_FORMAT + 1 && supported == SHARE_RECORD_FORMAT),
        "{err}"
    );
    for garbage in [&b""[..], b"{", b"[]", b"{\"format\":1}", b"\xff\xfe"] {
        let err = ShareRecord::decode_share("sAvciMEXKRz", garbage, Counters::default(), 1);
        assert!(matches!(err, Err(StorageError::Corrupt { .. })), "{err:?}");
    }
}

#[test]
fn record_debug_hides_the_hash_and_the_phone() {
    let mut s = ShareRecord::from(&share_with(Some("1234"), None));
    s.creator.phone = "18012345632".into();
    let dbg = format!("{s:?}");
    assert!(
        !dbg.contains("argon2") && !dbg.contains("18012345632"),
        "{dbg}"
    );
}

#[test]
fn wire_status_spelling() {
    assert_eq!(ShareStatus::Cancelled.as_wire(), "disabled");
    assert_eq!(
        ShareStatus::from_wire("enabled").unwrap(),
        ShareStatus::Enabled
    );
    assert!(ShareStatus::from_wire("forbidden").is_err());
}

/// Creates one share per password state; each is hashed once.
fn password_cases() -> Vec<(Option<&'static str>, Share)> {
    vec![
        (None, share_with(None, Some(t0() + Duration::hours(2)))),
        (
            Some("1234"),
            share_with(Some("1234"), Some(t0() + Duration::hours(2))),
        ),
        (Some("pw"), share_with(Some("pw"), None)),
    ]
}

#[test]
fn a_shared_list_keeps_its_rule_when_deserialized() {
    let ok: ShareFiles = serde_json::from_str(r#"{"listed":["a","b"]}"#).unwrap();
    assert_eq!(ok.ids().len(), 2);
    assert_eq!(
        serde_json::to_string(&ok).unwrap(),
        r#"{"listed":["a","b"]}"#,
        "the stored form is unchanged"
    );
    let many: Vec<String> = (0..=MAX_SHARED_FILES).map(|i| format!("f{i}")).collect();
    for bad in [
        r#"{"listed":[]}"#.to_owned(),
        r#"{"listed":["a","a"]}"#.to_owned(),
        serde_json::json!({ "listed": many }).to_string(),
    ] {
        let err = serde_json::from_str::<ShareFiles>(&bad).unwrap_err();
        assert!(err.to_string().contains("file_id_list"), "{bad}: {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The central invariant: for any share state (password or not,
    /// expiration or not, cancelled or forbidden or not), any password given
    /// and any instant, a token is issued iff the share is usable at that
    /// instant and the password is right; and the token never outlives the share.
    #[test]
    fn no_token_from_expired_cancelled_forbidden_or_wrong_password(
        case in 0usize..3,
        given in prop_oneof![
            Just(None),
            Just(Some("1234".to_owned())),
            Just(Some("pw".to_owned())),
            "[!-~]{1,8}".prop_map(Some),
        ],
        cancel in any::<bool>(),
        forbid in any::<bool>(),
        offset_secs in -10_000i64..20_000,
        expire_sec in prop_oneof![Just(None), (0u32..9000).prop_map(Some)],
    ) {
        let (real, mut share) = password_cases().swap_remove(case);
        if cancel {
            share = share.cancel(t0()).unwrap();
        }
        if forbid {
            share = share.forbid(t0()).unwrap();
        }
        let now = t0() + Duration::seconds(offset_secs);
        let given_pw = given.as_deref().map(pw);
        let result = share.request_token(given_pw.as_ref(), None, expire_sec, now);

        let expired = share.expiration().is_some_and(|e| e <= now);
        let password_ok = match real {
            None => true,
            Some(r) => given.as_deref() == Some(r),
        };
        let lifetime_ok = expire_sec.is_none_or(|s| s <= 7200);
        let should_issue = !cancel && !forbid && !expired && password_ok && lifetime_ok;
        prop_assert_eq!(result.is_ok(), should_issue, "{:?}", result);
        if let Ok(claims) = result {
            prop_assert!(claims.expires_at() > now);
            if let Some(end) = share.expiration() {
                prop_assert!(claims.expires_at() <= end);
            }
            prop_assert!(claims.expires_at() <= now + Duration::seconds(7200));
        }
    }
}
