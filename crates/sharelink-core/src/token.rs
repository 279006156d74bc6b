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
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::code::InputError;
use crate::fields::UserId;
use crate::id::ShareId;

type HmacSha256 = Hmac<Sha256>;

/// Longest accepted token text, in bytes.
pub const MAX_TOKEN_LEN: usize = 1024;
/// How far in the future an issued-at may lie (clock skew between instances).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// Shortest accepted signing secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

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

/// What a share token asserts.
///
/// A host cannot make claims of its own (only a share can, after the
/// password check), so it cannot sign a token that skipped the password:
///
/// ```compile_fail
/// # use sharelink_core::{KeyRing, ShareId, TokenClaims};
/// # fn forge(ring: &KeyRing, id: ShareId, now: chrono::DateTime<chrono::Utc>) {
/// let claims = TokenClaims::new(id, 0, now, now + chrono::Duration::hours(2), None);
/// let _token = ring.sign(&claims);
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenClaims {
    share_id: ShareId,
    token_epoch: u64,
    // Unix seconds: kept as integers so that verification does no calendar
    // arithmetic. Always within chrono's range (checked on decode).
    issued_s: i64,
    expires_s: i64,
    member: Option<UserId>,
}

impl fmt::Debug for TokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenClaims")
            .field("share_id", &self.share_id)
            .field("token_epoch", &self.token_epoch)
            .field("issued_at", &self.issued_at())
            .field("expires_at", &self.expires_at())
            .field("member", &self.member)
            .finish()
    }
}

impl TokenClaims {
    /// Claims made **without any password or share check**, for benches
    /// and fuzz targets that need a token without a share. Only with the
    /// `danger-test-helpers` feature; never enable it in a host. The only
    /// way to claims otherwise is [`Share::issue_token`], which needs the
    /// password proof.
    ///
    /// [`Share::issue_token`]: crate::Share::issue_token
    #[cfg(feature = "danger-test-helpers")]
    #[doc(hidden)]
    pub fn danger_new(
        share_id: ShareId,
        token_epoch: u64,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        member: Option<UserId>,
    ) -> Self {
        Self::new(share_id, token_epoch, issued_at, expires_at, member)
    }

    /// Claims for `share_id` at `token_epoch`, valid from `issued_at` until
    /// `expires_at`, optionally bound to a member. Times are kept to the
    /// second, rounded down (so a token never outlives `expires_at`).
    /// Crate-private: claims come from [`Share::issue_token`] after a
    /// password check, never from a host.
    ///
    /// [`Share::issue_token`]: crate::Share::issue_token
    pub(crate) fn new(
        share_id: ShareId,
        token_epoch: u64,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        member: Option<UserId>,
    ) -> Self {
        Self {
            share_id,
            token_epoch,
            issued_s: issued_at.timestamp(),
            expires_s: expires_at.timestamp().max(issued_at.timestamp()),
            member,
        }
    }

    /// The share the token opens.
    pub fn share_id(&self) -> &ShareId {
        &self.share_id
    }
    /// The share's token epoch at issue.
    pub fn token_epoch(&self) -> u64 {
        self.token_epoch
    }
    /// When it was issued.
    pub fn issued_at(&self) -> DateTime<Utc> {
        to_datetime(self.issued_s)
    }
    /// When it stops working.
    pub fn expires_at(&self) -> DateTime<Utc> {
        to_datetime(self.expires_s)
    }
    /// The member it is bound to (members-only shares).
    pub fn member(&self) -> Option<&UserId> {
        self.member.as_ref()
    }
    /// Whole seconds from issue to expiry, for PDS `expires_in`.
    pub fn lifetime_secs(&self) -> i64 {
        self.expires_s - self.issued_s
    }

