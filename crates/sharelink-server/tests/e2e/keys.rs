//! The key file followed by a running server, step by step on the test's
//! clock: a rotation's keys come into use on the next reload, a token from
//! before keeps working, and the old key stops verifying when its time
//! comes.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::json;
use sharelink_core::{Clock as _, KeyId, MAX_SIGNED_LIFETIME_SECS};
use sharelink_server::keys::{KeyReload, RotateStep, rotate};

use super::*;

fn ids(ids: &[KeyId]) -> Vec<String> {
    ids.iter().map(|k| k.as_str().to_owned()).collect()
}

#[test]
fn a_rotation_comes_into_use_on_reload_and_the_old_key_retires_on_time() {
    let s = TestServer::start();
    let engine = s.app.engine.clone();
    let mut watcher = s.app.key_watcher("127.0.0.1:1").unwrap();
    assert_eq!(
        watcher.tick(&engine, s.clock.now()).unwrap(),
        KeyReload::Unchanged
    );
    let old = ids(&engine.key_ids());
    assert_eq!(old.len(), 1);

    let share = s.create(json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }));
    let before = s.token(&share, None);
    assert!(before.starts_with(&format!("v1.{}.", old[0])));

    let now = || s.clock.now();
    let wait = StdDuration::from_secs(5);
    let added = rotate(&s.app.keys, RotateStep::Add, wait, now).unwrap();
    let new = added.added.clone().unwrap().as_str().to_owned();
    // Known (verify-only) after the reload; still signing with the old key.
    assert_eq!(
        watcher.tick(&engine, now()).unwrap(),
        KeyReload::Reloaded(vec![
            KeyId::new(&old[0]).unwrap(),
            KeyId::new(&new).unwrap()
        ])
    );
    assert!(
        s.token(&share, None)
            .starts_with(&format!("v1.{}.", old[0]))
    );

    // This instance acknowledged it, so promotion does not wait.
    let promoted = rotate(&s.app.keys, RotateStep::Promote, wait, now).unwrap();
    assert_eq!(promoted.acknowledged_by, Some(1));
    let (_, _, until) = promoted.promoted.clone().unwrap();
    assert_eq!(until, now() + Duration::seconds(MAX_SIGNED_LIFETIME_SECS));
    assert_eq!(
        watcher.tick(&engine, now()).unwrap(),
        KeyReload::Reloaded(vec![
            KeyId::new(&new).unwrap(),
            KeyId::new(&old[0]).unwrap()
        ])
    );
    assert!(s.token(&share, None).starts_with(&format!("v1.{new}.")));
    let listed = s.post(
        "/v2/file/list",
        json!({ "share_id": share, "parent_file_id": "root" }),
        &[("x-share-token", &before)],
    );
    assert_eq!(listed.status, 200, "a token from before: {}", listed.json());
    assert_eq!(watcher.tick(&engine, now()).unwrap(), KeyReload::Unchanged);

    // One second before its time the old key verifies; at its time the
    // instance drops it by itself, before any rotate-key.
    s.clock.set(until - Duration::seconds(1));
    assert_eq!(watcher.tick(&engine, now()).unwrap(), KeyReload::Unchanged);
    assert_eq!(engine.key_ids().len(), 2);
    s.clock.set(until);
    assert_eq!(
        watcher.tick(&engine, now()).unwrap(),
        KeyReload::Retired(vec![KeyId::new(&new).unwrap()])
    );
    let retired = rotate(&s.app.keys, RotateStep::Retire, wait, now).unwrap();
    assert_eq!(ids(&retired.retired), old);
    assert_eq!(watcher.tick(&engine, now()).unwrap(), KeyReload::Unchanged);
    assert_eq!(ids(&engine.key_ids()), [new]);
    // A clean stop withdraws the acknowledgement, and ticks write none.
    let seen = s.data_dir().join("keys.seen");
    assert_eq!(std::fs::read_dir(&seen).unwrap().count(), 1);
    watcher.stop();
    assert_eq!(watcher.tick(&engine, now()).unwrap(), KeyReload::Unchanged);
    assert_eq!(std::fs::read_dir(&seen).unwrap().count(), 0);
}
