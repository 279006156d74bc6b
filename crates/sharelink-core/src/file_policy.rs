//! The file-type policy: no APK or IPA downloads from shares that face
//! external users, unless the tenant has a custom domain.
//!
//! The rule (PDS, since 2025-02-24 10:00:00 +08:00) refuses a download when
//! all of these hold:
//! - the share is not restricted to members;
//! - it was created at or after the cutoff;
//! - the tenant has no custom domain.
//!
//! A file is of a blocked type if **any** of these says so:
//! - its **name**: the normalized name's extension is a blocked one, or is
//!   confusable with one (Unicode TR39 skeletons: `aрk` with a Cyrillic
//!   `р` is `apk`). Normalization defeats the usual tricks: NFKC (full-width
//!   letters and dots), lower case, removal of zero-width, bidi-control and
//!   blank characters (U+2800 BRAILLE PATTERN BLANK, Hangul fillers,
//!   whitespace) anywhere in the name, and trailing dots. The extension is
//!   the part after the *last* dot, so double extensions (`photo.jpg.apk`)
//!   are caught; a Windows stream suffix (`x.apk::$DATA`, `x.apk:zone`) is
//!   judged by the name before its first colon too;
//! - its **MIME type** is a blocked one;
//! - its **content**: the host's [`FileCatalog::package_kind`] says it is
//!   an app package (a ZIP holding `AndroidManifest.xml`, `Payload/*.app/`
//!   or `.apk` entries: see [`crate::package`]), whatever it is called.
//!
//! The blocked set is configurable ([`FileTypePolicy::blocked_extensions`]);
//! by default it is the Android and iOS package families: `apk`, `xapk`,
//! `apks`, `apkm` and `ipa`.
//!
//! [`FileCatalog::package_kind`]: crate::FileCatalog::package_kind
//!
//! **Preview counts as download** for blocked types by default
//! ([`FileTypePolicy::applies_to_preview`]): an installable package has no
//! rendition other than its bytes, so a preview would be a download by
//! another name. Saving (copy) into one's own drive is not a download and is
//! never refused by this policy.

use chrono::{DateTime, TimeZone, Utc};
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use crate::package::PackageKind;
use crate::share::{Action, Audience};

/// The default blocked extensions: Android packages and their split/bundle
/// forms, and iOS app archives.
pub const DEFAULT_BLOCKED_EXTENSIONS: [&str; 5] = ["apk", "xapk", "apks", "apkm", "ipa"];

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
    /// Whether the file's content is asked about
    /// ([`FileCatalog::package_kind`](crate::FileCatalog::package_kind))
    /// when its name and MIME type pass (default true).
    pub check_content: bool,
    /// Whether preview is refused like download (default true).
    pub applies_to_preview: bool,
}

impl Default for FileTypePolicy {
    fn default() -> Self {
        Self {
            blocked_extensions: DEFAULT_BLOCKED_EXTENSIONS.map(String::from).to_vec(),
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
            check_content: true,
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
    /// The content is this kind of app package.
    Content(PackageKind),
}

impl std::fmt::Display for MatchedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Extension(e) => write!(f, "blocked extension .{e}"),
            Self::MimeType(m) => write!(f, "blocked MIME type {m}"),
            Self::Content(k) => write!(f, "content is an {k}"),
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
        match self.check_with_content(ctx, action, name, mime, || {
            Ok::<_, std::convert::Infallible>(None)
        }) {
            Ok(verdict) => verdict,
            Err(never) => match never {},
        }
    }

    /// [`FileTypePolicy::check`] that also asks `content` what the file's
    /// bytes are, but only when the rule applies to this share and action
    /// and the name and MIME type pass (so hosts read content only where it
    /// can matter). `content`'s own failure is passed through as `Err`.
    pub fn check_with_content<E>(
        &self,
        ctx: PolicyContext,
        action: Action,
        name: &str,
        mime: Option<&str>,
        content: impl FnOnce() -> Result<Option<PackageKind>, E>,
    ) -> Result<Result<(), PolicyRefusal>, E> {
        if !self.applies(ctx, action) {
            return Ok(Ok(()));
        }
        if let Some(rule) = self.blocked_type(name, mime) {
            return Ok(Err(PolicyRefusal { rule }));
        }
        if self.check_content {
            if let Some(kind) = content()? {
                return Ok(Err(PolicyRefusal {
                    rule: MatchedRule::Content(kind),
                }));
            }
        }
        Ok(Ok(()))
    }

