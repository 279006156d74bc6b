//! End-to-end over real HTTP: every endpoint, every reachable error row of
//! the core's table and the HTTP layer's, and bad input of every kind.

mod common;

use chrono::Duration;
use common::{ALICE_DRIVE, BOB_DRIVE, TestServer};
use serde_json::json;
use sharelink_core::{ShareId, TenantId, TenantPolicy};
use sharelink_server::StorageKind;

fn auth(token: &str) -> String {
    TestServer::bearer(token)
}

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
fn share_state_errors() {
    let s = TestServer::start();
    let alice = auth(&s.alice);
    let bob = auth(&s.bob);

    // NotFound.ShareLink
    s.post(
        "/v2/share_link/get_by_anonymous",
        json!({ "share_id": "AAAAAAAAAAAAAAAAAAAAAA" }),
        &[],
    )
    .assert_error(404, "NotFound.ShareLink");

    // InvalidResource.SharePwd (wrong and missing)
    let id = s.create(json!({ "file_id_list": ["welcome"], "share_pwd": "pw" }));
    s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": id, "share_pwd": "no" }),
        &[],
    )
    .assert_error(400, "InvalidResource.SharePwd");
    s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": id }),
        &[],
    )
    .assert_error(400, "InvalidResource.SharePwd");

    // ShareLink.Expired
    let soon =
        s.create(json!({ "file_id_list": ["welcome"], "expiration": "2026-11-27T03:00:00.000Z" }));
    let token = s.token(&soon, None);
    s.clock.advance(Duration::hours(1));
    s.post(
        "/v2/share_link/get_by_anonymous",
        json!({ "share_id": soon }),
        &[],
    )
    .assert_error(403, "ShareLink.Expired");
    s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": soon }),
        &[],
    )
    .assert_error(403, "ShareLink.Expired");
    s.post(
        "/v2/file/get",
        json!({ "share_id": soon, "file_id": "welcome" }),
        &[("x-share-token", &token)],
    )
    .assert_error(401, "ShareLinkTokenInvalid");
    assert_eq!(s.share(&soon)["expired"], true);

    // ShareLink.Forbidden (an administrator's action, through the engine)
    let forbidden = s.create(json!({ "file_id_list": ["welcome"] }));
    s.app
        .engine
        .forbid_share_link(&forbidden.parse::<ShareId>().unwrap())
        .unwrap();
    s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": forbidden }),
        &[],
    )
    .assert_error(403, "ShareLink.Forbidden");
    assert_eq!(s.share(&forbidden)["status"], "forbidden");

    // ShareLink.Cancelled; cancelling twice
    let gone = s.create(json!({ "file_id_list": ["welcome"] }));
    let r = s.post(
        "/v2/share_link/cancel",
        json!({ "share_id": gone }),
        &[("authorization", &alice)],
    );
    assert_eq!(r.status, 204);
    s.post(
        "/v2/share_link/cancel",
        json!({ "share_id": gone }),
        &[("authorization", &alice)],
    )
    .assert_error(403, "ShareLink.Cancelled");

    // ForbiddenNoPermission.ShareLink: bob is not the creator; require_login
    let open = s.create(json!({ "file_id_list": ["welcome"] }));
    for path in [
        "/v2/share_link/get",
        "/v2/share_link/update",
        "/v2/share_link/cancel",
    ] {
        s.post(
            path,
            json!({ "share_id": open }),
            &[("authorization", &bob)],
        )
        .assert_error(403, "ForbiddenNoPermission.ShareLink");
    }
    let members = s.create(json!({ "file_id_list": ["welcome"], "require_login": true }));
    s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": members }),
        &[],
    )
    .assert_error(403, "ForbiddenNoPermission.ShareLink");
    let r = s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": members }),
        &[("authorization", &bob)],
    );
    assert_eq!(r.status, 200, "a member of the tenant gets a token");
    let member_token = r.text("share_token");
    s.post(
        "/v2/file/get",
        json!({ "share_id": members, "file_id": "welcome" }),
        &[("x-share-token", &member_token)],
    )
    .assert_error(403, "ForbiddenNoPermission.ShareLink");
    let r = s.post(
        "/v2/file/get",
        json!({ "share_id": members, "file_id": "welcome" }),
        &[("x-share-token", &member_token), ("authorization", &bob)],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn access_errors() {
    let s = TestServer::start();
    let bob = auth(&s.bob);

    // ForbiddenNoPermission.Download / .Save
    let id = s.create(json!({ "file_id_list": ["photos", "welcome", "app"], "disable_download": true, "disable_save": true }));
    let t = s.token(&id, None);
    let st = [("x-share-token", t.as_str())];
    s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": id, "file_id": "welcome" }),
        &st,
    )
    .assert_error(403, "ForbiddenNoPermission.Download");
    s.get(
        &s.url(&format!("/v2/file/download?share_id={id}&file_id=welcome")),
        &st,
    )
    .assert_error(403, "ForbiddenNoPermission.Download");
    s.post(
        "/v2/file/copy",
        json!({ "share_id": id, "file_id": "welcome", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root" }),
        &[("x-share-token", &t), ("authorization", &bob)],
    )
    .assert_error(403, "ForbiddenNoPermission.Save");

    // NotFound.File: outside the share, or nonexistent
    for file in ["secret-does-not-exist", "notes-outside"] {
        s.post(
            "/v2/file/get",
            json!({ "share_id": id, "file_id": file }),
            &st,
        )
        .assert_error(404, "NotFound.File");
    }
    let only = s.create(json!({ "file_id_list": ["welcome"] }));
    let t2 = s.token(&only, None);
    s.post(
        "/v2/file/get",
        json!({ "share_id": only, "file_id": "sunset" }),
        &[("x-share-token", &t2)],
    )
    .assert_error(404, "NotFound.File");

    // limits: download_limit 1 and save_limit 1
    let lim = s.create(
        json!({ "file_id_list": ["welcome", "photos"], "download_limit": 1, "save_limit": 1 }),
    );
    let t3 = s.token(&lim, None);
    let st3 = [("x-share-token", t3.as_str())];
    // a folder is not downloadable, and that costs nothing (the one download below still works)
    s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": lim, "file_id": "photos" }),
        &st3,
    )
    .assert_error(400, "InvalidParameter");
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": lim, "file_id": "welcome" }),
        &st3,
    );
    assert_eq!(r.status, 200);
    s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": lim, "file_id": "welcome" }),
        &st3,
    )
    .assert_error(403, "ShareLink.DownloadLimitExceeded");
    let both = [
        ("x-share-token", t3.as_str()),
        ("authorization", bob.as_str()),
    ];
    let copy = json!({ "share_id": lim, "file_id": "welcome", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root", "auto_rename": true });
    assert_eq!(s.post("/v2/file/copy", copy.clone(), &both).status, 201);
    s.post("/v2/file/copy", copy, &both)
        .assert_error(403, "ShareLink.SaveLimitExceeded");
    assert_eq!(s.share(&lim)["download_count"], 1);

    // ForbiddenFileType.Download: the APK of an external share, by URL and directly
    let apk = s.create(json!({ "file_id_list": ["app"] }));
    let t4 = s.token(&apk, None);
    let st4 = [("x-share-token", t4.as_str())];
    s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": apk, "file_id": "app" }),
        &st4,
    )
    .assert_error(403, "ForbiddenFileType.Download");
    s.get(
        &s.url(&format!("/v2/file/download?share_id={apk}&file_id=app")),
        &st4,
    )
    .assert_error(403, "ForbiddenFileType.Download");
    // ...but it may be saved, and a custom domain lifts the rule
    let r = s.post(
        "/v2/file/copy",
        json!({ "share_id": apk, "file_id": "app", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root" }),
        &[("x-share-token", &t4), ("authorization", &bob)],
    );
    assert_eq!(r.status, 201);
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: true,
            ..TenantPolicy::default()
        },
    );
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": apk, "file_id": "app" }),
        &st4,
    );
    assert_eq!(r.status, 200);

    // AlreadyExist.File: copying the same name without auto_rename
    let t5 = s.token(&only, None);
    let copy = json!({ "share_id": only, "file_id": "welcome", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "root" });
    let both5 = [
        ("x-share-token", t5.as_str()),
        ("authorization", bob.as_str()),
    ];
    // bob already has welcome.txt from the limited share above
    s.post("/v2/file/copy", copy, &both5)
        .assert_error(409, "AlreadyExist.File");
    // NotFound.File for a missing target folder
    s.post(
        "/v2/file/copy",
        json!({ "share_id": only, "file_id": "welcome", "to_drive_id": BOB_DRIVE, "to_parent_file_id": "nope" }),
        &both5,
    )
    .assert_error(404, "NotFound.File");
}