    /// The claims record: `len(id) ++ id ++ varint(epoch) ++ zigzag varint(iat
    /// seconds) ++ varint(lifetime seconds) ++ member flag [++ be16 len ++
    /// member]`. Compact on purpose: with a default 22-character id and a
    /// short key id, the MAC'd text fits one SHA-256 block.
    fn encode(&self) -> Vec<u8> {
        let id = self.share_id.as_str().as_bytes();
        let mut out = Vec::with_capacity(1 + id.len() + 10 * 3 + 3);
        // ShareId::MAX_LEN is 64, so the length fits in a byte.
        out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(id);
        push_varint(&mut out, self.token_epoch);
        push_varint(&mut out, zigzag(self.issued_s));
        push_varint(&mut out, self.expires_s.abs_diff(self.issued_s));
        match &self.member {
            None => out.push(0),
            Some(m) => {
                out.push(1);
                let m = m.as_str().as_bytes();
                // MAX_OPAQUE_ID_BYTES is 256, so the length fits in a u16.
                out.extend_from_slice(&u16::try_from(m.len()).unwrap_or(u16::MAX).to_be_bytes());
                out.extend_from_slice(m);
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, TokenError> {
        let mut r = Reader(bytes);
        let id_len = usize::from(r.u8()?);
        let id = std::str::from_utf8(r.take(id_len)?)
            .map_err(|_| TokenError::Malformed("share id is not UTF-8"))?;
        let share_id = ShareId::from_str(id).map_err(|_| TokenError::Malformed("bad share id"))?;
        let token_epoch = r.varint()?;
        let issued_s = seconds(unzigzag(r.varint()?))?;
        let lifetime = i64::try_from(r.varint()?)
            .map_err(|_| TokenError::Malformed("lifetime out of range"))?;
        let expires_s = seconds(
            issued_s
                .checked_add(lifetime)
                .ok_or(TokenError::Malformed("time out of range"))?,
        )?;
        let member = match r.u8()? {
            0 => None,
            1 => {
                let len = usize::from(u16::from_be_bytes(r.array()?));
                let m = std::str::from_utf8(r.take(len)?)
                    .map_err(|_| TokenError::Malformed("member is not UTF-8"))?;
                Some(UserId::new(m).map_err(|_| TokenError::Malformed("bad member id"))?)
            }
            _ => return Err(TokenError::Malformed("bad member flag")),
        };
        if !r.0.is_empty() {
            return Err(TokenError::Malformed("trailing bytes in claims"));
        }
        Ok(Self {
            share_id,
            token_epoch,
            issued_s,
            expires_s,
            member,
        })
    }
}

/// chrono's representable range, in Unix seconds (`DateTime::<Utc>::MIN_UTC`
/// and `MAX_UTC`; a unit test keeps these in step with chrono).
const MIN_S: i64 = -8_334_601_228_800;
const MAX_S: i64 = 8_210_266_876_799;

fn seconds(s: i64) -> Result<i64, TokenError> {
    if (MIN_S..=MAX_S).contains(&s) {
        Ok(s)
    } else {
        Err(TokenError::Malformed("time out of range"))
    }
}

fn zigzag(n: i64) -> u64 {
    u64::from_ne_bytes(((n << 1) ^ (n >> 63)).to_ne_bytes())
}

fn unzigzag(n: u64) -> i64 {
    i64::from_ne_bytes((n >> 1).to_ne_bytes()) ^ -i64::from_ne_bytes((n & 1).to_ne_bytes())
}

fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7F).unwrap_or(0) | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).unwrap_or(0));
}

fn to_datetime(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Malformed("claims are truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    /// A canonical LEB128 varint (no overlong encodings, at most 10 bytes), so
    /// that each claims value has exactly one encoding.
    fn varint(&mut self) -> Result<u64, TokenError> {
        let mut n = 0u64;
        for i in 0..10u32 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(TokenError::Malformed("varint overflows"));
            }
            n |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(TokenError::Malformed("overlong varint"));
                }
                return Ok(n);
            }
        }
        Err(TokenError::Malformed("varint too long"))
    }

    fn u8(&mut self) -> Result<u8, TokenError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

/// A key id: 1–32 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(std::sync::Arc<str>);

