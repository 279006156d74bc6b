//! Several server processes on one PostgreSQL database act as one: the
//! instances share the database, the data directory and the key file, and a
//! client spreads its requests over them round-robin. Without PostgreSQL the
//! tests print one "skipped" line and pass (unless
//! `SHARELINK_REQUIRE_POSTGRES=1`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use postgres::NoTls;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sharelink_postgres::testing::{database_ready, test_database_url};

const ALICE_DRIVE: &str = "drive-demo-alice";

/// One server process; killed when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, url: &str) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sharelink-server"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--storage",
            url,
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let base = loop {
        assert!(Instant::now() < deadline, "no banner");
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "the server exited");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Instance { child, base }
}

/// Drops the test's schema when the test ends.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&test_database_url(), NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
        }
    }
}

struct Fleet {
    instances: Vec<Instance>,
    next: AtomicUsize,
    http: Client,
    alice: String,
}

impl Fleet {
    /// The next instance, round-robin.
    fn base(&self) -> &str {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.instances.len();
        &self.instances[i].base
    }

    fn post_to(
        &self,
        base: &str,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self.http.post(format!("{base}{path}")).json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn post(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
        let base = self.base().to_owned();
        self.post_to(&base, path, body, headers)
    }

    fn create(&self, body: Value) -> (u16, Value) {
        let auth = format!("Bearer {}", self.alice);
        self.post("/v2/share_link/create", body, &[("authorization", &auth)])
    }
}

/// A schema of its own, a data directory (after `admin` subcommands), and
/// three instances on both.
fn fleet(tag: &str, admin: &[&[&str]]) -> (Schema, tempfile::TempDir, Arc<Fleet>) {
    fleet_of(3, tag, admin)
}

/// Like [`fleet`], with `n` instances.
fn fleet_of(n: usize, tag: &str, admin: &[&[&str]]) -> (Schema, tempfile::TempDir, Arc<Fleet>) {
    let schema = Schema(format!(
        "sl_test_{tag}_{:08x}",
        std::process::id() ^ 0x5eed_1234
    ));
    let mut client = postgres::Client::connect(&test_database_url(), NoTls).unwrap();
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
            schema.0
        ))
        .unwrap();
    let base_url = test_database_url();
    let sep = if base_url.contains('?') { '&' } else { '?' };
    // The schema's name is also the servers' application_name, so that a
    // test can find (and terminate) its own servers' connections.
    let url = format!(
        "{base_url}{sep}options=-c%20search_path%3D{0}&application_name={0}",
        schema.0
    );
    let dir = tempfile::tempdir().unwrap();
    for args in admin {
        let status = Command::new(env!("CARGO_BIN_EXE_sharelink-server"))
            .args(*args)
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}");
    }
    // The first instance seeds the data directory; the others find it seeded.
    let mut instances = vec![start(dir.path(), &url)];
    instances.extend((1..n).map(|_| start(dir.path(), &url)));
    let alice = std::fs::read_to_string(dir.path().join("alice.token"))
        .unwrap()
        .trim()
        .to_owned();
    let fleet = Arc::new(Fleet {
        instances,
        next: AtomicUsize::new(0),
        http: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        alice,
    });
    (schema, dir, fleet)
}

