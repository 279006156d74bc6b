//! Request logs carry spans (method, path, action, request id, status) and
//! never a secret: not the password, the share token, the access token nor
//! a download grant.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{ALICE_DRIVE, BOB_DRIVE, TestServer};
use serde_json::json;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_have_spans_and_no_secrets() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let s = TestServer::start();
    let alice = TestServer::bearer(&s.alice);
    let bob = TestServer::bearer(&s.bob);
    let password = "Hunter2-Secret";
    let r = s.post(
        "/v2/share_link/create",
        json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "share_pwd": password }),
        &[
            ("authorization", &alice),
            ("x-acs-action", "CreateShareLink"),
        ],
    );
    let id = r.text("share_id");
    s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": id, "share_pwd": "Wrong-Guess-Secret" }),
        &[],
    )
    .assert_error(400, "InvalidResource.SharePwd");
    let token = s.token(&id, Some(password));
    let st = [
        ("x-share-token", token.as_str()),
        ("authorization", bob.as_str()),
    ];
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": id, "file_id": "welcome" }),
        &st,
    );
    let url = r.text("url");
    let grant = url.split("grant=").nth(1).unwrap().to_owned();
    assert_eq!(s.get(&url, &[]).status, 200);
    s.post(
        "/v2/file/copy",
        json!({ "share_id": id, "file_id": "welcome", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root" }),
        &st,
    );
    s.post(
        "/v2/file/list",
        json!({ "share_id": id, "parent_file_id": "root" }),
        &[("x-share-token", "v1.garbage")],
    );
    let key_file = std::fs::read_to_string(s.data_dir().join("keys")).unwrap();
    let sign_line = key_file.lines().find(|l| l.starts_with("sign ")).unwrap();
    let key_b64 = sign_line.split_whitespace().nth(2).unwrap().to_owned();
    drop(s);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request_id="), "no request spans in:\n{logs}");
    assert!(logs.contains("path=/v2/share_link/create"), "{logs}");
    assert!(logs.contains("action=CreateShareLink"), "{logs}");
    assert!(logs.contains("code=\"InvalidResource.SharePwd\""), "{logs}");
    for secret in [
        password,
        "Wrong-Guess-Secret",
        token.as_str(),
        &token[token.len() - 20..],
        grant.as_str(),
        &grant[grant.len() - 20..],
        alice.trim_start_matches("Bearer "),
        bob.trim_start_matches("Bearer "),
        key_b64.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "a secret leaked into the logs: {secret}"
        );
    }
}
