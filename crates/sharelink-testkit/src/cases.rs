//! The conformance cases. Each takes a fresh store and panics on a
//! violation of the [`Storage`] contract. [`conformance_suite!`](crate::conformance_suite)
//! turns each into one named `#[test]`.

use std::collections::BTreeSet;

use chrono::Duration;
use sharelink_core::share::ShareUpdate;
use sharelink_core::throttle::{ThrottlePolicy, ThrottleState};
use sharelink_core::*;

use crate::fixtures::{
    ShareFixture, admitted, at, charge, cheap_hash, client, failed, list_every_page, member,
    share_id, succeeded, t0,
};

fn insert(s: &dyn Storage, share: &Share) {
    assert_eq!(
        s.insert_share(share, None).unwrap(),
        InsertOutcome::Inserted
    );
}

/// `get_share` of an unknown id is `Ok(None)`.
pub fn get_missing_share_is_none(s: &dyn Storage) {
    assert_eq!(s.get_share(&share_id(1)).unwrap(), None);
}

/// What is inserted comes back equal in every field, password hash included.
pub fn insert_then_get_roundtrips_every_field(s: &dyn Storage) {
    let mut f = ShareFixture::new(1);
    f.expires = Some(3600);
    f.download_limit = 7;
    f.password = Some(cheap_hash("1234"));
    let share = f.build();
    insert(s, &share);
    let back = s.get_share(share.id()).unwrap().expect("stored share");
    assert_eq!(back, share);
    assert!(
        back.verify_password(Some(&SharePassword::new("1234").unwrap()))
            .is_ok()
    );
}

/// A second insert with the same id is `IdTaken` and changes nothing, not even the quota.
pub fn insert_duplicate_id_writes_nothing(s: &dyn Storage) {
    let first = ShareFixture::new(1).build();
    insert(s, &first);
    let mut other = ShareFixture::new(1);
    other.creator = 9;
    let c = charge(0, QuotaKind::Create, 0, 10);
    assert_eq!(
        s.insert_share(&other.build(), Some(&c)).unwrap(),
        InsertOutcome::IdTaken
    );
    assert_eq!(s.get_share(first.id()).unwrap().unwrap(), first);
    assert_eq!(s.quota_used(&c.key).unwrap(), 0);
}

/// An insert with a charge takes exactly one unit.
pub fn insert_charges_quota_in_the_same_step(s: &dyn Storage) {
    let c = charge(0, QuotaKind::Create, 0, 10);
    for i in 0..3 {
        assert_eq!(
            s.insert_share(&ShareFixture::new(i).build(), Some(&c))
                .unwrap(),
            InsertOutcome::Inserted
        );
    }
    assert_eq!(s.quota_used(&c.key).unwrap(), 3);
}

/// An insert against an exhausted quota writes neither the share nor the charge.
pub fn insert_over_quota_writes_nothing(s: &dyn Storage) {
    let c = charge(0, QuotaKind::Create, 0, 2);
    insert_with(s, 0, &c, InsertOutcome::Inserted);
    insert_with(s, 1, &c, InsertOutcome::Inserted);
    insert_with(s, 2, &c, InsertOutcome::QuotaExhausted { used: 2 });
    assert_eq!(s.get_share(&share_id(2)).unwrap(), None);
    assert_eq!(s.quota_used(&c.key).unwrap(), 2);
}

fn insert_with(s: &dyn Storage, id: u32, c: &QuotaCharge, expected: InsertOutcome) {
    assert_eq!(
        s.insert_share(&ShareFixture::new(id).build(), Some(c))
            .unwrap(),
        expected
    );
}

/// `update_share` stores the new share when the version matches.
pub fn update_with_expected_version_succeeds(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    insert(s, &share);
    let next = share.clone().cancel(at(10)).unwrap();
    assert_eq!(
        s.update_share(&next, share.version()).unwrap(),
        UpdateOutcome::Updated
    );
    assert_eq!(s.get_share(share.id()).unwrap().unwrap(), next);
}

