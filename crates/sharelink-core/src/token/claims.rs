//! What a share token asserts, and its compact binary encoding.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::fields::UserId;
use crate::id::ShareId;

use super::TokenError;

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
    pub(super) issued_s: i64,
    pub(super) expires_s: i64,
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
    pub(super) fn encode(&self) -> Vec<u8> {
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

    pub(super) fn decode(bytes: &[u8]) -> Result<Self, TokenError> {
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
pub(super) const MIN_S: i64 = -8_334_601_228_800;
pub(super) const MAX_S: i64 = 8_210_266_876_799;

pub(super) fn seconds(s: i64) -> Result<i64, TokenError> {
    if (MIN_S..=MAX_S).contains(&s) {
        Ok(s)
    } else {
        Err(TokenError::Malformed("time out of range"))
    }
}

pub(super) fn zigzag(n: i64) -> u64 {
    u64::from_ne_bytes(((n << 1) ^ (n >> 63)).to_ne_bytes())
}

pub(super) fn unzigzag(n: u64) -> i64 {
    i64::from_ne_bytes((n >> 1).to_ne_bytes()) ^ -i64::from_ne_bytes((n & 1).to_ne_bytes())
}

pub(super) fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7F).unwrap_or(0) | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).unwrap_or(0));
}

pub(super) fn to_datetime(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Malformed("claims are truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    /// A canonical LEB128 varint (no overlong encodings, at most 10 bytes), so
    /// that each claims value has exactly one encoding.
    pub(super) fn varint(&mut self) -> Result<u64, TokenError> {
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

    pub(super) fn u8(&mut self) -> Result<u8, TokenError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}
