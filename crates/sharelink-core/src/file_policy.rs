//! The file-type policy: no APK or IPA downloads from shares that face
//! external users, unless the tenant has a custom domain.
//!
//! The rule (PDS, since 2025-02-24 10:00:00 +08:00) refuses a download when
//! all of these hold:
//! - the share is not restricted to members;
//! - it was created at or after the cutoff;
//! - the tenant has no custom domain.
//!
//! A file is of a blocked type if its **normalized name** ends in a blocked
//! extension, or its MIME type is a blocked one, whatever the name says.
//! Normalization defeats the usual tricks: NFKC (full-width letters and dots),
//! lower case, removal of zero-width and bidi control characters, and
//! trailing dots and whitespace. The extension is the part after the *last*
//! dot, so double extensions (`photo.jpg.apk`) are caught.
//!
//! **Preview counts as download** for blocked types by default
//! ([`FileTypePolicy::applies_to_preview`]): an installable package has no
//! rendition other than its bytes, so a preview would be a download by
//! another name. Saving (copy) into one's own drive is not a download and is
//! never refused by this policy.

use chrono::{DateTime, TimeZone, Utc};
use unicode_normalization::UnicodeNormalization;

use crate::share::{Action, Audience};

/// The policy's data: what is blocked, from when, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTypePolicy {
    /// Blocked extensions, lower case, without the dot.
    pub blocked_extensions: Vec<String>,
    /// Blocked MIME types, lower case, without parameters.
    pub blocked_mime_types: Vec<String>,
    /// Shares created before this instant are exempt.
    pub cutoff: DateTime<Utc>,
    /// Whether the MIME type is checked at all.
    pub check_mime: bool,
    /// Whether preview is refused like download (default true).
    pub applies_to_preview: bool,
}

impl Default for FileTypePolicy {
    fn default() -> Self {
        Self {
            blocked_extensions: vec!["apk".into(), "ipa".into()],
            blocked_mime_types: vec![
                "application/vnd.android.package-archive".into(),
                "application/x-itunes-ipa".into(),
                "application/x-ios-app".into(),
                "application/x-ipa".into(),
            ],
            // 2025-02-24T10:00:00+08:00
            cutoff: Utc
                .with_ymd_and_hms(2025, 2, 24, 2, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            check_mime: true,
            applies_to_preview: true,
        }
    }
}

/// Which rule refused a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchedRule {
    /// The normalized name ends in this blocked extension.
    Extension(String),
    /// The MIME type is this blocked type.
    MimeType(String),
}

impl std::fmt::Display for MatchedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Extension(e) => write!(f, "blocked extension .{e}"),
            Self::MimeType(m) => write!(f, "blocked MIME type {m}"),
        }
    }
}

/// A download refused by the file-type policy, naming the rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("files of this type cannot be downloaded from a share for external users ({rule})")]
pub struct PolicyRefusal {
    /// The rule that matched.
    pub rule: MatchedRule,
}

/// The facts about a share the policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext {
    /// The share's audience.
    pub audience: Audience,
    /// When the share was created.
    pub created_at: DateTime<Utc>,
    /// Whether the tenant has a custom domain.
    pub custom_domain: bool,
}

impl FileTypePolicy {
    /// Decides whether `action` on a file called `name` with MIME type `mime`
    /// is allowed. Only download (and preview, if configured) can be refused.
    pub fn check(
        &self,
        ctx: PolicyContext,
        action: Action,
        name: &str,
        mime: Option<&str>,
    ) -> Result<(), PolicyRefusal> {
        let guarded = match action {
            Action::Download => true,
            Action::Preview => self.applies_to_preview,
            Action::List | Action::Get | Action::Save => false,
        };
        if !guarded
            || ctx.custom_domain
            || ctx.audience == Audience::MembersOnly
            || ctx.created_at < self.cutoff
        {
            return Ok(());
        }
        match self.blocked_type(name, mime) {
            Some(rule) => Err(PolicyRefusal { rule }),
            None => Ok(()),
        }
    }