/// A stale expected version is a `Conflict` carrying the stored version, and writes nothing.
pub fn update_with_stale_version_is_a_conflict(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    insert(s, &share);
    let v2 = share.clone().cancel(at(10)).unwrap();
    assert_eq!(s.update_share(&v2, 1).unwrap(), UpdateOutcome::Updated);
    let stale = share
        .update(
            ShareUpdate {
                name: Some(ShareName::new("stale").unwrap()),
                ..Default::default()
            },
            at(20),
        )
        .unwrap();
    assert_eq!(
        s.update_share(&stale, 1).unwrap(),
        UpdateOutcome::Conflict {
            current_version: v2.version()
        }
    );
    assert_eq!(s.get_share(v2.id()).unwrap().unwrap(), v2);
}

/// Updating an unknown share is `NotFound` and creates nothing.
pub fn update_missing_share_is_not_found(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    assert_eq!(s.update_share(&share, 1).unwrap(), UpdateOutcome::NotFound);
    assert_eq!(s.get_share(share.id()).unwrap(), None);
}

fn list_ids(
    s: &dyn Storage,
    tenant_n: u32,
    creator: u32,
    filter: ShareFilter,
    limit: usize,
) -> Vec<ShareId> {
    let query = ShareListQuery {
        filter,
        order: ShareOrder::NEWEST_FIRST,
        page: PageRequest {
            limit,
            ..PageRequest::default()
        },
    };
    list_every_page(s, &member(tenant_n, creator), &query)
        .iter()
        .map(|s| s.id().clone())
        .collect()
}

/// Lists are newest first by default (ties broken by id, descending), and
/// paging with any page size yields each share exactly once.
pub fn list_pages_newest_first(s: &dyn Storage) {
    // Creation times with ties: ids 0..10, times 0,0,1,1,2,2,...
    for i in 0..10u32 {
        let mut f = ShareFixture::new(i);
        f.created = i64::from(i / 2);
        insert(s, &f.build());
    }
    let mut expected: Vec<(i64, ShareId)> = (0..10u32)
        .map(|i| (i64::from(i / 2), share_id(i)))
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<ShareId> = expected.into_iter().map(|(_, id)| id).collect();
    for limit in [1, 3, 4, 10, 100] {
        assert_eq!(
            list_ids(s, 0, 0, ShareFilter::default(), limit),
            expected,
            "limit {limit}"
        );
    }
    // The last page carries no cursor.
    let page = s
        .list_shares(
            &member(0, 0),
            &ShareListQuery {
                page: PageRequest {
                    limit: 10,
                    ..PageRequest::default()
                },
                ..ShareListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(page.items.len(), 10);
    assert!(page.next.is_none());
}

/// Names, descriptions and update times that exercise every order: ties,
/// case, non-ASCII text, and shares whose sort keys changed after insert
/// (the index must follow updates).
fn insert_listing_world(s: &dyn Storage) -> Vec<Share> {
    let names = [
        "beta", "Alpha", "alpha", "été", "zeta", "beta", "Ωmega", "a", "", "beta", "mid", "Zed",
    ];
    let descriptions = ["x", "", "x", "ü", "b", "a", "", "x", "c", "x", "b", "a"];
    let mut out = Vec::new();
    for (i, (name, description)) in names.iter().zip(descriptions).enumerate() {
        let n = u32::try_from(i).unwrap_or(0);
        let mut f = ShareFixture::new(n);
        f.created = i64::from(n % 5);
        let share = f.build();
        insert(s, &share);
        // Rename (and so move `updated_at`) all but a few: the index must
        // forget the fixture's name and creation-time update time.
        let share = if n % 4 == 3 {
            share
        } else {
            let patch = ShareUpdate {
                name: Some(ShareName::new(*name).unwrap_or_else(|e| panic!("{e}"))),
                description: Some(Description::new(description).unwrap_or_else(|e| panic!("{e}"))),
                ..ShareUpdate::default()
            };
            let next = share
                .clone()
                .update(patch, at(100 + i64::from(n % 3)))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                s.update_share(&next, share.version()).unwrap(),
                UpdateOutcome::Updated
            );
            next
        };
        out.push(share);
    }
    let cancelled = out[5]
        .clone()
        .cancel(at(200))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.update_share(&cancelled, out[5].version()).unwrap(),
        UpdateOutcome::Updated
    );
    out[5] = cancelled;
    // Someone else's shares never appear.
    let mut other = ShareFixture::new(90);
    other.creator = 1;
    insert(s, &other.build());
    out
}

