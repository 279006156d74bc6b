use std::num::NonZeroU64;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::ManualClock;
use crate::error::ErrorCode;
use crate::error::InputError;
use crate::events::RecordedEvents;
use crate::fields::{ClientKey, Creator, DriveId, FileId, UserId};
use crate::listing::{PageRequest, ShareFilter, ShareListQuery, ShareOrder, ShareOrderBy};
use crate::memory::MemoryStorage;
use crate::memory_catalog::MemoryCatalog;
use crate::password::{PasswordHasher, SharePassword};
use crate::scope::{FileKind, FileMeta, ListTarget};
use crate::share::{Action, Audience, Member, PasswordChange, ShareFiles, ShareUpdate};
use crate::token::KeyId;

struct World {
    engine: Engine,
    catalog: Arc<MemoryCatalog>,
    clock: Arc<ManualClock>,
    events: Arc<RecordedEvents>,
    alice: Member,
    drive: DriveId,
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 4, 0, 0).unwrap()
}

fn world_with(config: EngineConfig) -> World {
    let drive = DriveId::new("d1").unwrap();
    let catalog = Arc::new(MemoryCatalog::new());
    catalog
        .add(&drive, "docs", None, "Docs", FileKind::Folder)
        .unwrap();
    catalog
        .add(&drive, "sub", Some("docs"), "Sub", FileKind::Folder)
        .unwrap();
    catalog
        .add(&drive, "deep", Some("sub"), "deep.txt", FileKind::File)
        .unwrap();
    catalog
        .add(&drive, "app", Some("docs"), "Game.APK", FileKind::File)
        .unwrap();
    catalog
        .add(&drive, "f1", None, "report.pdf", FileKind::File)
        .unwrap();
    catalog
        .add(&drive, "secret", None, "secret.txt", FileKind::File)
        .unwrap();
    catalog.insert(FileMeta {
        drive_id: drive.clone(),
        file_id: FileId::new("disguised").unwrap(),
        parent_file_id: Some(FileId::new("docs").unwrap()),
        name: "holiday.jpg".into(),
        kind: FileKind::File,
        mime_type: Some("application/vnd.android.package-archive".into()),
        size: 10,
    });
    let clock = Arc::new(ManualClock::new(t0()));
    let events = Arc::new(RecordedEvents::new());
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let keys = KeyRing::new(SigningKey::generate(KeyId::new("k1").unwrap(), &mut rng));
    let engine = Engine::builder(Arc::new(MemoryStorage::new()), catalog.clone(), keys)
        .clock(clock.clone())
        .events(events.clone())
        .config(config)
        .rng(Box::new(rng))
        .build()
        .unwrap();
    World {
        engine,
        catalog,
        clock,
        events,
        alice: Member {
            tenant: TenantId::new("acme").unwrap(),
            user_id: UserId::new("alice").unwrap(),
        },
        drive,
    }
}

fn fast() -> EngineConfig {
    EngineConfig {
        password_hasher: PasswordHasher::insecure_fast(),
        ..EngineConfig::default()
    }
}

fn world() -> World {
    world_with(fast())
}

/// A signed-in receiver from another tenant.
fn bob() -> Member {
    Member {
        tenant: TenantId::new("elsewhere").unwrap(),
        user_id: UserId::new("bob").unwrap(),
    }
}

fn fid(s: &str) -> FileId {
    FileId::new(s).unwrap()
}

impl World {
    /// The code a download URL's redemption fails with.
    fn redeem_error(&self, grant: &str, file: &str) -> ErrorCode {
        self.engine
            .redeem_content_grant(grant, &fid(file))
            .unwrap_err()
            .code()
    }

    fn create(&self, files: &[&str], pw: Option<&str>) -> Share {
        let mut creator = Creator::new(self.alice.user_id.clone());
        creator.display_name = "Alice Liddell".into();
        creator.phone = "13900001234".into();
        let mut req = CreateShareRequest::new(
            self.alice.tenant.clone(),
            creator,
            self.drive.clone(),
            ShareFiles::listed(files.iter().map(|f| fid(f)).collect()).unwrap(),
        );
        req.password = pw.map(|p| SharePassword::new(p).unwrap());
        self.engine.create_share_link(req).unwrap()
    }

    /// Applies a creator's update that must succeed.
    fn update(&self, id: &ShareId, req: ShareUpdate) -> Share {
        self.engine.update_share_link(&self.alice, id, req).unwrap()
    }

    /// Renames a share.
    fn rename(&self, id: &ShareId, name: &str) -> Share {
        self.update(
            id,
            ShareUpdate {
                name: Some(crate::fields::ShareName::new(name).unwrap()),
                ..Default::default()
            },
        )
    }

    fn token(&self, share: &Share, pw: Option<&str>, client: &str) -> Result<IssuedToken, Error> {
        self.engine.get_share_token(TokenRequest {
            share_id: share.id().clone(),
            password: pw.map(|p| SharePassword::new(p).unwrap()),
            expire_sec: None,
            client: ClientKey::new(client).unwrap(),
            caller: None,
        })
    }

    fn download(
        &self,
        share: &Share,
        token: &IssuedToken,
        file: &str,
    ) -> Result<ContentAuthorization, Error> {
        self.engine.authorize_download(&FileRequest {
            token: token.token.expose_secret(),
            share_id: share.id(),
            file_id: &fid(file),
            caller: None,
        })
    }
}

