//! Recognising installable app packages by their content.
//!
//! An Android or iOS package is a ZIP archive whatever its name says: an APK
//! holds `AndroidManifest.xml`, an IPA holds `Payload/<App>.app/`, and the
//! split and bundle formats (`.xapk`, `.apks`, `.apkm`) hold `.apk` entries.
//! [`sniff_package`] reads the entry names from whatever ZIP headers appear
//! in the bytes it is given (local file headers from the start of a file,
//! central directory headers from its end), so a bounded prefix, a bounded
//! suffix, or both, are enough; it never decompresses anything.
//!
//! The host supplies the bytes, or a kind it computed itself, through
//! [`FileCatalog::package_kind`](crate::FileCatalog::package_kind).

use serde::{Deserialize, Serialize};

/// How many bytes of a file's start the engine asks a host for when it
/// sniffs content itself ([`FileCatalog::content_prefix`](crate::FileCatalog::content_prefix)).
pub const SNIFF_PREFIX_BYTES: usize = 64 * 1024;

/// Most ZIP entry names one call looks at (bounds the work on hostile input).
const MAX_ENTRIES: usize = 4096;

const LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_HEADER: &[u8; 4] = b"PK\x01\x02";

/// An installable app package, recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// An Android package: APK, or a split/bundle (XAPK, APKS, APKM).
    Android,
    /// An iOS app archive (IPA).
    Ios,
}

impl PackageKind {
    /// A stable lower-case name: `android` or `ios`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Android => "android",
            Self::Ios => "ios",
        }
    }

    /// Parses [`PackageKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "android" => Some(Self::Android),
            "ios" => Some(Self::Ios),
            _ => None,
        }
    }
}

impl std::fmt::Display for PackageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Android => "Android package",
            Self::Ios => "iOS package",
        })
    }
}

/// What the ZIP entry names found in `bytes` say the file is, if it is an
/// app package. `bytes` may be any window of the file (its first bytes, its
/// last bytes); headers cut off at the window's edge are ignored. Never
/// panics, reads at most a few thousand names.
pub fn sniff_package(bytes: &[u8]) -> Option<PackageKind> {
    let mut seen = 0;
    let mut at = 0;
    while at + 4 <= bytes.len() && seen < MAX_ENTRIES {
        let Some(offset) = find_header(bytes.get(at..)?) else {
            break;
        };
        let start = at + offset;
        if let Some(name) = entry_name(bytes, start) {
            seen += 1;
            if let Some(kind) = classify_entry(name) {
                return Some(kind);
            }
        }
        at = start + 4;
    }
    None
}

/// The offset of the next local or central header signature.
fn find_header(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == LOCAL_HEADER || w == CENTRAL_HEADER)
}

/// The entry name of the header at `start`, if it lies wholly in `bytes`.
fn entry_name(bytes: &[u8], start: usize) -> Option<&[u8]> {
    let sig = bytes.get(start..start + 4)?;
    // (offset of the name-length field, offset of the name)
    let (len_at, name_at) = if sig == LOCAL_HEADER {
        (26, 30)
    } else {
        (28, 46)
    };
    let len_bytes = bytes.get(start + len_at..start + len_at + 2)?;
    let len = usize::from(u16::from_le_bytes([
        *len_bytes.first()?,
        *len_bytes.get(1)?,
    ]));
    bytes.get(start + name_at..start + name_at + len)
}

/// Whether one entry name marks a package.
fn classify_entry(name: &[u8]) -> Option<PackageKind> {
    let name = String::from_utf8_lossy(name);
    let name = name.trim_start_matches("./").trim_start_matches('/');
    let lower = name.to_ascii_lowercase();
    if lower == "androidmanifest.xml" || lower.ends_with(".apk") {
        return Some(PackageKind::Android);
    }
    if let Some(rest) = lower.strip_prefix("payload/") {
        if rest
            .split('/')
            .next()
            .is_some_and(|app| app.ends_with(".app"))
            && rest.contains('/')
        {
            return Some(PackageKind::Ios);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal ZIP local file header for `name` with `data` stored.
    pub(crate) fn local(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(LOCAL_HEADER);
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let size = u32::try_from(data.len()).unwrap().to_le_bytes();
        out.extend_from_slice(&size);
        out.extend_from_slice(&size);
        out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn central(name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(CENTRAL_HEADER);
        out.extend_from_slice(&[0; 24]);
        out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(name.as_bytes());
        out
    }

    #[test]
    fn packages_are_recognised_by_their_entries() {
        let apk = [
            local("META-INF/MANIFEST.MF", b"x"),
            local("AndroidManifest.xml", b"<manifest/>"),
        ]
        .concat();
        assert_eq!(sniff_package(&apk), Some(PackageKind::Android));
        let ipa = [
            local("Payload/", b""),
            local("Payload/Game.app/Info.plist", b"p"),
        ]
        .concat();
        assert_eq!(sniff_package(&ipa), Some(PackageKind::Ios));
        let xapk = [local("manifest.json", b"{}"), local("com.game.apk", b"..")].concat();
        assert_eq!(sniff_package(&xapk), Some(PackageKind::Android));
        // The central directory alone (a file's last bytes) is enough.
        let tail = [
            b"...compressed data...".to_vec(),
            central("AndroidManifest.xml"),
        ]
        .concat();
        assert_eq!(sniff_package(&tail), Some(PackageKind::Android));
    }

    #[test]
    fn ordinary_archives_and_files_are_not_packages() {
        let zip = [local("docs/readme.txt", b"hi"), local("Payload.txt", b"")].concat();
        assert_eq!(sniff_package(&zip), None);
        assert_eq!(sniff_package(b"\xFF\xD8\xFF\xE0 a jpeg"), None);
        assert_eq!(sniff_package(b""), None);
        // A header cut off at the window's edge is ignored, not misread.
        let cut = local("AndroidManifest.xml", b"");
        assert_eq!(sniff_package(&cut[..cut.len() - 3]), None);
    }

    proptest! {
        /// Any bytes: no panic; a package entry anywhere after noise is found.
        #[test]
        fn never_panics_and_finds_entries_after_noise(
            noise in prop::collection::vec(any::<u8>(), 0..512),
            tail in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = sniff_package(&noise);
            let bytes = [noise, local("AndroidManifest.xml", b""), tail].concat();
            prop_assert_eq!(sniff_package(&bytes), Some(PackageKind::Android));
        }
    }
}
