//! Format-safety tests that reach under the Storage trait.

use sharelink_core::{Storage, StorageError};
use sharelink_testkit::fixtures::{ShareFixture, share_id};

use crate::{SledOptions, SledStorage};

#[test]
fn a_store_from_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStorage::open(dir.path(), &SledOptions::default()).unwrap();
        s.db()
            .open_tree("meta")
            .unwrap()
            .insert("format", &7u32.to_be_bytes())
            .unwrap();
        s.db().flush().unwrap();
    }
    let err = SledStorage::open(dir.path(), &SledOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::IncompatibleFormat {
                found: 7,
                supported: 1
            }
        ),
        "{err}"
    );
}

#[test]
fn values_from_a_newer_format_or_corrupt_are_typed_errors() {
    let s = SledStorage::open_temporary().unwrap();
    s.insert_share(&ShareFixture::new(1).build(), None).unwrap();
    let shares = s.db().open_tree("shares").unwrap();
    let id = share_id(1);

    let mut v = shares.get(id.as_str()).unwrap().unwrap().to_vec();
    v[0] = 2;
    shares.insert(id.as_str(), v.clone()).unwrap();
    assert!(matches!(
        s.get_share(&id).unwrap_err(),
        StorageError::IncompatibleFormat {
            found: 2,
            supported: 1
        }
    ));

    v[0] = 1;
    v.truncate(v.len() / 2);
    shares.insert(id.as_str(), v).unwrap();
    match s.get_share(&id).unwrap_err() {
        StorageError::Corrupt { what, .. } => assert!(what.contains(id.as_str()), "{what}"),
        other => panic!("expected Corrupt, got {other}"),
    }
    shares.insert(id.as_str(), Vec::<u8>::new()).unwrap();
    assert!(matches!(
        s.get_share(&id).unwrap_err(),
        StorageError::Corrupt { .. }
    ));
}

#[test]
fn reopening_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let share = ShareFixture::new(1).build();
    {
        let s = SledStorage::open(dir.path(), &SledOptions::default()).unwrap();
        s.insert_share(&share, None).unwrap();
    }
    let s = SledStorage::open(dir.path(), &SledOptions::default()).unwrap();
    assert_eq!(s.get_share(share.id()).unwrap().unwrap(), share);
}
