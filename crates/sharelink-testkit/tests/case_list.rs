//! Guards the conformance case list: every public case function in
//! `cases.rs` and `races.rs` is expanded by `conformance_suite!`, and the
//! macro names nothing that does not exist. A case added to the testkit
//! cannot silently be left out of every backend's run.

use std::collections::BTreeSet;

/// `module::name` of every `pub fn name(s: &dyn Storage)` in a source file.
fn cases_in(module: &str, source: &str) -> BTreeSet<String> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("pub fn "))
        .filter(|rest| rest.contains("(s: &dyn Storage)"))
        .filter_map(|rest| rest.split('(').next())
        .map(|name| format!("{module}::{name}"))
        .collect()
}

/// `module::name` entries listed in the macro's `@cases` invocation.
fn listed_in_macro(lib: &str) -> BTreeSet<String> {
    let start = lib
        .find("$crate::conformance_suite!(@cases $ready, $builder;")
        .expect("the macro lists its cases");
    let rest = &lib[start..];
    let end = rest.find(");").expect("the case list ends");
    rest[..end]
        .lines()
        .skip(1)
        .map(|l| l.trim().trim_end_matches(',').to_owned())
        .filter(|l| l.starts_with("cases::") || l.starts_with("races::"))
        .collect()
}

#[test]
fn every_case_is_in_the_conformance_macro() {
    let defined: BTreeSet<String> = cases_in("cases", include_str!("../src/cases.rs"))
        .into_iter()
        .chain(cases_in("races", include_str!("../src/races.rs")))
        .collect();
    let listed = listed_in_macro(include_str!("../src/lib.rs"));
    assert!(defined.len() >= 20, "found only {defined:?}");
    let missing: Vec<_> = defined.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&defined).collect();
    assert!(
        missing.is_empty(),
        "cases not run by conformance_suite!: {missing:?}"
    );
    assert!(unknown.is_empty(), "listed but not defined: {unknown:?}");
}
