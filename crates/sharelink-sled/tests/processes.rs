//! Tests that need more than one OS process (`harness = false`).
//!
//! Run without arguments, this binary is the parent: it runs the SIGKILL
//! crash test (`SHARELINK_CRASH_ITERATIONS` kills, default 20) re-executing
//! itself as the child. sled locks its directory, so there is no
//! cross-process race to run: one process at a time owns a sled store.

#![allow(missing_docs, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sharelink_sled::{SledOptions, SledStorage};
use sharelink_testkit::crash::{self, Expect};

fn open(path: &Path, flush: bool) -> SledStorage {
    let options = SledOptions {
        flush_every_write: flush,
        ..SledOptions::default()
    };
    SledStorage::open(path, &options).expect("open sled store")
}

fn me() -> PathBuf {
    std::env::current_exe().expect("current exe")
}

fn crash_test(flush: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.sled");
    let iterations = crash::iterations_from_env();
    let expect = if flush {
        Expect::Durable
    } else {
        Expect::ConsistentOnly
    };
    let mode = if flush { "flush" } else { "no-flush" };
    let report = crash::crash_parent(
        iterations,
        expect,
        &|| {
            let mut c = Command::new(me());
            c.arg("crash-child").arg(&path).arg(mode);
            c
        },
        &|| open(&path, flush),
    );
    println!(
        "sled ({mode}) crash: {} SIGKILLs survived, store reopened consistent every time; \
         {} acknowledged shares checked present",
        report.kills, report.acked_shares
    );
    assert_eq!(report.kills, iterations);
    if flush {
        assert!(
            report.acked_shares > 0,
            "the child never acknowledged a share"
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("crash-child") => {
            let store = open(Path::new(&args[2]), args[3] == "flush");
            crash::crash_child(&store);
        }
        _ => {
            let tests: [(&str, fn()); 2] = [
                ("crash_flush", || crash_test(true)),
                ("crash_no_flush_stays_consistent", || crash_test(false)),
            ];
            crash::run_named_tests(&tests);
        }
    }
}