#[test]
fn token_errors() {
    let s = TestServer::start();
    let a = s.create(json!({ "file_id_list": ["welcome"] }));
    let b = s.create(json!({ "file_id_list": ["photos"] }));
    let ta = s.token(&a, None);
    let long = "v1.".repeat(2000);
    for bad in [
        "",
        "garbage",
        "v1.k.AAAA.BBBB",
        "v2.x.y.z",
        long.as_str(),
        "eyJhbGciOiJSUzI1NiIs.fake.jwt",
    ] {
        s.post(
            "/v2/file/list",
            json!({ "share_id": a, "parent_file_id": "root" }),
            &[("x-share-token", bad)],
        )
        .assert_error(401, "ShareLinkTokenInvalid");
    }
    // no header at all
    s.post(
        "/v2/file/list",
        json!({ "share_id": a, "parent_file_id": "root" }),
        &[],
    )
    .assert_error(401, "ShareLinkTokenInvalid");
    // a token from another share
    let r = s.post(
        "/v2/file/list",
        json!({ "share_id": b, "parent_file_id": "root" }),
        &[("x-share-token", &ta)],
    );
    r.assert_error(401, "ShareLinkTokenInvalid");
    // The client is not told why (that would help forge one).
    assert!(
        !r.json()["message"]
            .as_str()
            .unwrap()
            .contains("another share")
    );
    // a tampered token
    let mut tampered = ta.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    s.post(
        "/v2/file/list",
        json!({ "share_id": a, "parent_file_id": "root" }),
        &[("x-share-token", std::str::from_utf8(&tampered).unwrap())],
    )
    .assert_error(401, "ShareLinkTokenInvalid");
    // an expired token
    s.clock.advance(Duration::seconds(7200));
    s.post(
        "/v2/file/list",
        json!({ "share_id": a, "parent_file_id": "root" }),
        &[("x-share-token", &ta)],
    )
    .assert_error(401, "ShareLinkTokenInvalid");

    // a tampered or foreign download URL
    let t = s.token(&a, None);
    let r = s.post(
        "/v2/file/get_download_url",
        json!({ "share_id": a, "file_id": "welcome" }),
        &[("x-share-token", &t)],
    );
    let url = r.text("url");
    s.get(&url.replace("file_id=welcome", "file_id=sunset"), &[])
        .assert_error(403, "DownloadUrlInvalid");
    let cut = &url[..url.len() - 3];
    s.get(cut, &[]).assert_error(403, "DownloadUrlInvalid");
    s.get(
        &s.url("/v2/file/download?file_id=welcome&grant=g1.x.y.z"),
        &[],
    )
    .assert_error(403, "DownloadUrlInvalid");
    s.clock.advance(Duration::seconds(900));
    s.get(&url, &[]).assert_error(403, "DownloadUrlInvalid");
}