/// Every order (`created_at`, `updated_at`, `share_name`, `description`,
/// ascending and descending) is served in order with keyset paging: every
/// page size yields the shares exactly once, in the order
/// [`ShareOrder::compare`] defines, and `total` counts from the cursor on.
pub fn list_serves_every_order_with_keyset_paging(s: &dyn Storage) {
    let shares = insert_listing_world(s);
    let owner = member(0, 0);
    for by in ShareOrderBy::ALL {
        for descending in [false, true] {
            let order = ShareOrder { by, descending };
            let mut expected = shares.clone();
            expected.sort_by(|a, b| order.compare(a, b));
            let expected: Vec<&ShareId> = expected.iter().map(Share::id).collect();
            for limit in [1, 2, 5, 100] {
                let query = ShareListQuery {
                    filter: ShareFilter::default(),
                    order,
                    page: PageRequest {
                        limit,
                        ..PageRequest::default()
                    },
                };
                let got = list_every_page(s, &owner, &query);
                let got: Vec<&ShareId> = got.iter().map(Share::id).collect();
                assert_eq!(got, expected, "{order:?}, limit {limit}");
            }
            // The total counts from the cursor on, this page included.
            let mut query = ShareListQuery {
                filter: ShareFilter::default(),
                order,
                page: PageRequest {
                    limit: 5,
                    after: None,
                    count_total: true,
                },
            };
            let first = s.list_shares(&owner, &query).unwrap();
            assert_eq!(first.total, Some(12), "{order:?}");
            query.page.after = first.next;
            let second = s.list_shares(&owner, &query).unwrap();
            assert_eq!(second.total, Some(7), "{order:?}");
            let firsts: Vec<&ShareId> = second.items.iter().map(Share::id).collect();
            assert_eq!(firsts, expected[5..10], "{order:?}");
        }
    }
}

/// Filters (name, case-insensitively; status; creation and update time
/// ranges) select exactly what [`ShareFilter::matches`] selects, in every
/// order, and `total` counts exactly the matches.
pub fn list_filters_by_name_status_and_time(s: &dyn Storage) {
    let shares = insert_listing_world(s);
    let owner = member(0, 0);
    let filters = [
        ShareFilter {
            name_contains: Some("ALPHA".into()),
            ..ShareFilter::default()
        },
        ShareFilter {
            name_contains: Some("ÉT".into()),
            ..ShareFilter::default()
        },
        ShareFilter {
            name_contains: Some("ωm".into()),
            ..ShareFilter::default()
        },
        ShareFilter {
            name_contains: Some("no such name".into()),
            ..ShareFilter::default()
        },
        ShareFilter::enabled_only(),
        ShareFilter {
            status: Some(ShareStatus::Cancelled),
            ..ShareFilter::default()
        },
        ShareFilter {
            created_from: Some(at(2)),
            created_until: Some(at(4)),
            ..ShareFilter::default()
        },
        ShareFilter {
            updated_from: Some(at(101)),
            name_contains: Some("e".into()),
            status: Some(ShareStatus::Enabled),
            ..ShareFilter::default()
        },
        ShareFilter {
            updated_until: Some(at(101)),
            ..ShareFilter::default()
        },
    ];
    for filter in filters {
        for order in [
            ShareOrder::NEWEST_FIRST,
            ShareOrder::default_for(ShareOrderBy::ShareName),
            ShareOrder {
                by: ShareOrderBy::UpdatedAt,
                descending: false,
            },
        ] {
            let mut expected: Vec<&Share> = shares.iter().filter(|s| filter.matches(s)).collect();
            expected.sort_by(|a, b| order.compare(a, b));
            let expected: Vec<&ShareId> = expected.iter().map(|s| s.id()).collect();
            let query = ShareListQuery {
                filter: filter.clone(),
                order,
                page: PageRequest {
                    limit: 2,
                    after: None,
                    count_total: true,
                },
            };
            let got = list_every_page(s, &owner, &query);
            let got: Vec<&ShareId> = got.iter().map(Share::id).collect();
            assert_eq!(got, expected, "{filter:?} {order:?}");
            let first = s.list_shares(&owner, &query).unwrap();
            assert_eq!(
                first.total,
                Some(expected.len() as u64),
                "{filter:?} {order:?}"
            );
        }
    }
}