impl KeyId {
    /// Parses a key id.
    pub fn new(s: &str) -> Result<Self, InputError> {
        if s.is_empty() || s.len() > MAX_KEY_ID_LEN {
            return Err(InputError::out_of_range(
                "key_id",
                format!("1..={MAX_KEY_ID_LEN} characters"),
            ));
        }
        if !s.bytes().all(is_key_id_byte) {
            return Err(InputError::invalid(
                "key_id",
                "only [A-Za-z0-9_-] is allowed",
            ));
        }
        Ok(Self(s.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_key_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One HMAC-SHA256 key with its id. The secret is zeroized on drop and never
/// shown in `Debug`.
#[derive(Clone)]
pub struct SigningKey {
    id: KeyId,
    secret: Zeroizing<Vec<u8>>,
    // Keyed once: each sign/verify clones the precomputed inner/outer state.
    mac: HmacSha256,
}

impl SigningKey {
    /// A key from existing secret bytes (at least [`MIN_SECRET_LEN`]).
    pub fn new(id: KeyId, secret: &[u8]) -> Result<Self, InputError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(InputError::out_of_range(
                "signing_key",
                format!("at least {MIN_SECRET_LEN} bytes of secret"),
            ));
        }
        let mac = HmacSha256::new_from_slice(secret)
            .map_err(|_| InputError::invalid("signing_key", "unusable HMAC key"))?;
        Ok(Self {
            id,
            secret: Zeroizing::new(secret.to_vec()),
            mac,
        })
    }

    /// A fresh 32-byte key drawn from `rng`.
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(id: KeyId, rng: &mut R) -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        let mac = <HmacSha256 as Mac>::new_from_slice(secret.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        Self {
            id,
            secret: Zeroizing::new(secret.to_vec()),
            mac,
        }
    }

    /// The key id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The secret bytes, for the host to persist. Never log them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why a key-ring change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    /// A key with this id is already in the ring.
    #[error("key {0} is already in the ring")]
    DuplicateKey(KeyId),
    /// The active key cannot be removed; rotate first.
    #[error("key {0} is the active signing key; rotate before removing it")]
    RemovingActiveKey(KeyId),
    /// No key with this id.
    #[error("key {0} is not in the ring")]
    NoSuchKey(KeyId),
}

/// One active signing key plus older keys kept for verification.
#[derive(Clone)]
pub struct KeyRing {
    active: SigningKey,
    // Newest first; rings are small, so a Vec beats a map.
    previous: Vec<SigningKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.key_ids().map(KeyId::as_str).collect();
        f.debug_struct("KeyRing")
            .field("key_ids_active_first", &ids)
            .finish()
    }
}

impl KeyRing {
    /// A ring whose only key is `active`.
    pub fn new(active: SigningKey) -> Self {
        Self {
            active,
            previous: Vec::new(),
        }
    }

    /// Makes `key` the active signing key. The previous keys stay for
    /// verification until removed, so live tokens keep working.
    pub fn rotate(&mut self, key: SigningKey) -> Result<(), KeyRingError> {
        if self.key_ids().any(|id| *id == key.id) {
            return Err(KeyRingError::DuplicateKey(key.id));
        }
        let old = std::mem::replace(&mut self.active, key);
        self.previous.insert(0, old);
        Ok(())
    }

    /// Removes a verification-only key: tokens signed with it die.
    pub fn remove(&mut self, id: &KeyId) -> Result<SigningKey, KeyRingError> {
        if &self.active.id == id {
            return Err(KeyRingError::RemovingActiveKey(id.clone()));
        }
        match self.previous.iter().position(|k| &k.id == id) {
            Some(i) => Ok(self.previous.remove(i)),
            None => Err(KeyRingError::NoSuchKey(id.clone())),
        }
    }

    /// The active signing key.
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// All key ids, active first.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        std::iter::once(&self.active.id).chain(self.previous.iter().map(|k| &k.id))
    }

    fn find(&self, id: &str) -> Option<&SigningKey> {
        std::iter::once(&self.active)
            .chain(self.previous.iter())
            .find(|k| &*k.id.0 == id)
    }

    /// Signs `claims` with the active key. Claims only come from
    /// [`Share::issue_token`](crate::Share::issue_token) (after the password
    /// check) or from a token this ring verified, so signing them grants
    /// nothing new.
    pub fn sign(&self, claims: &TokenClaims) -> ShareToken {
        ShareToken(self.seal(VERSION, &claims.encode()))
    }