#[test]
fn full_flow_with_password() {
    let w = world();
    let share = w.create(&["docs", "f1"], Some("1234"));
    assert_eq!(share.id().as_str().len(), 22);
    assert_eq!(
        share.name().as_str(),
        "Docs",
        "name defaults to the first file's"
    );

    let view = w.engine.get_share_link_by_anonymous(share.id()).unwrap();
    assert!(view.has_pwd);
    assert_eq!(view.creator_name, "Ali**ll");
    assert_eq!(view.creator_phone, "139**34");
    assert_eq!(view.file_count, 2);

    let err = w.token(&share, Some("0000"), "c1").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResourceSharePwd);
    let err = w.token(&share, None, "c1").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResourceSharePwd);

    let tok = w.token(&share, Some("1234"), "c1").unwrap();
    assert_eq!(tok.expires_in, 7200);
    assert_eq!(tok.expires_at, t0() + Duration::seconds(7200));

    let ok = w.download(&share, &tok, "deep").unwrap();
    assert_eq!(ok.file().name, "deep.txt");
    assert_eq!(ok.share().counters().download, 1);
    assert_eq!(ok.share().counters().access, 1);

    let err = w.download(&share, &tok, "app").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ForbiddenFileTypeDownload);
    let err = w.download(&share, &tok, "disguised").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ForbiddenFileTypeDownload);
    // Refused downloads are not counted.
    let stored = w.engine.get_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(stored.counters().download, 1);
}

#[test]
fn files_outside_the_share_are_not_found() {
    let w = world();
    let share = w.create(&["docs"], None);
    let tok = w.token(&share, None, "c").unwrap();
    for file in ["secret", "f1", "does-not-exist"] {
        let err = w.download(&share, &tok, file).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFoundFile, "{file}");
    }
}

#[test]
fn create_refuses_files_missing_from_the_drive() {
    let w = world();
    let req = CreateShareRequest::new(
        w.alice.tenant.clone(),
        Creator::new(w.alice.user_id.clone()),
        w.drive.clone(),
        ShareFiles::listed(vec![fid("ghost")]).unwrap(),
    );
    let err = w.engine.create_share_link(req).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFoundFile);
}

#[test]
fn listing_the_root_yields_exactly_the_shared_items() {
    let w = world();
    let share = w.create(&["f1", "docs"], None);
    let tok = w.token(&share, None, "c").unwrap();
    let req = |file: &'static str| FileRequest {
        token: tok.token.expose_secret(),
        share_id: share.id(),
        file_id: Box::leak(Box::new(fid(file))),
        caller: None,
    };
    let list = w.engine.authorize_list(&req("root")).unwrap();
    assert_eq!(
        *list.target(),
        ListTarget::SharedItems(vec![fid("f1"), fid("docs")])
    );
    let items = w.engine.shared_items(list.share()).unwrap();
    let names: Vec<&str> = items.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["report.pdf", "Docs"]);

    let sub = w.engine.authorize_list(&req("sub")).unwrap();
    assert_eq!(*sub.target(), ListTarget::Folder(fid("sub")));
    assert_eq!(
        w.engine.authorize_list(&req("f1")).unwrap_err().code(),
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        w.engine.authorize_list(&req("secret")).unwrap_err().code(),
        ErrorCode::NotFoundFile
    );
}

#[test]
fn tokens_die_when_the_share_changes() {
    let w = world();
    let share = w.create(&["f1"], Some("1234"));
    let tok = w.token(&share, Some("1234"), "c").unwrap();
    assert!(w.download(&share, &tok, "f1").is_ok());

    // A rename keeps tokens alive.
    w.update(
        share.id(),
        ShareUpdate {
            name: Some(crate::fields::ShareName::new("renamed").unwrap()),
            ..Default::default()
        },
    );
    assert!(w.download(&share, &tok, "f1").is_ok());

    // A password change revokes them.
    w.update(
        share.id(),
        ShareUpdate {
            password: Some(PasswordChange::Set(SharePassword::new("5678").unwrap())),
            ..Default::default()
        },
    );
    assert_eq!(
        w.download(&share, &tok, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkTokenInvalid
    );
    assert!(w.token(&share, Some("1234"), "c").is_err());
    let tok2 = w.token(&share, Some("5678"), "c").unwrap();
    assert!(w.download(&share, &tok2, "f1").is_ok());

    // Cancel: tokens die, new ones are refused with ShareLink.Cancelled.
    w.engine.cancel_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(
        w.download(&share, &tok2, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkTokenInvalid
    );
    assert_eq!(
        w.token(&share, Some("5678"), "c").unwrap_err().code(),
        ErrorCode::ShareLinkCancelled
    );
    assert_eq!(
        w.engine
            .get_share_link_by_anonymous(share.id())
            .unwrap_err()
            .code(),
        ErrorCode::ShareLinkCancelled
    );
}

#[test]
fn only_the_creator_manages_a_share() {
    let w = world();
    let share = w.create(&["f1"], None);
    let mallory = Member {
        tenant: w.alice.tenant.clone(),
        user_id: UserId::new("mallory").unwrap(),
    };
    for err in [
        w.engine.get_share_link(&mallory, share.id()).unwrap_err(),
        w.engine
            .cancel_share_link(&mallory, share.id())
            .unwrap_err(),
        w.engine
            .update_share_link(&mallory, share.id(), ShareUpdate::default())
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), ErrorCode::ForbiddenNoPermissionShareLink);
    }
    let missing = ShareId::parse("sAvciMEXKRz").unwrap();
    assert_eq!(
        w.engine
            .get_share_link(&w.alice, &missing)
            .unwrap_err()
            .code(),
        ErrorCode::NotFoundShareLink
    );
}