#[test]
fn access_token_and_drive_errors() {
    let s = TestServer::start();
    let bob = auth(&s.bob);
    let create = json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] });
    // no token, garbage token, a non-bearer scheme
    s.post("/v2/share_link/create", create.clone(), &[])
        .assert_error(401, "AccessTokenInvalid");
    s.post(
        "/v2/share_link/create",
        create.clone(),
        &[("authorization", "Bearer dev-nope")],
    )
    .assert_error(401, "AccessTokenInvalid");
    s.post(
        "/v2/share_link/create",
        create.clone(),
        &[("authorization", "Basic YTpi")],
    )
    .assert_error(401, "AccessTokenInvalid");
    // x-acs-bearer-token alone is accepted (the SDK sends both)
    let r = s.post(
        "/v2/share_link/create",
        create.clone(),
        &[("x-acs-bearer-token", &s.alice)],
    );
    assert_eq!(r.status, 201);
    // bob cannot share alice's drive, list it, or create for alice
    s.post(
        "/v2/share_link/create",
        create.clone(),
        &[("authorization", &bob)],
    )
    .assert_error(403, "ForbiddenNoPermission");
    s.post(
        "/v2/file/list",
        json!({ "drive_id": ALICE_DRIVE, "parent_file_id": "root" }),
        &[("authorization", &bob)],
    )
    .assert_error(403, "ForbiddenNoPermission");
    s.get(
        &s.url(&format!(
            "/v2/file/download?drive_id={ALICE_DRIVE}&file_id=welcome"
        )),
        &[("authorization", &bob)],
    )
    .assert_error(403, "ForbiddenNoPermission");
    s.post(
        "/v2/share_link/create",
        json!({ "drive_id": BOB_DRIVE, "file_id_list": ["x"], "user_id": "alice" }),
        &[("authorization", &bob)],
    )
    .assert_error(403, "ForbiddenNoPermission");
    s.post(
        "/v2/share_link/list",
        json!({ "creator": "alice" }),
        &[("authorization", &bob)],
    )
    .assert_error(403, "ForbiddenNoPermission");
    // sharing a file that does not exist
    s.post(
        "/v2/share_link/create",
        json!({ "drive_id": BOB_DRIVE, "file_id_list": ["nothing"] }),
        &[("authorization", &bob)],
    )
    .assert_error(404, "NotFound.File");
}