    /// Builds `<version>.<active key id>.<b64 payload>.<b64 MAC>`. Each kind
    /// of signed text has its own `version` prefix, which the MAC covers, so
    /// one kind can never be replayed as another.
    pub(crate) fn seal(&self, version: &str, payload: &[u8]) -> String {
        let key = self.active();
        let mut text = String::with_capacity(
            version.len() + key.id.0.len() + payload.len() * 4 / 3 + 4 + 2 + 44,
        );
        text.push_str(version);
        text.push('.');
        text.push_str(&key.id.0);
        text.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut text);
        let mut mac = key.mac.clone();
        mac.update(text.as_bytes());
        let tag = mac.finalize().into_bytes();
        text.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut text);
        text
    }

    /// Checks an envelope's MAC under the key it names, in constant time.
    pub(crate) fn check_seal(&self, envelope: &Envelope<'_>) -> Result<&KeyId, TokenError> {
        let key = self.find(envelope.key_id).ok_or(TokenError::UnknownKey)?;
        let mut mac = key.mac.clone();
        mac.update(envelope.signed.as_bytes());
        // Constant time: `constant_time_eq` folds the XOR of all 32 bytes
        // behind an optimization barrier (cheaper than `subtle`'s per-byte
        // volatile reads, same guarantee for a fixed-length tag).
        let computed: [u8; MAC_LEN] = mac.finalize().into_bytes().into();
        if !constant_time_eq::constant_time_eq_32(&computed, &envelope.tag) {
            return Err(TokenError::BadSignature);
        }
        Ok(&key.id)
    }

    /// Verifies a parsed token at `now`: known key, matching MAC (constant
    /// time), not expired, not issued in the future. Consumes the token: its
    /// claims move into the [`VerifiedToken`].
    pub fn verify(
        &self,
        token: UnverifiedToken<'_>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedToken, TokenError> {
        let key_id = self.check_seal(&token.envelope)?.clone();
        let claims = token.claims;
        let now_ms = now.timestamp_millis();
        if claims.expires_s.saturating_mul(1000) <= now_ms {
            return Err(TokenError::Expired {
                at: claims.expires_at(),
                now,
            });
        }
        if claims.issued_s.saturating_mul(1000) > now_ms.saturating_add(MAX_CLOCK_SKEW_SECS * 1000)
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(VerifiedToken { claims, key_id })
    }

    /// Parses and verifies token text in one step.
    pub fn verify_str(&self, text: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        self.verify(UnverifiedToken::parse(text)?, now)
    }
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

/// The outer shape shared by every signed text:
/// `<version>.<key id>.<b64 payload>.<b64 MAC>`, checked but not yet trusted.
pub(crate) struct Envelope<'a> {
    /// Everything the MAC covers (all but the last dot and the tag).
    signed: &'a str,
    pub(crate) key_id: &'a str,
    pub(crate) payload_b64: &'a str,
    tag: [u8; MAC_LEN],
}

impl<'a> Envelope<'a> {
    /// Splits untrusted text. Checks the length cap first, then the shape.
    /// Never panics.
    pub(crate) fn parse(text: &'a str, version: &str, max_len: usize) -> Result<Self, TokenError> {
        if text.is_empty() {
            return Err(TokenError::Missing);
        }
        if text.len() > max_len {
            return Err(TokenError::TooLong { len: text.len() });
        }
        let shape = || TokenError::Malformed("expected 4 dot-separated parts");
        let (found, rest) = text.split_once('.').ok_or(TokenError::UnsupportedVersion)?;
        if found != version {
            return Err(TokenError::UnsupportedVersion);
        }
        let (key_id, rest) = rest.split_once('.').ok_or_else(shape)?;
        let (payload_b64, tag_b64) = rest.split_once('.').ok_or_else(shape)?;
        if tag_b64.contains('.') {
            return Err(shape());
        }
        // Everything before the last dot is what the MAC covers.
        let signed = text
            .get(..text.len() - tag_b64.len() - 1)
            .ok_or_else(shape)?;
        if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN || !key_id.bytes().all(is_key_id_byte)
        {
            return Err(TokenError::Malformed("bad key id"));
        }
        let mut tag = [0u8; MAC_LEN];
        let tag_len = URL_SAFE_NO_PAD
            .decode_slice(tag_b64, &mut tag[..])
            .map_err(|_| TokenError::Malformed("bad signature encoding"))?;
        if tag_len != MAC_LEN || tag_b64.len() != 43 {
            return Err(TokenError::Malformed("bad signature length"));
        }
        Ok(Self {
            signed,
            key_id,
            payload_b64,
            tag,
        })
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