/// Lists contain only the creator's shares in that tenant, and cancelled
/// ones only on request.
pub fn list_filters_cancelled_and_other_creators(s: &dyn Storage) {
    let mine = ShareFixture::new(1).build();
    insert(s, &mine);
    let cancelled = ShareFixture::new(2).build();
    insert(s, &cancelled);
    let c2 = cancelled.clone().cancel(at(5)).unwrap();
    assert_eq!(s.update_share(&c2, 1).unwrap(), UpdateOutcome::Updated);
    let mut other_creator = ShareFixture::new(3);
    other_creator.creator = 1;
    insert(s, &other_creator.build());
    let mut other_tenant = ShareFixture::new(4);
    other_tenant.tenant = 1;
    insert(s, &other_tenant.build());

    assert_eq!(
        list_ids(s, 0, 0, ShareFilter::enabled_only(), 10),
        vec![mine.id().clone()]
    );
    let with_cancelled: BTreeSet<ShareId> = list_ids(s, 0, 0, ShareFilter::default(), 10)
        .into_iter()
        .collect();
    assert_eq!(
        with_cancelled,
        [share_id(1), share_id(2)].into_iter().collect()
    );
    assert_eq!(
        list_ids(s, 0, 1, ShareFilter::default(), 10),
        vec![share_id(3)]
    );
    assert_eq!(
        list_ids(s, 1, 0, ShareFilter::default(), 10),
        vec![share_id(4)]
    );
    assert!(list_ids(s, 5, 5, ShareFilter::default(), 10).is_empty());
}

/// Quota counters take one unit at a time and stop exactly at the limit.
pub fn quota_stops_at_limit(s: &dyn Storage) {
    let c = charge(0, QuotaKind::Access, 0, 3);
    for n in 1..=3 {
        assert_eq!(
            s.consume_quota(&c).unwrap(),
            QuotaOutcome::Consumed { used: n }
        );
    }
    assert_eq!(
        s.consume_quota(&c).unwrap(),
        QuotaOutcome::Exhausted { used: 3 }
    );
    assert_eq!(s.quota_used(&c.key).unwrap(), 3);
    let zero = charge(1, QuotaKind::Access, 0, 0);
    assert_eq!(
        s.consume_quota(&zero).unwrap(),
        QuotaOutcome::Exhausted { used: 0 }
    );
}

