//! The `sharelink-server` binary itself: `serve` (the README's main
//! command), `add-user`, `import`, `set-tenant`, and its refusals.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sharelink-server"))
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A `serve` child that is killed on drop.
struct Serving {
    child: Child,
    base: String,
    banner: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path, extra: &[&str]) -> Serving {
    let mut child = bin()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (base, first) = common::served_address(&mut out);
    // The rest of the banner (the walk-through on first start) follows at once.
    let mut banner = first.clone();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        banner.push_str(&line);
        if line.contains("Demo access tokens") || line.contains("to_parent_file_id") {
            break;
        }
        line.clear();
    }
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    Serving {
        child,
        base,
        banner,
    }
}

fn post(base: &str, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.post(format!("{base}{path}")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().unwrap();
    let status = res.status().as_u16();
    let text = res.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn serve_seeds_once_and_the_admin_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    // First start: seeds, prints the walk-through, writes 0600 secrets.
    let server = serve(dir.path(), &[]);
    assert!(server.banner.contains("First start"), "{}", server.banner);
    assert!(server.banner.contains("curl"), "{}", server.banner);
    // ... and the link of a demo share, which opens as a page.
    let demo = std::fs::read_to_string(dir.path().join("demo-share")).unwrap();
    let link = format!("{}/s/{}", server.base, demo.trim());
    assert!(
        server.banner.contains(&format!(
            "Open the demo share in your browser: {link} (extraction code s3cret)"
        )),
        "{}",
        server.banner
    );
    let page = reqwest::blocking::get(&link).unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("Alice&#39;s holiday"));
    #[cfg(unix)]
    for f in ["keys", "alice.token", "bob.token", "demo-share"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    let alice = std::fs::read_to_string(dir.path().join("alice.token")).unwrap();
    let (status, share) = post(
        &server.base,
        "/v2/share_link/create",
        json!({ "drive_id": "drive-demo-alice", "file_id_list": ["welcome"] }),
        Some(alice.trim()),
    );
    assert_eq!(status, 201, "{share}");
    let key_before = std::fs::read(dir.path().join("keys")).unwrap();
    drop(server);

    // add-user prints only the token on stdout; it works at once.
    let (ok, token, err) = run(&[
        "add-user",
        "--data-dir",
        d,
        "--user",
        "carol",
        "--name",
        "Carol",
    ]);
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("dev-") && token.len() == 36, "{token:?}");
    assert!(err.contains("drive-demo-carol"), "{err}");

    // `demo`/`x-y` and `demo-x`/`y` would both be drive-demo-x-y: the second
    // gets its own drive instead of failing halfway.
    let (ok, _, first) = run(&["add-user", "--data-dir", d, "--user", "x-y"]);
    assert!(ok, "{first}");
    assert!(first.contains("(drive drive-demo-x-y)"), "{first}");
    let (ok, _, second) = run(&[
        "add-user",
        "--data-dir",
        d,
        "--tenant",
        "demo-x",
        "--user",
        "y",
    ]);
    assert!(ok, "{second}");
    assert!(second.contains("(drive drive-demo-x-y-2)"), "{second}");

    // import a local folder into carol's drive
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("album")).unwrap();
    std::fs::write(src.path().join("album/a.txt"), b"alpha").unwrap();
    std::fs::write(src.path().join("album/b.apk"), b"beta").unwrap();
    let album = src.path().join("album");
    let (ok, out, err) = run(&[
        "import",
        "--data-dir",
        d,
        "--user",
        "carol",
        "--from",
        album.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("imported 3 item(s)"), "{out}");

    // set-tenant: a custom domain lifts the APK rule (read at start)
    let (ok, out, err) = run(&[
        "set-tenant",
        "--data-dir",
        d,
        "--tenant",
        "demo",
        "--custom-domain",
        "true",
        "--create-limit",
        "7",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("custom domain true"), "{out}");

    // Second start: no new seed, the same key, the share survived.
    let server = serve(dir.path(), &[]);
    assert!(!server.banner.contains("First start"), "{}", server.banner);
    assert!(
        server.banner.contains("Open the demo share"),
        "still printed: {}",
        server.banner
    );
    assert_eq!(std::fs::read(dir.path().join("keys")).unwrap(), key_before);
    let id = share["share_id"].as_str().unwrap();
    let (status, _) = post(
        &server.base,
        "/v2/share_link/get_by_anonymous",
        json!({ "share_id": id }),
        None,
    );
    assert_eq!(status, 200);

    // carol shares the imported album, APK included; a custom domain allows it
    let (status, list) = post(
        &server.base,
        "/v2/file/list",
        json!({ "drive_id": "drive-demo-carol", "parent_file_id": "root" }),
        Some(&token),
    );
    assert_eq!(status, 200, "{list}");
    let album_id = list["items"][0]["file_id"].as_str().unwrap().to_owned();
    let (status, share) = post(
        &server.base,
        "/v2/share_link/create",
        json!({ "drive_id": "drive-demo-carol", "file_id_list": [album_id] }),
        Some(&token),
    );
    assert_eq!(status, 201, "{share}");
    let sid = share["share_id"].as_str().unwrap();
    let (_, t) = post(
        &server.base,
        "/v2/share_link/get_share_token",
        json!({ "share_id": sid }),
        None,
    );
    let st = t["share_token"].as_str().unwrap();
    let client = reqwest::blocking::Client::new();
    let files: Value = client
        .post(format!("{}/v2/file/list", server.base))
        .header("x-share-token", st)
        .json(&json!({ "share_id": sid, "parent_file_id": album_id, "order_by": "name" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let apk = files["items"][1]["file_id"].as_str().unwrap();
    assert_eq!(files["items"][1]["name"], "b.apk");
    let url: Value = client
        .post(format!("{}/v2/file/get_download_url", server.base))
        .header("x-share-token", st)
        .json(&json!({ "share_id": sid, "file_id": apk }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let bytes = reqwest::blocking::get(url["url"].as_str().unwrap())
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(bytes.as_ref(), b"beta");
}

#[test]
fn serve_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &["--storage", "sled"]);
    assert!(server.banner.contains("Sled"), "{}", server.banner);
    let alice = std::fs::read_to_string(dir.path().join("alice.token")).unwrap();
    let (status, _) = post(
        &server.base,
        "/v2/share_link/create",
        json!({ "drive_id": "drive-demo-alice", "file_id_list": ["photos"] }),
        Some(alice.trim()),
    );
    assert_eq!(status, 201);
    assert!(dir.path().join("shares.sled").is_dir());
}

#[test]
fn bad_command_lines_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["frobnicate"],
        vec!["serve", "--listen", "not-an-address", "--data-dir", d],
        vec!["serve", "--storage", "postgres", "--data-dir", d],
        vec!["serve", "--bogus", "1"],
        vec!["add-user", "--data-dir", d],
        vec!["add-user", "--data-dir", d, "--user", "bad\nname"],
        vec![
            "set-tenant",
            "--data-dir",
            d,
            "--tenant",
            "t",
            "--create-limit",
            "-3",
        ],
        vec![
            "set-tenant",
            "--data-dir",
            d,
            "--tenant",
            "t",
            "--custom-domain",
            "maybe",
        ],
        vec![
            "import",
            "--data-dir",
            d,
            "--user",
            "nobody",
            "--from",
            "/nonexistent",
        ],
        vec!["add-user", "--user"],
    ] {
        let (ok, _, err) = run(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    let (ok, out, _) = run(&["--help"]);
    assert!(ok && out.contains("USAGE"));
}

/// The sign line of a key file: `(key id, base64 secret)`.
fn signing_line(dir: &std::path::Path) -> (String, String) {
    let text = std::fs::read_to_string(dir.join("keys")).unwrap();
    let line = text.lines().find(|l| l.starts_with("sign ")).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[1].to_owned(), fields[2].to_owned())
}

/// A new share of alice's and a share token for it: `(share id, token)`.
fn share_token(server: &Serving, alice: &str) -> (String, String) {
    let (status, share) = post(
        &server.base,
        "/v2/share_link/create",
        json!({ "drive_id": "drive-demo-alice", "file_id_list": ["welcome"] }),
        Some(alice),
    );
    assert_eq!(status, 201, "{share}");
    let (status, token) = post(
        &server.base,
        "/v2/share_link/get_share_token",
        json!({ "share_id": share["share_id"] }),
        None,
    );
    assert_eq!(status, 200, "{token}");
    (
        share["share_id"].as_str().unwrap().to_owned(),
        token["share_token"].as_str().unwrap().to_owned(),
    )
}

/// Lists a share's root with a share token; returns the status.
fn list_root(server: &Serving, share_id: &str, token: &str) -> u16 {
    reqwest::blocking::Client::new()
        .post(format!("{}/v2/file/list", server.base))
        .header("x-share-token", token)
        .json(&json!({ "share_id": share_id, "parent_file_id": "root" }))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// A data directory from before key files keeps its key: it moves into
/// `keys` (and `signing-key` goes), so its tokens stay valid.
#[test]
fn an_older_signing_key_moves_into_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = base64_of(&[42u8; 32]);
    std::fs::write(dir.path().join("signing-key"), format!("kold {secret}\n")).unwrap();
    let server = serve(dir.path(), &[]);
    assert_eq!(signing_line(dir.path()), ("kold".to_owned(), secret));
    assert!(!dir.path().join("signing-key").exists());
    let alice = std::fs::read_to_string(dir.path().join("alice.token")).unwrap();
    assert!(share_token(&server, alice.trim()).1.starts_with("v1.kold."));
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A broken key file stops the server at start with a message that names
/// the line, never the secret.
#[test]
fn a_broken_key_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let secret = base64_of(&[9u8; 32]);
    std::fs::write(
        dir.path().join("keys"),
        format!("sign k1 {secret} 2026-12-02T09:00:00Z\nsign k2 {secret} not-a-time\n"),
    )
    .unwrap();
    let (ok, _, err) = run(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("line 2") && err.contains("not RFC 3339"),
        "{err}"
    );
    assert!(!err.contains(&secret), "{err}");
}

/// `rotate-key` waits for every live instance: one that does not
/// acknowledge the new file blocks promotion (the key stays verify-only,
/// and the server keeps signing with the old one); once it is gone the
/// next run promotes that same key, and the server signs with it.
#[test]
fn rotate_key_promotes_only_what_every_instance_knows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) = run(&["rotate-key", "--data-dir", d]);
    assert!(!ok);
    assert!(err.contains("no key file"), "{err}");

    let server = serve(dir.path(), &[]);
    let alice = std::fs::read_to_string(dir.path().join("alice.token")).unwrap();
    let (old, _) = signing_line(dir.path());
    let before = share_token(&server, alice.trim());
    let seen = dir.path().join("keys.seen");
    assert_eq!(
        std::fs::read_dir(&seen).unwrap().count(),
        1,
        "the server's own acknowledgement"
    );

    // A live instance stuck on another key file.
    std::fs::write(
        seen.join("stuck-1"),
        "00000000000000000000000000000000 10.0.0.9:8080\n",
    )
    .unwrap();
    let (ok, out, err) = run(&["rotate-key", "--data-dir", d, "--wait", "1.5"]);
    assert!(!ok, "{out}");
    assert!(err.contains("stuck-1 (10.0.0.9:8080)"), "{err}");
    assert!(err.contains("verify-only"), "{err}");
    let text = std::fs::read_to_string(dir.path().join("keys")).unwrap();
    let pending: Vec<&str> = text.lines().filter(|l| l.starts_with("verify ")).collect();
    assert_eq!(pending.len(), 1, "{text}");
    let new = pending[0].split_whitespace().nth(1).unwrap().to_owned();
    assert!(
        share_token(&server, alice.trim())
            .1
            .starts_with(&format!("v1.{old}."))
    );
    let (ok, _, err) = run(&["rotate-key", "--data-dir", d, "--step", "sideways"]);
    assert!(!ok && err.contains("all, add, promote or retire"), "{err}");

    std::fs::remove_file(seen.join("stuck-1")).unwrap();
    let (ok, out, err) = run(&["rotate-key", "--data-dir", d, "--wait", "10"]);
    assert!(ok, "{err}");
    assert!(
        !out.contains("added key"),
        "the pending key is reused: {out}"
    );
    assert!(out.contains("every live instance (1)"), "{out}");
    assert!(
        out.contains(&format!("key {new} signs from now on")),
        "{out}"
    );
    assert_eq!(signing_line(dir.path()).0, new);
    // The server re-reads the file within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !share_token(&server, alice.trim())
        .1
        .starts_with(&format!("v1.{new}."))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "still signing with {old}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The old key still verifies what it signed.
    assert_eq!(list_root(&server, &before.0, &before.1), 200);
    let (ok, out, _) = run(&["rotate-key", "--data-dir", d, "--step", "retire"]);
    assert!(
        ok && out.trim().is_empty(),
        "nothing is due to retire yet: {out}"
    );
}