#[test]
fn token_expires_with_the_clock_and_share_expiry() {
    let w = world();
    let share = w.create(&["f1"], None);
    w.update(
        share.id(),
        ShareUpdate {
            expiration: Some(Some(t0() + Duration::seconds(600))),
            ..Default::default()
        },
    );
    let tok = w.token(&share, None, "c").unwrap();
    assert_eq!(tok.expires_in, 600, "capped by the share's expiration");
    w.clock.advance(Duration::seconds(599));
    assert!(w.download(&share, &tok, "f1").is_ok());
    w.clock.advance(Duration::seconds(1));
    assert_eq!(
        w.download(&share, &tok, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkTokenInvalid
    );
    assert_eq!(
        w.token(&share, None, "c").unwrap_err().code(),
        ErrorCode::ShareLinkExpired
    );
}

#[test]
fn download_limit_is_exact() {
    let w = world();
    let share = w.create(&["f1"], None);
    w.update(
        share.id(),
        ShareUpdate {
            download_limit: Some(NonZeroU64::new(2)),
            ..Default::default()
        },
    );
    let tok = w.token(&share, None, "c").unwrap();
    assert!(w.download(&share, &tok, "f1").is_ok());
    assert!(w.download(&share, &tok, "f1").is_ok());
    assert_eq!(
        w.download(&share, &tok, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkDownloadLimitExceeded
    );
}

#[test]
fn access_quota_is_per_tenant_per_day_and_says_when_it_resets() {
    let mut config = fast();
    config.quota.accesses_per_day = 2;
    let w = world_with(config);
    let share = w.create(&["f1"], None);
    assert!(w.token(&share, None, "c1").is_ok());
    // A repeat from the same client for the same share, the same day, is
    // not another access of the tenant's quota.
    assert!(w.token(&share, None, "c1").is_ok());
    assert_eq!(
        w.engine
            .quota_usage(&w.alice.tenant, QuotaKind::Access)
            .unwrap(),
        (1, Some(2))
    );
    assert!(w.token(&share, None, "c2").is_ok());
    let err = w.token(&share, None, "c3").unwrap_err();
    assert_eq!(err.code(), ErrorCode::QuotaExhaustedShareLinkAccess);
    assert_eq!(err.http_status(), 429);
    // t0 is 12:00 in +08:00; the day ends at 16:00Z.
    let reset = Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap();
    assert_eq!(err.retry_after(), Some(reset));
    w.clock.set(reset);
    assert!(w.token(&share, None, "c").is_ok());
    assert_eq!(
        w.engine
            .quota_usage(&w.alice.tenant, QuotaKind::Access)
            .unwrap(),
        (1, Some(2))
    );
}

#[test]
fn creation_quota_and_custom_domain() {
    let mut config = fast();
    config.quota.creations_per_day = 1;
    let w = world_with(config);
    w.create(&["f1"], None);
    let req = CreateShareRequest::new(
        w.alice.tenant.clone(),
        Creator::new(w.alice.user_id.clone()),
        w.drive.clone(),
        ShareFiles::listed(vec![fid("f1")]).unwrap(),
    );
    let err = w.engine.create_share_link(req.clone()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::QuotaExhaustedShareLinkCreate);

    w.engine.set_tenant_policy(
        w.alice.tenant.clone(),
        TenantPolicy {
            custom_domain: true,
            ..Default::default()
        },
    );
    let share = w.engine.create_share_link(req).unwrap();
    // A custom domain also lifts the APK rule.
    let tok = w.token(&share, None, "c").unwrap();
    let share2 = w.create(&["docs"], None);
    let tok2 = w.token(&share2, None, "c").unwrap();
    assert!(w.download(&share2, &tok2, "app").is_ok());
    assert!(w.download(&share, &tok, "f1").is_ok());
}

#[test]
fn throttle_decides_before_the_password_is_checked() {
    let w = world();
    let share = w.create(&["f1"], Some("1234"));
    for _ in 0..6 {
        let err = w.token(&share, Some("0000"), "attacker").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResourceSharePwd);
    }
    // Even the right password is refused now: the throttle decided without
    // looking at (or hashing) it.
    let err = w.token(&share, Some("1234"), "attacker").unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManyRequests);
    assert_eq!(err.retry_after(), Some(t0() + Duration::seconds(1)));
    // Another client is not locked out.
    assert!(w.token(&share, Some("1234"), "friend").is_ok());
    // After the delay the attacker's client may try again.
    w.clock.advance(Duration::seconds(1));
    assert!(w.token(&share, Some("1234"), "attacker").is_ok());
}

#[test]
fn a_wrong_password_says_how_many_attempts_are_left_then_the_wait() {
    let w = world();
    let share = w.create(&["f1"], Some("1234"));
    let free = w.engine.config().throttle.free_failures;
    for left in (0..free).rev() {
        match w.token(&share, Some("0000"), "c1").unwrap_err() {
            Error::WrongPassword(wrong) => {
                assert_eq!(wrong.free_attempts_left, left);
                assert_eq!(wrong.retry_at, None);
            }
            other => panic!("expected a wrong password, got {other:?}"),
        }
    }
    // The next failure starts the waits: it says when to try again.
    match w.token(&share, Some("0000"), "c1").unwrap_err() {
        Error::WrongPassword(wrong) => {
            assert_eq!(wrong.free_attempts_left, 0);
            assert_eq!(wrong.retry_at, Some(t0() + Duration::seconds(1)));
        }
        other => panic!("expected a wrong password, got {other:?}"),
    }
    // Another client still has all of its attempts.
    match w.token(&share, Some("0000"), "c2").unwrap_err() {
        Error::WrongPassword(wrong) => assert_eq!(wrong.free_attempts_left, free - 1),
        other => panic!("expected a wrong password, got {other:?}"),
    }
}

#[test]
fn guesses_from_many_addresses_are_bounded_and_never_lock_for_long() {
    let w = world();
    let share = w.create(&["f1"], Some("1234"));
    let p = w.engine.config().throttle;
    // Every new address guesses once: the fresh budget's burst is spent.
    for i in 0..p.fresh_burst {
        let err = w
            .token(&share, Some("0000"), &format!("bot{i}"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResourceSharePwd);
    }
    let err = w.token(&share, Some("1234"), "fresh").unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManyRequests);
    let wait = err.retry_after().unwrap() - t0();
    assert!(wait <= Duration::seconds(90), "{wait}");
    // The guessing addresses are suspects now: they spend their own budget.
    for i in 0..p.suspect_burst {
        let err = w
            .token(&share, Some("0000"), &format!("bot{i}"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResourceSharePwd, "{i}");
    }
    let err = w.token(&share, Some("0000"), "bot0").unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManyRequests);
    // The fresh budget refilled meanwhile for the newcomer.
    w.clock.advance(wait);
    assert!(w.token(&share, Some("1234"), "fresh").is_ok());
}

