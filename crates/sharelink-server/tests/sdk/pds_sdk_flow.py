"""The official Alibaba Cloud PDS Python SDK drives the whole share-link flow
against a running sharelink-server, unchanged.

Usage: python pds_sdk_flow.py HOST:PORT DATA_DIR
  HOST:PORT  the server (no scheme: the SDK sends the endpoint as the Host header)
  DATA_DIR   its data directory, holding the seeded alice.token and bob.token

Every step asserts what the SDK returned; any failure exits non-zero.
"""

import datetime
import json
import os
import sys
import time
import urllib.request

from alibabacloud_pds20220301 import models as m
from alibabacloud_pds20220301.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from darabonba.runtime import RuntimeOptions


def client(endpoint, token=None):
    cfg = open_api_models.Config(endpoint=endpoint, protocol="http")
    if token:
        cfg.bearer_token = token
    return Client(cfg)


def expect_error(fn, code, status):
    try:
        fn()
    except Exception as e:  # the SDK raises UnretryableException wrapping a TeaException
        got_code = getattr(e, "code", None)
        got_status = getattr(e, "statusCode", None)
        data = getattr(e, "data", None) or {}
        assert got_code == code, f"expected {code}, got {got_code}: {e}"
        assert got_status == status, f"expected HTTP {status}, got {got_status}"
        assert data.get("requestId"), f"no requestId in {data}"
        print(f"  refused as expected: {code} ({status}), requestId {data['requestId']}")
        return
    raise AssertionError(f"expected {code}, but the call succeeded")