#[test]
fn three_instances_on_one_database_act_as_one() {
    if !database_ready() {
        return;
    }
    let (_schema, dir, fleet) = fleet("a", &[]);

    // A share with a download limit of 7.
    let (status, share) = fleet.create(json!({
        "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "download_limit": 7
    }));
    assert_eq!(status, 201, "{share}");
    let id = share["share_id"].as_str().unwrap().to_owned();

    // A token from instance A opens the share on B and C.
    let (status, t) = fleet.post_to(
        &fleet.instances[0].base,
        "/v2/share_link/get_share_token",
        json!({ "share_id": id }),
        &[],
    );
    assert_eq!(status, 200, "{t}");
    let token = t["share_token"].as_str().unwrap().to_owned();
    for i in [1, 2] {
        let (status, page) = fleet.post_to(
            &fleet.instances[i].base,
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": "root" }),
            &[("x-share-token", &token)],
        );
        assert_eq!(status, 200, "instance {i}: {page}");
    }

    // Downloads spread over the instances: exactly 7 URLs, then the limit.
    let mut granted = 0;
    for _ in 0..20 {
        let (status, body) = fleet.post(
            "/v2/file/get_download_url",
            json!({ "share_id": id, "file_id": "welcome" }),
            &[("x-share-token", &token)],
        );
        match status {
            200 => granted += 1,
            403 => assert_eq!(body["code"], "ShareLink.DownloadLimitExceeded", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(granted, 7);

    // A cancel on C kills the token on A at once.
    let auth = format!("Bearer {}", fleet.alice);
    let (status, body) = fleet.post_to(
        &fleet.instances[2].base,
        "/v2/share_link/cancel",
        json!({ "share_id": id }),
        &[("authorization", &auth)],
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = fleet.post_to(
        &fleet.instances[0].base,
        "/v2/file/list",
        json!({ "share_id": id, "parent_file_id": "root" }),
        &[("x-share-token", &token)],
    );
    assert!(matches!(status, 401 | 403), "{status}: {body}");

    // 700 concurrent creates over the three instances: exactly the 498
    // left of the daily quota of 500 succeed (the first start's demo share
    // and the share above took two).
    assert!(
        dir.path().join("demo-share").exists(),
        "the first start made a demo share"
    );
    let threads = 14;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (fleet, barrier) = (fleet.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (mut created, mut refused) = (0, 0);
                for _ in 0..700 / threads {
                    let (status, body) = fleet
                        .create(json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }));
                    match status {
                        201 => created += 1,
                        429 => refused += 1,
                        other => panic!("{other}: {body}"),
                    }
                }
                (created, refused)
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for h in handles {
        let (c, r) = h.join().unwrap();
        created += c;
        refused += r;
    }
    assert_eq!((created, refused), (498, 202));

    // SIGTERM: an instance on PostgreSQL drains and exits cleanly.
    let mut fleet = Arc::try_unwrap(fleet).unwrap_or_else(|_| panic!("fleet still shared"));
    let instance = &mut fleet.instances[0];
    Command::new("kill")
        .args(["-TERM", &instance.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = instance.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit 15 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// In the middle of a load spread over the three instances, every database
/// connection of the servers is terminated, then one instance is killed
/// with SIGKILL: the clients see only 201s and 503s (and refused
/// connections to the dead instance), never a 500; service is back within
/// 5 s; and every share a 201 acknowledged is in the database.
#[test]
fn outages_and_a_killed_instance_lose_no_acknowledged_write() {
    if !database_ready() {
        return;
    }
    let (schema, _dir, fleet) = fleet(
        "b",
        &[&[
            "set-tenant",
            "--tenant",
            "demo",
            "--create-limit",
            "1000000",
        ]],
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (fleet, stop) = (fleet.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let (mut unavailable, mut refused, mut other) = (0, 0, Vec::new());
                let mut last_outage: Option<Instant> = None;
                let auth = format!("Bearer {}", fleet.alice);
                while !stop.load(Ordering::Relaxed) {
                    let base = fleet.base().to_owned();
                    let sent = fleet
                        .http
                        .post(format!("{base}/v2/share_link/create"))
                        .header("authorization", &auth)
                        .json(&json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }))
                        .send();
                    let Ok(r) = sent else {
                        refused += 1;
                        continue;
                    };
                    let status = r.status().as_u16();
                    let body: Value = r.json().unwrap_or(Value::Null);
                    match status {
                        201 => acked.push(body["share_id"].as_str().unwrap().to_owned()),
                        503 => {
                            unavailable += 1;
                            last_outage = Some(Instant::now());
                        }
                        _ => other.push(format!("{status}: {body}")),
                    }
                }
                (acked, unavailable, refused, other, last_outage)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let mut admin = postgres::Client::connect(&test_database_url(), NoTls).unwrap();
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1",
            &[&schema.0],
        )
        .unwrap()
        .get(0);
    let terminated_at = Instant::now();
    std::thread::sleep(Duration::from_millis(700));
    // SIGKILL one instance mid-load (it is reaped when the fleet drops).
    let victim = fleet.instances[1].child.id();
    Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut unavailable, mut refused) = (Vec::new(), 0, 0);
    let mut last_outage = None;
    for w in workers {
        let (a, u, r, other, last) = w.join().unwrap();
        assert!(other.is_empty(), "not a 201 or a 503: {other:?}");
        acked.extend(a);
        unavailable += u;
        refused += r;
        last_outage = last_outage.max(last);
    }
    let recovered_ms = last_outage.map_or(0, |t| (t - terminated_at.min(t)).as_millis());
    assert!(killed >= 1, "no server connection was terminated");
    assert!(!acked.is_empty());
    // Service is back (on the surviving instances) within 5 s.
    let auth = format!("Bearer {}", fleet.alice);
    loop {
        let (status, body) = fleet.post_to(
            &fleet.instances[0].base,
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }),
            &[("authorization", &auth)],
        );
        if status == 201 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            terminated_at.elapsed() < Duration::from_secs(5),
            "still down 5 s after the connections were terminated"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every acknowledged share is there.
    for id in &acked {
        let (status, body) = fleet.post_to(
            &fleet.instances[2].base,
            "/v2/share_link/get",
            json!({ "share_id": id }),
            &[("authorization", &auth)],
        );
        assert_eq!(status, 200, "acknowledged share {id} lost: {body}");
    }
    println!(
        "instances: {} acknowledged creates all present; {unavailable} answered 503 during the \
         outage, the last {recovered_ms} ms after {killed} connections were terminated; \
         {refused} refused by the killed instance",
        acked.len()
    );
}

/// The password-guessing ceiling is kept in the database, so spreading
/// guesses over the instances buys nothing: 40 addresses guessing
/// round-robin over three instances get exactly the 30 evaluations of one
/// share's burst budgets (20 for addresses with no failure yet, 10 for
/// those that have failed), and one address alone gets its free failures
/// and then waits, whichever instance it asks.
#[test]
fn the_guessing_ceiling_holds_across_instances() {
    if !database_ready() {
        return;
    }
    let (_schema, _dir, fleet) = fleet("g", &[]);
    let share = |pwd: &str| {
        let (status, share) = fleet.create(json!({
            "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "share_pwd": pwd
        }));
        assert_eq!(status, 201, "{share}");
        share["share_id"].as_str().unwrap().to_owned()
    };
    let guess = |client: &Client, id: &str, pwd: &str| {
        let base = fleet.base().to_owned();
        let r = client
            .post(format!("{base}/v2/share_link/get_share_token"))
            .json(&json!({ "share_id": id, "share_pwd": pwd }))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap_or(Value::Null);
        match (status, body["code"].as_str()) {
            (400, Some("InvalidResource.SharePwd")) => true,
            (429, _) => false,
            _ => panic!("{status}: {body}"),
        }
    };
    let from = |i: u8| {
        Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 7, i]))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    };

    // One address, 15 guesses spread over the instances: 6 evaluated at
    // once (no wait follows the first 5 failures; 1 s follows the 6th),
    // plus one per back-off delay (1 s, 2 s, 4 s …) that has passed
    // meanwhile. Per-instance records would evaluate 15.
    let id = share("right-pwd-1");
    let lone = from(1);
    let started = Instant::now();
    let evaluated = (0..15).filter(|_| guess(&lone, &id, "wrong")).count();
    let waited = started.elapsed();
    let (mut delays_passed, mut delays_total, mut delay) =
        (0, Duration::ZERO, Duration::from_secs(1));
    while delays_total + delay <= waited {
        (delays_passed, delays_total, delay) = (delays_passed + 1, delays_total + delay, delay * 2);
    }
    assert!(
        (6..=6 + delays_passed).contains(&evaluated),
        "{evaluated} wrong guesses evaluated in {waited:?} from one address over three instances"
    );

    // 40 addresses, 3 guesses each: the share's budgets, once.
    let started = Instant::now();
    let id = share("right-pwd-2");
    let clients: Vec<Client> = (10..50).map(from).collect();
    let mut evaluated = 0;
    for _round in 0..3 {
        for client in &clients {
            evaluated += usize::from(guess(client, &id, "wrong"));
        }
    }
    // The budgets refill one unit per 90 s (fresh) and 120 s (suspect).
    assert!(
        started.elapsed() < Duration::from_secs(85),
        "too slow to be exact"
    );
    assert_eq!(
        evaluated, 30,
        "the share's burst budgets, over three instances"
    );
    println!(
        "instances: guessing ceiling over three instances: {evaluated} evaluated per share of 120 guesses from 40 addresses"
    );
}

