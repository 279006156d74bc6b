//! Prints every engine figure next to its baseline, measured in the same run.
//!
//! ```text
//! cargo run -p sharelink-benches --release --bin report            # quick (CI)
//! cargo run -p sharelink-benches --release --bin report -- --full  # longer budgets
//! cargo run -p sharelink-benches --release --bin report -- --scale 10000,100000,1000000
//! cargo run -p sharelink-benches --release --bin report -- --only postgres  # one section
//! ```

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::time::{Duration, Instant};

use rand::RngCore;
use sharelink_benches::baselines::{Jwt, RawSled, RawSqlite, TokenBytes};
use sharelink_benches::fixtures::{self, Backend, EngineFixture};
use sharelink_benches::timing::{compare, compare_calls, time};
use sharelink_core::file_policy::{FileTypePolicy, PolicyContext};
use sharelink_core::scope::{FileCatalog, check_in_scope};
use sharelink_core::*;

struct Row {
    op: String,
    engine_ns: f64,
    baseline: String,
    baseline_ns: Option<f64>,
    target: String,
}

fn us(ns: f64) -> String {
    if ns >= 100_000.0 {
        format!("{:.0} µs", ns / 1000.0)
    } else if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn print(rows: &[Row]) {
    println!(
        "| {:<46} | {:>11} | {:<34} | {:>11} | {:>7} | {:<28} |",
        "operation", "engine", "baseline", "baseline", "ratio", "target"
    );
    println!(
        "|{:-<48}|{:->13}|{:-<36}|{:->13}|{:->9}|{:-<30}|",
        "", "", "", "", "", ""
    );
    for r in rows {
        let (b, ratio) = match r.baseline_ns {
            Some(b) => (us(b), format!("{:.2}", r.engine_ns / b)),
            None => ("—".into(), "—".into()),
        };
        println!(
            "| {:<46} | {:>11} | {:<34} | {:>11} | {:>7} | {:<28} |",
            r.op,
            us(r.engine_ns),
            r.baseline,
            b,
            ratio,
            r.target
        );
    }
    println!(
        "\nratio = engine time ÷ baseline time (lower is better; 1.25 means 0.8× the baseline's throughput)"
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn tokens(budget: Duration, rows: &mut Vec<Row>) {
    let now = fixtures::now();
    let ring = fixtures::key_ring();
    let claims = fixtures::claims(now);
    let token = ring.sign(&claims);
    let text = token.expose_secret().to_owned();
    let raw = TokenBytes::new(&[42u8; 32], &text);
    let jwt = Jwt::new(&[42u8; 32], claims.share_id().as_str(), now.timestamp());
    assert!(raw.raw_verify() && raw.raw_verify_prekeyed());

    let verify = || {
        std::hint::black_box(
            ring.verify_str(std::hint::black_box(&text), now)
                .expect("verify"),
        );
    };
    let p = compare(verify, || assert!(raw.raw_verify()), budget);
    rows.push(Row {
        op: "token verify (parse + MAC + claims)".into(),
        engine_ns: p.engine_ns,
        baseline: "raw HMAC-SHA256, keyed per call".into(),
        baseline_ns: Some(p.baseline_ns),
        target: format!("≤ 1.30: {}", verdict(p.engine_ns <= 1.3 * p.baseline_ns)),
    });
    let p = compare(verify, || assert!(raw.raw_verify_prekeyed()), budget);
    rows.push(Row {
        op: "token verify".into(),
        engine_ns: p.engine_ns,
        baseline: "raw HMAC-SHA256, precomputed key".into(),
        baseline_ns: Some(p.baseline_ns),
        target: "(informational)".into(),
    });
    let p = compare(
        verify,
        || {
            std::hint::black_box(jwt.decode());
        },
        budget,
    );
    rows.push(Row {
        op: "token verify".into(),
        engine_ns: p.engine_ns,
        baseline: "jsonwebtoken HS256 decode+validate".into(),
        baseline_ns: Some(p.baseline_ns),
        target: format!(
            "≤ 0.167 (6× faster): {}",
            verdict(p.engine_ns * 6.0 <= p.baseline_ns)
        ),
    });
    let issue = || {
        std::hint::black_box(ring.sign(std::hint::black_box(&claims)));
    };
    let p = compare(
        issue,
        || {
            std::hint::black_box(raw.raw_sign());
        },
        budget,
    );
    rows.push(Row {
        op: "token issue (no password hashing)".into(),
        engine_ns: p.engine_ns,
        baseline: "raw HMAC-SHA256, keyed per call".into(),
        baseline_ns: Some(p.baseline_ns),
        target: format!("≤ 1.50: {}", verdict(p.engine_ns <= 1.5 * p.baseline_ns)),
    });
    let p = compare(
        issue,
        || {
            std::hint::black_box(jwt.encode());
        },
        budget,
    );
    rows.push(Row {
        op: "token issue".into(),
        engine_ns: p.engine_ns,
        baseline: "jsonwebtoken HS256 encode".into(),
        baseline_ns: Some(p.baseline_ns),
        target: "(informational)".into(),
    });
}

fn ids_and_policy(budget: Duration, rows: &mut Vec<Row>) {
    let mut rng = rand::rngs::OsRng;
    let mut rng2 = rand::rngs::OsRng;
    let p = compare(
        || {
            std::hint::black_box(ShareId::generate(&mut rng, ShareId::DEFAULT_LEN).expect("id"));
        },
        || {
            let mut b = [0u8; 16];
            rng2.fill_bytes(&mut b);
            std::hint::black_box(b);
        },
        budget,
    );
    rows.push(Row {
        op: "share id generate (22 chars, OsRng)".into(),
        engine_ns: p.engine_ns,
        baseline: "rand OsRng filling 16 bytes".into(),
        baseline_ns: Some(p.baseline_ns),
        target: "(informational)".into(),
    });
    let t = time(
        || {
            std::hint::black_box(
                ShareId::parse(std::hint::black_box("O2Nhm5VnC2pmV9CxjETt8S")).expect("id"),
            );
        },
        budget,
    );
    rows.push(Row {
        op: "share id parse".into(),
        engine_ns: t,
        baseline: "—".into(),
        baseline_ns: None,
        target: "absolute".into(),
    });

    let policy = FileTypePolicy::default();
    let ctx = PolicyContext {
        audience: Audience::Anyone,
        created_at: fixtures::now(),
        custom_domain: false,
    };
    let t = time(
        || {
            std::hint::black_box(
                policy
                    .check(
                        ctx,
                        Action::Download,
                        std::hint::black_box("Quarterly Report (final).pdf"),
                        Some("application/pdf"),
                    )
                    .is_ok(),
            );
        },
        budget,
    );
    rows.push(Row {
        op: "file-type policy check".into(),
        engine_ns: t,
        baseline: "—".into(),
        baseline_ns: None,
        target: "absolute".into(),
    });
    for depth in [1usize, 8, 32] {
        let (catalog, drive, files, leaf) = fixtures::scope_fixture(depth);
        let t = time(
            || {
                let ancestors = catalog.ancestors(&drive, &leaf, 64).expect("ancestors");
                check_in_scope(&files, &leaf.file_id, &ancestors, 64).expect("in scope");
            },
            budget,
        );
        rows.push(Row {
            op: format!("scope check, depth {depth} (MemoryCatalog walk)"),
            engine_ns: t,
            baseline: "—".into(),
            baseline_ns: None,
            target: "absolute".into(),
        });
    }
}

fn storage(budget: Duration, rows: &mut Vec<Row>) {
    for backend in Backend::ALL {
        let fx = EngineFixture::new(backend);
        let dir = tempfile::tempdir().expect("tempdir");
        let body = String::from_utf8(ShareRecord::encode_share(&fx.share).expect("record"))
            .expect("utf-8");
        let mut value = vec![1u8];
        value.extend_from_slice(body.as_bytes());
        enum Raw {
            None,
            Sqlite(RawSqlite),
            Sled(RawSled),
        }
        let mut raw = match backend {
            Backend::Memory | Backend::Postgres => Raw::None,
            Backend::SqliteFull => Raw::Sqlite(RawSqlite::open(dir.path(), "FULL", body.clone())),
            Backend::SqliteNormal => {
                Raw::Sqlite(RawSqlite::open(dir.path(), "NORMAL", body.clone()))
            }
            Backend::SledFlush => Raw::Sled(RawSled::open(dir.path(), true, value.clone())),
            Backend::SledNoFlush => Raw::Sled(RawSled::open(dir.path(), false, value.clone())),
        };
        let charge = fixtures::unlimited_charge(QuotaKind::Access);
        type Op<'a> = (&'a str, Box<dyn Fn() + 'a>, fn(&mut Raw));
        let ops: [Op<'_>; 4] = [
            ("create_share_link", Box::new(|| fx.create()), |r| match r {
                Raw::Sqlite(s) => s.create(),
                Raw::Sled(s) => s.create(),
                Raw::None => {}
            }),
            (
                "get_share_token (argon2 at minimum cost)",
                Box::new(|| fx.get_token()),
                |r| match r {
                    Raw::Sqlite(s) => s.token(),
                    Raw::Sled(s) => s.token(),
                    Raw::None => {}
                },
            ),
            (
                "authorize_download",
                Box::new(|| fx.download()),
                |r| match r {
                    Raw::Sqlite(s) => s.download(),
                    Raw::Sled(s) => s.download(),
                    Raw::None => {}
                },
            ),
            (
                "quota consume",
                Box::new(|| fx.consume_quota(&charge)),
                |r| match r {
                    Raw::Sqlite(s) => s.quota(),
                    Raw::Sled(s) => s.quota(),
                    Raw::None => {}
                },
            ),
        ];
        for (name, engine, raw_op) in ops {
            let op = format!("{name} [{}]", backend.name());
            match &mut raw {
                Raw::None => {
                    let t = time(&engine, budget);
                    rows.push(Row {
                        op,
                        engine_ns: t,
                        baseline: "—".into(),
                        baseline_ns: None,
                        target: "absolute".into(),
                    });
                }
                r => {
                    let label = match r {
                        Raw::Sqlite(_) => "raw rusqlite, same rows, 1 tx",
                        _ => "raw sled, same keys, same flush",
                    };
                    let p = compare(&engine, || raw_op(r), budget);
                    rows.push(Row {
                        op,
                        engine_ns: p.engine_ns,
                        baseline: label.into(),
                        baseline_ns: Some(p.baseline_ns),
                        target: format!("≤ 1.25: {}", verdict(p.engine_ns <= 1.25 * p.baseline_ns)),
                    });
                }
            }
        }
    }
}

fn group_commit(budget: Duration, rows: &mut Vec<Row>) {
    const BATCH: usize = 100;
    for backend in [Backend::SqliteFull, Backend::SledFlush] {
        let fx = EngineFixture::new(backend);
        let reqs = || (0..BATCH).map(|_| fx.request()).collect::<Vec<_>>();
        let p = compare(
            || {
                for r in fx.engine.create_share_links(reqs()) {
                    r.expect("batch create");
                }
            },
            || {
                for r in reqs() {
                    fx.engine.create_share_link(r).expect("create");
                }
            },
            budget,
        );
        rows.push(Row {
            op: format!(
                "create_share_links ×{BATCH}, per share [{}]",
                backend.name()
            ),
            engine_ns: p.engine_ns / BATCH as f64,
            baseline: format!("{BATCH} × create_share_link"),
            baseline_ns: Some(p.baseline_ns / BATCH as f64),
            target: format!("gain {:.1}×", p.baseline_ns / p.engine_ns),
        });
        let id = fx.share.id().clone();
        let epoch = fx.share.token_epoch();
        let batch: Vec<(ShareId, UseKind, u64)> = (0..BATCH)
            .map(|_| (id.clone(), UseKind::Download, epoch))
            .collect();
        let p = compare(
            || {
                fx.storage.count_uses(&batch).expect("count_uses");
            },
            || {
                for (id, kind, epoch) in &batch {
                    fx.storage.count_use(id, *kind, *epoch).expect("count_use");
                }
            },
            budget,
        );
        rows.push(Row {
            op: format!("count_uses ×{BATCH}, per use [{}]", backend.name()),
            engine_ns: p.engine_ns / BATCH as f64,
            baseline: format!("{BATCH} × count_use"),
            baseline_ns: Some(p.baseline_ns / BATCH as f64),
            target: format!("gain {:.1}×", p.baseline_ns / p.engine_ns),
        });
    }
}

/// Wall time per operation when `threads` threads each run `f` `per_thread`
/// times at once.
fn concurrent_ns(threads: usize, per_thread: usize, f: &(dyn Fn() + Sync)) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    f();
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 / (threads * per_thread) as f64
}

/// The engine's group commit: durable token issues, creates and counted
/// downloads per second with 32 concurrent callers, against the same store
/// with one caller at a time (one commit, one fsync each).
fn concurrent_durable(budget: Duration, rows: &mut Vec<Row>) {
    const CLIENTS: usize = 32;
    // Enough operations for a few hundred commits at one at a time.
    let per_thread = if budget >= Duration::from_secs(1) {
        40
    } else {
        12
    };
    for backend in [Backend::SqliteFull, Backend::SledFlush] {
        let fx = EngineFixture::new(backend);
        // Password-less: a password share admits only a few attempts per
        // client at once (the throttle), and argon2 is not what this measures.
        let open = fx.engine.create_share_link(fx.request()).expect("create");
        let open_token = || {
            let mut req = EngineFixture::token_request(&open);
            req.password = None;
            fx.engine.get_share_token(req).expect("token");
        };
        let ops: [(&str, &(dyn Fn() + Sync)); 3] = [
            ("get_share_token (no password)", &open_token),
            ("create_share_link", &|| fx.create()),
            ("authorize_download (counted)", &|| fx.download()),
        ];
        for (name, op) in ops {
            // Warm up (statement caches, files).
            concurrent_ns(1, 5, op);
            let alone = concurrent_ns(1, CLIENTS * per_thread, op);
            let together = concurrent_ns(CLIENTS, per_thread, op);
            rows.push(Row {
                op: format!("{name}, {CLIENTS} callers at once [{}]", backend.name()),
                engine_ns: together,
                baseline: "one caller, one commit each".into(),
                baseline_ns: Some(alone),
                target: format!("≥ 5× ({:.1}×)", alone / together),
            });
        }
    }
}

/// PostgreSQL: each Storage operation against the raw `postgres` crate
/// running the same statements on one connection, and the group-commit
/// gains of the batch operations.
fn postgres(budget: Duration, rows: &mut Vec<Row>) {
    use sharelink_benches::postgres::{PgStore, RawPostgres, available};
    if !available() {
        return;
    }
    let template = EngineFixture::new(Backend::Memory).share;
    let mut pg = PgStore::new(&template);
    let mut raw = RawPostgres::open(&template);
    let id = pg.share.id().clone();
    let epoch = pg.share.token_epoch();
    let charge = fixtures::unlimited_charge(QuotaKind::Access);
    let create = fixtures::unlimited_charge(QuotaKind::Create);
    let client = ClientKey::new("198.51.100.0/24").expect("key");
    // Each side talks to its own server process, and on this 2-core VM one
    // process can stay faster than the other for as long as it lives. So
    // every operation is compared over 5 rounds, each on fresh
    // connections for both sides, and the round medians are kept.
    const ROUNDS: usize = 5;
    type StoreOp<'a> = Box<dyn Fn(&PgStore) + 'a>;
    type PgOp<'a> = (&'a str, StoreOp<'a>, fn(&mut RawPostgres));
    let ops: [PgOp<'_>; 5] = [
        (
            "insert_share + quota",
            Box::new(|pg: &PgStore| {
                let share = pg.new_share(&mut rand::rngs::OsRng);
                pg.store
                    .insert_share(&share, Some(&create))
                    .expect("insert");
            }),
            RawPostgres::insert,
        ),
        (
            "get_share",
            Box::new(|pg: &PgStore| {
                pg.store.get_share(&id).expect("get");
            }),
            RawPostgres::get,
        ),
        (
            "count_use",
            Box::new(|pg: &PgStore| {
                pg.store
                    .count_use(&id, UseKind::Download, epoch)
                    .expect("count");
            }),
            RawPostgres::count_download,
        ),
        (
            "consume_quota",
            Box::new(|pg: &PgStore| {
                pg.store.consume_quota(&charge).expect("quota");
            }),
            RawPostgres::quota,
        ),
        (
            "record_access (token issue)",
            Box::new(|pg: &PgStore| {
                let access = AccessRecord {
                    share_id: &id,
                    expected_epoch: epoch,
                    client: &client,
                    charge: Some(&charge),
                };
                pg.store
                    .record_access(&access, &mut |state| AccessUpdate {
                        throttle: state,
                        charge_quota: true,
                    })
                    .expect("access");
            }),
            RawPostgres::record_access,
        ),
    ];
    for (name, engine, baseline) in ops {
        let (mut e, mut b) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            pg.reconnect();
            raw.reconnect();
            let p = compare_calls(
                || engine(&pg),
                || baseline(&mut raw),
                budget / ROUNDS as u32,
            );
            e.push(p.engine_ns);
            b.push(p.baseline_ns);
        }
        e.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (engine_ns, baseline_ns) = (e[ROUNDS / 2], b[ROUNDS / 2]);
        rows.push(Row {
            op: format!("{name} [postgres]"),
            engine_ns,
            baseline: "raw postgres crate, same statements".into(),
            baseline_ns: Some(baseline_ns),
            target: format!("≤ 1.25: {}", verdict(engine_ns <= 1.25 * baseline_ns)),
        });
    }
    // Group commit pays off against durable commits: the server's default.
    let pg = PgStore::durable(&template);
    let store = pg.store.clone();
    let pg = &pg;

    const BATCH: usize = 100;
    let p = compare_calls(
        || {
            let batch: Vec<(Share, Option<QuotaCharge>)> = (0..BATCH)
                .map(|_| (pg.new_share(&mut rand::rngs::OsRng), Some(create.clone())))
                .collect();
            store.insert_shares(&batch).expect("batch");
        },
        || {
            for _ in 0..BATCH {
                let share = pg.new_share(&mut rand::rngs::OsRng);
                store.insert_share(&share, Some(&create)).expect("insert");
            }
        },
        budget,
    );
    rows.push(Row {
        op: format!("insert_shares ×{BATCH}, per share [postgres]"),
        engine_ns: p.engine_ns / BATCH as f64,
        baseline: format!("{BATCH} × insert_share"),
        baseline_ns: Some(p.baseline_ns / BATCH as f64),
        target: format!("gain {:.1}×", p.baseline_ns / p.engine_ns),
    });
    let batch: Vec<(ShareId, UseKind, u64)> = (0..BATCH)
        .map(|_| (id.clone(), UseKind::Download, epoch))
        .collect();
    let p = compare_calls(
        || {
            store.count_uses(&batch).expect("count_uses");
        },
        || {
            for (id, kind, epoch) in &batch {
                store.count_use(id, *kind, *epoch).expect("count_use");
            }
        },
        budget,
    );
    rows.push(Row {
        op: format!("count_uses ×{BATCH}, per use [postgres]"),
        engine_ns: p.engine_ns / BATCH as f64,
        baseline: format!("{BATCH} × count_use"),
        baseline_ns: Some(p.baseline_ns / BATCH as f64),
        target: format!("gain {:.1}×", p.baseline_ns / p.engine_ns),
    });
}

/// SQLite's connection strategy: a writer plus a reader pool, against every
/// read going through the single writer connection, with two threads reading.
fn connection_strategy(budget: Duration, rows: &mut Vec<Row>) {
    use sharelink_sqlite::{SqliteOptions, SqliteStorage};
    use sharelink_testkit::fixtures::{ShareFixture, share_id};
    const SHARES: u32 = 1000;
    const PER_THREAD: u32 = 200;
    let open = |readers| {
        let dir = tempfile::tempdir().expect("dir");
        let options = SqliteOptions {
            readers,
            ..SqliteOptions::default()
        };
        let store = SqliteStorage::open(dir.path().join("db.sqlite"), &options).expect("open");
        let batch: Vec<(Share, Option<QuotaCharge>)> = (0..SHARES)
            .map(|i| (ShareFixture::new(i).build(), None))
            .collect();
        store.insert_shares(&batch).expect("load");
        (store, dir)
    };
    let (pooled, _d1) = open(4);
    let (single, _d2) = open(0);
    let reads = |store: &SqliteStorage| {
        std::thread::scope(|scope| {
            for t in 0..2u32 {
                scope.spawn(move || {
                    for i in 0..PER_THREAD {
                        let id = share_id((i * 7 + t * 13) % SHARES);
                        std::hint::black_box(store.get_share(&id).expect("get"));
                    }
                });
            }
        });
    };
    let p = compare(|| reads(&pooled), || reads(&single), budget);
    let per = f64::from(2 * PER_THREAD);
    rows.push(Row {
        op: "get_share, 2 reader threads [sqlite, writer + 4 readers]".into(),
        engine_ns: p.engine_ns / per,
        baseline: "every read on the writer connection".into(),
        baseline_ns: Some(p.baseline_ns / per),
        target: "(connection strategy)".into(),
    });
    // The case the pool exists for: reads while a writer is committing (FULL).
    const WRITES: u32 = 20;
    let mixed = |store: &SqliteStorage| {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..WRITES {
                    store
                        .count_use(&share_id(i), UseKind::Preview, 0)
                        .expect("count");
                }
            });
            for t in 0..2u32 {
                scope.spawn(move || {
                    for i in 0..PER_THREAD {
                        let id = share_id((i * 7 + t * 13) % SHARES);
                        std::hint::black_box(store.get_share(&id).expect("get"));
                    }
                });
            }
        });
    };
    let p = compare(|| mixed(&pooled), || mixed(&single), budget);
    rows.push(Row {
        op: format!(
            "{} reads + {WRITES} durable writes, per read [sqlite]",
            2 * PER_THREAD
        ),
        engine_ns: p.engine_ns / per,
        baseline: "every read on the writer connection".into(),
        baseline_ns: Some(p.baseline_ns / per),
        target: "(connection strategy)".into(),
    });
}