    /// Whether the rule applies at all to `action` on a share in `ctx`.
    pub fn applies(&self, ctx: PolicyContext, action: Action) -> bool {
        let guarded = match action {
            Action::Download => true,
            Action::Preview => self.applies_to_preview,
            Action::List | Action::Get | Action::Save => false,
        };
        guarded
            && !ctx.custom_domain
            && ctx.audience != Audience::MembersOnly
            && ctx.created_at >= self.cutoff
    }

    /// Which rule, if any, classifies the file as a blocked type by its
    /// name or MIME type (regardless of the share).
    pub fn blocked_type(&self, name: &str, mime: Option<&str>) -> Option<MatchedRule> {
        if let Some(ext) = self.blocked_extension(name) {
            return Some(MatchedRule::Extension(ext));
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

impl FileTypePolicy {
    /// The blocked extension `name` is taken for, if any: the extension of
    /// its normalized form, or of the part before a stream suffix (`:`),
    /// equal to a blocked one or confusable with it (same TR39 skeleton).
    pub fn blocked_extension(&self, name: &str) -> Option<String> {
        let normalized = normalize_name(name);
        let before_stream = normalized
            .split_once(':')
            .map(|(file, _stream)| trim_tail(file).to_owned());
        [Some(normalized), before_stream]
            .into_iter()
            .flatten()
            .filter_map(|n| extension(&n))
            .find_map(|ext| {
                let shape = ext_skeleton(&ext);
                self.blocked_extensions
                    .iter()
                    .find(|blocked| **blocked == ext || ext_skeleton(blocked) == shape)
                    .cloned()
            })
    }
}

/// The TR39 skeleton of an extension, lower case (skeletons may map to
/// upper-case prototypes, `0` to `O` say).
fn ext_skeleton(ext: &str) -> String {
    skeleton(ext).flat_map(char::to_lowercase).collect()
}

/// The form of a file name the policy judges: NFKC, lower case, without
/// invisible format characters or blank characters (anywhere), without
/// trailing dots.
pub fn normalize_name(name: &str) -> String {
    let cleaned: String = name
        .nfkc()
        .filter(|&c| !is_invisible(c) && !is_blank(c))
        .flat_map(char::to_lowercase)
        .collect();
    trim_tail(&cleaned).to_owned()
}

/// Without trailing dots (Windows drops them).
fn trim_tail(name: &str) -> &str {
    name.trim_end_matches(|c: char| c == '.' || c.is_whitespace() || is_blank(c))
}

/// Characters that render as blank space: whitespace, and the symbols and
/// letters that draw nothing (U+2800 BRAILLE PATTERN BLANK, Hangul fillers,
/// the object replacement and similar).
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{2800}'                  // braille pattern blank
                | '\u{115F}' | '\u{1160}' // hangul choseong/jungseong fillers
                | '\u{3164}' | '\u{FFA0}' // hangul fillers
                | '\u{FFFC}' // object replacement character
        )
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

    /// The names issue 10 found downloadable, and their neighbours.
    #[test]
    fn package_families_confusables_blanks_and_streams_are_caught() {
        for name in [
            "x.xapk",
            "x.apks",
            "x.apkm",
            "X.XAPK",
            "g.a\u{0440}k",   // Cyrillic er
            "g.\u{0430}pk",   // Cyrillic a
            "app.\u{0456}pa", // Cyrillic i
            "t.apk::$DATA",
            "t.apk:Zone.Identifier:$DATA",
            "t.apk.::$DATA",
            "zc.apk\u{2800}",
            "zc.apk\u{3164}",
            "zc.ap\u{2800}k",
        ] {
            assert!(refused(name), "{name:?} should be refused");
        }
        for name in [
            "deck.apkg",
            "paper.ap",
            "x.pk",
            "notes.txt::$DATA",
            "photo.jpg",
        ] {
            assert!(!refused(name), "{name:?} should pass");
        }
        let err = FileTypePolicy::default()
            .check(external_new(), Action::Download, "g.a\u{0440}k", None)
            .unwrap_err();
        assert_eq!(err.rule, MatchedRule::Extension("apk".into()));
    }

    #[test]
    fn the_blocked_set_is_configurable() {
        let exe_only = FileTypePolicy {
            blocked_extensions: vec!["exe".into()],
            ..FileTypePolicy::default()
        };
        let ctx = external_new();
        assert!(
            exe_only
                .check(ctx, Action::Download, "setup.exe", None)
                .is_err()
        );
        assert!(
            exe_only
                .check(ctx, Action::Download, "setup.\u{0435}xe", None)
                .is_err()
        );
        assert!(
            exe_only
                .check(ctx, Action::Download, "game.apk", None)
                .is_ok()
        );
    }

    #[test]
    fn content_decides_when_the_name_passes() {
        let p = FileTypePolicy::default();
        let verdict = p
            .check_with_content(external_new(), Action::Download, "photo.jpg", None, || {
                Ok::<_, ()>(Some(PackageKind::Android))
            })
            .unwrap();
        assert_eq!(
            verdict.unwrap_err().rule,
            MatchedRule::Content(PackageKind::Android)
        );
        assert!(
            p.check_with_content(external_new(), Action::Download, "photo.jpg", None, || {
                Ok::<_, ()>(None)
            })
            .unwrap()
            .is_ok()
        );
        // Content is never read where the rule does not apply.
        let mut ctx = external_new();
        ctx.custom_domain = true;
        let verdict = p.check_with_content(ctx, Action::Download, "photo.jpg", None, || {
            Err("content was read")
        });
        assert_eq!(verdict, Ok(Ok(())));
        // A host failure is passed through.
        let verdict =
            p.check_with_content(external_new(), Action::Download, "photo.jpg", None, || {
                Err::<Option<PackageKind>, _>("disk")
            });
        assert_eq!(verdict, Err("disk"));
        let off = FileTypePolicy {
            check_content: false,
            ..FileTypePolicy::default()
        };
        assert!(
            off.check_with_content(external_new(), Action::Download, "photo.jpg", None, || {
                Ok::<_, ()>(Some(PackageKind::Ios))
            })
            .unwrap()
            .is_ok()
        );
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

        /// Classification never panics; any name whose normalized form ends
        /// in a blocked extension is refused; and a refusal of a name always
        /// names a blocked extension.
        #[test]
        fn normalized_suffix_decides(name in "\\PC{0,40}") {
            let policy = FileTypePolicy::default();
            let norm = normalize_name(&name);
            let ends_blocked = policy.blocked_extensions.iter().any(|e| norm.ends_with(&format!(".{e}")));
            let verdict = policy.check(external_new(), Action::Download, &name, None);
            if ends_blocked {
                prop_assert!(verdict.is_err(), "{:?} -> {:?}", name, norm);
            }
            if let Err(refusal) = verdict {
                let MatchedRule::Extension(ext) = refusal.rule else {
                    return Err(TestCaseError::fail("a name-only check matched something else"));
                };
                prop_assert!(policy.blocked_extensions.contains(&ext));
            }
        }

        /// Any blocked extension with Cyrillic/Greek look-alikes swapped in,
        /// blanks and a stream suffix appended, is refused.
        #[test]
        fn confusable_and_suffixed_variants_are_refused(
            ext in prop::sample::select(DEFAULT_BLOCKED_EXTENSIONS.to_vec()),
            swap in prop::collection::vec(any::<bool>(), 4),
            suffix in prop::sample::select(vec!["", "::$DATA", ":Zone.Identifier", "\u{2800}", "\u{3164}", " ", "..."]),
        ) {
            let looks: String = ext
                .chars()
                .zip(swap.iter().cycle())
                .map(|(c, s)| match (c, s) {
                    ('a', true) => '\u{0430}', // Cyrillic a
                    ('p', true) => '\u{0440}', // Cyrillic er
                    ('i', true) => '\u{0456}', // Cyrillic i
                    ('x', true) => '\u{0445}', // Cyrillic ha
                    ('s', true) => '\u{0455}', // Cyrillic dze
                    (c, _) => c,
                })
                .collect();
            let name = format!("game.{looks}{suffix}");
            prop_assert!(refused(&name), "{:?} was allowed", name);
        }
    }
}
