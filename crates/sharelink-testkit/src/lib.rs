//! # sharelink-testkit
//!
//! The single definition of "a correct [`Storage`](sharelink_core::Storage)
//! backend".
//!
//! - [`conformance_suite!`] expands, for a store builder, to **one named
//!   `#[test]` per case** ([`cases`], [`races`], [`model`], [`faults`]), so a
//!   failure says which guarantee broke.
//! - [`model::model_matches_memory`] applies random operation sequences to
//!   the backend and to `MemoryStorage` and compares every step.
//! - [`golden`] pins the stored share format: every persistent backend
//!   writes the current bytes and reads every older format.
//! - [`faults`] injects a failure at every internal step of multi-part
//!   writes and checks nothing is left half-written; [`faults::FailingStorage`]
//!   fails the Nth write call of any store.
//! - [`crash`] holds the SIGKILL and cross-process harnesses that backend
//!   crates drive from a `harness = false` test binary.
//!
//! ```text
//! sharelink_testkit::conformance_suite!(|faults| {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStorage::open(dir.path(), faults).unwrap();
//!     (store, dir) // the guard keeps the directory alive
//! });
//! ```
#![allow(clippy::missing_panics_doc, clippy::print_stdout)]

pub mod cases;
pub mod crash;
pub mod faults;
pub mod fixtures;
pub mod golden;
pub mod model;
pub mod races;

/// Random sequences per backend in the model test.
pub const MODEL_CASES: u32 = 96;

/// Expands to one `#[test]` per conformance case for a store builder.
///
/// The builder is a closure `|faults: Arc<dyn FaultInjector>| -> (S, G)`:
/// it returns a fresh, empty store that consults `faults`, and a guard (a
/// temporary directory, say) that lives as long as the store.
///
/// `conformance_suite!(stored_bodies: hooks, builder)` is the form for a
/// persistent backend: `hooks` is a [`golden::StoredBodies`] that reads and
/// overwrites the raw body of a share row, and the run adds the
/// [`golden`] case (the backend writes and reads the pinned record bytes).
///
/// `conformance_suite!(requires: ready, stored_bodies: hooks, builder)`
/// is the form for a backend that needs a service (PostgreSQL): every test
/// first calls `ready()`, and returns at once when it says `false` (it
/// prints the one "skipped" line, or panics where the service is
/// required).
///
/// `conformance_suite!(reference: builder)` is the form for
/// `MemoryStorage` itself: the same cases, without the model test (which
/// compares a backend with `MemoryStorage`, and so would compare the
/// reference with itself).
///
/// Every `pub fn` case of [`cases`] and [`races`] must be listed here: the
/// testkit's `case_list` test fails if one is missing.
#[macro_export]
macro_rules! conformance_suite {
    (reference: $builder:expr) => {
        $crate::conformance_suite!(@contract (|| true), $builder);
    };
    (requires: $ready:expr, stored_bodies: $raw:expr, $builder:expr) => {
        $crate::conformance_suite!(@backend $ready, $builder);

        #[test]
        fn stored_bodies_match_the_golden_vectors() {
            if !($ready)() {
                return;
            }
            let (store, _guard) = ($builder)(::std::sync::Arc::new(::sharelink_core::NoFaults));
            $crate::golden::stored_bodies_match_the_golden_vectors(&store, &$raw);
        }
    };
    (stored_bodies: $raw:expr, $builder:expr) => {
        $crate::conformance_suite!(requires: (|| true), stored_bodies: $raw, $builder);
    };
    ($builder:expr) => {
        $crate::conformance_suite!(@backend (|| true), $builder);
    };
    (@backend $ready:expr, $builder:expr) => {
        $crate::conformance_suite!(@contract $ready, $builder);

        #[test]
        fn model_matches_memory() {
            if !($ready)() {
                return;
            }
            let build = || ($builder)(::std::sync::Arc::new(::sharelink_core::NoFaults));
            $crate::model::model_matches_memory(&build, $crate::MODEL_CASES);
        }
    };
    (@contract $ready:expr, $builder:expr) => {
        $crate::conformance_suite!(@cases $ready, $builder;
            cases::get_missing_share_is_none,
            cases::insert_then_get_roundtrips_every_field,
            cases::insert_duplicate_id_writes_nothing,
            cases::insert_charges_quota_in_the_same_step,
            cases::insert_over_quota_writes_nothing,
            cases::update_with_expected_version_succeeds,
            cases::update_with_stale_version_is_a_conflict,
            cases::update_missing_share_is_not_found,
            cases::list_pages_newest_first,
            cases::list_filters_cancelled_and_other_creators,
            cases::list_serves_every_order_with_keyset_paging,
            cases::list_filters_by_name_status_and_time,
            cases::quota_stops_at_limit,
            cases::quota_counters_are_independent,
            cases::count_use_stops_at_limit,
            cases::count_use_checks_epoch_and_existence,
            cases::refund_use_gives_back_one_use,
            cases::throttle_roundtrip_and_sharing,
            cases::purge_removes_only_what_it_should,
            cases::record_access_is_all_or_nothing,
            cases::batches_match_single_calls,
            races::race_quota_exactly_limit,
            races::race_download_limit_exactly_limit,
            races::race_count_and_refund_never_pass_the_limit,
            races::race_inserts_against_creation_quota,
            races::race_updates_never_lose_a_write,
            races::race_record_access_exactly_quota
        );

        #[test]
        fn faults_leave_nothing_half_written() {
            if !($ready)() {
                return;
            }
            $crate::faults::faults_leave_nothing_half_written(&$builder);
        }
    };
    (@cases $ready:expr, $builder:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                if !($ready)() {
                    return;
                }
                let (store, _guard) = ($builder)(::std::sync::Arc::new(::sharelink_core::NoFaults));
                $crate::$module::$case(&store);
            }
        )*
    };
}
