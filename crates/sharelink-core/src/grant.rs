//! Content grants: signed, expiring capabilities for one file's content (a
//! download or a preview), carried in a download URL (PDS GetDownloadUrl)
//! or a preview URL (PDS GetVideoPreviewPlayInfo).
//!
//! A receiver who may download a file gets a URL instead of the bytes. The
//! URL carries a grant:
//!
//! ```text
//! g1.<key id>.<payload, URL-safe base64>.<HMAC-SHA256, URL-safe base64>
//! ```
//!
//! signed with the same [`KeyRing`] as share tokens. A grant is for a
//! download or for a preview ([`GrantKind`]); fetching it needs that action
//! to be still enabled on the share. The `g1` prefix is
//! covered by the MAC, so a grant can never be presented as a share token nor
//! a token as a grant. The payload names the drive, the file, the instant the
//! grant expires and, for grants issued through a share, the share and its
//! token epoch: cancelling the share, or changing its password, expiration
//! or audience, kills every outstanding URL with its tokens.
//!
//! The payload is decoded only after its MAC verified, so untrusted bytes
//! never reach the JSON decoder.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::code::{ErrorCode, InputError};
use crate::fields::{DriveId, FileId};
use crate::id::ShareId;
use crate::share::Action;
use crate::token::{Envelope, KeyRing, TokenError};

/// Longest accepted grant text, in bytes.
pub const MAX_GRANT_LEN: usize = 1024;
/// Default lifetime of a download URL, in seconds (PDS: 900).
pub const DEFAULT_GRANT_SECS: u32 = 900;
/// Longest lifetime of a download URL, in seconds (PDS: 115200).
pub const MAX_GRANT_SECS: u32 = 115_200;

const VERSION: &str = "g1";

/// What a grant lets its holder do with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// Download it (counted against `download_limit` when issued).
    Download,
    /// Preview it (counted against `preview_limit` when issued).
    Preview,
}

impl GrantKind {
    /// The share action the grant stands for.
    pub fn action(self) -> Action {
        match self {
            Self::Download => Action::Download,
            Self::Preview => Action::Preview,
        }
    }
}

/// The share a grant was issued through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedShare {
    /// The share.
    pub share_id: ShareId,
    /// Its token epoch when the grant was issued.
    pub token_epoch: u64,
}

/// What a content grant allows: one file's download or preview, until an
/// instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentGrant {
    drive_id: DriveId,
    file_id: FileId,
    share: Option<GrantedShare>,
    kind: GrantKind,
    expires_s: i64,
}

/// Why a content grant was refused. Every variant maps to
/// `DownloadUrlInvalid` (403) on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The envelope is malformed, too long, under an unknown key or has a bad MAC.
    #[error("the download URL is invalid: {0}")]
    Token(TokenError),
    /// The grant expired.
    #[error("the download URL expired at {at}")]
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
    },
    /// The grant is for another file, drive or share than the URL names.
    #[error("the download URL is for another file")]
    WrongFile,
    /// The share it was issued through changed (cancelled, password, expiration, audience).
    #[error("the download URL was revoked")]
    Revoked,
    /// The grant's action (download or preview) is now disabled on the share.
    #[error("{action} is disabled on this share")]
    ActionDisabled {
        /// The disabled action.
        action: Action,
    },
}

impl GrantError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::DownloadUrlInvalid
    }
}

