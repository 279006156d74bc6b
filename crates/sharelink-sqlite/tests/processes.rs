//! Tests that need more than one OS process (`harness = false`).
//!
//! Run without arguments, this binary is the parent: it runs the SIGKILL
//! crash test (`SHARELINK_CRASH_ITERATIONS` kills, default 20) and the
//! two-process race, re-executing itself as the children.

#![allow(missing_docs, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sharelink_sqlite::{SqliteOptions, SqliteStorage, Synchronous};
use sharelink_testkit::crash;

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
        _ => {
            let tests: [(&str, fn()); 3] = [
                ("crash_full_sync", || crash_test("full")),
                ("crash_normal_sync", || crash_test("normal")),
                ("two_process_race", race_test),
            ];
            crash::run_named_tests(&tests);
        }
    }
}
