//! PostgreSQL-specific guarantees: migrations (once, however many
//! instances start together; a newer schema refused), typed errors for
//! corrupt rows, and exact limits over many connections.

use std::sync::{Arc, Barrier};
use std::thread;

use postgres::NoTls;
use sharelink_core::{
    InsertOutcome, NoFaults, QuotaKind, QuotaOutcome, Share, Storage, StorageError, UseKind,
    UseOutcome,
};
use sharelink_postgres::testing::{SchemaGuard, database_ready, fresh_store, test_database_url};
use sharelink_postgres::{PostgresOptions, PostgresStorage, SCHEMA_VERSION};
use sharelink_testkit::fixtures::{ShareFixture, charge};

#[allow(unreachable_pub)]
mod support {
    pub mod tls_proxy;
}

fn raw_client(guard: &SchemaGuard) -> postgres::Client {
    let mut client = postgres::Client::connect(&test_database_url(), NoTls).expect("connect");
    client
        .batch_execute(&format!("SET search_path TO {}", guard.schema()))
        .expect("search_path");
    client
}

/// Terminates every connection of the store in `guard`'s schema (they
/// report it as their `application_name`) but `admin`'s own; returns how
/// many.
fn terminate_store_connections(admin: &mut postgres::Client, guard: &SchemaGuard) -> i64 {
    admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&guard.schema()],
        )
        .unwrap()
        .get(0)
}

/// How many connections the store in `guard`'s schema has open.
fn store_connections(admin: &mut postgres::Client, guard: &SchemaGuard) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&guard.schema()],
        )
        .unwrap()
        .get(0)
}

/// A fresh store holding one share, and the guard of its schema.
fn store_with_a_share() -> (Arc<PostgresStorage>, SchemaGuard, Share) {
    let (store, guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    let share = ShareFixture::new(1).build();
    store.insert_share(&share, None).unwrap();
    (Arc::new(store), guard, share)
}

fn options_for(guard: &SchemaGuard) -> PostgresOptions {
    let mut options = PostgresOptions::new(test_database_url());
    options.schema = Some(guard.schema().to_owned());
    options
}

#[test]
fn a_newer_schema_is_refused() {
    if !database_ready() {
        return;
    }
    let (store, guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    drop(store);
    raw_client(&guard)
        .execute("UPDATE sharelink_schema SET version = 99", &[])
        .unwrap();
    let err = PostgresStorage::connect(&options_for(&guard)).unwrap_err();
    assert!(
        matches!(err, StorageError::IncompatibleFormat { found: 99, supported }
            if supported == u32::try_from(SCHEMA_VERSION).unwrap()),
        "{err}"
    );
}

#[test]
fn instances_starting_at_once_migrate_exactly_once() {
    if !database_ready() {
        return;
    }
    let (store, guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    // Start over in an empty schema, then let 6 instances race to migrate it.
    drop(store);
    raw_client(&guard)
        .batch_execute(&format!(
            "DROP SCHEMA {0} CASCADE; CREATE SCHEMA {0}",
            guard.schema()
        ))
        .unwrap();
    let options = options_for(&guard);
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (options, barrier) = (options.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                PostgresStorage::connect(&options).map(drop)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let rows = raw_client(&guard)
        .query("SELECT version FROM sharelink_schema", &[])
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), SCHEMA_VERSION);
}

#[test]
fn a_corrupt_row_is_a_typed_error_naming_the_share() {
    if !database_ready() {
        return;
    }
    let (store, guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    let share = ShareFixture::new(1).build();
    assert_eq!(
        store.insert_share(&share, None).unwrap(),
        InsertOutcome::Inserted
    );
    raw_client(&guard)
        .execute(
            "UPDATE shares SET body = $1 WHERE share_id = $2",
            &[&b"{not json".as_slice(), &share.id().as_str()],
        )
        .unwrap();
    match store.get_share(share.id()).unwrap_err() {
        StorageError::Corrupt { what, .. } => assert!(what.contains(share.id().as_str()), "{what}"),
        other => panic!("expected Corrupt, got {other}"),
    }
    // A negative counter is corrupt too, never a wrapped-around u64.
    raw_client(&guard)
        .execute(
            "UPDATE shares SET download_count = -1 WHERE share_id = $1",
            &[&share.id().as_str()],
        )
        .unwrap();
    assert!(matches!(
        store.get_share(share.id()).unwrap_err(),
        StorageError::Corrupt { .. }
    ));
}

/// 16 threads on 16 pooled connections: a quota of 50 and a download
/// limit of 37 each end exactly at their limit.
#[test]
fn limits_hold_exactly_over_16_connections() {
    if !database_ready() {
        return;
    }
    let (store, _guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    let store = Arc::new(store);
    let mut f = ShareFixture::new(1);
    f.download_limit = 37;
    let share = f.build();
    store.insert_share(&share, None).unwrap();
    let quota = charge(0, QuotaKind::Access, 0, 50);
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (store, barrier, quota, id) = (
                store.clone(),
                barrier.clone(),
                quota.clone(),
                share.id().clone(),
            );
            thread::spawn(move || {
                barrier.wait();
                let (mut charged, mut counted) = (0, 0);
                for _ in 0..8 {
                    if let QuotaOutcome::Consumed { .. } = store.consume_quota(&quota).unwrap() {
                        charged += 1;
                    }
                    if let UseOutcome::Counted(_) =
                        store.count_use(&id, UseKind::Download, 0).unwrap()
                    {
                        counted += 1;
                    }
                }
                (charged, counted)
            })
        })
        .collect();
    let (mut charged, mut counted) = (0, 0);
    for h in handles {
        let (c, d) = h.join().unwrap();
        charged += c;
        counted += d;
    }
    assert_eq!(charged, 50);
    assert_eq!(counted, 37);
    assert_eq!(store.quota_used(&quota.key).unwrap(), 50);
    assert_eq!(
        store
            .get_share(share.id())
            .unwrap()
            .unwrap()
            .counters()
            .download,
        37
    );
}

/// `pg_terminate_backend` on every connection of the store: the calls in
/// flight fail as `Unavailable` (503 on the wire), never as a backend
/// failure (500), and the pool is serving again within 5 s by itself.
#[test]
fn terminated_connections_are_an_outage_the_pool_recovers_from() {
    if !database_ready() {
        return;
    }
    let (store, guard, share) = store_with_a_share();
    // Open several pooled connections, then kill them all.
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| store.get_share(share.id()).unwrap());
        }
    });
    let killed = terminate_store_connections(&mut raw_client(&guard), &guard);
    assert!(killed >= 1, "no connection to terminate");
    let started = std::time::Instant::now();
    let mut outages = 0;
    loop {
        match store.get_share(share.id()) {
            Ok(Some(back)) => {
                assert_eq!(back, share);
                break;
            }
            Ok(None) => panic!("the share vanished"),
            Err(StorageError::Unavailable { .. }) => outages += 1,
            Err(other) => panic!("an outage must be Unavailable, got {other}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still down after 5 s ({outages} outages)"
        );
    }
    // Every connection works again.
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| assert!(store.get_share(share.id()).unwrap().is_some()));
        }
    });
}

