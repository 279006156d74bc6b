//! The share itself, and its state transitions.
//!
//! Every transition is a pure function of the current [`Share`], its input and
//! `now`, returning the next `Share` or a typed [`ShareError`]. Nothing here
//! reads a clock, touches storage or draws randomness. The
//! [`Engine`](crate::Engine) loads the share, calls a transition, and writes the
//! result back with a version check.
//!
//! Invariants kept by construction:
//! - a share that is cancelled, forbidden or expired at `now`, or whose
//!   password does not verify, never yields [`TokenClaims`];
//! - the token epoch changes whenever the password, audience, expiration or
//!   status changes, so that outstanding tokens die;
//! - the version increases by exactly one with every stored change.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::code::InputError;
use crate::fields::{Creator, Description, DriveId, ShareName, TenantId};
use crate::id::ShareId;
use crate::password::{PasswordHash, SharePassword};
use crate::token::{TokenClaims, TokenError, VerifiedToken};

mod change;
mod error;
mod parts;
mod record;

pub use change::{PasswordChange, ShareSpec, ShareUpdate};
pub use error::ShareError;
pub use parts::{
    Action, Audience, Counters, LimitedUse, Limits, MAX_COUNT, MAX_SHARED_FILES, Member,
    Moderation, Permissions, ShareFiles, ShareStatus, SharedIds, UseKind,
};
pub use record::{
    CreatorRecord, FilesRecord, LimitsRecord, RecordError, SHARE_RECORD_FORMAT, ShareRecord,
};

/// Longest share-token lifetime, and the default (PDS `expire_sec`).
pub const MAX_TOKEN_LIFETIME_SECS: u32 = 7200;

/// A share link and all of its state.
///
/// Fields are private: a `Share` comes only from [`Share::create`], from a
/// transition, or from a stored [`ShareRecord`] that passes every check.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    id: ShareId,
    tenant: TenantId,
    drive_id: DriveId,
    creator: Creator,
    files: ShareFiles,
    name: ShareName,
    description: Description,
    password: Option<PasswordHash>,
    expiration: Option<DateTime<Utc>>,
    audience: Audience,
    permissions: Permissions,
    limits: Limits,
    counters: Counters,
    status: ShareStatus,
    moderation: Moderation,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
    token_epoch: u64,
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("drive_id", &self.drive_id)
            .field("creator", &self.creator)
            .field("files", &self.files)
            .field("name", &self.name)
            .field("has_password", &self.password.is_some())
            .field("expiration", &self.expiration)
            .field("audience", &self.audience)
            .field("permissions", &self.permissions)
            .field("limits", &self.limits)
            .field("counters", &self.counters)
            .field("status", &self.status)
            .field("moderation", &self.moderation)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("version", &self.version)
            .field("token_epoch", &self.token_epoch)
            .finish()
    }
}

/// Proof that a password check passed for one share at one token epoch.
///
/// Only [`Share::verify_password`] makes one, and [`Share::issue_token`]
/// accepts it only for the same share and epoch.
#[derive(Debug)]
pub struct PasswordProof {
    share_id: ShareId,
    token_epoch: u64,
}

impl Share {
    /// Creates a share: version 1, token epoch 0, counters at zero.
    ///
    /// Fails if the expiration is not after `now`.
    pub fn create(
        id: ShareId,
        spec: ShareSpec,
        password: Option<PasswordHash>,
        now: DateTime<Utc>,
    ) -> Result<Self, ShareError> {
        check_future_expiration(spec.expiration, now)?;
        spec.limits.check()?;
        Ok(Self {
            id,
            tenant: spec.tenant,
            drive_id: spec.drive_id,
            creator: spec.creator,
            files: spec.files,
            name: spec.name,
            description: spec.description,
            password,
            expiration: spec.expiration,
            audience: spec.audience,
            permissions: spec.permissions,
            limits: spec.limits,
            counters: Counters::default(),
            status: ShareStatus::Enabled,
            moderation: Moderation::Allowed,
            created_at: now,
            updated_at: now,
            version: 1,
            token_epoch: 0,
        })
    }