def main():
    endpoint, data_dir = sys.argv[1], sys.argv[2]
    alice_token = open(os.path.join(data_dir, "alice.token")).read().strip()
    bob_token = open(os.path.join(data_dir, "bob.token")).read().strip()
    alice = client(endpoint, alice_token)
    bob = client(endpoint, bob_token)
    anonymous = client(endpoint)
    rt = RuntimeOptions()

    # 1. create, with password and expiration
    expiration = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    created = alice.create_share_link(
        m.CreateShareLinkRequest(
            drive_id="drive-demo-alice",
            file_id_list=["photos", "welcome"],
            share_pwd="abcF123x",
            share_name="demo share",
            description="from the PDS SDK",
            expiration=expiration,
            download_limit=0,
            preview_limit=10,
            save_limit=0,
            disable_download=False,
        )
    )
    assert created.status_code == 201, created.status_code
    share = created.body
    share_id = share.share_id
    assert share.share_name == "demo share"
    assert share.expiration == expiration, (share.expiration, expiration)
    assert share.status == "enabled"
    assert share.file_id_list == ["photos", "welcome"]
    print(f"1. created share {share_id} (201), expires {share.expiration}")

    # 2. the public view
    public = anonymous.get_share_link_by_anonymous(m.GetShareLinkByAnonymousRequest(share_id=share_id)).body
    assert public.has_pwd is True
    assert public.share_name == "demo share"
    assert public.creator_name == "Ali**ll", public.creator_name
    assert public.creator_phone == "138**00", public.creator_phone
    assert public.expiration == expiration
    print(f"2. anonymous view: creator {public.creator_name}, has_pwd {public.has_pwd}")

    # 3. a wrong password is refused, the right one gives a token
    expect_error(
        lambda: anonymous.get_share_link_token(m.GetShareLinkTokenRequest(share_id=share_id, share_pwd="wrong")),
        "InvalidResource.SharePwd",
        400,
    )
    tok = anonymous.get_share_link_token(
        m.GetShareLinkTokenRequest(share_id=share_id, share_pwd="abcF123x", expire_sec=7200)
    ).body
    assert tok.share_token and tok.expires_in == 7200, tok.to_map()
    headers = {"x-share-token": tok.share_token}
    print(f"3. share token issued, expires_in {tok.expires_in}")

    # 4. list and get with x-share-token
    listed = anonymous.list_file_with_options(
        m.ListFileRequest(share_id=share_id, parent_file_id="root", order_by="name", order_direction="ASC", limit=100),
        headers,
        rt,
    ).body
    names = [f.name for f in listed.items]
    assert names == ["photos", "welcome.txt"], names
    assert listed.next_marker == ""
    inside = anonymous.list_file_with_options(
        m.ListFileRequest(share_id=share_id, parent_file_id="photos", order_by="name"), headers, rt
    ).body
    assert sorted(f.name for f in inside.items) == ["notes.md", "sunset.jpg"], [f.name for f in inside.items]
    got = anonymous.get_file_with_options(m.GetFileRequest(share_id=share_id, file_id="welcome"), headers, rt).body
    assert got.name == "welcome.txt" and got.type == "file" and got.size == 53, got.to_map()
    # the same, with the token in Config.global_parameters.headers
    cfg = open_api_models.Config(
        endpoint=endpoint,
        protocol="http",
        global_parameters=open_api_models.GlobalParameters(headers=headers),
    )
    again = Client(cfg).list_file(m.ListFileRequest(share_id=share_id, parent_file_id="root")).body
    assert len(again.items) == 2
    play = anonymous.get_video_preview_play_info_with_options(
        m.GetVideoPreviewPlayInfoRequest(share_id=share_id, file_id="sunset", category="live_transcoding"), headers, rt
    ).body
    task = play.video_preview_play_info.live_transcoding_task_list[0]
    assert task.status == "finished" and task.url.startswith("http://"), play.to_map()
    with urllib.request.urlopen(task.url) as resp:
        assert resp.read()[:2] == b"\xff\xd8"
    print(f"4. listed {names} and {len(inside.items)} files in photos; got welcome.txt ({got.size} bytes); previewed sunset.jpg")

    # 5. a download URL, then fetching it
    url = anonymous.get_download_url_with_options(
        m.GetDownloadUrlRequest(share_id=share_id, file_id="welcome", expire_sec=900), headers, rt
    ).body
    assert url.url.startswith("http://"), url.url
    with urllib.request.urlopen(url.url) as resp:
        content = resp.read()
    assert content == b"Hello from sharelink! This file was shared with you.\n", content
    counted = alice.get_share_link(m.GetShareLinkRequest(share_id=share_id)).body
    assert counted.download_count == 1, counted.download_count
    # Fetching the same URL again counts nothing more.
    with urllib.request.urlopen(url.url) as resp:
        assert resp.read() == content
    assert alice.get_share_link(m.GetShareLinkRequest(share_id=share_id)).body.download_count == 1
    # The APK policy: an external share refuses the package.
    apk_share = alice.create_share_link(
        m.CreateShareLinkRequest(drive_id="drive-demo-alice", file_id_list=["app"])
    ).body.share_id
    apk_tok = anonymous.get_share_link_token(m.GetShareLinkTokenRequest(share_id=apk_share)).body.share_token
    expect_error(
        lambda: anonymous.get_download_url_with_options(
            m.GetDownloadUrlRequest(share_id=apk_share, file_id="app"), {"x-share-token": apk_tok}, rt
        ),
        "ForbiddenFileType.Download",
        403,
    )
    print(f"5. downloaded {len(content)} bytes through the signed URL; download_count 1")

    # 6. bob saves a file (201) and the folder (202 + async_task_id) into his drive
    copied = bob.copy_file_with_options(
        m.CopyFileRequest(
            share_id=share_id, file_id="welcome", to_drive_id="drive-demo-bob", to_parent_file_id="root", auto_rename=True
        ),
        headers,
        rt,
    )
    assert copied.status_code == 201, copied.status_code
    assert copied.body.drive_id == "drive-demo-bob" and copied.body.file_id
    folder = bob.copy_file_with_options(
        m.CopyFileRequest(share_id=share_id, file_id="photos", to_drive_id="drive-demo-bob", to_parent_file_id="root"),
        headers,
        rt,
    )
    assert folder.status_code == 202, folder.status_code
    assert folder.body.async_task_id, folder.body.to_map()
    # the folder's contents are copied in the background: poll the task
    for _ in range(100):
        task = bob.get_async_task(m.GetAsyncTaskRequest(async_task_id=folder.body.async_task_id)).body
        assert task.state in ("Running", "Succeed"), task.to_map()
        if task.state == "Succeed":
            break
        time.sleep(0.05)
    assert task.state == "Succeed" and task.total_process == 3, task.to_map()
    mine = bob.list_file(m.ListFileRequest(drive_id="drive-demo-bob", parent_file_id="root", order_by="name")).body
    mine_names = [f.name for f in mine.items]
    assert "welcome.txt" in mine_names and "photos" in mine_names, mine_names
    # bob cannot copy into alice's drive
    expect_error(
        lambda: bob.copy_file_with_options(
            m.CopyFileRequest(share_id=share_id, file_id="welcome", to_drive_id="drive-demo-alice", to_parent_file_id="root"),
            headers,
            rt,
        ),
        "ForbiddenNoPermission",
        403,
    )
    print(f"6. bob saved welcome.txt (201) and photos (202, task {folder.body.async_task_id}); his drive: {mine_names}")

    # 7. update and list
    updated = alice.update_share_link(
        m.UpdateShareLinkRequest(share_id=share_id, share_name="renamed", save_limit=5, disable_save=False)
    ).body
    assert updated.share_name == "renamed" and updated.save_limit == 5
    # The name change does not revoke the token.
    anonymous.get_file_with_options(m.GetFileRequest(share_id=share_id, file_id="welcome"), headers, rt)
    page = alice.list_share_link(
        m.ListShareLinkRequest(creator="alice", include_cancelled=False, limit=10, marker="", order_by="created_at", order_direction="DESC")
    ).body
    ids = [s.share_id for s in page.items]
    assert share_id in ids, ids
    found = alice.search_share_link(
        m.SearchShareLinkRequest(creators=["alice"], query="share_name match 'renam'", limit=10, return_total_count=True)
    ).body
    assert [s.share_id for s in found.items] == [share_id] and found.total_count == 1, found.to_map()
    print(f"7. updated (name {updated.share_name}, save_limit {updated.save_limit}); list has {len(ids)} shares; search found it")

    # 8. cancel: the token dies
    cancelled = alice.cancel_share_link(m.CancelShareLinkRequest(share_id=share_id))
    assert cancelled.status_code == 204, cancelled.status_code
    expect_error(
        lambda: anonymous.list_file_with_options(m.ListFileRequest(share_id=share_id, parent_file_id="root"), headers, rt),
        "ShareLinkTokenInvalid",
        401,
    )
    expect_error(
        lambda: anonymous.get_share_link_by_anonymous(m.GetShareLinkByAnonymousRequest(share_id=share_id)),
        "ShareLink.Cancelled",
        403,
    )
    try:
        urllib.request.urlopen(url.url)
        raise AssertionError("the download URL still works after cancel")
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        assert e.code == 403 and body["code"] == "ShareLink.Cancelled", (e.code, body)
    print("8. cancelled (204); the token is refused with ShareLinkTokenInvalid, the URL with ShareLink.Cancelled")
    print("PDS SDK flow: all steps passed")


if __name__ == "__main__":
    main()