/// Connections that died while idle in the pool (a database restart, an
/// admin's `pg_terminate_backend`) are replaced when next used: the next
/// writes and reads succeed, without a single error, because a connection
/// found closed when its transaction begins (or during a read) has done
/// nothing yet and the call moves to a fresh one.
#[test]
fn connections_that_died_idle_are_replaced_without_an_error() {
    if !database_ready() {
        return;
    }
    // Six writers meet inside their transactions (at a fault point), so
    // six connections are checked out at once and then stay idle in the
    // pool, however the threads are scheduled.
    let meeting = Arc::new(MeetInsideTransactions::new(6));
    let (store, guard) = fresh_store(meeting.clone()).unwrap();
    meeting.arm();
    thread::scope(|scope| {
        for n in 0..6 {
            let store = &store;
            scope.spawn(move || {
                let share = ShareFixture::new(100 + n).build();
                store.insert_share(&share, None).unwrap()
            });
        }
    });
    let share = ShareFixture::new(1).build();
    store.insert_share(&share, None).unwrap();
    let mut admin = raw_client(&guard);
    let idle = store_connections(&mut admin, &guard);
    assert!(idle >= 6, "only {idle} pooled connections");
    let terminate_all = |admin: &mut postgres::Client| {
        terminate_store_connections(admin, &guard);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while store_connections(admin, &guard) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "connections still alive"
            );
            thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    // A read first meets the dead connections...
    terminate_all(&mut admin);
    for _ in 0..idle {
        assert!(store.get_share(share.id()).unwrap().is_some());
    }
    // ... and, the next time, a write does.
    terminate_all(&mut admin);
    for _ in 0..idle {
        assert!(matches!(
            store.count_use(share.id(), UseKind::Download, share.token_epoch()),
            Ok(UseOutcome::Counted(_))
        ));
    }
}

/// Holds the first `parties` fault checks after [`Self::arm`] until all of
/// them have arrived (each caller is then inside its own transaction, on
/// its own connection); every other check passes at once.
struct MeetInsideTransactions {
    parties: usize,
    armed: std::sync::atomic::AtomicBool,
    arrived: std::sync::atomic::AtomicUsize,
    barrier: Barrier,
}

