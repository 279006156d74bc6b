//! Format-safety tests that need to reach under the Storage trait.

use rusqlite::Connection;
use sharelink_core::{ShareRecord, Storage, StorageError};
use sharelink_testkit::fixtures::{ShareFixture, share_id};
use sharelink_testkit::golden::{assert_migrated_share_lists_everywhere, legacy_full_share};

use crate::schema::SCHEMA_VERSION;

use crate::{SqliteOptions, SqliteStorage};

#[test]
fn a_database_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    drop(SqliteStorage::open(&path, &SqliteOptions::default()).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteStorage::open(&path, &SqliteOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::IncompatibleFormat {
                found: 99,
                supported: SCHEMA_VERSION
            }
        ),
        "{err}"
    );
}

#[test]
fn reopening_keeps_data_and_does_not_migrate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let share = ShareFixture::new(1).build();
    {
        let s = SqliteStorage::open(&path, &SqliteOptions::default()).unwrap();
        s.insert_share(&share, None).unwrap();
    }
    let s = SqliteStorage::open(&path, &SqliteOptions::default()).unwrap();
    assert_eq!(s.get_share(share.id()).unwrap().unwrap(), share);
    let v: u32 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

/// A version-1 database (as 0.3 wrote it: format-0 bodies, no sort
/// columns) is migrated at open: the sort columns are back-filled from the
/// bodies, so every order and name search sees the old shares.
#[test]
fn a_version_1_database_is_migrated_and_back_filled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let (legacy_body, share) = legacy_full_share();
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(crate::schema::V1).unwrap();
        raw.pragma_update(None, "user_version", 1).unwrap();
        let c = share.counters();
        raw.execute(
            "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms,
                 expiration_ms, status, version, token_epoch, access_count, preview_count,
                 download_count, save_count, preview_limit, download_limit, save_limit, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'cancelled', ?7, ?8, ?9, ?10, ?11, ?12, 0, 5, 2, ?13)",
            rusqlite::params![
                share.id().as_str(),
                share.tenant().as_str(),
                share.creator().user_id.as_str(),
                share.created_at().timestamp_millis(),
                share.updated_at().timestamp_millis(),
                share.expiration().map(|t| t.timestamp_millis()),
                share.version() as i64,
                share.token_epoch() as i64,
                c.access as i64,
                c.preview as i64,
                c.download as i64,
                c.save as i64,
                legacy_body,
            ],
        )
        .unwrap();
    }
    let s = SqliteStorage::open(&path, &SqliteOptions::default()).unwrap();
    assert_migrated_share_lists_everywhere(&s, &share);
}

#[test]
fn a_corrupt_row_is_a_typed_error_naming_the_share() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let s = SqliteStorage::open(&path, &SqliteOptions::default()).unwrap();
    s.insert_share(&ShareFixture::new(1).build(), None).unwrap();
    s.insert_share(&ShareFixture::new(2).build(), None).unwrap();
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE shares SET body = '{not json' WHERE share_id = ?1",
        [share_id(1).as_str()],
    )
    .unwrap();
    raw.execute(
        "UPDATE shares SET body = (SELECT body FROM shares WHERE share_id = ?1) WHERE share_id = ?2",
        [share_id(1).as_str(), share_id(2).as_str()],
    )
    .unwrap();
    for id in [share_id(1), share_id(2)] {
        match s.get_share(&id).unwrap_err() {
            StorageError::Corrupt { what, .. } => assert!(what.contains(id.as_str()), "{what}"),
            other => panic!("expected Corrupt, got {other}"),
        }
    }
    // A body that decodes but belongs to another share is corrupt too.
    raw.execute(
        "UPDATE shares SET body = ?1 WHERE share_id = ?2",
        [
            String::from_utf8(ShareRecord::encode_share(&ShareFixture::new(3).build()).unwrap())
                .unwrap()
                .as_str(),
            share_id(2).as_str(),
        ],
    )
    .unwrap();
    assert!(matches!(
        s.get_share(&share_id(2)).unwrap_err(),
        StorageError::Corrupt { .. }
    ));
}

#[test]
fn wal_and_synchronous_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let _s = SqliteStorage::open(&path, &SqliteOptions::default()).unwrap();
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