#[test]
fn quotas_and_throttling_answer_429_with_retry_after() {
    let s = TestServer::start();
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: false,
            creations_per_day: Some(2),
            accesses_per_day: Some(3),
        },
    );
    let alice = auth(&s.alice);
    let a = s.create(json!({ "file_id_list": ["welcome"] }));
    s.create(json!({ "file_id_list": ["welcome"] }));
    let r = s.post(
        "/v2/share_link/create",
        json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }),
        &[("authorization", &alice)],
    );
    r.assert_error(429, "QuotaExhausted.ShareLinkCreate");
    // t0 is 10:00 at +08:00, so the quota resets in 14 hours
    assert_eq!(r.headers["retry-after"], "50400");

    // An access is one client's first token for one share in a quota day.
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: false,
            creations_per_day: Some(10),
            accesses_per_day: Some(3),
        },
    );
    let shares: Vec<String> = (0..3)
        .map(|_| s.create(json!({ "file_id_list": ["welcome"] })))
        .collect();
    for id in &shares {
        s.token(id, None);
    }
    let r = s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": a }),
        &[],
    );
    r.assert_error(429, "QuotaExhausted.ShareLinkAccess");
    assert_eq!(r.headers["retry-after"], "50400");
    // A repeat for a share this client already opened today costs nothing.
    s.token(&shares[0], None);
    s.clock.advance(Duration::hours(14));
    s.token(&a, None);

    // password guessing: 5 free failures; the 6th failure costs a 1 s wait,
    // answered with 429 and Retry-After
    let p = s.create(json!({ "file_id_list": ["welcome"], "share_pwd": "right" }));
    for _ in 0..6 {
        s.post(
            "/v2/share_link/get_share_token",
            json!({ "share_id": p, "share_pwd": "wrong" }),
            &[],
        )
        .assert_error(400, "InvalidResource.SharePwd");
    }
    let r = s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": p, "share_pwd": "right" }),
        &[],
    );
    r.assert_error(429, "TooManyRequests");
    assert_eq!(r.headers["retry-after"], "1");
    s.clock.advance(Duration::seconds(1));
    s.token(&p, Some("right"));
}