#[test]
fn a_quota_refusal_is_not_a_wrong_guess() {
    let mut config = fast();
    config.quota.accesses_per_day = 1;
    let w = world_with(config);
    let share = w.create(&["f1"], Some("1234"));
    assert!(w.token(&share, Some("1234"), "first").is_ok());
    // More refusals than the free failures: none of them is counted as a
    // guess, so the client is never delayed.
    for _ in 0..8 {
        let err = w.token(&share, Some("1234"), "second").unwrap_err();
        assert_eq!(err.code(), ErrorCode::QuotaExhaustedShareLinkAccess);
    }
    // A missing password is refused without being evaluated at all.
    for _ in 0..8 {
        let err = w.token(&share, None, "third").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResourceSharePwd);
    }
}

#[test]
fn token_requests_are_rate_limited_per_client() {
    let mut config = fast();
    config.token_rate = crate::rate::Rate {
        burst: 3,
        per_hour: 60,
    };
    let w = world_with(config);
    let share = w.create(&["f1"], None);
    for _ in 0..3 {
        assert!(w.token(&share, None, "busy").is_ok());
    }
    let err = w.token(&share, None, "busy").unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManyRequests);
    assert_eq!(err.retry_after(), Some(t0() + Duration::minutes(1)));
    assert!(w.token(&share, None, "other").is_ok());
}

#[test]
fn password_changes_are_rate_limited_per_creator() {
    let mut config = fast();
    config.password_set_rate = crate::rate::Rate {
        burst: 2,
        per_hour: 60,
    };
    let w = world_with(config);
    let share = w.create(&["f1"], Some("1111"));
    let set = |pw: &str| {
        w.engine.update_share_link(
            &w.alice,
            share.id(),
            ShareUpdate {
                password: Some(PasswordChange::Set(SharePassword::new(pw).unwrap())),
                ..Default::default()
            },
        )
    };
    assert!(set("2222").is_ok());
    let err = set("3333").unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManyRequests);
    // Other changes are not limited.
    w.rename(share.id(), "still fine");
    w.clock.advance(Duration::minutes(1));
    assert!(set("3333").is_ok());
}

#[test]
fn members_only_share() {
    let w = world();
    let share = w.create(&["f1"], None);
    w.update(
        share.id(),
        ShareUpdate {
            audience: Some(Audience::MembersOnly),
            ..Default::default()
        },
    );
    assert_eq!(
        w.token(&share, None, "c").unwrap_err().code(),
        ErrorCode::ForbiddenNoPermissionShareLink
    );
    let bob = Member {
        tenant: w.alice.tenant.clone(),
        user_id: UserId::new("bob").unwrap(),
    };
    let tok = w
        .engine
        .get_share_token(TokenRequest {
            share_id: share.id().clone(),
            password: None,
            expire_sec: Some(60),
            client: ClientKey::new("c").unwrap(),
            caller: Some(bob.clone()),
        })
        .unwrap();
    let req = FileRequest {
        token: tok.token.expose_secret(),
        share_id: share.id(),
        file_id: &fid("f1"),
        caller: Some(&bob),
    };
    assert!(w.engine.authorize_download(&req).is_ok());
    let stolen = FileRequest {
        caller: Some(&w.alice),
        ..req.clone()
    };
    assert_eq!(
        w.engine.authorize_download(&stolen).unwrap_err().code(),
        ErrorCode::ForbiddenNoPermissionShareLink
    );
    let anonymous = FileRequest {
        caller: None,
        ..req
    };
    assert_eq!(
        w.engine.authorize_download(&anonymous).unwrap_err().code(),
        ErrorCode::ForbiddenNoPermissionShareLink
    );
}

#[test]
fn copy_is_not_a_download() {
    let w = world();
    let share = w.create(&["docs"], None);
    let tok = w.token(&share, None, "c").unwrap();
    let bob = bob();
    let req = FileRequest {
        token: tok.token.expose_secret(),
        share_id: share.id(),
        file_id: &fid("app"),
        caller: None,
    };
    let saved = w
        .engine
        .save_shared(&req, &bob, |auth| {
            assert_eq!(auth.action(), Action::Save);
            Ok::<_, Error>(auth.share().counters().save)
        })
        .unwrap();
    assert_eq!(saved, 1);
    assert_eq!(
        w.engine.authorize_preview(&req).unwrap_err().code(),
        ErrorCode::ForbiddenFileTypeDownload
    );
    assert!(w.engine.authorize_get(&req).is_ok());
}

#[test]
fn token_for_another_share_or_garbage_is_refused() {
    let w = world();
    let a = w.create(&["f1"], None);
    let b = w.create(&["f1"], None);
    let tok_a = w.token(&a, None, "c").unwrap();
    assert_eq!(
        w.download(&b, &tok_a, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkTokenInvalid
    );
    for garbage in ["", "x", "v1.k1.AAAA.BBBB", &"A".repeat(5000)] {
        let err = w
            .engine
            .authorize_get(&FileRequest {
                token: garbage,
                share_id: a.id(),
                file_id: &fid("f1"),
                caller: None,
            })
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ShareLinkTokenInvalid);
        assert_eq!(err.http_status(), 401);
    }
}

