//! Arbitrary names and MIME strings never panic, and any name whose
//! normalized form ends in a blocked extension is refused.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use sharelink_core::file_policy::{FileTypePolicy, PolicyContext, normalize_name};
use sharelink_core::{Action, Audience};

#[derive(Debug, Arbitrary)]
struct Input {
    name: String,
    mime: Option<String>,
}

fuzz_target!(|input: Input| {
    let policy = FileTypePolicy::default();
    let ctx = PolicyContext {
        audience: Audience::Anyone,
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        custom_domain: false,
    };
    let verdict = policy.check(ctx, Action::Download, &input.name, input.mime.as_deref());
    let normalized = normalize_name(&input.name);
    if policy
        .blocked_extensions
        .iter()
        .any(|e| normalized.ends_with(&format!(".{e}")))
    {
        assert!(
            verdict.is_err(),
            "{:?} (normalized {normalized:?}) was allowed",
            input.name
        );
    }
    // Saving is never refused by this policy.
    assert!(
        policy
            .check(ctx, Action::Save, &input.name, input.mime.as_deref())
            .is_ok()
    );
});
