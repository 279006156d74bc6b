//! Signing keys and the key ring that signs and verifies tokens.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::Mac;
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::code::InputError;

use super::{
    Envelope, HmacSha256, MAC_LEN, MAX_CLOCK_SKEW_SECS, MAX_KEY_ID_LEN, MIN_SECRET_LEN, ShareToken,
    TokenClaims, TokenError, UnverifiedToken, VERSION, VerifiedToken,
};

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

pub(super) fn is_key_id_byte(b: u8) -> bool {
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

    /// A ring that signs with `active` and also verifies `verify_only`
    /// (keys being introduced or retired, in any order). Key ids must be
    /// distinct.
    pub fn with_verify_only(
        active: SigningKey,
        verify_only: impl IntoIterator<Item = SigningKey>,
    ) -> Result<Self, KeyRingError> {
        let mut ring = Self::new(active);
        for key in verify_only {
            if ring.key_ids().any(|id| *id == key.id) {
                return Err(KeyRingError::DuplicateKey(key.id));
            }
            ring.previous.push(key);
        }
        Ok(ring)
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