#[test]
fn key_rotation_keeps_live_tokens_until_removal() {
    let w = world();
    let share = w.create(&["f1"], None);
    let old = w.token(&share, None, "c").unwrap();
    let k2 = w.engine.generate_signing_key(KeyId::new("k2").unwrap());
    w.engine.rotate_signing_key(k2).unwrap();
    let new = w.token(&share, None, "c").unwrap();
    assert!(new.token.expose_secret().starts_with("v1.k2."));
    assert!(w.download(&share, &old, "f1").is_ok());
    w.engine
        .remove_signing_key(&KeyId::new("k1").unwrap())
        .unwrap();
    assert_eq!(
        w.download(&share, &old, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkTokenInvalid
    );
    assert!(w.download(&share, &new, "f1").is_ok());
}

#[test]
fn forbid_and_unforbid() {
    let w = world();
    let share = w.create(&["f1"], None);
    let tok = w.token(&share, None, "c").unwrap();
    w.engine.forbid_share_link(share.id()).unwrap();
    assert_eq!(
        w.token(&share, None, "c").unwrap_err().code(),
        ErrorCode::ShareLinkForbidden
    );
    assert_eq!(
        w.download(&share, &tok, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkTokenInvalid
    );
    assert_eq!(
        w.engine
            .cancel_share_link(&w.alice, share.id())
            .unwrap_err()
            .code(),
        ErrorCode::ShareLinkForbidden
    );
    w.engine.unforbid_share_link(share.id()).unwrap();
    assert!(w.token(&share, None, "c").is_ok());
    assert_eq!(
        w.engine.unforbid_share_link(share.id()).unwrap_err().code(),
        ErrorCode::InvalidParameter
    );
}

/// Every page of a listing, following `next`; with each page's total.
fn every_page(w: &World, mut query: ShareListQuery) -> (Vec<Share>, Vec<Option<u64>>) {
    let (mut items, mut totals) = (Vec::new(), Vec::new());
    loop {
        let page = w.engine.list_share_links(&w.alice, &query).unwrap();
        assert!(page.items.len() <= query.page.limit);
        items.extend(page.items);
        totals.push(page.total);
        match page.next {
            Some(next) => query.page.after = Some(next),
            None => return (items, totals),
        }
    }
}

fn page_of(limit: usize) -> PageRequest {
    PageRequest {
        limit,
        ..PageRequest::default()
    }
}

#[test]
fn list_pages_newest_first_and_filters_cancelled() {
    let w = world();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(w.create(&["f1"], None).id().clone());
        w.clock.advance(Duration::seconds(1));
    }
    w.engine.cancel_share_link(&w.alice, &ids[2]).unwrap();
    let (seen, _) = every_page(
        &w,
        ShareListQuery {
            filter: ShareFilter::enabled_only(),
            page: page_of(2),
            ..ShareListQuery::default()
        },
    );
    let seen: Vec<ShareId> = seen.iter().map(|s| s.id().clone()).collect();
    let expected: Vec<ShareId> = ids
        .iter()
        .rev()
        .filter(|id| **id != ids[2])
        .cloned()
        .collect();
    assert_eq!(seen, expected);
    let all = w
        .engine
        .list_share_links(&w.alice, &ShareListQuery::default())
        .unwrap();
    assert_eq!(all.items.len(), 5);
    assert!(all.next.is_none());
    for limit in [0, 101] {
        let query = ShareListQuery {
            page: page_of(limit),
            ..ShareListQuery::default()
        };
        assert_eq!(
            w.engine
                .list_share_links(&w.alice, &query)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidParameterOutOfRange,
            "limit {limit}"
        );
    }
}

#[test]
fn purge_removes_only_old_expired_and_cancelled_shares() {
    let w = world();
    let keep = w.create(&["f1"], None);
    let cancelled = w.create(&["f1"], None);
    let expiring = w.create(&["f1"], None);
    w.engine
        .cancel_share_link(&w.alice, cancelled.id())
        .unwrap();
    w.update(
        expiring.id(),
        ShareUpdate {
            expiration: Some(Some(t0() + Duration::hours(1))),
            ..Default::default()
        },
    );
    w.clock.advance(Duration::days(2));
    let report = w.engine.purge(Duration::days(7)).unwrap();
    assert_eq!(report.shares, 0, "nothing is older than the retention yet");
    w.clock.advance(Duration::days(7));
    let report = w.engine.purge(Duration::days(7)).unwrap();
    assert_eq!(report.shares, 2);
    assert!(w.engine.get_share_link(&w.alice, keep.id()).is_ok());
    assert_eq!(
        w.engine
            .get_share_link(&w.alice, cancelled.id())
            .unwrap_err()
            .code(),
        ErrorCode::NotFoundShareLink
    );
}

#[test]
fn events_are_emitted_without_secrets() {
    let w = world();
    let share = w.create(&["docs"], Some("hunter22"));
    let _ = w.token(&share, Some("wrong"), "c");
    let tok = w.token(&share, Some("hunter22"), "c").unwrap();
    let _ = w.download(&share, &tok, "app");
    w.download(&share, &tok, "deep").unwrap();
    let events = w.events.take();
    let text = format!("{events:?}");
    assert!(!text.contains("hunter22"));
    assert!(!text.contains(tok.token.expose_secret()));
    assert!(!text.contains("argon2"));
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::ShareCreated { .. } => "created",
            Event::PasswordFailed { .. } => "password_failed",
            Event::TokenIssued { .. } => "token",
            Event::PolicyRefused { .. } => "policy",
            Event::FileActionAuthorized { .. } => "access",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["created", "password_failed", "token", "policy", "access"]
    );
    assert!(
        !format!("{:?}", w.engine).contains("secret"),
        "{:?}",
        w.engine
    );
}

#[test]
fn batch_create_matches_single_creates() {
    let mut config = fast();
    config.quota.creations_per_day = 3;
    let w = world_with(config);
    let req = |file: &str| {
        CreateShareRequest::new(
            w.alice.tenant.clone(),
            Creator::new(w.alice.user_id.clone()),
            w.drive.clone(),
            ShareFiles::listed(vec![fid(file)]).unwrap(),
        )
    };
    let mut with_pw = req("f1");
    with_pw.password = Some(SharePassword::new("1234").unwrap());
    let results = w.engine.create_share_links(vec![
        req("f1"),
        req("ghost"),
        with_pw,
        req("docs"),
        req("f1"),
    ]);
    let codes: Vec<Result<(), ErrorCode>> = results
        .iter()
        .map(|r| r.as_ref().map(|_| ()).map_err(Error::code))
        .collect();
    assert_eq!(
        codes,
        vec![
            Ok(()),
            Err(ErrorCode::NotFoundFile),
            Ok(()),
            Ok(()),
            Err(ErrorCode::QuotaExhaustedShareLinkCreate),
        ]
    );
    let created: Vec<&Share> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created[2].name().as_str(), "Docs");
    assert!(created[1].has_password());
    assert_eq!(
        w.engine
            .quota_usage(&w.alice.tenant, QuotaKind::Create)
            .unwrap()
            .0,
        3
    );
    for share in created {
        assert_eq!(
            &w.engine.get_share_link(&w.alice, share.id()).unwrap(),
            share
        );
    }
    assert!(w.engine.create_share_links(Vec::new()).is_empty());
}

