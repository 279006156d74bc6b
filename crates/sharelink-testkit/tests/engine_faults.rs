//! The Engine over a store whose Nth write fails: a failed operation
//! acknowledges nothing and leaves no half-done work behind.

use std::sync::Arc;

use sharelink_core::*;
use sharelink_testkit::faults::FailingStorage;

fn engine(store: Arc<FailingStorage<MemoryStorage>>) -> (Engine, Member, DriveId) {
    let drive = DriveId::new("d").unwrap();
    let catalog = Arc::new(MemoryCatalog::new());
    catalog
        .add(&drive, "f1", None, "notes.txt", FileKind::File)
        .unwrap();
    let keys = KeyRing::new(SigningKey::new(KeyId::new("k").unwrap(), &[9u8; 32]).unwrap());
    let config = EngineConfig {
        password_hasher: PasswordHasher::insecure_fast(),
        ..EngineConfig::default()
    };
    let alice = Member {
        tenant: TenantId::new("t").unwrap(),
        user_id: UserId::new("alice").unwrap(),
    };
    (
        Engine::builder(store, catalog, keys)
            .config(config)
            .build()
            .unwrap(),
        alice,
        drive,
    )
}

fn create(engine: &Engine, alice: &Member, drive: &DriveId) -> Result<Share, Error> {
    engine.create_share_link(CreateShareRequest::new(
        alice.tenant.clone(),
        Creator::new(alice.user_id.clone()),
        drive.clone(),
        ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap(),
    ))
}

#[test]
fn a_failed_create_stores_nothing_and_charges_nothing() {
    let store = Arc::new(FailingStorage::new(MemoryStorage::new(), 1));
    let (engine, alice, drive) = engine(store.clone());
    let err = create(&engine, &alice, &drive).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert_eq!(
        engine
            .quota_usage(&alice.tenant, QuotaKind::Create)
            .unwrap()
            .0,
        0
    );
    let page = engine
        .list_share_links(&alice, &ShareListQuery::default())
        .unwrap();
    assert!(page.items.is_empty());
    // The next write goes through, and is charged exactly once.
    create(&engine, &alice, &drive).unwrap();
    assert_eq!(
        engine
            .quota_usage(&alice.tenant, QuotaKind::Create)
            .unwrap()
            .0,
        1
    );
}

#[test]
fn a_failed_write_during_token_issue_yields_no_token() {
    // Writes for a password share: 1 = insert, 2 = throttle admission,
    // 3 = the access record (settle + quota + counter). Fail each of 2 and 3.
    for n in 2..=3 {
        let store = Arc::new(FailingStorage::new(MemoryStorage::new(), n));
        let (engine, alice, drive) = engine(store.clone());
        let mut req = CreateShareRequest::new(
            alice.tenant.clone(),
            Creator::new(alice.user_id.clone()),
            drive.clone(),
            ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap(),
        );
        req.password = Some(SharePassword::new("1234").unwrap());
        let share = engine.create_share_link(req).unwrap();
        let err = engine
            .get_share_token(TokenRequest {
                share_id: share.id().clone(),
                password: Some(SharePassword::new("1234").unwrap()),
                expire_sec: None,
                client: ClientKey::new("c").unwrap(),
                caller: None,
            })
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InternalError, "write {n}");
        let stored = store.inner().get_share(share.id()).unwrap().unwrap();
        assert_eq!(
            stored.counters().access,
            0,
            "write {n}: no token, no access counted"
        );
        assert_eq!(
            engine
                .quota_usage(&alice.tenant, QuotaKind::Access)
                .unwrap()
                .0,
            0,
            "write {n}: no token, no quota charged"
        );
    }
}

/// A batch whose insert fails reports the failure on every item, each
/// keeping the storage error as its source, and stores nothing.
#[test]
fn a_failed_batch_keeps_the_storage_error_as_every_items_source() {
    let store = Arc::new(FailingStorage::new(MemoryStorage::new(), 1));
    let (engine, alice, drive) = engine(store);
    let req = || {
        CreateShareRequest::new(
            alice.tenant.clone(),
            Creator::new(alice.user_id.clone()),
            drive.clone(),
            ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap(),
        )
    };
    let results = engine.create_share_links(vec![req(), req(), req()]);
    assert_eq!(results.len(), 3);
    for r in results {
        let err = r.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InternalError);
        let mut chain = Vec::new();
        let mut cause: Option<&dyn std::error::Error> = Some(&err);
        while let Some(c) = cause {
            chain.push(c.to_string());
            cause = c.source();
        }
        // The storage error is a *source*, not text copied into a message.
        assert!(
            chain.iter().skip(1).any(|c| c.contains("injected")),
            "the injected failure is not a source: {chain:?}"
        );
    }
    assert!(
        engine
            .list_share_links(&alice, &ShareListQuery::default())
            .unwrap()
            .items
            .is_empty()
    );
}
