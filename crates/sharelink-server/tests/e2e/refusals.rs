//! Refusals: each state, token, access and input error answers its PDS code, never a 500.

use super::*;

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