impl MeetInsideTransactions {
    fn new(parties: usize) -> Self {
        Self {
            parties,
            armed: std::sync::atomic::AtomicBool::new(false),
            arrived: std::sync::atomic::AtomicUsize::new(0),
            barrier: Barrier::new(parties),
        }
    }

    fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl sharelink_core::fault::FaultInjector for MeetInsideTransactions {
    fn check(&self, _point: &'static str) -> Result<(), StorageError> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.armed.load(SeqCst) && self.arrived.fetch_add(1, SeqCst) < self.parties {
            self.barrier.wait();
        }
        Ok(())
    }
}

/// The test database's plain address, when it is on this machine.
fn local_database_address() -> Option<std::net::SocketAddr> {
    let url = test_database_url();
    let host_port = url.split_once('@')?.1.split(['/', '?']).next()?;
    let (host, port) = host_port.rsplit_once(':')?;
    match host {
        "127.0.0.1" | "localhost" => format!("127.0.0.1:{port}").parse().ok(),
        _ => None,
    }
}

/// TLS through rustls, end to end through a TLS-terminating proxy with a
/// CA made for the test: with that CA trusted and the name right, the
/// store works over TLS (through the options or libpq's `sslrootcert`);
/// an untrusted certificate or a wrong name is a typed setup error that
/// says TLS, not an outage.
#[test]
fn tls_to_the_database_verifies_the_server() {
    if !database_ready() {
        return;
    }
    let Some(upstream) = local_database_address() else {
        eprintln!("skipped: the test database is not on this machine, so no TLS proxy for it");
        return;
    };
    let proxy = support::tls_proxy::TlsProxy::start(upstream);
    let (store, guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    drop(store);
    let url = test_database_url();
    let (before, after) = url.split_once('@').unwrap();
    let rest = &after[after.find(['/']).unwrap()..];
    let sep = if rest.contains('?') { '&' } else { '?' };
    let port = proxy.addr.port();
    let tls_url =
        format!("{before}@localhost:{port}{rest}{sep}sslmode=verify-full&hostaddr=127.0.0.1");

    let mut options = options_for(&guard);
    options.url = tls_url.clone();
    options.tls_root_certificates = Some(proxy.ca_file.clone());
    let store = PostgresStorage::connect(&options).unwrap();
    let share = ShareFixture::new(1).build();
    assert!(matches!(
        store.insert_share(&share, None).unwrap(),
        InsertOutcome::Inserted
    ));
    assert!(store.get_share(share.id()).unwrap().is_some());
    let sessions = proxy.sessions();
    assert!(sessions >= 2, "{sessions} TLS sessions");
    drop(store);

    // The same, with the CA named in the connection string (libpq style).
    let mut options = options_for(&guard);
    options.url = format!(
        "{tls_url}&sslrootcert={}",
        proxy.ca_file.display().to_string().replace('/', "%2F")
    );
    let store = PostgresStorage::connect(&options).unwrap();
    assert!(store.get_share(share.id()).unwrap().is_some());
    assert!(proxy.sessions() > sessions);

    let refused = |url: String, roots: Option<std::path::PathBuf>, what: &str| {
        let mut options = options_for(&guard);
        options.url = url;
        options.tls_root_certificates = roots;
        let err = PostgresStorage::connect(&options).unwrap_err();
        assert!(
            matches!(err, StorageError::Backend { .. }) && err.to_string().contains("TLS: "),
            "{what}: {err}"
        );
        err.to_string()
    };
    // Not signed by a public root.
    let why = refused(tls_url.clone(), None, "untrusted certificate");
    assert!(
        why.contains("UnknownIssuer") || why.contains("unknown issuer"),
        "{why}"
    );
    // Signed by the trusted CA, but for `localhost`, not 127.0.0.1.
    let by_address = format!("{before}@127.0.0.1:{port}{rest}{sep}sslmode=require");
    let why = refused(by_address, Some(proxy.ca_file.clone()), "wrong name");
    assert!(why.contains("not valid for name \"127.0.0.1\""), "{why}");
}

/// A store dropped on a thread that runs async code (an async server
/// shutting down drops its router, and with it the engine and the store)
/// closes its connections without panicking.
#[test]
fn a_store_dropped_inside_an_async_runtime_closes_cleanly() {
    if !database_ready() {
        return;
    }
    let (store, _guard) = fresh_store(Arc::new(NoFaults)).unwrap();
    let share = ShareFixture::new(1).build();
    store.insert_share(&share, None).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Pooled connections, open and idle.
    assert!(store.get_share(share.id()).unwrap().is_some());
    runtime.block_on(async move { drop(store) });
}
