//! Every endpoint on its happy path, the SDK's quirks, and the same on sled.

use super::*;

#[test]
fn every_endpoint_happy_path() {
    let s = TestServer::start();
    let alice = auth(&s.alice);
    let bob = auth(&s.bob);

    // create: 201, PDS fields, times to the millisecond, "" = never expires
    let r = s.post(
        "/v2/share_link/create",
        json!({
            "drive_id": ALICE_DRIVE, "file_id_list": ["photos", "welcome"], "share_pwd": "pw1",
            "share_name": "holiday", "description": "d", "expiration": "",
            "preview_limit": 10, "download_limit": 0
        }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.status, 201);
    let share = r.json();
    let id = share["share_id"].as_str().unwrap().to_owned();
    assert_eq!(share["expiration"], "");
    assert_eq!(share["created_at"], "2026-11-27T02:00:00.000Z");
    assert_eq!(share["status"], "enabled");
    assert_eq!(share["has_pwd"], true);
    assert_eq!(share["share_pwd"], "", "passwords are never shown back");
    assert_eq!(share["file_id_list"], json!(["photos", "welcome"]));
    assert_eq!(share["preview_limit"], 10);

    // get / get_by_anonymous
    assert_eq!(s.share(&id)["share_name"], "holiday");
    let r = s.post(
        "/v2/share_link/get_by_anonymous",
        json!({ "share_id": id }),
        &[],
    );
    assert_eq!(r.status, 200);
    let public = r.json();
    assert_eq!(public["creator_name"], "Ali**ll");
    assert_eq!(public["has_pwd"], true);
    assert!(public.get("share_pwd").is_none() && public.get("file_id_list").is_none());

    // get_share_token
    let r = s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": id, "share_pwd": "pw1", "expire_sec": 600 }),
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["expires_in"], 600);
    assert_eq!(r.json()["expire_time"], "2026-11-27T02:10:00.000Z");
    let token = r.text("share_token");
    let st = [("x-share-token", token.as_str())];

    // file list (root = the shared items, with share_id), a folder, get
    let r = s.post(
        "/v2/file/list",
        json!({ "share_id": id, "parent_file_id": "root", "order_by": "name" }),
        &st,
    );
    assert_eq!(r.status, 200);
    let items = r.json()["items"].as_array().unwrap().clone();
    let names: Vec<_> = items.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["photos", "welcome.txt"]);
    assert!(
        items
            .iter()
            .all(|f| f["parent_file_id"] == "root" && f["share_id"] == id.as_str())
    );
    assert_eq!(r.json()["next_marker"], "");
    let r = s.post(
        "/v2/file/list",
        json!({ "share_id": id, "parent_file_id": "photos", "order_by": "name", "limit": 1 }),
        &st,
    );
    assert_eq!(r.json()["items"][0]["name"], "notes.md");
    let marker = r.text("next_marker");
    assert!(!marker.is_empty());
    let r = s.post(
        "/v2/file/list",
        json!({ "share_id": id, "parent_file_id": "photos", "order_by": "name", "limit": 1, "marker": marker }),
        &st,
    );
    assert_eq!(r.json()["items"][0]["name"], "sunset.jpg");
    assert_eq!(r.json()["items"][0]["parent_file_id"], "photos");
    assert_eq!(r.json()["next_marker"], "");
    let r = s.post(
        "/v2/file/get",
        json!({ "share_id": id, "file_id": "sunset" }),
        &st,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["category"], "image");
    assert_eq!(r.json()["content_hash_name"], "sha1");

    // get_download_url, fetch twice: counted once
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": id, "file_id": "welcome", "expire_sec": 60 }),
        &st,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["expiration"], "2026-11-27T02:01:00.000Z");
    assert_eq!(r.json()["size"], 53);
    let url = r.text("url");
    assert!(url.starts_with(&s.base), "{url}");
    for _ in 0..2 {
        let d = s.get(&url, &[]);
        assert_eq!(d.status, 200);
        assert_eq!(
            d.body,
            b"Hello from sharelink! This file was shared with you.\n"
        );
        assert_eq!(d.headers["content-type"], "text/plain; charset=utf-8");
    }
    assert_eq!(s.share(&id)["download_count"], 1);

    // GET /v2/file/download with the share token: counted now
    let d = s.get(
        &s.url(&format!("/v2/file/download?share_id={id}&file_id=sunset")),
        &st,
    );
    assert_eq!(d.status, 200);
    assert_eq!(&d.body[..2], &[0xFF, 0xD8]);
    assert_eq!(s.share(&id)["download_count"], 2);

    // copy: file 201, folder 202 + async_task_id; bob's drive has them
    let both = [
        ("x-share-token", token.as_str()),
        ("authorization", bob.as_str()),
    ];
    let r = s.post(
        "/v2/file/copy",
        json!({ "share_id": id, "file_id": "welcome", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root" }),
        &both,
    );
    assert_eq!(r.status, 201, "{}", r.json());
    assert!(r.json().get("async_task_id").is_none());
    let r = s.post(
        "/v2/file/copy",
        json!({ "share_id": id, "file_id": "photos", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root" }),
        &both,
    );
    assert_eq!(r.status, 202);
    let photos_copy = r.text("file_id");
    let task = r.text("async_task_id");
    // The folder's contents are copied in the background: poll its task.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let r = loop {
        let r = s.post(
            "/v2/async_task/get",
            json!({ "async_task_id": task }),
            &[("authorization", &bob)],
        );
        assert_eq!(r.status, 200);
        match r.json()["state"].as_str() {
            Some("Succeed") => break r,
            Some("Running") => assert!(std::time::Instant::now() < deadline, "never finished"),
            other => panic!("unexpected task state {other:?}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(r.json()["total_process"], 3, "photos, sunset.jpg, notes.md");
    assert_eq!(r.json()["consumed_process"], 3);
    // not alice's task; and an unknown one
    for (who, id) in [(&alice, task.as_str()), (&bob, "copy-nope")] {
        s.post(
            "/v2/async_task/get",
            json!({ "async_task_id": id }),
            &[("authorization", who)],
        )
        .assert_error(404, "NotFound.AsyncTask");
    }
    let r = s.post(
        "/v2/file/list",
        json!({ "drive_id": BOB_DRIVE, "parent_file_id": photos_copy, "order_by": "name" }),
        &[("authorization", &bob)],
    );
    let names: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["notes.md", "sunset.jpg"]);
    assert_eq!(s.share(&id)["save_count"], 2);

    // bob downloads his copy through a drive URL
    let r = s.post(
        "/v2/file/list",
        json!({ "drive_id": BOB_DRIVE, "parent_file_id": "root", "type": "file" }),
        &[("authorization", &bob)],
    );
    let copied = r.json()["items"][0]["file_id"].as_str().unwrap().to_owned();
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "drive_id": BOB_DRIVE, "file_id": copied }),
        &[("authorization", &bob)],
    );
    assert_eq!(s.get(&r.text("url"), &[]).body.len(), 53);

    // update, list, search
    let r = s.post(
        "/v2/share_link/update",
        json!({ "share_id": id, "share_name": "renamed", "save_limit": 9, "expiration": "2026-12-01T00:00:00.000Z" }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["share_name"], "renamed");
    assert_eq!(r.json()["expiration"], "2026-12-01T00:00:00.000Z");
    s.clock.advance(Duration::seconds(1));
    let other = s.create(json!({ "file_id_list": ["welcome"] }));
    let r = s.post(
        "/v2/share_link/list",
        json!({ "creator": "alice", "limit": 1, "order_by": "created_at", "order_direction": "DESC" }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"][0]["share_id"], other.as_str());
    let r = s.post(
        "/v2/share_link/list",
        json!({ "limit": 1, "marker": r.text("next_marker") }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.json()["items"][0]["share_id"], id.as_str());
    assert_eq!(r.json()["next_marker"], "");
    // by name, ascending by default: "renamed" < "welcome.txt"
    let r = s.post(
        "/v2/share_link/list",
        json!({ "order_by": "share_name" }),
        &[("authorization", &alice)],
    );
    let names: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["share_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["renamed", "welcome.txt"]);
    let r = s.post(
        "/v2/share_link/list",
        json!({ "order_by": "created_at", "order_direction": "ASC", "limit": 1 }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.json()["items"][0]["share_id"], id.as_str());
    assert!(!r.text("next_marker").is_empty());
    let r = s.post(
        "/v2/share_link/search",
        json!({ "creators": ["alice"], "query": "share_name match 'RENAM' and status = 'enabled'", "return_total_count": true }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["total_count"], 1);
    assert_eq!(r.json()["items"][0]["share_id"], id.as_str());

    // cancel: 204, no body; then the token, the URL and the public view refuse
    let r = s.post(
        "/v2/share_link/cancel",
        json!({ "share_id": id }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    s.post(
        "/v2/file/list",
        json!({ "share_id": id, "parent_file_id": "root" }),
        &st,
    )
    .assert_error(401, "ShareLinkTokenInvalid");
    s.get(&url, &[]).assert_error(403, "ShareLink.Cancelled");
    s.post(
        "/v2/share_link/get_by_anonymous",
        json!({ "share_id": id }),
        &[],
    )
    .assert_error(403, "ShareLink.Cancelled");
    // include_cancelled lists it with status disabled
    let r = s.post(
        "/v2/share_link/list",
        json!({ "include_cancelled": true }),
        &[("authorization", &alice)],
    );
    let statuses: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["enabled", "disabled"]);
}

#[test]
fn sdk_quirks_are_accepted() {
    let s = TestServer::start();
    let id = s.create(json!({ "file_id_list": ["welcome"] }));
    // The exact headers the Python SDK sends, a Host header with a scheme,
    // unknown fields.
    let r = s.post(
        "/v2/share_link/get_by_anonymous",
        json!({ "share_id": id, "unknown_field": {"nested": [1, 2]}, "bogus": null }),
        &[
            ("host", "http://127.0.0.1:8080"),
            ("x-acs-version", "2022-03-01"),
            ("x-acs-action", "GetShareLinkByAnonymous"),
            ("x-acs-signature-nonce", "b7358f558135e0b444d809e7505d4a0a"),
            ("x-acs-signature-method", "HMAC-SHA1"),
            ("x-acs-signature-version", "1.0"),
            ("date", "Fri, 27 Nov 2026 04:58:33 GMT"),
            ("accept", "application/json"),
            (
                "user-agent",
                "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
            ),
        ],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // a Host header (with a scheme, or naming another site) never decides
    // where a signed URL points: the server's own address does
    let t = s.token(&id, None);
    for host in [
        "http://localhost:1234",
        "https://evil.example.com",
        "evil.example.com",
    ] {
        let r = s.post(
            "/v2/file/get_download_url",
            json!({ "share_id": id, "file_id": "welcome" }),
            &[("x-share-token", &t), ("host", host)],
        );
        assert!(
            r.text("url")
                .starts_with(&format!("{}/v2/file/download?", s.base)),
            "{host}: {}",
            r.text("url")
        );
    }
    // every response carries a request id, successes included
    assert_eq!(r.headers["x-ca-request-id"].len(), 36);
}

#[test]
fn works_on_sled_too() {
    let s = TestServer::start_with(StorageKind::Sled, sharelink_http::ApiConfig::default());
    let id = s.create(json!({ "file_id_list": ["welcome"], "share_pwd": "pw" }));
    let t = s.token(&id, Some("pw"));
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": id, "file_id": "welcome" }),
        &[("x-share-token", &t)],
    );
    assert_eq!(s.get(&r.text("url"), &[]).body.len(), 53);
    assert_eq!(s.share(&id)["download_count"], 1);
}
