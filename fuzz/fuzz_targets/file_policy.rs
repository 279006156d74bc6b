//! Arbitrary names, MIME strings and content never panic; any name whose
//! normalized form ends in a blocked extension is refused; and content the
//! sniffer calls a package is refused whatever the name.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use sharelink_core::file_policy::{FileTypePolicy, MatchedRule, PolicyContext, normalize_name};
use sharelink_core::{Action, Audience, sniff_package};

#[derive(Debug, Arbitrary)]
struct Input {
    name: String,
    mime: Option<String>,
    content: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let policy = FileTypePolicy::default();
    let ctx = PolicyContext {
        audience: Audience::Anyone,
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        custom_domain: false,
    };
    let sniffed = sniff_package(&input.content);
    let verdict = policy
        .check_with_content(ctx, Action::Download, &input.name, input.mime.as_deref(), || {
            Ok::<_, ()>(sniffed)
        })
        .unwrap();
    let by_name = policy.check(ctx, Action::Download, &input.name, input.mime.as_deref());
    let normalized = normalize_name(&input.name);
    if policy
        .blocked_extensions
        .iter()
        .any(|e| normalized.ends_with(&format!(".{e}")))
    {
        assert!(
            by_name.is_err(),
            "{:?} (normalized {normalized:?}) was allowed",
            input.name
        );
    }
    match (&by_name, sniffed) {
        (Err(_), _) => assert_eq!(verdict, by_name, "content overrode a name refusal"),
        (Ok(()), Some(kind)) => assert_eq!(
            verdict.map_err(|r| r.rule),
            Err(MatchedRule::Content(kind)),
            "a sniffed package was allowed"
        ),
        (Ok(()), None) => assert!(verdict.is_ok()),
    }
    // Saving is never refused by this policy.
    assert!(
        policy
            .check(ctx, Action::Save, &input.name, input.mime.as_deref())
            .is_ok()
    );
});