#[test]
fn bad_input_never_gives_a_500() {
    let s = TestServer::start();
    let alice = auth(&s.alice);
    let a = [("authorization", alice.as_str())];
    let id = s.create(json!({ "file_id_list": ["welcome"] }));
    let t = s.token(&id, None);
    let st = [
        ("x-share-token", t.as_str()),
        ("authorization", alice.as_str()),
    ];

    // malformed JSON and non-objects: InvalidParameterWrongFormat
    for body in [
        "{",
        "{\"share_id\":",
        "[]",
        "null",
        "42",
        "\"x\"",
        "{\"a\":1}}",
        "\u{0}",
    ] {
        for path in [
            "/v2/share_link/get_by_anonymous",
            "/v2/share_link/create",
            "/v2/file/list",
        ] {
            s.post_raw(path, body, &a)
                .assert_error(400, "InvalidParameterWrongFormat");
        }
    }
    // not UTF-8
    s.post_raw(
        "/v2/share_link/get_by_anonymous",
        vec![0xFF, 0xFE, b'{'],
        &[],
    )
    .assert_error(400, "InvalidParameterWrongFormat");

    // wrong types: InvalidParameter naming the field
    let cases = [
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": "welcome" }),
            "file_id_list",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "download_limit": -1 }),
            "download_limit",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "download_limit": 1e30 }),
            "download_limit",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": 7, "file_id_list": ["welcome"] }),
            "drive_id",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "share_pwd": 1234 }),
            "share_pwd",
        ),
        (
            "/v2/share_link/update",
            json!({ "share_id": id, "disable_save": "yes" }),
            "disable_save",
        ),
        ("/v2/share_link/list", json!({ "limit": "ten" }), "limit"),
        (
            "/v2/share_link/get_share_token",
            json!({ "share_id": id, "expire_sec": "7200" }),
            "expire_sec",
        ),
        (
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": ["root"] }),
            "parent_file_id",
        ),
    ];
    for (path, body, field) in cases {
        let r = s.post(path, body, &st);
        r.assert_error(400, "InvalidParameter");
        assert!(
            r.text("message").contains(field),
            "{path}: {}",
            r.text("message")
        );
    }

    // missing fields: InvalidParameterMissing
    for (path, body) in [
        ("/v2/share_link/get_by_anonymous", json!({})),
        ("/v2/share_link/get_share_token", json!({ "share_id": "" })),
        (
            "/v2/share_link/create",
            json!({ "file_id_list": ["welcome"] }),
        ),
        ("/v2/share_link/get", json!({ "share_id": null })),
        ("/v2/file/list", json!({ "share_id": id })),
        ("/v2/file/get", json!({ "parent_file_id": "root" })),
        (
            "/v2/file/copy",
            json!({ "share_id": id, "file_id": "welcome", "to_parent_file_id": "root" }),
        ),
    ] {
        s.post(path, body, &st)
            .assert_error(400, "InvalidParameterMissing");
    }
    // an empty body is an empty object
    s.post_raw("/v2/share_link/get_by_anonymous", "", &[])
        .assert_error(400, "InvalidParameterMissing");

    // malformed values
    for (path, body, code) in [
        (
            "/v2/share_link/get_by_anonymous",
            json!({ "share_id": "short" }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/get_by_anonymous",
            json!({ "share_id": "bad id with spaces!!!" }),
            "InvalidParameter",
        ),
        (
            "/v2/share_link/get_by_anonymous",
            json!({ "share_id": "x".repeat(10_000) }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "expiration": "tomorrow" }),
            "InvalidParameter",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "expiration": "2020-01-01T00:00:00Z" }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "share_name": "n".repeat(129) }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "share_pwd": "p".repeat(65) }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "share_pwd": "pässword" }),
            "InvalidParameter",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": [] }),
            "InvalidParameterMissing",
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": vec!["welcome"; 101] }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/get_share_token",
            json!({ "share_id": id, "expire_sec": 7201 }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/get_share_token",
            json!({ "share_id": id, "expire_sec": -5 }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/update",
            json!({ "share_id": id, "status": "paused" }),
            "InvalidParameter",
        ),
        (
            "/v2/share_link/list",
            json!({ "limit": 101 }),
            "InvalidParameterOutOfRange",
        ),
        (
            "/v2/share_link/list",
            json!({ "marker": "not-a-marker" }),
            "InvalidParameter",
        ),
        (
            "/v2/share_link/search",
            json!({ "query": "share_name match 'x" }),
            "InvalidParameter",
        ),
        (
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": "root", "marker": "%%%" }),
            "InvalidParameter",
        ),
        (
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": "root", "order_by": "colour" }),
            "InvalidParameter",
        ),
        (
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": "root", "category": "music" }),
            "InvalidParameter",
        ),
        (
            "/v2/file/list",
            json!({ "share_id": id, "parent_file_id": "welcome" }),
            "InvalidParameter",
        ),
        (
            "/v2/file/get_download_url",
            json!({ "share_id": id, "file_id": "welcome", "expire_sec": 115_201 }),
            "InvalidParameterOutOfRange",
        ),
    ] {
        let r = s.post(path, body.clone(), &st);
        r.assert_error(400, code);
    }
    for (path, body) in [
        ("/v2/share_link/list", json!({ "order_by": "colour" })),
        (
            "/v2/share_link/list",
            json!({ "order_direction": "SIDEWAYS" }),
        ),
        ("/v2/share_link/search", json!({ "order_by": "creator" })),
    ] {
        s.post(path, body, &st)
            .assert_error(400, "InvalidParameter");
    }
    // unsupported options
    for (path, body) in [
        (
            "/v2/share_link/search",
            json!({ "query": "creator = 'bob'" }),
        ),
        (
            "/v2/share_link/create",
            json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"], "creatable": true }),
        ),
    ] {
        s.post(path, body, &st)
            .assert_error(400, "InvalidParameterNotSupported");
    }
    // a huge body: 413
    let huge = format!("{{\"share_id\":\"{}\"}}", "A".repeat(2 << 20));
    s.post_raw("/v2/share_link/get_by_anonymous", huge, &[])
        .assert_error(413, "RequestBodyTooLarge");
    // bad query strings on the download route
    s.get(&s.url("/v2/file/download"), &[])
        .assert_error(400, "InvalidParameterMissing");
    s.get(&s.url("/v2/file/download?file_id=welcome"), &[])
        .assert_error(400, "InvalidParameterMissing");
    s.get(
        &s.url("/v2/file/download?file_id=welcome&share_id=%ZZ"),
        &[],
    )
    .assert_bad_input();
    s.get(
        &s.url("/v2/file/download?file_id=welcome&share_id=AAAAAAAAAAAAAAAAAAAAAA&x=%ff"),
        &[],
    )
    .assert_error(401, "ShareLinkTokenInvalid");
    // non-ASCII header values
    let r = s
        .http
        .post(s.url("/v2/file/list"))
        .header(
            "x-share-token",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        )
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // unknown routes and methods
    s.post("/v2/share_link/nope", json!({}), &[])
        .assert_error(404, "NotFound");
    s.get(&s.url("/v2/share_link/create"), &[])
        .assert_error(405, "MethodNotAllowed");
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