    /// Applies a creator's update.
    ///
    /// Refused on a forbidden share. A new expiration must be after `now`.
    /// Bumps the token epoch if the password, audience, expiration or status
    /// changes, which revokes every outstanding token.
    pub fn update(
        mut self,
        patch: ShareUpdate<PasswordHash>,
        now: DateTime<Utc>,
    ) -> Result<Self, ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        let mut revoke = false;
        if let Some(change) = patch.password {
            let password = match change {
                PasswordChange::Remove => None,
                PasswordChange::Set(hash) => Some(hash),
            };
            revoke |= password != self.password;
            self.password = password;
        }
        if let Some(expiration) = patch.expiration {
            check_future_expiration(expiration, now)?;
            revoke |= expiration != self.expiration;
            self.expiration = expiration;
        }
        if let Some(status) = patch.status {
            revoke |= status != self.status;
            self.status = status;
        }
        if let Some(audience) = patch.audience {
            revoke |= audience != self.audience;
            self.audience = audience;
        }
        set_if(&mut self.name, patch.name);
        set_if(&mut self.description, patch.description);
        set_if(&mut self.permissions.disable_preview, patch.disable_preview);
        set_if(
            &mut self.permissions.disable_download,
            patch.disable_download,
        );
        set_if(&mut self.permissions.disable_save, patch.disable_save);
        set_if(&mut self.limits.preview, patch.preview_limit);
        set_if(&mut self.limits.download, patch.download_limit);
        set_if(&mut self.limits.save, patch.save_limit);
        set_if(&mut self.counters.preview, patch.preview_count);
        set_if(&mut self.counters.download, patch.download_count);
        set_if(&mut self.counters.save, patch.save_count);
        self.limits.check()?;
        for (field, v) in [
            ("preview_count", self.counters.preview),
            ("download_count", self.counters.download),
            ("save_count", self.counters.save),
        ] {
            if v > MAX_COUNT {
                return Err(InputError::out_of_range(
                    field,
                    format!("at most {MAX_COUNT}, got {v}"),
                )
                .into());
            }
        }
        Ok(self.touched(now, revoke))
    }

    /// Cancels the share: tokens die, nothing more can be done with it until
    /// it is re-enabled. Refused if already cancelled or forbidden.
    pub fn cancel(self, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        if self.status == ShareStatus::Cancelled {
            return Err(ShareError::Cancelled);
        }
        let mut next = self;
        next.status = ShareStatus::Cancelled;
        Ok(next.touched(now, true))
    }

    /// An administrator forbids the share. Idempotence is refused: forbidding
    /// a forbidden share is [`ShareError::Forbidden`].
    pub fn forbid(self, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        let mut next = self;
        next.moderation = Moderation::Forbidden;
        Ok(next.touched(now, true))
    }

    /// An administrator lifts a forbid. The creator's status is as it was.
    /// Outstanding tokens stay dead (the epoch moves again).
    pub fn unforbid(self, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation != Moderation::Forbidden {
            return Err(ShareError::NotForbidden);
        }
        let mut next = self;
        next.moderation = Moderation::Allowed;
        Ok(next.touched(now, true))
    }

    /// The same freshly created share under another id (used when a drawn id
    /// turns out to be taken). Only valid before the share is stored.
    pub(crate) fn with_id(mut self, id: ShareId) -> Self {
        self.id = id;
        self
    }

    /// The share with counters and version as a storage backend keeps them
    /// outside the encoded share (in columns, say). **For storage backends
    /// only**, when reading a share back or applying a
    /// [`UseCount`](crate::storage::UseCount); nothing else changes.
    ///
    /// It changes this value only. Limits hold because the engine counts
    /// through [`Storage`](crate::Storage) and reads shares back from it;
    /// a host that "resets" a value's counters and writes it with
    /// `update_share` would be rewriting its own store's history, hence the
    /// name.
    pub fn danger_restore_counters(mut self, counters: Counters, version: u64) -> Self {
        self.counters = counters;
        self.version = version;
        self
    }

    /// Counts one use of `kind`, refusing once the limit is reached.
    /// Bumps the version but not `updated_at` or the token epoch.
    pub fn count_use(mut self, kind: UseKind) -> Result<Self, ShareError> {
        let limit = self.limits.of(kind);
        let slot = self.counters.slot(kind);
        // A counter never passes MAX_COUNT: limited uses stop there,
        // accesses (never limited) saturate.
        if let Some(used) = LimitedUse::of(kind) {
            if let Some(limit) = limit.filter(|l| *slot >= l.get()) {
                return Err(ShareError::LimitReached {
                    kind: used,
                    limit: limit.get(),
                });
            }
            if *slot >= MAX_COUNT {
                return Err(ShareError::LimitReached {
                    kind: used,
                    limit: MAX_COUNT,
                });
            }
        }
        *slot = (*slot + 1).min(MAX_COUNT);
        self.version += 1;
        Ok(self)
    }

    /// Gives back one use of `kind` that [`Share::count_use`] took for work
    /// that then failed (a save whose copy failed): the counter goes down by
    /// one, never below 0, and the version goes up by one.
    pub fn refund_use(mut self, kind: UseKind) -> Self {
        let slot = self.counters.slot(kind);
        *slot = slot.saturating_sub(1);
        self.version += 1;
        self
    }

    /// Whether the share can be used at `now`: not forbidden, not cancelled,
    /// not expired (in that order of precedence).
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<(), ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        if self.status == ShareStatus::Cancelled {
            return Err(ShareError::Cancelled);
        }
        if let Some(at) = self.expiration {
            if at <= now {
                return Err(ShareError::Expired { at, now });
            }
        }
        Ok(())
    }

    /// Checks who may ask for a token: for members-only shares, the caller
    /// must be a member of the share's tenant.
    pub fn check_audience(&self, caller: Option<&Member>) -> Result<(), ShareError> {
        match self.audience {
            Audience::Anyone => Ok(()),
            Audience::MembersOnly => match caller {
                Some(m) if m.tenant == self.tenant => Ok(()),
                _ => Err(ShareError::NotMember),
            },
        }
    }

    /// Checks a creator-only operation.
    pub fn check_creator(&self, caller: &Member) -> Result<(), ShareError> {
        if caller.tenant == self.tenant && caller.user_id == self.creator.user_id {
            Ok(())
        } else {
            Err(ShareError::NotCreator)
        }
    }

    /// Verifies the password a receiver gave. A share without a password
    /// accepts a missing password (and ignores a given one, as PDS does).
    /// Costs one argon2 hash when the share has a password.
    pub fn verify_password(
        &self,
        given: Option<&SharePassword>,
    ) -> Result<PasswordProof, ShareError> {
        if let Some(hash) = &self.password {
            let given = given.ok_or(ShareError::PasswordRequired)?;
            if !hash.verify(given) {
                return Err(ShareError::WrongPassword);
            }
        }
        Ok(PasswordProof {
            share_id: self.id.clone(),
            token_epoch: self.token_epoch,
        })
    }

    /// Issues the claims of a share token, for a caller who passed the
    /// password check (`proof`) of this share at its current epoch.
    ///
    /// `expire_sec` must be in `1..=7200` (`None` or 0 mean 7200). The token
    /// never outlives the share's own expiration. Members-only tokens are
    /// bound to the caller.
    pub fn issue_token(
        &self,
        proof: &PasswordProof,
        caller: Option<&Member>,
        expire_sec: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, ShareError> {
        self.check_usable(now)?;
        self.check_audience(caller)?;
        if proof.share_id != self.id || proof.token_epoch != self.token_epoch {
            return Err(ShareError::Token(TokenError::Revoked));
        }
        let lifetime = token_lifetime(expire_sec)?;
        let mut expires_at = now + Duration::seconds(i64::from(lifetime));
        if let Some(share_end) = self.expiration {
            expires_at = expires_at.min(share_end);
        }
        let member = match self.audience {
            Audience::Anyone => None,
            Audience::MembersOnly => caller.map(|m| m.user_id.clone()),
        };
        Ok(TokenClaims::new(
            self.id.clone(),
            self.token_epoch,
            now,
            expires_at,
            member,
        ))
    }

    /// Password check and issue in one step: the whole pure rule for
    /// "may this caller have a token now". The engine runs the two halves
    /// separately so that throttling happens before any hash is computed.
    pub fn request_token(
        &self,
        given: Option<&SharePassword>,
        caller: Option<&Member>,
        expire_sec: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, ShareError> {
        self.check_usable(now)?;
        self.check_audience(caller)?;
        let proof = self.verify_password(given)?;
        self.issue_token(&proof, caller, expire_sec, now)
    }

    /// Decides whether a verified token lets `caller` perform `action` now.
    ///
    /// The token must be for this share and its current epoch, not expired,
    /// and (members-only) issued to this caller. The action must be enabled
    /// and its limit not yet reached. The count itself is taken atomically by
    /// the storage ([`count_use`](Self::count_use) is its pure rule).
    pub fn authorize(
        &self,
        token: &VerifiedToken,
        caller: Option<&Member>,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(), ShareError> {
        let claims = token.claims();
        if claims.share_id() != &self.id {
            return Err(TokenError::WrongShare.into());
        }
        if claims.expires_at() <= now {
            return Err(TokenError::Expired {
                at: claims.expires_at(),
                now,
            }
            .into());
        }
        if claims.token_epoch() != self.token_epoch {
            return Err(TokenError::Revoked.into());
        }
        self.check_usable(now)?;
        if self.audience == Audience::MembersOnly {
            let bound = claims.member();
            let ok = matches!((caller, bound), (Some(c), Some(b))
                if c.tenant == self.tenant && &c.user_id == b);
            if !ok {
                return Err(ShareError::NotMember);
            }
        }
        if let Some(used) = action.limited_use() {
            if self.permissions.disables(action) {
                return Err(ShareError::ActionDisabled { action: used });
            }
            let kind = used.use_kind();
            if let Some(limit) = self.limits.of(kind) {
                if self.counters.of(kind) >= limit.get() {
                    return Err(ShareError::LimitReached {
                        kind: used,
                        limit: limit.get(),
                    });
                }
            }
        }
        Ok(())
    }

    fn touched(mut self, now: DateTime<Utc>, revoke: bool) -> Self {
        if revoke {
            self.token_epoch += 1;
        }
        self.version += 1;
        self.updated_at = self.updated_at.max(now);
        self
    }
}

/// Getters.
impl Share {
    /// The share id.
    pub fn id(&self) -> &ShareId {
        &self.id
    }
    /// The owning tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    /// The drive the files live in.
    pub fn drive_id(&self) -> &DriveId {
        &self.drive_id
    }
    /// The creator's profile.
    pub fn creator(&self) -> &Creator {
        &self.creator
    }
    /// What is shared.
    pub fn files(&self) -> &ShareFiles {
        &self.files
    }
    /// Display name.
    pub fn name(&self) -> &ShareName {
        &self.name
    }
    /// Description.
    pub fn description(&self) -> &Description {
        &self.description
    }
    /// Whether a password is required.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }
    /// The stored password hash, for storage backends.
    pub fn password_hash(&self) -> Option<&PasswordHash> {
        self.password.as_ref()
    }
    /// When the share expires; `None` = never.
    pub fn expiration(&self) -> Option<DateTime<Utc>> {
        self.expiration
    }
    /// Whether the share has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expiration.is_some_and(|at| at <= now)
    }
    /// Who may use it.
    pub fn audience(&self) -> Audience {
        self.audience
    }
    /// Per-action switches.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }
    /// Per-action limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// Use counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// The creator's status.
    pub fn status(&self) -> ShareStatus {
        self.status
    }
    /// The administrator's verdict.
    pub fn moderation(&self) -> Moderation {
        self.moderation
    }
    /// Creation instant.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// Last change by its creator or an administrator.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// Optimistic-concurrency version: +1 with every stored change.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// Token epoch: tokens carry it and die when it moves.
    pub fn token_epoch(&self) -> u64 {
        self.token_epoch
    }
}

fn set_if<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn check_future_expiration(
    expiration: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), InputError> {
    match expiration {
        Some(at) if at <= now => Err(InputError::out_of_range(
            "expiration",
            format!("must be in the future (got {at}, now {now})"),
        )),
        _ => Ok(()),
    }
}

/// Validates a requested token lifetime: `None` or 0 mean 7200; otherwise
/// 1..=7200 seconds.
pub fn token_lifetime(expire_sec: Option<u32>) -> Result<u32, InputError> {
    match expire_sec {
        None | Some(0) => Ok(MAX_TOKEN_LIFETIME_SECS),
        Some(s) if s <= MAX_TOKEN_LIFETIME_SECS => Ok(s),
        Some(s) => Err(InputError::out_of_range(
            "expire_sec",
            format!("must be in (0, {MAX_TOKEN_LIFETIME_SECS}], got {s}"),
        )),
    }
}

#[cfg(test)]
mod tests;
