//! The HTTP layer, measured against what a user would otherwise write, in
//! the same run:
//!
//! 1. **Does a slow engine call block the runtime?** A cheap request
//!    (`get_by_anonymous`) is timed while clients keep the server busy with
//!    password token requests (argon2id at production cost). Ours runs every
//!    engine call under `spawn_blocking`; the baseline is the naive axum
//!    handler that calls the engine inline on the runtime's workers. Both
//!    servers run on a 2-worker runtime, one after the other.
//! 2. **What does HTTP cost?** The same cheap request over loopback HTTP
//!    against a direct engine call; and the same public view as the HTML
//!    page a browser opens against the JSON answer.
//! 3. **Do instances add up?** Token issues and download URLs per second
//!    with one and with two instances on one PostgreSQL database (skipped
//!    without one).
//!
//! ```text
//! cargo run -p sharelink-benches --release --bin http_report            # quick (CI)
//! cargo run -p sharelink-benches --release --bin http_report -- --full  # longer
//! ```

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sharelink_core::*;
use sharelink_http::{
    ApiConfig, AuthError, Authenticator, Caller, ChildPage, ChildQuery, CopyError, CopyLimits,
    CopyOutcome, DriveStore, FileEntry, ListError, ShareApi,
};

/// The engine's catalogue, seen as a drive store (reads only); the flag is
/// what it answers to `reads_are_local` (true: cheap reads run inline).
struct Drives(Arc<MemoryCatalog>, bool);