// ----- scale mode ------------------------------------------------------------

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let m = e.metadata().expect("metadata");
            total += if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}

/// Loads `n` shares of `creator` into `fx`'s store with distinct creation
/// and update times, names and descriptions (a spread no order can serve
/// from insertion order), and returns them.
fn load_creator(fx: &EngineFixture, creator: &str, n: usize) -> Vec<Share> {
    let template = ShareRecord::from(&fx.share);
    let mut rng = rand::rngs::OsRng;
    let mut all = Vec::with_capacity(n);
    for chunk_start in (0..n).step_by(5000) {
        let batch: Vec<(Share, Option<QuotaCharge>)> = (chunk_start..n.min(chunk_start + 5000))
            .map(|i| {
                let mut r = template.clone();
                r.id = ShareId::generate(&mut rng, ShareId::DEFAULT_LEN)
                    .expect("id")
                    .to_string();
                r.creator.user_id = creator.to_owned();
                // A permutation of 0..n, so names, descriptions and times
                // are all in different orders.
                let j = (i * 7919) % n;
                r.name = format!("share {j:07}");
                r.description = format!("about {:07}", (i * 104_729) % n);
                r.created_at = template.created_at + chrono::Duration::milliseconds(i as i64);
                r.updated_at = r.created_at + chrono::Duration::milliseconds(j as i64);
                r.expiration = None;
                (Share::try_from(r).expect("share"), None)
            })
            .collect();
        fx.storage.insert_shares(&batch).expect("load");
        all.extend(batch.into_iter().map(|(s, _)| s));
    }
    all
}

