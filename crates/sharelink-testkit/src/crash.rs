//! Crash safety and cross-process harnesses.
//!
//! A backend's test binary (with `harness = false`) runs in two roles. As a
//! **child** it opens the store and loops forever creating shares, consuming
//! quota and counting uses, printing one line per *acknowledged* write. As
//! the **parent** it starts the child, kills it with SIGKILL at a random
//! moment, reopens the store and checks that:
//! - the store opens cleanly;
//! - every acknowledged share is present;
//! - the creation quota equals the number of shares created (insert and
//!   charge are one atomic step, crash or not);
//! - no counter shows fewer uses than were acknowledged, and none goes back.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rand::Rng;
use sharelink_core::*;

use crate::fixtures::{ShareFixture, charge, list_every_page, member, share_id};

/// Kills per backend: `SHARELINK_CRASH_ITERATIONS`, default 20.
pub fn iterations_from_env() -> usize {
    std::env::var("SHARELINK_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

const COUNTER_SHARE: u32 = 0;

/// The child's endless workload. Prints `share N`, `quota N` and `use N`
/// after each acknowledged write, flushing every line.
pub fn crash_child(s: &dyn Storage) -> ! {
    let counter = ShareFixture::new(COUNTER_SHARE).build();
    match s.insert_share(&counter, None) {
        Ok(InsertOutcome::Inserted | InsertOutcome::IdTaken) => {}
        other => panic!("child could not set up: {other:?}"),
    }
    let mut out = std::io::stdout().lock();
    let mut rng = rand::rngs::OsRng;
    let create = charge(0, QuotaKind::Create, 0, u32::MAX);
    let access = charge(0, QuotaKind::Access, 0, u32::MAX);
    loop {
        let n: u32 = rng.gen_range(1..u32::MAX);
        if let InsertOutcome::Inserted = s
            .insert_share(&ShareFixture::new(n).build(), Some(&create))
            .expect("insert_share")
        {
            ack(&mut out, &format!("share {n}"));
        }
        if let QuotaOutcome::Consumed { used } = s.consume_quota(&access).expect("consume_quota") {
            ack(&mut out, &format!("quota {used}"));
        }
        if let UseOutcome::Counted(after) = s
            .count_use(counter.id(), UseKind::Download, 0)
            .expect("count_use")
        {
            ack(&mut out, &format!("use {}", after.counters.download));
        }
    }
}

fn ack(out: &mut impl Write, line: &str) {
    // If the parent is gone there is nobody to acknowledge to: stop.
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// What the parent saw over all kills.
#[derive(Debug, Default, Clone, Copy)]
pub struct CrashReport {
    /// Children killed with SIGKILL.
    pub kills: usize,
    /// Acknowledged shares, all found after reopening.
    pub acked_shares: usize,
    /// Highest acknowledged access-quota count.
    pub acked_quota: u32,
    /// Highest acknowledged download count.
    pub acked_uses: u64,
}

/// Whether acknowledged writes must survive the kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every acknowledged write is present afterwards (durable settings).
    Durable,
    /// Acknowledged writes may be lost (a no-flush setting), but the store
    /// must reopen and stay consistent: shares and their charges agree.
    ConsistentOnly,
}

/// Runs `iterations` kill-and-reopen rounds. `spawn` builds the child
/// command; `open` reopens the store after the child is dead.
pub fn crash_parent<S: Storage>(
    iterations: usize,
    expect: Expect,
    spawn: &dyn Fn() -> Command,
    open: &dyn Fn() -> S,
) -> CrashReport {
    let mut report = CrashReport::default();
    let mut acked_shares: Vec<u32> = Vec::new();
    let mut rng = rand::thread_rng();
    for round in 0..iterations {
        let mut child = spawn()
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn crash child");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let stdout = child.stdout.take().expect("child stdout");
        let reader = {
            let lines = lines.clone();
            thread::spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match r.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        // Only complete lines were acknowledged.
                        Ok(_) if buf.ends_with(b"\n") => {
                            let line = String::from_utf8_lossy(&buf).trim().to_owned();
                            lines.lock().expect("lines").push(line);
                        }
                        Ok(_) => break,
                    }
                }
            })
        };
        // Let it get going, then kill it at a random moment.
        let started = std::time::Instant::now();
        while lines.lock().expect("lines").is_empty() && started.elapsed() < Duration::from_secs(20)
        {
            thread::sleep(Duration::from_millis(2));
        }
        thread::sleep(Duration::from_millis(rng.gen_range(1..120)));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        reader.join().expect("reader thread");
        report.kills += 1;

        for line in lines.lock().expect("lines").iter() {
            let (what, n) = line.split_once(' ').expect("ack line");
            match what {
                "share" => acked_shares.push(n.parse().expect("share number")),
                "quota" => report.acked_quota = report.acked_quota.max(n.parse().expect("n")),
                "use" => report.acked_uses = report.acked_uses.max(n.parse().expect("n")),
                other => panic!("unknown ack {other:?}"),
            }
        }

        let s = open();
        let (created, create_quota) = settled_creations(&s);
        assert_eq!(
            u64::from(create_quota),
            created as u64,
            "round {round}: creation quota and stored shares disagree after SIGKILL"
        );
        if expect == Expect::ConsistentOnly {
            acked_shares.clear();
            report.acked_quota = 0;
            report.acked_uses = 0;
            continue;
        }
        for n in &acked_shares {
            assert!(
                s.get_share(&share_id(*n))
                    .expect("get_share after crash")
                    .is_some(),
                "round {round}: acknowledged share {n} is missing after SIGKILL"
            );
        }
        let access = s
            .quota_used(&charge(0, QuotaKind::Access, 0, 0).key)
            .expect("quota");
        assert!(
            access >= report.acked_quota,
            "round {round}: quota went back"
        );
        let uses = s
            .get_share(&share_id(COUNTER_SHARE))
            .expect("get")
            .map_or(0, |sh| sh.counters().download);
        assert!(
            uses >= report.acked_uses,
            "round {round}: use counter went back"
        );
        report.acked_quota = access;
        report.acked_uses = uses;
    }
    report.acked_shares = acked_shares.len();
    report
}

