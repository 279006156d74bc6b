//! Tests that need more than one OS process (`harness = false`).
//!
//! Run without arguments, this binary is the parent: it runs the SIGKILL
//! crash test (`SHARELINK_CRASH_ITERATIONS` kills, default 20), the
//! two-process race and the cache check (a share changed by another process
//! is never answered from this one's cache), re-executing itself as the
//! children.

#![allow(missing_docs, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sharelink_core::{ShareStatus, Storage, UpdateOutcome, UseKind, UseOutcome};
use sharelink_sqlite::{SqliteOptions, SqliteStorage, Synchronous};
use sharelink_testkit::crash;
use sharelink_testkit::fixtures::{ShareFixture, share_id, t0};

fn open(path: &Path, sync: Synchronous) -> SqliteStorage {
    let options = SqliteOptions {
        synchronous: sync,
        ..SqliteOptions::default()
    };
    SqliteStorage::open(path, &options).expect("open sqlite store")
}

fn sync_of(s: &str) -> Synchronous {
    if s == "normal" {
        Synchronous::Normal
    } else {
        Synchronous::Full
    }
}

fn me() -> PathBuf {
    std::env::current_exe().expect("current exe")
}

fn crash_test(sync: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.sqlite");
    let iterations = crash::iterations_from_env();
    let report = crash::crash_parent(
        iterations,
        crash::Expect::Durable,
        &|| {
            let mut c = Command::new(me());
            c.arg("crash-child").arg(&path).arg(sync);
            c
        },
        &|| open(&path, sync_of(sync)),
    );
    println!(
        "sqlite ({sync}) crash: {} SIGKILLs survived; {} acknowledged shares all present; \
         access quota {} and download counter {} never below their acknowledged values",
        report.kills, report.acked_shares, report.acked_quota, report.acked_uses
    );
    assert_eq!(report.kills, iterations);
    assert!(
        report.acked_shares > 0,
        "the child never acknowledged a share"
    );
}

fn race_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("race.sqlite");
    const ATTEMPTS: usize = 150;
    const QUOTA: u32 = 173;
    const DOWNLOADS: u64 = 97;
    crash::race_setup(&open(&path, Synchronous::Full), DOWNLOADS);
    let children = (0..2)
        .map(|_| {
            let mut c = Command::new(me());
            c.arg("race-child")
                .arg(&path)
                .arg(ATTEMPTS.to_string())
                .arg(QUOTA.to_string());
            c
        })
        .collect();
    let (quota_ok, use_ok) = crash::race_parent(children);
    println!(
        "sqlite two-process race: {} attempts, quota successes {quota_ok} (limit {QUOTA}), \
         download successes {use_ok} (limit {DOWNLOADS})",
        2 * ATTEMPTS
    );
    assert_eq!(quota_ok, QUOTA as usize);
    assert_eq!(use_ok as u64, DOWNLOADS);
}

/// The parent reads a share until it is cached; a child process counts a
/// download, then cancels the share; after each child exits, the parent's
/// next read shows the change.
fn cache_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.sqlite");
    let store = open(&path, Synchronous::Full);
    let id = share_id(7);
    store
        .insert_share(&ShareFixture::new(7).build(), None)
        .expect("insert");
    let read = || store.get_share(&id).expect("get").expect("the share");
    let child = |what: &str| {
        let ok = Command::new(me())
            .arg("cache-child")
            .arg(&path)
            .arg(what)
            .status()
            .expect("cache child")
            .success();
        assert!(ok, "cache child {what} failed");
    };
    for _ in 0..3 {
        assert_eq!(read().counters().download, 0);
    }
    child("count");
    assert_eq!(
        read().counters().download,
        1,
        "a download counted by another process was missed"
    );
    assert_eq!(read().status(), ShareStatus::Enabled);
    child("cancel");
    assert_eq!(
        read().status(),
        ShareStatus::Cancelled,
        "a cancel by another process was missed"
    );
    println!("sqlite cache: another process's count and cancel seen at the next read");
}

fn cache_child(path: &Path, what: &str) {
    let store = open(path, Synchronous::Full);
    let id = share_id(7);
    let share = store.get_share(&id).expect("get").expect("the share");
    match what {
        "count" => {
            let out = store
                .count_use(&id, UseKind::Download, share.token_epoch())
                .expect("count");
            assert!(matches!(out, UseOutcome::Counted(_)), "{out:?}");
        }
        _ => {
            let version = share.version();
            let cancelled = share.cancel(t0()).expect("cancel");
            let out = store.update_share(&cancelled, version).expect("update");
            assert_eq!(out, UpdateOutcome::Updated);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("crash-child") => {
            let store = open(Path::new(&args[2]), sync_of(&args[3]));
            crash::crash_child(&store);
        }
        Some("race-child") => {
            let store = open(Path::new(&args[2]), Synchronous::Full);
            crash::race_child(
                &store,
                args[3].parse().expect("attempts"),
                args[4].parse().expect("limit"),
            );
        }
        Some("cache-child") => cache_child(Path::new(&args[2]), &args[3]),
        _ => {
            let tests: [(&str, fn()); 4] = [
                ("crash_full_sync", || crash_test("full")),
                ("crash_normal_sync", || crash_test("normal")),
                ("two_process_race", race_test),
                ("cache_sees_other_processes", cache_test),
            ];
            crash::run_named_tests(&tests);
        }
    }
}