#[test]
fn download_grant_counts_once_and_dies_with_the_share() {
    let w = world();
    let share = w.create(&["docs"], Some("pw"));
    let token = w.token(&share, Some("pw"), "c1").unwrap();
    let auth = w.download(&share, &token, "deep").unwrap();
    assert_eq!(auth.share().counters().download, 1);
    let issued = w.engine.grant_shared_content(auth, Some(60)).unwrap();
    assert_eq!(issued.expires_at, t0() + Duration::seconds(60));
    let text = issued.grant.expose_secret();

    // Fetching twice counts nothing more.
    for _ in 0..2 {
        let redeemed = w.engine.redeem_content_grant(text, &fid("deep")).unwrap();
        assert_eq!(redeemed.file.name, "deep.txt");
        assert_eq!(redeemed.share.unwrap().counters().download, 1);
    }
    // Another file id in the URL is refused.
    let err = w
        .engine
        .redeem_content_grant(text, &fid("secret"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DownloadUrlInvalid);

    // Disabling download refuses the URL; re-enabling lets it work again.
    w.update(
        share.id(),
        ShareUpdate {
            disable_download: Some(true),
            ..Default::default()
        },
    );
    assert_eq!(w.redeem_error(text, "deep"), ErrorCode::DownloadUrlInvalid);
    w.update(
        share.id(),
        ShareUpdate {
            disable_download: Some(false),
            ..Default::default()
        },
    );
    assert!(w.engine.redeem_content_grant(text, &fid("deep")).is_ok());

    // A password change revokes it; so does cancel.
    w.update(
        share.id(),
        ShareUpdate {
            password: Some(PasswordChange::Set(SharePassword::new("new").unwrap())),
            ..Default::default()
        },
    );
    assert_eq!(w.redeem_error(text, "deep"), ErrorCode::DownloadUrlInvalid);
    w.engine.cancel_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(w.redeem_error(text, "deep"), ErrorCode::ShareLinkCancelled);
}

#[test]
fn download_grant_expires() {
    let w = world();
    let share = w.create(&["f1"], None);
    let token = w.token(&share, None, "c1").unwrap();
    let auth = w.download(&share, &token, "f1").unwrap();
    let issued = w.engine.grant_shared_content(auth, None).unwrap();
    w.clock.advance(Duration::seconds(899));
    assert!(
        w.engine
            .redeem_content_grant(issued.grant.expose_secret(), &fid("f1"))
            .is_ok()
    );
    w.clock.advance(Duration::seconds(1));
    let err = w
        .engine
        .redeem_content_grant(issued.grant.expose_secret(), &fid("f1"))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Grant(crate::grant::GrantError::Expired { .. })
    ));
    // Drive grants need the file to exist, and to be a file.
    let download = crate::grant::GrantKind::Download;
    assert_eq!(
        w.engine
            .authorize_drive_file(&w.drive, &fid("nope"), download)
            .unwrap_err()
            .code(),
        ErrorCode::NotFoundFile
    );
    assert_eq!(
        w.engine
            .authorize_drive_file(&w.drive, &fid("docs"), download)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidParameter
    );
    let auth = w
        .engine
        .authorize_drive_file(&w.drive, &fid("f1"), download)
        .unwrap();
    assert_eq!(auth.kind(), download);
    let g = w.engine.grant_drive_file(auth, None).unwrap();
    let r = w
        .engine
        .redeem_content_grant(g.grant.expose_secret(), &fid("f1"))
        .unwrap();
    assert!(r.share.is_none());
}

#[test]
fn search_pages_through_matches_only() {
    let w = world();
    let mut ids = Vec::new();
    for i in 0..7 {
        w.clock.advance(Duration::seconds(1));
        let share = w.create(&["f1"], None);
        let name = if i % 2 == 0 {
            format!("Holiday {i}")
        } else {
            format!("work {i}")
        };
        w.rename(share.id(), &name);
        ids.push(share.id().clone());
    }
    // cancel one holiday share: a status filter drops it, no filter keeps it
    w.engine.cancel_share_link(&w.alice, &ids[2]).unwrap();
    let holiday = ShareFilter {
        name_contains: Some("HOLIDAY".into()),
        ..Default::default()
    };
    let (seen, totals) = every_page(
        &w,
        ShareListQuery {
            filter: holiday.clone(),
            order: ShareOrder::NEWEST_FIRST,
            page: PageRequest {
                limit: 2,
                after: None,
                count_total: true,
            },
        },
    );
    // The total counts matches from the cursor on, this page included.
    assert_eq!(totals, [Some(4), Some(2)]);
    let seen: Vec<ShareId> = seen.iter().map(|s| s.id().clone()).collect();
    // newest first: 6, 4, 2, 0
    assert_eq!(
        seen,
        [
            ids[6].clone(),
            ids[4].clone(),
            ids[2].clone(),
            ids[0].clone()
        ]
    );
    let enabled = ShareFilter {
        status: Some(crate::share::ShareStatus::Enabled),
        ..holiday
    };
    let (page, totals) = every_page(
        &w,
        ShareListQuery {
            filter: enabled,
            order: ShareOrder::NEWEST_FIRST,
            page: PageRequest {
                limit: 100,
                after: None,
                count_total: true,
            },
        },
    );
    assert_eq!(totals, [Some(3)]);
    assert_eq!(page.len(), 3);
}