/// A listing page stays flat in the creator's share count: a page of 100
/// from the middle of a 100,000-share creator's list, in every order,
/// against the same page of a 1,000-share creator on the same store.
///
/// The quick mode (CI) loads a 20,000-share creator instead: loading is
/// most of this section's time, and a page that stayed flat from 1,000 to
/// 20,000 shares is still checked.
fn listing(budget: Duration, rows: &mut Vec<Row>) {
    let full = budget >= FULL_BUDGET;
    let big: usize = if full { 100_000 } else { 20_000 };
    const SMALL: usize = 1_000;
    for backend in [Backend::Memory, Backend::SqliteFull, Backend::SledFlush] {
        let fx = EngineFixture::new(backend);
        let big_shares = load_creator(&fx, "big", big);
        let small = load_creator(&fx, "small", SMALL);
        let tenant = fx.member.tenant.clone();
        let member = |user: &str| Member {
            tenant: tenant.clone(),
            user_id: UserId::new(user).expect("user"),
        };
        let (big_owner, small_owner) = (member("big"), member("small"));
        for by in ShareOrderBy::ALL {
            let order = ShareOrder::default_for(by);
            let middle = |shares: &[Share]| {
                let mut sorted: Vec<&Share> = shares.iter().collect();
                sorted.sort_by(|a, b| order.compare(a, b));
                ShareListQuery {
                    filter: ShareFilter::default(),
                    order,
                    page: PageRequest {
                        limit: 100,
                        after: Some(ShareCursor::after(sorted[sorted.len() / 2], order)),
                        count_total: false,
                    },
                }
            };
            let (big_q, small_q) = (middle(&big_shares), middle(&small));
            let page = |owner: &Member, q: &ShareListQuery| {
                let page = fx.engine.list_share_links(owner, q).expect("list");
                assert_eq!(page.items.len(), 100);
                std::hint::black_box(page);
            };
            let p = compare(
                || page(&big_owner, &big_q),
                || page(&small_owner, &small_q),
                budget,
            );
            rows.push(Row {
                op: format!(
                    "list page of 100, {} {} [{}]",
                    by.as_str(),
                    if order.descending { "desc" } else { "asc" },
                    backend.name()
                ),
                engine_ns: p.engine_ns,
                baseline: format!("same page, a {SMALL}-share creator"),
                baseline_ns: Some(p.baseline_ns),
                target: format!(
                    "≤ 1.50 ({big} shares): {}",
                    verdict(p.engine_ns <= 1.5 * p.baseline_ns)
                ),
            });
        }
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

fn scale_one(backend: Backend, n: usize) {
    let fx = EngineFixture::new(backend);
    let started = Instant::now();
    let template = fx.share.clone();
    let mut rng = rand::rngs::OsRng;
    let mut ids = Vec::with_capacity(n);
    let mut loaded = 0;
    if let Some(guard) = &fx._guard {
        // PostgreSQL: copies made server-side (the store's own batch
        // insert would take most of an hour for 1M on this machine).
        let mut client = sharelink_benches::postgres::connect_to(guard.schema());
        while loaded < n {
            let chunk = (n - loaded).min(50_000);
            let batch: Vec<ShareId> = (0..chunk)
                .map(|_| ShareId::generate(&mut rng, ShareId::DEFAULT_LEN).expect("id"))
                .collect();
            sharelink_benches::postgres::bulk_copy_share(&mut client, template.id(), &batch);
            ids.extend(batch);
            loaded += chunk;
        }
        client.batch_execute("ANALYZE").expect("analyze");
    }
    while loaded < n {
        let chunk = (n - loaded).min(5000);
        let batch: Vec<(Share, Option<QuotaCharge>)> = (0..chunk)
            .map(|_| {
                let id = ShareId::generate(&mut rng, ShareId::DEFAULT_LEN).expect("id");
                let mut record = ShareRecord::from(&template);
                record.id = id.to_string();
                ids.push(id);
                (Share::try_from(record).expect("share"), None)
            })
            .collect();
        fx.storage.insert_shares(&batch).expect("load");
        loaded += chunk;
    }
    let load_secs = started.elapsed().as_secs_f64();
    let bytes = match &fx._guard {
        Some(guard) => sharelink_benches::postgres::schema_bytes(
            &mut sharelink_benches::postgres::connect_to(guard.schema()),
            guard.schema(),
        ),
        None => dir_size(fx._dir.path()),
    };
    // Warm up (caches, background compaction after the bulk load) before sampling.
    for i in 0..500.min(n) {
        let mut req = EngineFixture::token_request(&fx.share);
        req.share_id = ids[(i * 104_729) % ids.len()].clone();
        fx.engine.get_share_token(req).expect("warm-up token");
    }
    let sample = 2000.min(n);
    let mut token_ns = Vec::with_capacity(sample);
    let mut download_ns = Vec::with_capacity(sample);
    for i in 0..sample {
        let id = &ids[(i * 7919) % ids.len()];
        let mut req = EngineFixture::token_request(&fx.share);
        req.share_id = id.clone();
        let t = Instant::now();
        let issued = fx.engine.get_share_token(req).expect("token");
        token_ns.push(t.elapsed().as_nanos() as f64);
        let t = Instant::now();
        fx.engine
            .authorize_download(&FileRequest {
                token: issued.token.expose_secret(),
                share_id: id,
                file_id: &fx.file,
                caller: None,
            })
            .expect("download");
        download_ns.push(t.elapsed().as_nanos() as f64);
    }
    token_ns.sort_by(f64::total_cmp);
    download_ns.sort_by(f64::total_cmp);
    println!(
        "| {:<14} | {:>9} | {:>8.1} s | {:>10.0} | {:>10} | {:>10} | {:>10} | {:>10} | {:>9} MiB |",
        backend.name(),
        n,
        load_secs,
        bytes as f64 / n as f64,
        us(percentile(&token_ns, 0.5)),
        us(percentile(&token_ns, 0.99)),
        us(percentile(&download_ns, 0.5)),
        us(percentile(&download_ns, 0.99)),
        peak_rss_kib() / 1024,
    );
}

fn scale(sizes: &[usize]) {
    println!(
        "| {:<14} | {:>9} | {:>10} | {:>10} | {:>10} | {:>10} | {:>10} | {:>10} | {:>13} |",
        "backend",
        "shares",
        "load",
        "bytes/share",
        "token p50",
        "token p99",
        "dl p50",
        "dl p99",
        "peak RSS"
    );
    println!(
        "|{:-<16}|{:->11}|{:->12}|{:->12}|{:->12}|{:->12}|{:->12}|{:->12}|{:->15}|",
        "", "", "", "", "", "", "", "", ""
    );
    let exe = std::env::current_exe().expect("exe");
    let mut backends = vec!["sqlite", "sled"];
    if sharelink_benches::postgres::available() {
        backends.push("postgres");
    }
    for backend in backends {
        for &n in sizes {
            // One process per size, so that peak RSS is per size.
            let status = std::process::Command::new(&exe)
                .args(["--scale-one", backend, &n.to_string()])
                .status()
                .expect("spawn");
            assert!(status.success(), "scale run {backend} {n} failed");
        }
    }
}

/// The time per comparison in full mode (quick mode: 100 ms).
const FULL_BUDGET: Duration = Duration::from_secs(2);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--scale-one") => {
            let backend = match args[2].as_str() {
                "sled" => Backend::SledFlush,
                "postgres" => Backend::Postgres,
                _ => Backend::SqliteFull,
            };
            scale_one(backend, args[3].parse().expect("size"));
            return;
        }
        Some("--scale") => {
            let sizes: Vec<usize> = args
                .get(2)
                .map_or("10000,100000,1000000", String::as_str)
                .split(',')
                .map(|s| s.parse().expect("size"))
                .collect();
            scale(&sizes);
            return;
        }
        _ => {}
    }
    let full = args.iter().any(|a| a == "--full");
    let budget = if full {
        FULL_BUDGET
    } else {
        Duration::from_millis(100)
    };
    // `--only NAME` runs one section (for working on it).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    type Section = fn(Duration, &mut Vec<Row>);
    let sections: [(&str, Section); 8] = [
        ("tokens", tokens),
        ("ids", ids_and_policy),
        ("storage", storage),
        ("group-commit", group_commit),
        ("concurrent", concurrent_durable),
        ("connections", connection_strategy),
        ("listing", listing),
        ("postgres", postgres),
    ];
    let mut rows = Vec::new();
    for (name, section) in sections {
        if only.is_none_or(|o| o == name) {
            section(budget, &mut rows);
        }
    }
    println!(
        "sharelink bench report ({} mode, {} per comparison)\n",
        if full { "full" } else { "quick" },
        if full { "2 s" } else { "100 ms" }
    );
    if let Some(note) = sharelink_benches::timing::build_note() {
        println!("{note}");
    }
    print(&rows);
}
