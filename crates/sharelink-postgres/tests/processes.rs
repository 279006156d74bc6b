//! Tests that need more than one OS process (`harness = false`), against
//! PostgreSQL: a child killed with SIGKILL in the middle of its writes
//! loses nothing it was told was stored, and two processes racing one quota
//! and one download limit get exactly `limit` successes between them.
//!
//! Run without arguments, this binary is the parent; it re-executes itself
//! as the children, which connect to the parent's schema.

#![allow(missing_docs, clippy::print_stdout)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use sharelink_core::NoFaults;
use sharelink_postgres::testing::{database_ready, fresh_store, test_database_url};
use sharelink_postgres::{PostgresOptions, PostgresStorage};
use sharelink_testkit::crash;

fn open(schema: &str) -> PostgresStorage {
    let mut options = PostgresOptions::new(test_database_url());
    options.schema = Some(schema.to_owned());
    PostgresStorage::connect(&options).expect("connect to the parent's schema")
}

fn me() -> PathBuf {
    std::env::current_exe().expect("current exe")
}

fn crash_test() {
    let (store, guard) = fresh_store(Arc::new(NoFaults)).expect("a fresh schema");
    drop(store);
    let schema = guard.schema().to_owned();
    let iterations = crash::iterations_from_env();
    let report = crash::crash_parent(
        iterations,
        crash::Expect::Durable,
        &|| {
            let mut c = Command::new(me());
            c.arg("crash-child").arg(&schema);
            c
        },
        &|| open(&schema),
    );
    println!(
        "postgres crash: {} SIGKILLs survived; {} acknowledged shares all present; \
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
    let (store, guard) = fresh_store(Arc::new(NoFaults)).expect("a fresh schema");
    const ATTEMPTS: usize = 150;
    const QUOTA: u32 = 173;
    const DOWNLOADS: u64 = 97;
    crash::race_setup(&store, DOWNLOADS);
    drop(store);
    let children = (0..2)
        .map(|_| {
            let mut c = Command::new(me());
            c.arg("race-child")
                .arg(guard.schema())
                .arg(ATTEMPTS.to_string())
                .arg(QUOTA.to_string());
            c
        })
        .collect();
    let (quota_ok, use_ok) = crash::race_parent(children);
    println!(
        "postgres two-process race: {} attempts, quota successes {quota_ok} (limit {QUOTA}), \
         download successes {use_ok} (limit {DOWNLOADS})",
        2 * ATTEMPTS
    );
    assert_eq!(quota_ok, QUOTA as usize);
    assert_eq!(use_ok as u64, DOWNLOADS);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("crash-child") => crash::crash_child(&open(&args[2])),
        Some("race-child") => crash::race_child(
            &open(&args[2]),
            args[3].parse().expect("attempts"),
            args[4].parse().expect("limit"),
        ),
        _ => {
            if !database_ready() {
                return;
            }
            let tests: [(&str, fn()); 2] = [("crash", crash_test), ("two_process_race", race_test)];
            crash::run_named_tests(&tests);
        }
    }
}