/// Counters of different tenants, kinds and days are independent.
pub fn quota_counters_are_independent(s: &dyn Storage) {
    let keys = [
        charge(0, QuotaKind::Access, 0, 5),
        charge(1, QuotaKind::Access, 0, 5),
        charge(0, QuotaKind::Create, 0, 5),
        charge(0, QuotaKind::Access, 1, 5),
    ];
    for (i, c) in keys.iter().enumerate() {
        for _ in 0..=i {
            s.consume_quota(c).unwrap();
        }
    }
    for (i, c) in keys.iter().enumerate() {
        assert_eq!(s.quota_used(&c.key).unwrap(), u32::try_from(i + 1).unwrap());
    }
}

/// `count_use` counts up to the share's limit, bumps the version, and refuses after.
pub fn count_use_stops_at_limit(s: &dyn Storage) {
    let mut f = ShareFixture::new(1);
    f.download_limit = 2;
    let share = f.build();
    insert(s, &share);
    for n in 1..=2u64 {
        match s.count_use(share.id(), UseKind::Download, 0).unwrap() {
            UseOutcome::Counted(after) => {
                assert_eq!(after.counters.download, n);
                assert_eq!(after.version, share.version() + n);
            }
            other => panic!("expected Counted, got {other:?}"),
        }
    }
    assert_eq!(
        s.count_use(share.id(), UseKind::Download, 0).unwrap(),
        UseOutcome::LimitReached { limit: 2 }
    );
    // Unlimited kinds keep counting.
    assert!(matches!(
        s.count_use(share.id(), UseKind::Preview, 0).unwrap(),
        UseOutcome::Counted(_)
    ));
    let stored = s.get_share(share.id()).unwrap().unwrap();
    assert_eq!(stored.counters().download, 2);
    assert_eq!(stored.counters().preview, 1);
}

/// `refund_use` gives one use back (never below 0), bumps the version,
/// ignores the epoch, and reports a missing share as `None`.
pub fn refund_use_gives_back_one_use(s: &dyn Storage) {
    let mut f = ShareFixture::new(1);
    f.download_limit = 1;
    let share = f.build();
    insert(s, &share);
    assert!(matches!(
        s.count_use(share.id(), UseKind::Download, 0).unwrap(),
        UseOutcome::Counted(_)
    ));
    assert_eq!(
        s.count_use(share.id(), UseKind::Download, 0).unwrap(),
        UseOutcome::LimitReached { limit: 1 }
    );
    let back = s
        .refund_use(share.id(), UseKind::Download)
        .unwrap()
        .unwrap();
    assert_eq!(back.counters.download, 0);
    assert_eq!(back.version, share.version() + 2);
    // At 0 it stays at 0.
    let again = s
        .refund_use(share.id(), UseKind::Download)
        .unwrap()
        .unwrap();
    assert_eq!(again.counters.download, 0);
    // The limit is free again, once.
    assert!(matches!(
        s.count_use(share.id(), UseKind::Download, 0).unwrap(),
        UseOutcome::Counted(_)
    ));
    let stored = s.get_share(share.id()).unwrap().unwrap();
    assert_eq!(stored.counters().download, 1);
    assert_eq!(stored.version(), again.version + 1);
    // Other counters are untouched.
    assert_eq!(stored.counters().save, 0);
    assert_eq!(
        s.refund_use(&share_id(99), UseKind::Download).unwrap(),
        None
    );
}

/// `count_use` counts nothing for a moved epoch or a missing share.
pub fn count_use_checks_epoch_and_existence(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    insert(s, &share);
    assert_eq!(
        s.count_use(share.id(), UseKind::Save, 1).unwrap(),
        UseOutcome::EpochMoved
    );
    assert_eq!(
        s.count_use(&share_id(99), UseKind::Save, 0).unwrap(),
        UseOutcome::NotFound
    );
    assert_eq!(s.get_share(share.id()).unwrap().unwrap(), share);
}