impl ContentGrant {
    /// A `kind` grant for `file` in `drive`, optionally through `share`,
    /// valid for `expire_sec` seconds from `now` (`None` =
    /// [`DEFAULT_GRANT_SECS`], otherwise `1..=`[`MAX_GRANT_SECS`]).
    pub fn new(
        drive_id: DriveId,
        file_id: FileId,
        share: Option<GrantedShare>,
        kind: GrantKind,
        expire_sec: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Self, InputError> {
        let secs = grant_lifetime(expire_sec)?;
        Ok(Self {
            drive_id,
            file_id,
            share,
            kind,
            expires_s: now.timestamp().saturating_add(i64::from(secs)),
        })
    }

    /// Signs the grant with the ring's active key.
    pub fn sign(&self, keys: &KeyRing) -> SignedGrant {
        let payload = Payload {
            d: self.drive_id.as_str(),
            f: self.file_id.as_str(),
            s: self.share.as_ref().map(|s| s.share_id.as_str()),
            e: self.share.as_ref().map(|s| s.token_epoch),
            k: match self.kind {
                GrantKind::Download => None,
                GrantKind::Preview => Some("p"),
            },
            x: self.expires_s,
        };
        // A struct of strings and integers always serializes.
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        SignedGrant(keys.seal(VERSION, &bytes))
    }

    /// Parses and verifies untrusted grant text at `now`: the MAC must verify
    /// under a key of the ring and the grant must not have expired.
    pub fn verify(text: &str, keys: &KeyRing, now: DateTime<Utc>) -> Result<Self, GrantError> {
        let envelope = Envelope::parse(text, VERSION, MAX_GRANT_LEN).map_err(GrantError::Token)?;
        keys.check_seal(&envelope).map_err(GrantError::Token)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(envelope.payload_b64)
            .map_err(|_| GrantError::Token(TokenError::Malformed("bad grant encoding")))?;
        let malformed = || GrantError::Token(TokenError::Malformed("bad grant payload"));
        let p: Payload<'_> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        let share = match (p.s, p.e) {
            (Some(id), Some(epoch)) => Some(GrantedShare {
                share_id: id.parse().map_err(|_| malformed())?,
                token_epoch: epoch,
            }),
            (None, None) => None,
            _ => return Err(malformed()),
        };
        let kind = match p.k {
            None => GrantKind::Download,
            Some("p") => GrantKind::Preview,
            Some(_) => return Err(malformed()),
        };
        let grant = Self {
            drive_id: DriveId::new(p.d).map_err(|_| malformed())?,
            file_id: FileId::new(p.f).map_err(|_| malformed())?,
            share,
            kind,
            expires_s: p.x,
        };
        if grant.expires_s.saturating_mul(1000) <= now.timestamp_millis() {
            return Err(GrantError::Expired {
                at: grant.expires_at(),
            });
        }
        Ok(grant)
    }

    /// The drive.
    pub fn drive_id(&self) -> &DriveId {
        &self.drive_id
    }
    /// The file.
    pub fn file_id(&self) -> &FileId {
        &self.file_id
    }
    /// The share it was issued through, if any.
    pub fn share(&self) -> Option<&GrantedShare> {
        self.share.as_ref()
    }
    /// Download or preview.
    pub fn kind(&self) -> GrantKind {
        self.kind
    }
    /// When it expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_s, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// Checks a requested download-URL lifetime: `None` or 0 mean the default.
pub fn grant_lifetime(expire_sec: Option<u32>) -> Result<u32, InputError> {
    match expire_sec {
        None | Some(0) => Ok(DEFAULT_GRANT_SECS),
        Some(s) if s <= MAX_GRANT_SECS => Ok(s),
        Some(_) => Err(InputError::out_of_range(
            "expire_sec",
            format!("1..={MAX_GRANT_SECS} seconds"),
        )),
    }
}

/// Signed grant text, for a download URL. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedGrant(String);

impl SignedGrant {
    /// The grant text. It is a bearer capability: never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignedGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignedGrant(<redacted>)")
    }
}

