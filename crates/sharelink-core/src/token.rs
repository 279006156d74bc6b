//! Share tokens: short-lived, HMAC-signed capabilities for one share.
//!
//! # Format (version 1)
//!
//! ```text
//! v1.<key id>.<claims, URL-safe base64 without padding>.<HMAC-SHA256, URL-safe base64>
//! ```
//!
//! The MAC covers everything before the last dot, so the version, the key id
//! and the claims are all authenticated. The claims are a compact binary
//! record: share id, token epoch, issued-at and expires-at (Unix
//! milliseconds), and, for members-only shares, the member the token was
//! issued to. A token is at most [`MAX_TOKEN_LEN`] bytes; longer input is
//! refused before any decoding.
//!
//! # Parse, then verify
//!
//! [`UnverifiedToken::parse`] only checks the shape. It becomes a
//! [`VerifiedToken`], the only type that opens a share, through
//! [`KeyRing::verify`] at a given `now`: the key id must be in the ring, the
//! MAC must match (compared in constant time) and the token must not have
//! expired. The share itself then checks the share id, the epoch and the
//! member ([`Share::authorize`](crate::Share::authorize)).
//!
//! # Key rotation
//!
//! A [`KeyRing`] holds one active signing key and any number of older keys
//! kept for verification only. [`KeyRing::rotate`] makes a new key active
//! without killing live tokens; they die when their key is
//! [removed](KeyRing::remove) or when they expire.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::Hmac;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

mod claims;
mod envelope;
mod keys;

pub use claims::TokenClaims;
pub(crate) use envelope::Envelope;
pub use keys::{KeyId, KeyRing, KeyRingError, SigningKey};

/// Longest accepted token text, in bytes.
pub const MAX_TOKEN_LEN: usize = 1024;
/// How far in the future an issued-at may lie (clock skew between instances).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// Shortest accepted signing secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// The longest any signed text stays valid, in seconds: the longest share
/// token or content grant (signed URL) lifetime, plus the clock skew an
/// instance tolerates. A key taken out of signing must keep verifying this
/// long, or something it signed would be refused before it expires.
pub const MAX_SIGNED_LIFETIME_SECS: i64 = {
    let token = crate::share::MAX_TOKEN_LIFETIME_SECS as i64;
    let grant = crate::grant::MAX_GRANT_SECS as i64;
    (if token > grant { token } else { grant }) + MAX_CLOCK_SKEW_SECS
};

const VERSION: &str = "v1";
/// Largest encoded claims record: id (1 + 64) + three varints (3 × 10) +
/// member flag, length and id (1 + 2 + 256), rounded up.
const MAX_CLAIMS_LEN: usize = 384;
const MAC_LEN: usize = 32;
const MAX_KEY_ID_LEN: usize = 32;

/// Why a share token was refused. Every variant maps to
/// `ShareLinkTokenInvalid` (401) on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token was presented.
    #[error("ShareLinkToken is invalid. missing")]
    Missing,
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("ShareLinkToken is invalid. too long ({len} bytes, at most {MAX_TOKEN_LEN})")]
    TooLong {
        /// The presented length.
        len: usize,
    },
    /// The token is not in the expected shape.
    #[error("ShareLinkToken is invalid. malformed: {0}")]
    Malformed(&'static str),
    /// The format version is not one this library reads.
    #[error("ShareLinkToken is invalid. unsupported version")]
    UnsupportedVersion,
    /// The key id is not in the key ring (never was, or was removed).
    #[error("ShareLinkToken is invalid. unknown key")]
    UnknownKey,
    /// The MAC does not match.
    #[error("ShareLinkToken is invalid. bad signature")]
    BadSignature,
    /// The token expired.
    #[error("ShareLinkToken is invalid. expired")]
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
        /// The instant it was presented.
        now: DateTime<Utc>,
    },
    /// The token claims to be issued in the future.
    #[error("ShareLinkToken is invalid. not yet valid")]
    NotYetValid,
    /// The token is for another share.
    #[error("ShareLinkToken is invalid. issued for another share")]
    WrongShare,
    /// The share's token epoch moved (password, audience, expiration or status changed).
    #[error("ShareLinkToken is invalid. revoked")]
    Revoked,
}

/// Signed share-token text, as handed to a receiver. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareToken(String);

impl ShareToken {
    /// The token text, for the `x-share-token` header. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ShareToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareToken(<redacted>)")
    }
}

/// A token that has the right shape but is not yet trusted.
pub struct UnverifiedToken<'a> {
    envelope: Envelope<'a>,
    claims: TokenClaims,
}

impl fmt::Debug for UnverifiedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("key_id", &self.envelope.key_id)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl<'a> UnverifiedToken<'a> {
    /// Parses untrusted text. Checks the length cap first, then the shape.
    /// Never panics.
    pub fn parse(text: &'a str) -> Result<Self, TokenError> {
        let envelope = Envelope::parse(text, VERSION, MAX_TOKEN_LEN)?;
        // Claims are at most a few hundred bytes: decode on the stack.
        let mut payload = [0u8; MAX_CLAIMS_LEN];
        let len = URL_SAFE_NO_PAD
            .decode_slice(envelope.payload_b64, &mut payload[..])
            .map_err(|_| TokenError::Malformed("bad claims encoding"))?;
        let claims = TokenClaims::decode(payload.get(..len).unwrap_or_default())?;
        Ok(Self { envelope, claims })
    }

    /// The claims, unverified: do not trust them for anything but routing.
    pub fn claims_unverified(&self) -> &TokenClaims {
        &self.claims
    }

    /// The key id the token names.
    pub fn key_id(&self) -> &str {
        self.envelope.key_id
    }
}

/// A token whose MAC verified under a key of the ring and which had not
/// expired at verification time. Only [`KeyRing::verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    claims: TokenClaims,
    key_id: KeyId,
}

impl VerifiedToken {
    /// The verified claims.
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }
    /// The key it was verified with.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
}

#[cfg(test)]
mod tests;