/// Throttle state round-trips; the share part is shared by all clients of
/// the share, the client part is per client.
pub fn throttle_roundtrip_and_sharing(s: &dyn Storage) {
    let a = s
        .update_throttle(&share_id(1), &client(1), &mut |st| admitted(st, t0()))
        .unwrap();
    assert_eq!(a.share.in_flight, 1);
    assert_eq!(a.client.in_flight, 1);
    let b = s
        .update_throttle(&share_id(1), &client(2), &mut |st| failed(st, t0()))
        .unwrap();
    assert_eq!(b.share.in_flight, 1, "share part is shared");
    assert_eq!(b.client.failures, 1, "client part is per client");
    assert_eq!(b.client.in_flight, 0, "client part is per client");
    let again = s
        .update_throttle(&share_id(1), &client(1), &mut |st| st)
        .unwrap();
    assert_eq!(again.client, a.client);
    assert_eq!(again.share, b.share);
    let other = s
        .update_throttle(&share_id(2), &client(1), &mut |st| st)
        .unwrap();
    assert_eq!(other, ThrottleState::default());
}

/// Purge deletes expired and cancelled shares older than the cutoff, old
/// quota counters and stale throttle records, and nothing else.
pub fn purge_removes_only_what_it_should(s: &dyn Storage) {
    let mut expired_old = ShareFixture::new(1);
    expired_old.expires = Some(100);
    let mut expired_recent = ShareFixture::new(2);
    expired_recent.expires = Some(10_000);
    let live = ShareFixture::new(3);
    let cancelled_old = ShareFixture::new(4).build();
    for f in [&expired_old, &expired_recent, &live] {
        insert(s, &f.build());
    }
    insert(s, &cancelled_old);
    let c = cancelled_old.clone().cancel(at(50)).unwrap();
    assert_eq!(s.update_share(&c, 1).unwrap(), UpdateOutcome::Updated);
    let cancelled_recent = ShareFixture::new(5).build();
    insert(s, &cancelled_recent);
    let c = cancelled_recent.clone().cancel(at(20_000)).unwrap();
    assert_eq!(s.update_share(&c, 1).unwrap(), UpdateOutcome::Updated);

    let policy = ThrottlePolicy::default();
    s.update_throttle(&share_id(3), &client(1), &mut |st| failed(st, t0()))
        .unwrap();
    s.update_throttle(&share_id(3), &client(2), &mut |st| failed(st, at(5000)))
        .unwrap();
    s.update_throttle(&share_id(1), &client(3), &mut |st| failed(st, at(5000)))
        .unwrap();

    let old_day = charge(0, QuotaKind::Access, 0, 9);
    let new_day = charge(0, QuotaKind::Access, 2, 9);
    s.consume_quota(&old_day).unwrap();
    s.consume_quota(&new_day).unwrap();

    let now = t0() + Duration::hours(24) + Duration::seconds(100);
    let report = s
        .purge(&PurgeRequest {
            shares_before: at(1000),
            quota_days_before: new_day.key.day,
            throttle_policy: policy,
            now,
        })
        .unwrap();
    assert_eq!(report.shares, 2, "{report:?}");
    assert_eq!(report.quota_counters, 1, "{report:?}");
    assert!(report.throttle_records >= 2, "{report:?}");
    for (id, present) in [(1, false), (2, true), (3, true), (4, false), (5, true)] {
        assert_eq!(
            s.get_share(&share_id(id)).unwrap().is_some(),
            present,
            "share {id}"
        );
    }
    assert_eq!(s.quota_used(&old_day.key).unwrap(), 0);
    assert_eq!(s.quota_used(&new_day.key).unwrap(), 1);
    // Client 1 failed 24h+ ago: forgotten. Client 2 failed 5000 s in: kept.
    let c1 = s
        .update_throttle(&share_id(3), &client(1), &mut |st| st)
        .unwrap();
    assert_eq!(c1.client, Default::default());
    let c2 = s
        .update_throttle(&share_id(3), &client(2), &mut |st| st)
        .unwrap();
    assert_eq!(c2.client.failures, 1);
    // The purged share's throttle records went with it.
    let gone = s
        .update_throttle(&share_id(1), &client(3), &mut |st| st)
        .unwrap();
    assert_eq!(gone, ThrottleState::default());
    // Purging again removes nothing.
    let again = s
        .purge(&PurgeRequest {
            shares_before: at(1000),
            quota_days_before: new_day.key.day,
            throttle_policy: policy,
            now,
        })
        .unwrap();
    assert_eq!((again.shares, again.quota_counters), (0, 0));
}

