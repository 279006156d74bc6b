//! The README's main command works on every storage choice.

use std::process::Command;

/// `cargo test` builds the examples next to the test binaries:
/// `target/<profile>/examples/quickstart`.
fn example_binary() -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    let profile_dir = deps.parent().and_then(|d| d.parent()).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

fn run(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(example_binary())
        .args(args)
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn quickstart_runs_the_whole_flow_on_each_store() {
    for storage in ["sqlite", "sled", "memory"] {
        let out = run(&["--storage", storage]);
        assert!(
            out.contains("3. wrong password refused: InvalidResource.SharePwd (400)"),
            "{out}"
        );
        assert!(
            out.contains("4. share token issued, expires_in=7200s"),
            "{out}"
        );
        assert!(
            out.contains("5. download of report.pdf authorized"),
            "{out}"
        );
        assert!(
            out.contains("6. APK download refused: ForbiddenFileType.Download (403)"),
            "{out}"
        );
    }
}