#[test]
fn a_missing_blob_is_a_json_500_without_internals() {
    let s = TestServer::start();
    let id = s.create(json!({ "file_id_list": ["welcome"] }));
    let t = s.token(&id, None);
    for entry in std::fs::read_dir(s.data_dir().join("blobs")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let r = s.get(
        &s.url(&format!("/v2/file/download?share_id={id}&file_id=welcome")),
        &[("x-share-token", &t)],
    );
    r.assert_error(500, "InternalError");
    assert!(
        !r.text("message").contains("blobs"),
        "{}",
        r.text("message")
    );
}

#[test]
fn creation_quota_holds_under_concurrent_http_requests() {
    let s = TestServer::start();
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: false,
            creations_per_day: Some(13),
            accesses_per_day: None,
        },
    );
    let alice = auth(&s.alice);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    (0..5)
                        .map(|_| {
                            s.post(
                                "/v2/share_link/create",
                                json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }),
                                &[("authorization", &alice)],
                            )
                            .status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 13);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30 - 13);
}

#[test]
fn graceful_shutdown_lets_a_download_finish() {
    let mut s = TestServer::start();
    // a 4 MiB file in alice's drive
    let big: Vec<u8> = (0..4u32 << 20)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    let drive = sharelink_core::DriveId::new(ALICE_DRIVE).unwrap();
    s.app
        .data
        .drives
        .add(
            &drive,
            None,
            "big.bin",
            sharelink_server::NewContent::Bytes(&big),
            Some("big"),
            common::t0(),
        )
        .unwrap();
    let id = s.create(json!({ "file_id_list": ["big"] }));
    let t = s.token(&id, None);
    let res = s
        .http
        .get(s.url(&format!("/v2/file/download?share_id={id}&file_id=big")))
        .header("x-share-token", &t)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // Headers are in; shut down while the body is still streaming.
    let base = s.base.clone();
    s.begin_shutdown();
    assert_eq!(res.bytes().unwrap().as_ref(), big.as_slice());
    s.shutdown();
    // and the listener is closed
    assert!(reqwest::blocking::get(format!("{base}/v2/share_link/get")).is_err());
}

