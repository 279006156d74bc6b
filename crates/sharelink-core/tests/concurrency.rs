//! Many threads against one limit through the Engine: exactly `limit` succeed.

use std::num::NonZeroU64;
use std::sync::{Arc, Barrier};
use std::thread;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sharelink_core::*;

const THREADS: usize = 8;
const ATTEMPTS_PER_THREAD: usize = 40;

fn engine(config: EngineConfig) -> (Arc<Engine>, Member, DriveId) {
    let drive = DriveId::new("d").unwrap();
    let catalog = Arc::new(MemoryCatalog::new());
    catalog
        .add(&drive, "f1", None, "notes.txt", FileKind::File)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let keys = KeyRing::new(SigningKey::generate(KeyId::new("k").unwrap(), &mut rng));
    let engine = Engine::builder(Arc::new(MemoryStorage::new()), catalog, keys)
        .config(config)
        .build()
        .unwrap();
    let alice = Member {
        tenant: TenantId::new("t").unwrap(),
        user_id: UserId::new("alice").unwrap(),
    };
    (Arc::new(engine), alice, drive)
}

fn fast() -> EngineConfig {
    EngineConfig {
        password_hasher: PasswordHasher::insecure_fast(),
        ..EngineConfig::default()
    }
}

fn create(engine: &Engine, alice: &Member, drive: &DriveId) -> Result<Share, Error> {
    engine.create_share_link(CreateShareRequest::new(
        alice.tenant.clone(),
        Creator::new(alice.user_id.clone()),
        drive.clone(),
        ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap(),
    ))
}

/// Runs `f` on every thread `ATTEMPTS_PER_THREAD` times, all threads
/// released together, and returns how many calls succeeded and the codes of
/// the failures.
fn hammer<F>(f: F) -> (usize, Vec<ErrorCode>)
where
    F: Fn() -> Result<(), Error> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let f = f.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                (0..ATTEMPTS_PER_THREAD).map(|_| f()).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ok = 0;
    let mut codes = Vec::new();
    for h in handles {
        for r in h.join().unwrap() {
            match r {
                Ok(()) => ok += 1,
                Err(e) => codes.push(e.code()),
            }
        }
    }
    (ok, codes)
}

#[test]
fn creation_quota_gives_exactly_limit_successes() {
    let mut config = fast();
    config.quota.creations_per_day = 57;
    let (engine, alice, drive) = engine(config);
    let (ok, codes) = hammer(move || create(&engine, &alice, &drive).map(|_| ()));
    assert_eq!(ok, 57);
    assert_eq!(codes.len(), THREADS * ATTEMPTS_PER_THREAD - 57);
    assert!(
        codes
            .iter()
            .all(|c| *c == ErrorCode::QuotaExhaustedShareLinkCreate)
    );
}

#[test]
fn access_quota_gives_exactly_limit_successes() {
    let mut config = fast();
    config.quota.accesses_per_day = 83;
    let (engine, alice, drive) = engine(config);
    let share = create(&engine, &alice, &drive).unwrap();
    let e = engine.clone();
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let (ok, codes) = hammer(move || {
        // Every call a new client: each is a new access of the quota.
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        e.get_share_token(TokenRequest {
            share_id: share.id().clone(),
            password: None,
            expire_sec: None,
            client: ClientKey::new(format!("c{n}")).unwrap(),
            caller: None,
        })
        .map(|_| ())
    });
    assert_eq!(ok, 83);
    assert!(
        codes
            .iter()
            .all(|c| *c == ErrorCode::QuotaExhaustedShareLinkAccess)
    );
    assert_eq!(
        engine
            .quota_usage(&alice.tenant, QuotaKind::Access)
            .unwrap(),
        (83, Some(83))
    );
}

#[test]
fn download_limit_gives_exactly_limit_successes() {
    let (engine, alice, drive) = engine(fast());
    let share = create(&engine, &alice, &drive).unwrap();
    engine
        .update_share_link(
            &alice,
            share.id(),
            ShareUpdate {
                download_limit: Some(NonZeroU64::new(31)),
                ..Default::default()
            },
        )
        .unwrap();
    let token = engine
        .get_share_token(TokenRequest {
            share_id: share.id().clone(),
            password: None,
            expire_sec: None,
            client: ClientKey::new("c").unwrap(),
            caller: None,
        })
        .unwrap();
    let e = engine.clone();
    let id = share.id().clone();
    let (ok, codes) = hammer(move || {
        e.authorize_download(&FileRequest {
            token: token.token.expose_secret(),
            share_id: &id,
            file_id: &FileId::new("f1").unwrap(),
            caller: None,
        })
        .map(|_| ())
    });
    assert_eq!(ok, 31);
    assert!(
        codes
            .iter()
            .all(|c| *c == ErrorCode::ShareLinkDownloadLimitExceeded)
    );
    let stored = engine.get_share_link(&alice, share.id()).unwrap();
    assert_eq!(stored.counters().download, 31);
}

#[test]
fn concurrent_updates_never_lose_a_change() {
    let (engine, alice, drive) = engine(fast());
    let share = create(&engine, &alice, &drive).unwrap();
    let e = engine.clone();
    let a = alice.clone();
    let id = share.id().clone();
    // Conflicts are retried inside the engine (bounded). Every update must
    // either land as exactly one new version or fail with
    // ServiceUnavailable; none may vanish silently.
    let (ok, codes) = hammer(move || {
        e.update_share_link(
            &a,
            &id,
            ShareUpdate {
                description: Some(Description::new("x").unwrap()),
                ..Default::default()
            },
        )
        .map(|_| ())
    });
    assert!(
        codes.iter().all(|c| *c == ErrorCode::ServiceUnavailable),
        "{codes:?}"
    );
    let stored = engine.get_share_link(&alice, share.id()).unwrap();
    assert_eq!(
        stored.version(),
        1 + ok as u64,
        "each successful update is one version"
    );
}

#[test]
fn repeats_from_one_client_charge_the_access_quota_once() {
    let mut config = fast();
    config.quota.accesses_per_day = 1;
    config.token_rate.burst = u32::MAX / 4;
    let (engine, alice, drive) = engine(config);
    let share = create(&engine, &alice, &drive).unwrap();
    let e = engine.clone();
    let (ok, codes) = hammer(move || {
        e.get_share_token(TokenRequest {
            share_id: share.id().clone(),
            password: None,
            expire_sec: None,
            client: ClientKey::new("same").unwrap(),
            caller: None,
        })
        .map(|_| ())
    });
    assert_eq!((ok, codes), (THREADS * ATTEMPTS_PER_THREAD, vec![]));
    assert_eq!(
        engine
            .quota_usage(&alice.tenant, QuotaKind::Access)
            .unwrap()
            .0,
        1
    );
}