/// The shares stored (less the counter share) and the creation quota used,
/// read until they agree or two readings in a row are the same. A database
/// server may still be committing a transaction whose `COMMIT` the child
/// sent just before it died: the two reads can fall on either side of that
/// commit, and a listing spans several reads. A store that is really
/// inconsistent gives the same disagreeing reading twice, and fails.
fn settled_creations(s: &dyn Storage) -> (usize, u32) {
    let read = || {
        let created = count_shares(s) - 1; // minus the counter share
        let used = s
            .quota_used(&charge(0, QuotaKind::Create, 0, 0).key)
            .expect("quota");
        (created, used)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut last = read();
    loop {
        if last.0 as u64 == u64::from(last.1) || std::time::Instant::now() >= deadline {
            return last;
        }
        thread::sleep(Duration::from_millis(20));
        let now = read();
        if now == last {
            return now;
        }
        last = now;
    }
}

fn count_shares(s: &dyn Storage) -> usize {
    list_every_page(s, &member(0, 0), &ShareListQuery::default()).len()
}

/// One process of a cross-process race: `attempts` quota consumptions
/// against a limit of `quota_limit`, then `attempts` counted downloads
/// against the race share. Prints `quota_ok N` and `use_ok N`.
pub fn race_child(s: &dyn Storage, attempts: usize, quota_limit: u32) {
    let c = charge(0, QuotaKind::Access, 0, quota_limit);
    let quota_ok = (0..attempts)
        .filter(|_| {
            matches!(
                s.consume_quota(&c).expect("consume_quota"),
                QuotaOutcome::Consumed { .. }
            )
        })
        .count();
    let use_ok = (0..attempts)
        .filter(|_| {
            matches!(
                s.count_use(&share_id(RACE_SHARE), UseKind::Download, 0)
                    .expect("count_use"),
                UseOutcome::Counted(_)
            )
        })
        .count();
    let mut out = std::io::stdout().lock();
    writeln!(out, "quota_ok {quota_ok}")
        .and_then(|()| writeln!(out, "use_ok {use_ok}"))
        .expect("stdout");
}

/// The share the cross-process race counts downloads on.
pub const RACE_SHARE: u32 = 7;

/// Sets up a race: a share with `download_limit`.
pub fn race_setup(s: &dyn Storage, download_limit: u64) {
    let mut f = ShareFixture::new(RACE_SHARE);
    f.download_limit = download_limit;
    assert_eq!(
        s.insert_share(&f.build(), None).expect("insert"),
        InsertOutcome::Inserted
    );
}

/// Runs the children (already configured), sums their successes and
/// returns `(quota successes, use successes)`.
pub fn race_parent(children: Vec<Command>) -> (usize, usize) {
    let running: Vec<_> = children
        .into_iter()
        .map(|mut c| c.stdout(Stdio::piped()).spawn().expect("spawn race child"))
        .collect();
    let (mut q, mut u) = (0, 0);
    for child in running {
        let out = child.wait_with_output().expect("race child");
        assert!(out.status.success(), "race child failed: {:?}", out.status);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match line.split_once(' ') {
                Some(("quota_ok", n)) => q += n.parse::<usize>().expect("n"),
                Some(("use_ok", n)) => u += n.parse::<usize>().expect("n"),
                _ => {}
            }
        }
    }
    (q, u)
}

/// Runs named tests in a `harness = false` test binary, prints one line per
/// test and the closing `N passed, N failed` line, and exits non-zero if
/// any failed.
pub fn run_named_tests(tests: &[(&str, fn())]) {
    let mut failed = 0;
    for (name, test) in tests {
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{} passed, {failed} failed", tests.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