/// `record_access` writes all of (throttle settle, quota unit, access count)
/// or nothing, and reports why it wrote nothing.
pub fn record_access_is_all_or_nothing(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    insert(s, &share);
    s.update_throttle(share.id(), &client(1), &mut |st| admitted(st, t0()))
        .unwrap();
    let c = charge(0, QuotaKind::Access, 0, 1);
    let client1 = client(1);
    let record = |id, epoch, charge| AccessRecord {
        share_id: id,
        expected_epoch: epoch,
        client: &client1,
        charge,
    };
    let mut settle = |st: ThrottleState| succeeded(st, t0());

    let missing = share_id(9);
    assert_eq!(
        s.record_access(&record(&missing, 0, Some(&c)), &mut settle)
            .unwrap(),
        AccessOutcome::NotFound
    );
    assert_eq!(
        s.record_access(&record(share.id(), 1, Some(&c)), &mut settle)
            .unwrap(),
        AccessOutcome::EpochMoved
    );
    assert_eq!(s.quota_used(&c.key).unwrap(), 0, "nothing charged");
    match s
        .record_access(&record(share.id(), 0, Some(&c)), &mut settle)
        .unwrap()
    {
        AccessOutcome::Recorded(after) => {
            assert_eq!(after.counters.access, 1);
            assert_eq!(after.version, share.version() + 1);
        }
        other => panic!("expected Recorded, got {other:?}"),
    }
    assert_eq!(s.quota_used(&c.key).unwrap(), 1);
    let st = s
        .update_throttle(share.id(), &client(1), &mut |st| st)
        .unwrap();
    assert_eq!(st.client.in_flight, 0, "the success was settled");
    assert_eq!(st.share.in_flight, 0, "the success was settled");

    // Quota exhausted: nothing at all is written, not even the settle.
    s.update_throttle(share.id(), &client(1), &mut |st| admitted(st, t0()))
        .unwrap();
    assert_eq!(
        s.record_access(&record(share.id(), 0, Some(&c)), &mut settle)
            .unwrap(),
        AccessOutcome::QuotaExhausted { used: 1 }
    );
    let st = s
        .update_throttle(share.id(), &client(1), &mut |st| st)
        .unwrap();
    assert_eq!(st.client.in_flight, 1, "not settled");
    assert_eq!(
        s.get_share(share.id()).unwrap().unwrap().counters().access,
        1
    );

    // A charge `apply` does not ask for is not taken, even at the limit.
    let mut no_charge = |st: ThrottleState| AccessUpdate {
        throttle: st,
        charge_quota: false,
    };
    assert!(matches!(
        s.record_access(&record(share.id(), 0, Some(&c)), &mut no_charge)
            .unwrap(),
        AccessOutcome::Recorded(_)
    ));
    assert_eq!(s.quota_used(&c.key).unwrap(), 1);
    // Without a charge, only the counter moves.
    assert!(matches!(
        s.record_access(&record(share.id(), 0, None), &mut no_charge)
            .unwrap(),
        AccessOutcome::Recorded(_)
    ));
    assert_eq!(
        s.get_share(share.id()).unwrap().unwrap().counters().access,
        3
    );
}