#[test]
fn downloads_resume_with_ranges() {
    let s = TestServer::start();
    let id = s.create(json!({ "file_id_list": ["welcome"], "download_limit": 2 }));
    let t = s.token(&id, None);
    let st = [("x-share-token", t.as_str())];
    let url = s
        .post(
            "/v2/file/get_download_url",
            json!({ "share_id": id, "file_id": "welcome" }),
            &st,
        )
        .text("url");
    let whole = s.get(&url, &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.headers["accept-ranges"], "bytes");
    assert_eq!(whole.headers["content-length"], "53");
    // resume from byte 6, a middle slice, the last 6 bytes: all free through the URL
    for (range, want, content_range) in [
        ("bytes=6-", &whole.body[6..], "bytes 6-52/53"),
        ("bytes=6-9", &whole.body[6..10], "bytes 6-9/53"),
        ("bytes=-6", &whole.body[47..], "bytes 47-52/53"),
    ] {
        let part = s.get(&url, &[("range", range)]);
        assert_eq!(part.status, 206, "{range}");
        assert_eq!(part.body, want, "{range}");
        assert_eq!(part.headers["content-range"], content_range);
        assert_eq!(
            part.headers["content-length"],
            want.len().to_string().as_str()
        );
    }
    // several ranges or garbage: the whole file
    assert_eq!(s.get(&url, &[("range", "bytes=0-1,4-5")]).status, 200);
    assert_eq!(s.get(&url, &[("range", "pages=1-2")]).body.len(), 53);
    // unsatisfiable: 416 with Content-Range
    let r = s.get(&url, &[("range", "bytes=53-")]);
    r.assert_error(416, "InvalidRange");
    assert_eq!(r.headers["content-range"], "bytes */53");
    assert_eq!(
        s.share(&id)["download_count"],
        1,
        "the URL was counted once"
    );

    // with the share token, an unsatisfiable range is refused before counting
    let direct = s.url(&format!("/v2/file/download?share_id={id}&file_id=welcome"));
    s.get(&direct, &[("x-share-token", &t), ("range", "bytes=1000-")])
        .assert_error(416, "InvalidRange");
    assert_eq!(s.share(&id)["download_count"], 1);
    let part = s.get(&direct, &[("x-share-token", &t), ("range", "bytes=0-4")]);
    assert_eq!(
        (part.status, part.body.as_slice()),
        (206, b"Hello".as_slice())
    );
    assert_eq!(s.share(&id)["download_count"], 2);
    s.get(&direct, &[("x-share-token", &t)])
        .assert_error(403, "ShareLink.DownloadLimitExceeded");
}