#[test]
fn preview_grants_follow_the_preview_switch() {
    let w = world();
    let share = w.create(&["f1"], None);
    let token = w.token(&share, None, "c1").unwrap();
    let auth = w
        .engine
        .authorize_preview(&FileRequest {
            token: token.token.expose_secret(),
            share_id: share.id(),
            file_id: &fid("f1"),
            caller: None,
        })
        .unwrap();
    assert_eq!(auth.share().counters().preview, 1);
    let issued = w.engine.grant_shared_content(auth, None).unwrap();
    let text = issued.grant.expose_secret();
    let redeemed = w.engine.redeem_content_grant(text, &fid("f1")).unwrap();
    assert_eq!(redeemed.kind, crate::grant::GrantKind::Preview);
    // Disabling download does not touch a preview URL; disabling preview does.
    w.update(
        share.id(),
        ShareUpdate {
            disable_download: Some(true),
            ..Default::default()
        },
    );
    assert!(w.engine.redeem_content_grant(text, &fid("f1")).is_ok());
    w.update(
        share.id(),
        ShareUpdate {
            disable_preview: Some(true),
            ..Default::default()
        },
    );
    assert_eq!(w.redeem_error(text, "f1"), ErrorCode::DownloadUrlInvalid);
    assert_eq!(
        w.engine
            .redeem_content_grant(text, &fid("f1"))
            .unwrap_err()
            .to_string(),
        "preview is disabled on this share"
    );
}

#[test]
fn every_order_pages_with_a_cursor_of_its_own() {
    let w = world();
    let names = ["delta", "alpha", "charlie", "bravo", "echo"];
    for name in names {
        w.clock.advance(Duration::seconds(1));
        let share = w.create(&["f1"], None);
        w.rename(share.id(), name);
    }
    let by_name = ShareOrder::default_for(ShareOrderBy::ShareName);
    assert!(!by_name.descending);
    let query = ShareListQuery {
        order: by_name,
        page: page_of(2),
        ..ShareListQuery::default()
    };
    let (seen, _) = every_page(&w, query.clone());
    let seen: Vec<&str> = seen.iter().map(|s| s.name().as_str()).collect();
    assert_eq!(seen, ["alpha", "bravo", "charlie", "delta", "echo"]);
    // oldest first
    let oldest = ShareListQuery {
        order: ShareOrder {
            by: ShareOrderBy::CreatedAt,
            descending: false,
        },
        ..ShareListQuery::default()
    };
    let (page, _) = every_page(&w, oldest);
    let got: Vec<_> = page.iter().map(|s| s.name().as_str()).collect();
    assert_eq!(got, names);
    // A cursor of one order is refused in another, in either direction.
    let newest = w
        .engine
        .list_share_links(
            &w.alice,
            &ShareListQuery {
                page: page_of(1),
                ..ShareListQuery::default()
            },
        )
        .unwrap();
    let mut foreign = query.clone();
    foreign.page.after = newest.next;
    let mut flipped = query.clone();
    flipped.page.after = w.engine.list_share_links(&w.alice, &query).unwrap().next;
    flipped.order.descending = true;
    for bad in [foreign, flipped] {
        assert_eq!(
            w.engine
                .list_share_links(&w.alice, &bad)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidParameter
        );
    }
    // search in name order, with the total
    let filtered = ShareListQuery {
        filter: ShareFilter {
            name_contains: Some("a".into()),
            ..Default::default()
        },
        order: by_name,
        page: PageRequest {
            limit: 2,
            after: None,
            count_total: true,
        },
    };
    let page = w.engine.list_share_links(&w.alice, &filtered).unwrap();
    let got: Vec<_> = page.items.iter().map(|s| s.name().as_str()).collect();
    assert_eq!(got, ["alpha", "bravo"]);
    assert_eq!(page.total, Some(4)); // alpha, bravo, charlie, delta
}

/// A download URL signed while the tenant had a custom domain stops
/// working for an APK once the domain is gone: redeeming re-applies the
/// file-type policy as it stands.
#[test]
fn redeeming_a_grant_rechecks_the_file_type_policy() {
    let w = world();
    let share = w.create(&["docs"], None);
    let tok = w.token(&share, None, "c").unwrap();
    let custom_domain = |on: bool| {
        w.engine.set_tenant_policy(
            w.alice.tenant.clone(),
            TenantPolicy {
                custom_domain: on,
                ..Default::default()
            },
        );
    };
    custom_domain(true);
    let auth = w.download(&share, &tok, "app").unwrap();
    let issued = w.engine.grant_shared_content(auth, None).unwrap();
    let text = issued.grant.expose_secret();
    assert!(w.engine.redeem_content_grant(text, &fid("app")).is_ok());
    custom_domain(false);
    assert_eq!(
        w.redeem_error(text, "app"),
        ErrorCode::ForbiddenFileTypeDownload
    );
}

/// The bypass of issue 10, as behaviour: a plain "get" yields no URL (that
/// no longer compiles: see `ContentAuthorization`), so with
/// `download_limit` 1 exactly one download URL can be had, and none for an
/// APK.
#[test]
fn one_counted_download_one_url() {
    let w = world();
    let share = w.create(&["docs", "f1"], None);
    w.update(
        share.id(),
        ShareUpdate {
            download_limit: Some(NonZeroU64::new(1)),
            ..Default::default()
        },
    );
    let tok = w.token(&share, None, "c").unwrap();
    assert_eq!(
        w.download(&share, &tok, "app").unwrap_err().code(),
        ErrorCode::ForbiddenFileTypeDownload
    );
    let auth = w.download(&share, &tok, "f1").unwrap();
    assert_eq!(auth.kind(), crate::grant::GrantKind::Download);
    let issued = w.engine.grant_shared_content(auth, None).unwrap();
    let redeemed = w
        .engine
        .redeem_content_grant(issued.grant.expose_secret(), &fid("f1"))
        .unwrap();
    assert_eq!(redeemed.kind, crate::grant::GrantKind::Download);
    assert_eq!(
        w.download(&share, &tok, "f1").unwrap_err().code(),
        ErrorCode::ShareLinkDownloadLimitExceeded
    );
    let stored = w.engine.get_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(stored.counters().download, 1);
}