    /// Which rule, if any, classifies the file as a blocked type
    /// (regardless of the share).
    pub fn blocked_type(&self, name: &str, mime: Option<&str>) -> Option<MatchedRule> {
        if let Some(ext) = extension(&normalize_name(name)) {
            if self.blocked_extensions.contains(&ext) {
                return Some(MatchedRule::Extension(ext));
            }
        }
        if self.check_mime {
            if let Some(m) = mime.map(normalize_mime) {
                if self.blocked_mime_types.contains(&m) {
                    return Some(MatchedRule::MimeType(m));
                }
            }
        }
        None
    }
}

/// The form of a file name the policy judges: NFKC, lower case, without
/// invisible format characters, without trailing dots and whitespace.
pub fn normalize_name(name: &str) -> String {
    let cleaned: String = name
        .nfkc()
        .filter(|&c| !is_invisible(c))
        .flat_map(char::to_lowercase)
        .collect();
    cleaned
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned()
}

/// The extension of a normalized name: after the last dot, if any.
pub fn extension(normalized: &str) -> Option<String> {
    let (_stem, ext) = normalized.rsplit_once('.')?;
    (!ext.is_empty()).then(|| ext.to_owned())
}

fn normalize_mime(m: &str) -> String {
    m.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Zero-width, bidi-control and other invisible format characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                // soft hyphen
        | '\u{034F}'              // combining grapheme joiner
        | '\u{061C}'              // arabic letter mark
        | '\u{115F}' | '\u{1160}' // hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' // mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
        | '\u{3164}'              // hangul filler
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'              // BOM / zero-width no-break space
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}' // tags
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    ) || c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn external_new() -> PolicyContext {
        PolicyContext {
            audience: Audience::Anyone,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            custom_domain: false,
        }
    }

    fn refused(name: &str) -> bool {
        FileTypePolicy::default()
            .check(external_new(), Action::Download, name, None)
            .is_err()
    }

    #[test]
    fn tricks_are_caught() {
        for name in [
            "a.apk",
            "A.APK",
            "a.apk. ",
            "a.apk...",
            "a.ap\u{200B}k",
            "a.\u{202E}kpa",
            "x.jpg.apk",
            "app.IPA",
            "ａｐｐ．ａｐｋ",
            "a.apk\u{FEFF}",
            "a.Apk\u{0009}",
        ] {
            // \u{202E}kpa is the RLO trick: displayed reversed, but stored as
            // "kpa", which is not an apk. Everything else must be refused.
            if name.contains('\u{202E}') {
                assert!(!refused(name), "{name:?}");
            } else {
                assert!(refused(name), "{name:?} should be refused");
            }
        }
        for name in ["a.apk.txt", "apk", "readme.md", "my apk notes.pdf", "ipa"] {
            assert!(!refused(name), "{name:?} should pass");
        }
    }

    #[test]
    fn mime_is_checked_whatever_the_name() {
        let p = FileTypePolicy::default();
        let err = p
            .check(
                external_new(),
                Action::Download,
                "holiday.jpg",
                Some("Application/vnd.android.package-archive; charset=binary"),
            )
            .unwrap_err();
        assert_eq!(
            err.rule,
            MatchedRule::MimeType("application/vnd.android.package-archive".into())
        );
        let no_mime = FileTypePolicy {
            check_mime: false,
            ..FileTypePolicy::default()
        };
        assert!(
            no_mime
                .check(
                    external_new(),
                    Action::Download,
                    "holiday.jpg",
                    Some("application/vnd.android.package-archive"),
                )
                .is_ok()
        );
    }

    #[test]
    fn exemptions() {
        let p = FileTypePolicy::default();
        let mut ctx = external_new();
        ctx.custom_domain = true;
        assert!(p.check(ctx, Action::Download, "a.apk", None).is_ok());
        let mut ctx = external_new();
        ctx.audience = Audience::MembersOnly;
        assert!(p.check(ctx, Action::Download, "a.apk", None).is_ok());
        let mut ctx = external_new();
        // One second before the cutoff (10:00:00 +08:00 = 02:00:00Z).
        ctx.created_at = Utc.with_ymd_and_hms(2025, 2, 24, 1, 59, 59).unwrap();
        assert!(p.check(ctx, Action::Download, "a.apk", None).is_ok());
        ctx.created_at = Utc.with_ymd_and_hms(2025, 2, 24, 2, 0, 0).unwrap();
        assert!(p.check(ctx, Action::Download, "a.apk", None).is_err());
    }

    #[test]
    fn save_is_not_a_download_and_preview_is() {
        let p = FileTypePolicy::default();
        assert!(p.check(external_new(), Action::Save, "a.apk", None).is_ok());
        assert!(p.check(external_new(), Action::Get, "a.apk", None).is_ok());
        assert!(
            p.check(external_new(), Action::Preview, "a.apk", None)
                .is_err()
        );
        let lenient = FileTypePolicy {
            applies_to_preview: false,
            ..FileTypePolicy::default()
        };
        assert!(
            lenient
                .check(external_new(), Action::Preview, "a.apk", None)
                .is_ok()
        );
    }

    #[test]
    fn refusal_names_the_rule() {
        let err = FileTypePolicy::default()
            .check(external_new(), Action::Download, "Game.APK ", None)
            .unwrap_err();
        assert_eq!(err.rule, MatchedRule::Extension("apk".into()));
        assert!(err.to_string().contains(".apk"), "{err}");
    }

    fn invisible() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "", "\u{200B}", "\u{200C}", "\u{200D}", "\u{200E}", "\u{2060}", "\u{FEFF}", "\u{202A}",
            "\u{2066}", "\u{00AD}",
        ])
        .prop_map(str::to_owned)
    }

    fn cased(ext: &'static str) -> impl Strategy<Value = String> {
        prop::collection::vec(any::<bool>(), ext.len()).prop_map(move |upper| {
            ext.chars()
                .zip(upper)
                .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
                .collect()
        })
    }

    proptest! {
        /// Generated variants of an APK/IPA name — any stem, any inner
        /// extensions, any casing, invisible characters anywhere in the
        /// extension, trailing dots and spaces — are always refused.
        #[test]
        fn blocked_variants_are_never_downloadable(
            stem in "[a-zA-Z0-9 _.-]{0,20}",
            ext in prop_oneof![cased("apk"), cased("ipa")],
            inv in prop::collection::vec(invisible(), 4),
            tail in "[. ]{0,4}",
        ) {
            let mut e = String::new();
            for (i, c) in ext.chars().enumerate() {
                e.push_str(&inv[i % inv.len()]);
                e.push(c);
            }
            let name = format!("{stem}.{e}{}{tail}", inv[3]);
            prop_assert!(refused(&name), "{name:?} was allowed");
        }

        /// Whatever the name, a blocked MIME type is refused.
        #[test]
        fn blocked_mime_is_never_downloadable(
            name in "\\PC{0,30}",
            mime in prop::sample::select(FileTypePolicy::default().blocked_mime_types),
            upper in any::<bool>(),
        ) {
            let mime = if upper { mime.to_uppercase() } else { mime };
            let r = FileTypePolicy::default().check(external_new(), Action::Download, &name, Some(&mime));
            prop_assert!(r.is_err());
        }

        /// Classification never panics, and any name whose normalized form
        /// ends in a blocked extension is refused.
        #[test]
        fn normalized_suffix_decides(name in "\\PC{0,40}") {
            let norm = normalize_name(&name);
            let ends_blocked = norm.ends_with(".apk") || norm.ends_with(".ipa");
            prop_assert_eq!(refused(&name), ends_blocked, "{:?} -> {:?}", name, norm);
        }
    }
}
