//! Format-safety tests that reach under the Storage trait.

use sharelink_core::{Storage, StorageError};
use sharelink_testkit::fixtures::{ShareFixture, share_id};
use sharelink_testkit::golden::{assert_migrated_share_lists_everywhere, legacy_full_share};

use crate::codec::{self, Counts};

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
                supported: crate::codec::STORE_FORMAT
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

/// A format-1 store (0.3: format-0 share values, a creation-time index
/// only) is migrated at open: every share is indexed under every sort key
/// and the old index is dropped.
#[test]
fn a_format_1_store_is_migrated_to_the_share_index() {
    let dir = tempfile::tempdir().unwrap();
    let (legacy_body, share) = legacy_full_share();
    {
        let db = sled::open(dir.path()).unwrap();
        let tree = |name: &str| db.open_tree(name).unwrap();
        tree("meta").insert("format", &1u32.to_be_bytes()).unwrap();
        tree("shares")
            .insert(
                share.id().as_str(),
                codec::with_version(legacy_body.as_bytes()),
            )
            .unwrap();
        tree("counters")
            .insert(share.id().as_str(), &Counts::of(&share).encode()[..])
            .unwrap();
        tree("shares_by_creator").insert(b"old key", &[]).unwrap();
        db.flush().unwrap();
    }
    let s = SledStorage::open(dir.path(), &SledOptions::default()).unwrap();
    assert!(
        !s.db()
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == b"shares_by_creator")
    );
    assert_migrated_share_lists_everywhere(&s, &share);
}