/// The engine refuses a folder's download or preview itself, before
/// counting, so a host needs no separate "get" first.
#[test]
fn folders_have_no_content_and_are_never_counted() {
    let w = world();
    let share = w.create(&["docs"], None);
    let tok = w.token(&share, None, "c").unwrap();
    let req = FileRequest {
        token: tok.token.expose_secret(),
        share_id: share.id(),
        file_id: &fid("sub"),
        caller: None,
    };
    assert_eq!(
        w.engine.authorize_download(&req).unwrap_err().code(),
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        w.engine.authorize_preview(&req).unwrap_err().code(),
        ErrorCode::InvalidParameter
    );
    // A precheck that refuses counts nothing either.
    let refused: Result<_, Error> = w.engine.authorize_content_with(
        &FileRequest {
            file_id: &fid("deep"),
            ..req.clone()
        },
        crate::grant::GrantKind::Download,
        |m| {
            assert_eq!(m.name, "deep.txt");
            Err(InputError::invalid("range", "unsatisfiable").into())
        },
    );
    assert!(refused.is_err());
    let stored = w.engine.get_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(stored.counters().download, 0);
    assert_eq!(stored.counters().preview, 0);
}

/// A save whose copy fails (target gone, name taken) is refunded; only
/// successful saves use up `save_limit`.
#[test]
fn only_successful_saves_count() {
    let w = world();
    let share = w.create(&["f1"], None);
    w.update(
        share.id(),
        ShareUpdate {
            save_limit: Some(NonZeroU64::new(1)),
            ..Default::default()
        },
    );
    let tok = w.token(&share, None, "c").unwrap();
    let bob = bob();
    let req = FileRequest {
        token: tok.token.expose_secret(),
        share_id: share.id(),
        file_id: &fid("f1"),
        caller: None,
    };
    for _ in 0..3 {
        let failed: Result<(), Error> = w.engine.save_shared(&req, &bob, |_| {
            Err(InputError::invalid("to_parent_file_id", "no such folder").into())
        });
        assert_eq!(failed.unwrap_err().code(), ErrorCode::InvalidParameter);
    }
    let stored = w.engine.get_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(stored.counters().save, 0, "failed saves are refunded");
    w.engine
        .save_shared(&req, &bob, |_| Ok::<_, Error>(()))
        .unwrap();
    let over: Result<(), Error> = w.engine.save_shared(&req, &bob, |_| {
        panic!("a save over the limit never reaches the host's copy")
    });
    assert_eq!(
        over.unwrap_err().code(),
        ErrorCode::ShareLinkSaveLimitExceeded
    );
    let stored = w.engine.get_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(stored.counters().save, 1);
}

/// Charge-and-refund under concurrency: with `save_limit` 3 and saves that
/// fail half the time, successes never pass 3 and the counter equals them.
#[test]
fn concurrent_saves_never_pass_the_limit() {
    let w = world();
    let share = w.create(&["f1"], None);
    w.update(
        share.id(),
        ShareUpdate {
            save_limit: Some(NonZeroU64::new(3)),
            ..Default::default()
        },
    );
    let tok = w.token(&share, None, "c").unwrap();
    let bob = bob();
    let in_flight = std::sync::atomic::AtomicU64::new(0);
    let succeeded = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            let (w, tok, bob, share) = (&w, &tok, &bob, &share);
            let (in_flight, succeeded) = (&in_flight, &succeeded);
            scope.spawn(move || {
                for i in 0..10u64 {
                    let req = FileRequest {
                        token: tok.token.expose_secret(),
                        share_id: share.id(),
                        file_id: &fid("f1"),
                        caller: None,
                    };
                    let _ = w.engine.save_shared(&req, bob, |_| {
                        let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        assert!(now < 3, "{} saves in flight with limit 3", now + 1);
                        std::thread::yield_now();
                        in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        if (t + i) % 2 == 0 {
                            return Err(Error::from(InputError::invalid("x", "fails")));
                        }
                        succeeded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(())
                    });
                }
            });
        }
    });
    let done = succeeded.load(std::sync::atomic::Ordering::SeqCst);
    assert!(done <= 3 && done > 0, "{done} saves succeeded");
    let stored = w.engine.get_share_link(&w.alice, share.id()).unwrap();
    assert_eq!(stored.counters().save, done);
}

/// A ZIP local header for `name` (no data): enough for the sniffer.
fn zip_entry(name: &str) -> Vec<u8> {
    let mut out = b"PK\x03\x04".to_vec();
    out.extend_from_slice(&[0; 22]);
    out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(name.as_bytes());
    out
}

/// An APK renamed `photo.jpg` (with an image MIME type) is refused by its
/// content, through the catalogue's content hook; the same name with
/// ordinary content downloads, and a custom domain lifts the rule without
/// the content being judged.
#[test]
fn the_file_type_rule_reads_content() {
    let w = world();
    let drive = &w.drive;
    for (id, name) in [
        ("pkg", "photo.jpg"),
        ("real", "real.jpg"),
        ("ios", "cat.png"),
    ] {
        w.catalog.insert(FileMeta {
            drive_id: drive.clone(),
            file_id: fid(id),
            parent_file_id: None,
            name: name.into(),
            kind: FileKind::File,
            mime_type: Some("image/jpeg".into()),
            size: 100,
        });
    }
    let apk = [zip_entry("classes.dex"), zip_entry("AndroidManifest.xml")].concat();
    w.catalog.set_content_prefix(drive, &fid("pkg"), apk);
    w.catalog
        .set_content_prefix(drive, &fid("real"), b"\xFF\xD8\xFF\xE0JFIF".to_vec());
    w.catalog
        .set_content_prefix(drive, &fid("ios"), zip_entry("Payload/Cat.app/Info.plist"));
    let share = w.create(&["pkg", "real", "ios"], None);
    let token = w.token(&share, None, "c").unwrap();
    for file in ["pkg", "ios"] {
        assert_eq!(
            w.download(&share, &token, file).unwrap_err().code(),
            ErrorCode::ForbiddenFileTypeDownload,
            "{file}"
        );
    }
    assert!(w.download(&share, &token, "real").is_ok());
    w.engine.set_tenant_policy(
        w.alice.tenant.clone(),
        TenantPolicy {
            custom_domain: true,
            ..Default::default()
        },
    );
    assert!(w.download(&share, &token, "pkg").is_ok());
}
