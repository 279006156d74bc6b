//! File content: downloads (ranged, resumed, during shutdown) and previews.

use super::*;

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