#[derive(Serialize, Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    d: &'a str,
    #[serde(borrow)]
    f: &'a str,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    s: Option<&'a str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<u64>,
    /// Absent for downloads (the first format), `"p"` for previews.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    k: Option<&'a str>,
    x: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{KeyId, SigningKey};
    use chrono::Duration;
    use proptest::prelude::*;

    fn ring(id: &str, byte: u8) -> KeyRing {
        KeyRing::new(SigningKey::new(KeyId::new(id).unwrap(), &[byte; 32]).unwrap())
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn grant(share: bool) -> ContentGrant {
        ContentGrant::new(
            DriveId::new("drive-1").unwrap(),
            FileId::new("file-1").unwrap(),
            share.then(|| GrantedShare {
                share_id: "AbCdEfGhIjKlMnOpQrStUv".parse().unwrap(),
                token_epoch: 7,
            }),
            GrantKind::Download,
            Some(60),
            t0(),
        )
        .unwrap()
    }

    /// Golden vectors: catch accidental drift of the `g1` format. If it
    /// changes on purpose, bump the prefix and keep reading `g1`.
    #[test]
    fn golden_vectors_g1() {
        let keys = ring("golden", 7);
        let mut preview = grant(false);
        preview.kind = GrantKind::Preview;
        for (g, golden) in [(grant(true), GOLDEN_G1_SHARE), (preview, GOLDEN_G1_DRIVE)] {
            let text = g.sign(&keys);
            assert_eq!(
                text.expose_secret(),
                golden,
                "grant format drifted; bump the version instead"
            );
            let back = ContentGrant::verify(golden, &keys, t0()).unwrap();
            assert_eq!(back, g);
        }
    }

    const GOLDEN_G1_SHARE: &str = "g1.golden.eyJkIjoiZHJpdmUtMSIsImYiOiJmaWxlLTEiLCJzIjoiQWJDZEVmR2hJaktsTW5PcFFyU3RVdiIsImUiOjcsIngiOjE4MDAwMDAwNjB9.JkFJcJFZ1BhvHq1pypuoPVTrshmoZJlzLm74ndRXZ7A";
    const GOLDEN_G1_DRIVE: &str = "g1.golden.eyJkIjoiZHJpdmUtMSIsImYiOiJmaWxlLTEiLCJrIjoicCIsIngiOjE4MDAwMDAwNjB9.bKgF2Kt8_GFVYBvRysrvytkdbP9KwPEQzxX2wa8NcnY";

    #[test]
    fn roundtrip_with_and_without_share() {
        let keys = ring("k1", 1);
        for share in [false, true] {
            let g = grant(share);
            let text = g.sign(&keys);
            let back = ContentGrant::verify(text.expose_secret(), &keys, t0()).unwrap();
            assert_eq!(back, g);
            assert_eq!(back.expires_at(), t0() + Duration::seconds(60));
        }
    }

    #[test]
    fn expires_at_the_instant() {
        let keys = ring("k1", 1);
        let text = grant(true).sign(&keys);
        let at = t0() + Duration::seconds(60);
        assert!(
            ContentGrant::verify(text.expose_secret(), &keys, at - Duration::milliseconds(1))
                .is_ok()
        );
        assert!(matches!(
            ContentGrant::verify(text.expose_secret(), &keys, at),
            Err(GrantError::Expired { .. })
        ));
    }

    #[test]
    fn other_key_and_token_prefix_are_refused() {
        let text = grant(false).sign(&ring("k1", 1));
        assert_eq!(
            ContentGrant::verify(text.expose_secret(), &ring("k1", 2), t0()),
            Err(GrantError::Token(TokenError::BadSignature))
        );
        assert_eq!(
            ContentGrant::verify(text.expose_secret(), &ring("k2", 1), t0()),
            Err(GrantError::Token(TokenError::UnknownKey))
        );
        // The same envelope with the token prefix is not a grant, and a grant
        // is not a token.
        let as_token = text.expose_secret().replacen("g1.", "v1.", 1);
        assert!(ContentGrant::verify(&as_token, &ring("k1", 1), t0()).is_err());
        assert!(crate::token::UnverifiedToken::parse(text.expose_secret()).is_err());
    }

    #[test]
    fn preview_grants_keep_their_kind() {
        let keys = ring("k1", 1);
        let g = ContentGrant::new(
            DriveId::new("d").unwrap(),
            FileId::new("f").unwrap(),
            None,
            GrantKind::Preview,
            None,
            t0(),
        )
        .unwrap();
        let back = ContentGrant::verify(g.sign(&keys).expose_secret(), &keys, t0()).unwrap();
        assert_eq!(back.kind(), GrantKind::Preview);
        assert_eq!(grant(false).kind(), GrantKind::Download);
    }

    #[test]
    fn lifetime_bounds() {
        assert_eq!(grant_lifetime(None), Ok(DEFAULT_GRANT_SECS));
        assert_eq!(grant_lifetime(Some(0)), Ok(DEFAULT_GRANT_SECS));
        assert_eq!(grant_lifetime(Some(MAX_GRANT_SECS)), Ok(MAX_GRANT_SECS));
        assert!(grant_lifetime(Some(MAX_GRANT_SECS + 1)).is_err());
    }

    proptest! {
        #[test]
        fn any_single_byte_change_fails(pos in 0usize..200, byte in any::<u8>()) {
            let keys = ring("k1", 1);
            let text = grant(true).sign(&keys);
            let mut bytes = text.expose_secret().as_bytes().to_vec();
            let pos = pos % bytes.len();
            prop_assume!(bytes[pos] != byte);
            bytes[pos] = byte;
            if let Ok(s) = std::str::from_utf8(&bytes) {
                prop_assert!(ContentGrant::verify(s, &keys, t0()).is_err());
            }
        }

        #[test]
        fn arbitrary_text_never_verifies(s in ".{0,300}") {
            prop_assert!(ContentGrant::verify(&s, &ring("k1", 1), t0()).is_err());
        }
    }
}