impl FileCatalog for Drives {
    fn reads_are_local(&self) -> bool {
        self.1
    }
    fn file(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileMeta>, CatalogError> {
        self.0.file(drive, file)
    }
}

impl DriveStore for Drives {
    fn may_access(&self, _: &Member, _: &DriveId) -> Result<bool, CatalogError> {
        Ok(true)
    }
    fn entry(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileEntry>, CatalogError> {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Ok(self.0.file(drive, file)?.map(|meta| FileEntry {
            meta,
            created_at: t,
            updated_at: t,
            content_hash: None,
        }))
    }
    fn list_children(
        &self,
        _: &DriveId,
        _: Option<&FileId>,
        _: &ChildQuery,
    ) -> Result<ChildPage, ListError> {
        Ok(ChildPage::default())
    }
    fn copy(
        &self,
        _: &FileMeta,
        _: &DriveId,
        _: Option<&FileId>,
        _: bool,
        _: &CopyLimits,
    ) -> Result<CopyOutcome, CopyError> {
        Err(CopyError::Store(CatalogError::msg("not in this benchmark")))
    }
    fn open(&self, _: &FileMeta) -> Result<Box<dyn Read + Send>, CatalogError> {
        Ok(Box::new(std::io::empty()))
    }
}

struct NoUsers;

impl Authenticator for NoUsers {
    fn reads_are_local(&self) -> bool {
        true
    }
    fn authenticate(&self, _: &str) -> Result<Caller, AuthError> {
        Err(AuthError::InvalidToken("no users in this benchmark".into()))
    }
}

/// The baseline: what a host writes without this crate's care, calling the
/// engine inline in async handlers.
fn naive_router(engine: Arc<Engine>) -> Router {
    async fn anonymous(State(e): State<Arc<Engine>>, Json(b): Json<Value>) -> (StatusCode, String) {
        let id: ShareId = b["share_id"].as_str().unwrap_or("").parse().unwrap();
        match e.get_share_link_by_anonymous(&id) {
            Ok(v) => (
                StatusCode::OK,
                json!({ "share_name": v.share_name }).to_string(),
            ),
            Err(err) => (StatusCode::BAD_REQUEST, err.to_string()),
        }
    }
    async fn token(State(e): State<Arc<Engine>>, Json(b): Json<Value>) -> (StatusCode, String) {
        let req = TokenRequest {
            share_id: b["share_id"].as_str().unwrap_or("").parse().unwrap(),
            password: Some(SharePassword::new(b["share_pwd"].as_str().unwrap_or("x")).unwrap()),
            expire_sec: None,
            client: ClientKey::new("bench").unwrap(),
            caller: None,
        };
        match e.get_share_token(req) {
            Ok(t) => (
                StatusCode::OK,
                json!({ "share_token": t.token.expose_secret() }).to_string(),
            ),
            Err(err) => (StatusCode::BAD_REQUEST, err.to_string()),
        }
    }
    Router::new()
        .route("/v2/share_link/get_by_anonymous", post(anonymous))
        .route("/v2/share_link/get_share_token", post(token))
        .with_state(engine)
}

struct Fixture {
    engine: Arc<Engine>,
    drives: Arc<MemoryCatalog>,
    open_share: ShareId,
    password_share: ShareId,
}

/// The catalogue both fixtures serve: one drive `d1` with one file `f1`.
fn catalog() -> (DriveId, Arc<MemoryCatalog>) {
    let drive = DriveId::new("d1").unwrap();
    let catalog = Arc::new(MemoryCatalog::new());
    catalog
        .add(&drive, "f1", None, "a.txt", FileKind::File)
        .unwrap();
    (drive, catalog)
}

/// An engine for load from one address: production argon2 cost and the
/// hashing pool, but the per-client guards (which would rightly refuse
/// clients asking for tokens as fast as they can from one address) lifted;
/// tenant `t` has a custom domain, so no daily quota.
fn load_engine(
    storage: Arc<dyn Storage>,
    catalog: Arc<MemoryCatalog>,
    keys: KeyRing,
) -> Arc<Engine> {
    Arc::new(
        Engine::builder(storage, catalog, keys)
            .config(EngineConfig {
                token_rate: Rate::UNLIMITED,
                throttle: ThrottlePolicy {
                    max_in_flight_per_client: u32::MAX,
                    ..ThrottlePolicy::default()
                },
                ..EngineConfig::default()
            })
            .tenant(
                TenantId::new("t").unwrap(),
                TenantPolicy {
                    custom_domain: true,
                    ..TenantPolicy::default()
                },
            )
            .build()
            .expect("a valid engine configuration"),
    )
}

fn fixture() -> Fixture {
    let (drive, catalog) = catalog();
    let keys = KeyRing::new(SigningKey::generate(
        KeyId::new("k1").unwrap(),
        &mut rand::rngs::OsRng,
    ));
    let tenant = TenantId::new("t").unwrap();
    let engine = load_engine(Arc::new(MemoryStorage::new()), catalog.clone(), keys);
    let creator = Creator::new(UserId::new("u").unwrap());
    let files = || ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap();
    let open = engine
        .create_share_link(CreateShareRequest::new(
            tenant.clone(),
            creator.clone(),
            drive.clone(),
            files(),
        ))
        .unwrap();
    let mut req = CreateShareRequest::new(tenant, creator, drive, files());
    req.password = Some(SharePassword::new("s3cret").unwrap());
    let with_password = engine.create_share_link(req).unwrap();
    Fixture {
        engine,
        drives: catalog,
        open_share: open.id().clone(),
        password_share: with_password.id().clone(),
    }
}

/// Serves `router` on a 2-worker runtime in its own thread.
fn start(
    router: Router,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                sharelink_http::serve(listener, router, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
    });
    (addr, tx, handle)
}

fn post_json(
    client: &reqwest::blocking::Client,
    url: &str,
    body: &str,
) -> reqwest::blocking::Response {
    client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .unwrap()
}

/// Our router over the fixture's engine; `inline`: cheap reads on the
/// async workers (every read local), else every call on a blocking thread.
fn our_router(f: &Fixture, inline: bool) -> Router {
    ShareApi::new(
        f.engine.clone(),
        Arc::new(NoUsers),
        Arc::new(Drives(f.drives.clone(), inline)),
        ApiConfig::default(),
    )
    .with_pages(sharelink_http::pages::PagesConfig::default())
    .router()
}

struct Latencies {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

fn probe(addr: SocketAddr, share: &ShareId, budget: Duration) -> Latencies {
    let client = reqwest::blocking::Client::new();
    let url = format!("http://{addr}/v2/share_link/get_by_anonymous");
    let body = json!({ "share_id": share.as_str() }).to_string();
    sample(budget, || post_json(&client, &url, &body))
}

/// The same public view as a page a browser opens (`GET /s/{id}`: the same
/// engine call, then a template rendered and security headers added).
fn probe_page(addr: SocketAddr, share: &ShareId, budget: Duration) -> Latencies {
    let client = reqwest::blocking::Client::new();
    let url = format!("http://{addr}/s/{}", share.as_str());
    sample(budget, || client.get(&url).send().unwrap())
}

/// Sequential requests for `budget`: their latency quantiles, in µs.
fn sample(budget: Duration, mut request: impl FnMut() -> reqwest::blocking::Response) -> Latencies {
    let mut samples = Vec::new();
    let end = Instant::now() + budget;
    while Instant::now() < end {
        let t = Instant::now();
        let res = request();
        assert_eq!(res.status().as_u16(), 200);
        let _ = res.bytes().unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Latencies {
        p50: at(0.5),
        p99: at(0.99),
        max: *samples.last().unwrap(),
        n: samples.len(),
    }
}

/// Runs `clients` threads issuing password token requests until stopped.
fn load(
    addr: SocketAddr,
    share: &ShareId,
    clients: usize,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..clients)
        .map(|_| {
            let stop = stop.clone();
            let done = done.clone();
            let body = json!({ "share_id": share.as_str(), "share_pwd": "s3cret" }).to_string();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let url = format!("http://{addr}/v2/share_link/get_share_token");
                while !stop.load(Ordering::Relaxed) {
                    let res = post_json(&client, &url, &body);
                    assert_eq!(res.status().as_u16(), 200, "{:?}", res.text());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

struct Run {
    idle: Latencies,
    busy: Latencies,
    tokens_per_s: f64,
}

fn run(router: Router, f: &Fixture, clients: usize, budget: Duration) -> Run {
    let (addr, stop_server, server) = start(router);
    let idle = probe(addr, &f.open_share, budget);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let loaders = load(addr, &f.password_share, clients, stop.clone(), done.clone());
    std::thread::sleep(Duration::from_millis(200)); // let the load start
    let before = done.load(Ordering::Relaxed);
    let t = Instant::now();
    let busy = probe(addr, &f.open_share, budget);
    let tokens_per_s = (done.load(Ordering::Relaxed) - before) as f64 / t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    let _ = stop_server.send(());
    server.join().unwrap();
    Run {
        idle,
        busy,
        tokens_per_s,
    }
}

fn ms(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 1.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.0} ns", us * 1000.0)
    }
}

/// Token issues and download URLs per second with one and with two
/// instances on one PostgreSQL schema: each instance an engine with its own
/// connection pool behind its own router on its own 2-worker runtime, as
/// two server processes would be; clients spread round-robin.
fn instances(budget: Duration) {
    use sharelink_postgres::{PostgresOptions, PostgresStorage};
    if !sharelink_benches::postgres::available() {
        return;
    }
    let (first, guard) =
        sharelink_postgres::testing::fresh_store(Arc::new(NoFaults)).expect("postgres");
    let mut options = PostgresOptions::new(sharelink_postgres::testing::test_database_url());
    options.schema = Some(guard.schema().to_owned());
    let (drive, catalog) = catalog();
    let keys = KeyRing::new(SigningKey::generate(
        KeyId::new("k1").unwrap(),
        &mut rand::rngs::OsRng,
    ));
    let tenant = TenantId::new("t").unwrap();
    let engine = |store: Arc<dyn Storage>| load_engine(store, catalog.clone(), keys.clone());
    let a = engine(Arc::new(first));
    let b = engine(Arc::new(
        PostgresStorage::connect(&options).expect("second pool"),
    ));
    let share = a
        .create_share_link(CreateShareRequest::new(
            tenant.clone(),
            Creator::new(UserId::new("u").unwrap()),
            drive,
            ShareFiles::listed(vec![FileId::new("f1").unwrap()]).unwrap(),
        ))
        .unwrap()
        .id()
        .clone();
    let router = |e: &Arc<Engine>| {
        ShareApi::new(
            e.clone(),
            Arc::new(NoUsers),
            Arc::new(Drives(catalog.clone(), false)),
            ApiConfig::default(),
        )
        .router()
    };
    let (addr_a, stop_a, server_a) = start(router(&a));
    let (addr_b, stop_b, server_b) = start(router(&b));
    let clients = 8;
    let pairs_per_s = |addrs: Vec<SocketAddr>| {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let (stop, done, addrs, share) =
                    (stop.clone(), done.clone(), addrs.clone(), share.clone());
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::new();
                    let token_body = json!({ "share_id": share.as_str() }).to_string();
                    let url_body =
                        json!({ "share_id": share.as_str(), "file_id": "f1" }).to_string();
                    let mut i = c;
                    while !stop.load(Ordering::Relaxed) {
                        let base = addrs[i % addrs.len()];
                        i += 1;
                        let res = post_json(
                            &http,
                            &format!("http://{base}/v2/share_link/get_share_token"),
                            &token_body,
                        );
                        let status = res.status().as_u16();
                        let token: Value = res.json().unwrap();
                        assert_eq!(status, 200, "{token}");
                        let token = token["share_token"].as_str().unwrap().to_owned();
                        let base = addrs[i % addrs.len()];
                        let res = http
                            .post(format!("http://{base}/v2/file/get_download_url"))
                            .header("content-type", "application/json")
                            .header("x-share-token", token)
                            .body(url_body.clone())
                            .send()
                            .unwrap();
                        assert_eq!(res.status().as_u16(), 200, "{:?}", res.text());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let (before, t) = (done.load(Ordering::Relaxed), Instant::now());
        std::thread::sleep(budget);
        let n = done.load(Ordering::Relaxed) - before;
        let rate = n as f64 / t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        rate
    };
    let one = pairs_per_s(vec![addr_a]);
    let two = pairs_per_s(vec![addr_a, addr_b]);
    for (stop, server) in [(stop_a, server_a), (stop_b, server_b)] {
        let _ = stop.send(());
        server.join().unwrap();
    }
    println!(
        "\n## token issue + download URL over HTTP, {clients} clients, on one PostgreSQL database"
    );
    println!("| instances | token issues/s | download URLs/s | requests/s |\n|---|---|---|---|");
    for (n, r) in [(1, one), (2, two)] {
        // Each client alternates: one token, then one download URL with it.
        println!("| {n} | {r:.0} | {r:.0} | {:.0} |", 2.0 * r);
    }
    println!(
        "\nratio (2 instances ÷ 1): {:.2} (one 2-core machine runs both instances, the clients and the database)",
        two / one
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--full");
    let budget = if full {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(1)
    };
    if std::env::args().any(|a| a == "--instances-only") {
        instances(budget);
        return;
    }
    if let Some(note) = sharelink_benches::timing::build_note() {
        println!("{note}");
    }
    let clients = 4;
    let f = fixture();

    let ours = run(our_router(&f, false), &f, clients, budget);
    let inline = run(our_router(&f, true), &f, clients, budget);
    let naive = run(naive_router(f.engine.clone()), &f, clients, budget);

    println!(
        "## get_by_anonymous latency while {clients} clients request password tokens (argon2id, production cost)"
    );
    println!(
        "server: 2 tokio workers; {} per probe; same engine, same machine, one after the other\n",
        ms(budget.as_secs_f64() * 1e6)
    );
    println!(
        "| server | idle p50 | idle p99 | busy p50 | busy p99 | busy max | probes | tokens/s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, r) in [
        ("sharelink-http (spawn_blocking)", &ours),
        ("sharelink-http, reads inline (local store)", &inline),
        ("naive axum, engine inline", &naive),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {:.0} |",
            ms(r.idle.p50),
            ms(r.idle.p99),
            ms(r.busy.p50),
            ms(r.busy.p99),
            ms(r.busy.max),
            r.busy.n,
            r.tokens_per_s
        );
    }
    println!(
        "\nratio (ours ÷ naive): idle p50 {:.2}, busy p50 {:.3}, busy p99 {:.2}",
        ours.idle.p50 / naive.idle.p50,
        ours.busy.p50 / naive.busy.p50,
        ours.busy.p99 / naive.busy.p99
    );
    println!(
        "ratio (reads inline ÷ naive): idle p50 {:.2}, busy p50 {:.3}, busy p99 {:.2}; goal busy p50 ≤ 1 ms ({}), busy p99 ≤ 20 ms ({})",
        inline.idle.p50 / naive.idle.p50,
        inline.busy.p50 / naive.busy.p50,
        inline.busy.p99 / naive.busy.p99,
        ms(inline.busy.p50),
        ms(inline.busy.p99)
    );

    // HTTP overhead of one cheap request.
    let (addr, stop, server) = start(our_router(&f, true));
    let http = probe(addr, &f.open_share, budget);
    let page = probe_page(addr, &f.open_share, budget);
    let _ = stop.send(());
    server.join().unwrap();
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f.engine.get_share_link_by_anonymous(&f.open_share).unwrap());
    }
    let direct = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "\n## get_by_anonymous: over loopback HTTP (keep-alive, sequential) p50 {} vs direct engine call {}: ratio {:.0}",
        ms(http.p50),
        ms(direct),
        http.p50 / direct
    );
    println!(
        "\n## the public view as a page (GET /s/{{id}}, HTML) vs as JSON (get_by_anonymous), same server, sequential: p50 {} vs {}: ratio {:.2}; p99 {} vs {}",
        ms(page.p50),
        ms(http.p50),
        page.p50 / http.p50,
        ms(page.p99),
        ms(http.p99)
    );

    instances(budget);
}