/// `rotate-key` while two instances serve a steady load of token and URL
/// requests, each one checked on the other instance: not one is refused;
/// both instances end up signing with the new key; a token from before the
/// rotation still works everywhere.
#[test]
fn a_key_rotation_under_load_refuses_nothing() {
    if !database_ready() {
        return;
    }
    let (_schema, dir, fleet) = fleet_of(
        2,
        "k",
        &[&[
            "set-tenant",
            "--tenant",
            "demo",
            "--access-limit",
            "1000000",
        ]],
    );
    let (status, share) = fleet.create(json!({
        "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "share_pwd": "rotation"
    }));
    assert_eq!(status, 201, "{share}");
    let id = share["share_id"].as_str().unwrap().to_owned();
    let key_of = |token: &str| token.split('.').nth(1).unwrap().to_owned();
    let token_from = |i: usize| {
        let (status, t) = fleet.post_to(
            &fleet.instances[i].base,
            "/v2/share_link/get_share_token",
            json!({ "share_id": id, "share_pwd": "rotation" }),
            &[],
        );
        assert_eq!(status, 200, "{t}");
        t["share_token"].as_str().unwrap().to_owned()
    };
    let before = token_from(0);
    let old_key = key_of(&before);

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (fleet, stop, id) = (fleet.clone(), stop.clone(), id.clone());
            std::thread::spawn(move || {
                let (mut checked, mut keys, mut refused) = (0, Vec::new(), Vec::new());
                let mut round = w;
                // Each token comes from an address of its own, so that no
                // per-address token rate is reached.
                while !stop.load(Ordering::Relaxed) && round < 2 * 250 * 20 {
                    let (a, b) = (round % 2, (round + 1) % 2);
                    let octet = |n: usize| u8::try_from(n).unwrap();
                    let from = std::net::IpAddr::from([
                        127,
                        octet(8 + w),
                        octet(round / 250),
                        octet(1 + round % 250),
                    ]);
                    round += 2;
                    let (issuer, verifier) = (&fleet.instances[a].base, &fleet.instances[b].base);
                    let client = Client::builder()
                        .local_address(from)
                        .timeout(Duration::from_secs(30))
                        .build()
                        .unwrap();
                    let r = client
                        .post(format!("{issuer}/v2/share_link/get_share_token"))
                        .json(&json!({ "share_id": id, "share_pwd": "rotation" }))
                        .send()
                        .unwrap();
                    let status = r.status().as_u16();
                    let t: Value = r.json().unwrap_or(Value::Null);
                    if status != 200 {
                        refused.push(format!("token from {a}: {status} {t}"));
                        continue;
                    }
                    let token = t["share_token"].as_str().unwrap().to_owned();
                    let key = token.split('.').nth(1).unwrap().to_owned();
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                    let headers = [("x-share-token", token.as_str())];
                    let (status, url) = fleet.post_to(
                        verifier,
                        "/v2/file/get_download_url",
                        json!({ "share_id": id, "file_id": "welcome" }),
                        &headers,
                    );
                    if status != 200 {
                        refused.push(format!("token on {b}: {status} {url}"));
                        continue;
                    }
                    // The URL was signed by `verifier`; fetch it from `issuer`.
                    let url = url["url"].as_str().unwrap();
                    let path = url
                        .strip_prefix(verifier.as_str())
                        .unwrap_or_else(|| panic!("{url} is not on {verifier}"));
                    let r = fleet.http.get(format!("{issuer}{path}")).send().unwrap();
                    if r.status().as_u16() != 200 {
                        refused.push(format!("URL on {a}: {}", r.status()));
                        continue;
                    }
                    checked += 1;
                }
                (checked, keys, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let rotated = Command::new(env!("CARGO_BIN_EXE_sharelink-server"))
        .args(["rotate-key", "--wait", "30", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&rotated.stdout).into_owned()
        + &String::from_utf8_lossy(&rotated.stderr);
    assert!(rotated.status.success(), "{said}");
    assert!(said.contains("every live instance (2)"), "{said}");
    // Instances re-read the key file every second: give them time to sign
    // with the new key, under load.
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, Ordering::Relaxed);
    let (mut checked, mut keys, mut refused) = (0, Vec::new(), Vec::new());
    for w in workers {
        let (c, k, r) = w.join().unwrap();
        checked += c;
        keys.extend(k);
        refused.extend(r);
    }
    assert!(
        refused.is_empty(),
        "refused during the rotation: {refused:?}"
    );
    let new_key = key_of(&token_from(0));
    assert_ne!(new_key, old_key, "{said}");
    assert_eq!(key_of(&token_from(1)), new_key);
    assert!(
        keys.contains(&old_key) && keys.contains(&new_key),
        "{keys:?}"
    );
    for instance in &fleet.instances {
        let (status, body) = fleet.post_to(
            &instance.base,
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": "root" }),
            &[("x-share-token", &before)],
        );
        assert_eq!(status, 200, "a token from before the rotation: {body}");
    }
    println!(
        "instances: key rotation {old_key} -> {new_key} under load: {checked} token+URL round trips across two instances, none refused"
    );
}