#[test]
fn previews_are_authorized_counted_and_served_inline() {
    let s = TestServer::start();
    let id = s.create(json!({ "file_id_list": ["photos", "app"], "preview_limit": 2 }));
    let t = s.token(&id, None);
    let st = [("x-share-token", t.as_str())];
    let preview = |file: &str, extra: serde_json::Value| {
        let mut body = json!({ "share_id": id, "file_id": file, "category": "live_transcoding" });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        s.post("/v2/file/get_video_preview_play_info", body, &st)
    };
    let r = preview("sunset", json!({}));
    assert_eq!(r.status, 200, "{}", r.json());
    let task = &r.json()["video_preview_play_info"]["live_transcoding_task_list"][0];
    assert_eq!(task["status"], "finished");
    let url = task["url"].as_str().unwrap().to_owned();
    let shown = s.get(&url, &[]);
    assert_eq!(shown.status, 200);
    assert!(
        shown.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(&shown.body[..2], &[0xFF, 0xD8]);
    assert_eq!(s.share(&id)["preview_count"], 1);
    assert_eq!(s.share(&id)["download_count"], 0);
    // get_without_url still counts
    let r = preview("notes", json!({ "get_without_url": true }));
    assert_eq!(
        r.json()["video_preview_play_info"]["live_transcoding_task_list"][0]["url"],
        ""
    );
    // ShareLink.PreviewLimitExceeded
    preview("sunset", json!({})).assert_error(403, "ShareLink.PreviewLimitExceeded");
    // the APK: preview counts as download under the file-type policy
    let apk = s.create(json!({ "file_id_list": ["app"] }));
    let ta = s.token(&apk, None);
    s.post(
        "/v2/file/get_video_preview_play_info",
        json!({ "share_id": apk, "file_id": "app" }),
        &[("x-share-token", &ta)],
    )
    .assert_error(403, "ForbiddenFileType.Download");
    // ForbiddenNoPermission.Preview, and an issued preview URL dies with the switch
    let open = s.create(json!({ "file_id_list": ["welcome"] }));
    let to = s.token(&open, None);
    let r = s.post(
        "/v2/file/get_video_preview_play_info",
        json!({ "share_id": open, "file_id": "welcome", "category": "quick_video" }),
        &[("x-share-token", &to)],
    );
    let url = r.json()["video_preview_play_info"]["quick_video_list"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = TestServer::bearer(&s.alice);
    s.post(
        "/v2/share_link/update",
        json!({ "share_id": open, "disable_preview": true }),
        &[("authorization", &alice)],
    );
    s.post(
        "/v2/file/get_video_preview_play_info",
        json!({ "share_id": open, "file_id": "welcome" }),
        &[("x-share-token", &to)],
    )
    .assert_error(403, "ForbiddenNoPermission.Preview");
    s.get(&url, &[]).assert_error(403, "DownloadUrlInvalid");
    // bad input
    for (body, code) in [
        (
            json!({ "share_id": open, "file_id": "welcome", "category": "hologram" }),
            "InvalidParameter",
        ),
        (
            json!({ "share_id": open, "file_id": "welcome", "url_expire_sec": 14_401 }),
            "InvalidParameterOutOfRange",
        ),
        (json!({ "share_id": open }), "InvalidParameterMissing"),
    ] {
        s.post(
            "/v2/file/get_video_preview_play_info",
            body,
            &[("x-share-token", &to)],
        )
        .assert_error(400, code);
    }
    // the owner previews her own file by drive
    let r = s.post(
        "/v2/file/get_video_preview_play_info",
        json!({ "drive_id": ALICE_DRIVE, "file_id": "welcome" }),
        &[("authorization", &alice)],
    );
    let url = r.json()["video_preview_play_info"]["live_transcoding_task_list"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.get(&url, &[]).body.len(), 53);
}