/// Group commit gives exactly the outcomes of the single calls, in order.
pub fn batches_match_single_calls(s: &dyn Storage) {
    insert(s, &ShareFixture::new(1).build());
    let c = charge(0, QuotaKind::Create, 0, 3);
    let batch: Vec<(Share, Option<QuotaCharge>)> = [1, 2, 3, 2, 4, 5]
        .iter()
        .map(|i| (ShareFixture::new(*i).build(), Some(c.clone())))
        .collect();
    assert_eq!(
        s.insert_shares(&batch).unwrap(),
        vec![
            InsertOutcome::IdTaken,
            InsertOutcome::Inserted,
            InsertOutcome::Inserted,
            InsertOutcome::IdTaken,
            InsertOutcome::Inserted,
            InsertOutcome::QuotaExhausted { used: 3 },
        ]
    );
    assert_eq!(s.quota_used(&c.key).unwrap(), 3);
    assert_eq!(s.get_share(&share_id(5)).unwrap(), None);
    assert!(s.insert_shares(&[]).unwrap().is_empty());

    let mut limited = ShareFixture::new(6);
    limited.download_limit = 1;
    insert(s, &limited.build());
    let uses = vec![
        (share_id(6), UseKind::Download, 0),
        (share_id(6), UseKind::Download, 0),
        (share_id(9), UseKind::Download, 0),
        (share_id(2), UseKind::Save, 1),
        (share_id(2), UseKind::Save, 0),
    ];
    let out = s.count_uses(&uses).unwrap();
    assert!(matches!(out[0], UseOutcome::Counted(_)));
    assert_eq!(out[1], UseOutcome::LimitReached { limit: 1 });
    assert_eq!(out[2], UseOutcome::NotFound);
    assert_eq!(out[3], UseOutcome::EpochMoved);
    assert!(matches!(&out[4], UseOutcome::Counted(c) if c.counters.save == 1));

    // Token issues: each item as `record_access` alone would, in order; a
    // refused item writes nothing and the next one sees the state before it.
    let c = charge(0, QuotaKind::Access, 0, 2);
    let item = |id: u32, epoch: u64, client_no: u32| AccessItem {
        share_id: share_id(id),
        expected_epoch: epoch,
        client: client(client_no),
        charge: Some(c.clone()),
        apply: Box::new(|st: ThrottleState| AccessUpdate {
            throttle: admitted(st, t0()),
            charge_quota: true,
        }),
    };
    let mut batch = vec![
        item(2, 0, 1),
        item(9, 0, 1),
        item(2, 1, 2),
        item(2, 0, 3),
        item(2, 0, 4),
        item(6, 0, 5),
    ];
    let out = s.record_accesses(&mut batch).unwrap();
    assert_eq!(out.len(), 6);
    assert!(matches!(&out[0], AccessOutcome::Recorded(c) if c.counters.access == 1));
    assert_eq!(out[1], AccessOutcome::NotFound);
    assert_eq!(out[2], AccessOutcome::EpochMoved);
    assert!(matches!(&out[3], AccessOutcome::Recorded(c) if c.counters.access == 2));
    assert_eq!(out[4], AccessOutcome::QuotaExhausted { used: 2 });
    assert_eq!(out[5], AccessOutcome::QuotaExhausted { used: 2 });
    assert_eq!(s.quota_used(&c.key).unwrap(), 2);
    assert_eq!(
        s.get_share(&share_id(2))
            .unwrap()
            .unwrap()
            .counters()
            .access,
        2
    );
    assert_eq!(
        s.get_share(&share_id(6))
            .unwrap()
            .unwrap()
            .counters()
            .access,
        0
    );
    // The refused client's throttle record was not written (the share part
    // is shared with the clients that were recorded).
    let untouched = s
        .update_throttle(&share_id(2), &client(4), &mut |st| st)
        .unwrap();
    assert_eq!(untouched.client, ThrottleState::default().client);
    let recorded = s
        .update_throttle(&share_id(2), &client(3), &mut |st| st)
        .unwrap();
    assert_ne!(recorded.client, ThrottleState::default().client);
    assert!(s.record_accesses(&mut []).unwrap().is_empty());
}
