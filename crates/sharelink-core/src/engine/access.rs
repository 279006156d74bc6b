//! Receiver operations: trade a password for a share token, then use the
//! token to list, get, preview, download and save.

use chrono::{DateTime, Utc};

use crate::error::{Error, InputError};
use crate::events::Event;
use crate::fields::FileId;
use crate::file_policy::PolicyContext;
use crate::quota::QuotaKind;
use crate::scope::{FileKind, FileMeta, ListTarget, ROOT_ID, ScopeError, check_in_scope};
use crate::share::{Action, Member, Share, ShareError, ShareFiles, token_lifetime};
use crate::storage::{AccessOutcome, AccessRecord, AccessUpdate, StorageError, UseOutcome};
use crate::throttle::{self, Admission, AttemptOutcome, ThrottleRefusal, ThrottleState};
use crate::token::{ShareToken, TokenError, UnverifiedToken, VerifiedToken};

use super::{AccessRequest, Engine, TokenRequest};

/// A freshly issued share token (PDS GetShareLinkToken).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token, for the `x-share-token` header.
    pub token: ShareToken,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Seconds until it expires (PDS `expires_in`).
    pub expires_in: i64,
}

/// Permission to act on one file of a share.
#[derive(Debug, Clone)]
pub struct FileAuthorization {
    /// The share, as stored after any counting.
    pub share: Share,
    /// The file.
    pub file: FileMeta,
}

/// Permission to list a folder of a share.
#[derive(Debug, Clone)]
pub struct ListAuthorization {
    /// The share.
    pub share: Share,
    /// What to list.
    pub target: ListTarget,
}

impl Engine {
    /// Trades a share id and password for a share token (PDS GetShareLinkToken).
    ///
    /// In order: the share must be usable and the caller in its audience; the
    /// lifetime must be valid; the client must be within its token-request
    /// rate; for a password share, a missing password is refused without
    /// any hashing, then the throttle admits the attempt **before** the hash
    /// is computed (on the bounded hashing pool) and records how it ended.
    /// Then one atomic, durable step settles the throttle, charges the
    /// tenant's access quota (once per client, share and quota day) and
    /// counts the access; the token is signed. It never outlives the share.
    pub fn get_share_token(&self, req: TokenRequest) -> Result<IssuedToken, Error> {
        let now = self.clock.now();
        let share = self.load(&req.share_id)?;
        share.check_usable(now)?;
        share.check_audience(req.caller.as_ref())?;
        token_lifetime(req.expire_sec)?;
        self.token_requests.check(req.client.as_str(), now)?;

        let (proof, admission) = if share.has_password() {
            if req.password.is_none() {
                return Err(ShareError::PasswordRequired.into());
            }
            let admission = self.admit_password_attempt(&req, now)?;
            let verdict = {
                let share = share.clone();
                let password = req.password.clone();
                self.hash(now, move || share.verify_password(password.as_ref()))
            };
            match verdict {
                Ok(Ok(proof)) => (proof, Some(admission)),
                Ok(Err(e)) => {
                    self.settle_attempt(&req, admission, AttemptOutcome::Failure, now)?;
                    self.emit(Event::PasswordFailed {
                        share_id: req.share_id.clone(),
                        client: req.client.clone(),
                    });
                    return Err(e.into());
                }
                Err(busy) => {
                    self.settle_attempt(&req, admission, AttemptOutcome::Abandoned, now)?;
                    return Err(busy);
                }
            }
        } else {
            (share.verify_password(None)?, None)
        };

        // Settle the throttle, charge the access quota and count the access
        // in one atomic, durable step.
        let charge = self.quota_charge(share.tenant(), QuotaKind::Access, now);
        let policy = self.config.throttle;
        let day = crate::quota::quota_day(now, self.config.quota.day_offset);
        let mut apply = |s: ThrottleState| {
            let s = match admission {
                Some(a) => throttle::settle(s, a, AttemptOutcome::Success, &policy, now),
                None => s,
            };
            let (throttle, charge_quota) = throttle::note_access(s, day);
            AccessUpdate {
                throttle,
                charge_quota,
            }
        };
        let record = AccessRecord {
            share_id: &req.share_id,
            expected_epoch: share.token_epoch(),
            client: &req.client,
            charge: charge.as_ref(),
        };
        let outcome = self.storage.record_access(&record, &mut apply)?;
        // Nothing was written on a refusal: the password was right (or not
        // needed), so the attempt is given back, never counted as a guess.
        if !matches!(outcome, AccessOutcome::Recorded(_)) {
            if let Some(a) = admission {
                let outcome = if matches!(outcome, AccessOutcome::QuotaExhausted { .. }) {
                    AttemptOutcome::Success
                } else {
                    AttemptOutcome::Abandoned
                };
                self.settle_attempt(&req, a, outcome, now)?;
            }
        }
        let share = match outcome {
            AccessOutcome::Recorded(c) => share.restore_counters(c.counters, c.version),
            AccessOutcome::NotFound => return Err(Error::ShareNotFound(req.share_id.clone())),
            // The password, audience, expiration or status changed while we
            // were checking: the proof is for the old epoch.
            AccessOutcome::EpochMoved => return Err(ShareError::Token(TokenError::Revoked).into()),
            AccessOutcome::QuotaExhausted { .. } => {
                let charge = charge.ok_or_else(|| StorageError::Corrupt {
                    what: format!("quota of tenant {}", share.tenant()),
                    reason: "backend reported exhaustion without a charge".into(),
                })?;
                return Err(self.quota_exhausted(&charge, now));
            }
        };
        let claims = share.issue_token(&proof, req.caller.as_ref(), req.expire_sec, now)?;
        let token = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sign(&claims);
        self.emit(Event::TokenIssued {
            share_id: req.share_id.clone(),
            expires_at: claims.expires_at(),
        });
        Ok(IssuedToken {
            token,
            expires_at: claims.expires_at(),
            expires_in: claims.lifetime_secs(),
        })
    }

    /// Authorizes listing a folder of the share (PDS ListFile with `share_id`).
    /// `file_id` is the parent folder; `root` lists exactly the shared items.
    pub fn authorize_list(&self, req: &AccessRequest<'_>) -> Result<ListAuthorization, Error> {
        let now = self.clock.now();
        let (share, _token) = self.open(req, Action::List, now)?;
        let target = if req.file_id.as_str() == ROOT_ID {
            match share.files() {
                ShareFiles::Listed(ids) => ListTarget::SharedItems(ids.clone()),
                ShareFiles::AllFiles => ListTarget::DriveRoot,
            }
        } else {
            let meta = self.locate(&share, req.file_id)?;
            if meta.kind != FileKind::Folder {
                return Err(InputError::invalid("parent_file_id", "not a folder").into());
            }
            ListTarget::Folder(meta.file_id)
        };
        self.authorized(&share, Action::List, req.file_id);
        Ok(ListAuthorization { share, target })
    }

    /// Authorizes reading a file's metadata (PDS GetFile with `share_id`).
    pub fn authorize_get(&self, req: &AccessRequest<'_>) -> Result<FileAuthorization, Error> {
        self.authorize_file(req, Action::Get)
    }

    /// Authorizes and counts a preview. Refused if preview is disabled, its
    /// limit is reached, or the file-type policy applies to preview.
    pub fn authorize_preview(&self, req: &AccessRequest<'_>) -> Result<FileAuthorization, Error> {
        self.authorize_file(req, Action::Preview)
    }

    /// Authorizes and counts a download. Refused if download is disabled, its
    /// limit is reached, or the file is an APK/IPA under the file-type policy.
    pub fn authorize_download(&self, req: &AccessRequest<'_>) -> Result<FileAuthorization, Error> {
        self.authorize_file(req, Action::Download)
    }

    /// Authorizes and counts a save (PDS CopyFile with `share_id`). Needs a
    /// signed-in caller (the login token) as well as the share token.
    /// Saving is not a download: the file-type policy does not apply.
    pub fn authorize_copy(
        &self,
        req: &AccessRequest<'_>,
        caller: &Member,
    ) -> Result<FileAuthorization, Error> {
        let req = AccessRequest {
            caller: Some(caller),
            ..req.clone()
        };
        self.authorize_file(&req, Action::Save)
    }

    /// The metadata of a share's top-level items, in the creator's order,
    /// skipping any that no longer exist. Empty for whole-drive shares (list
    /// the drive's root instead).
    pub fn shared_items(&self, share: &Share) -> Result<Vec<FileMeta>, Error> {
        let mut out = Vec::new();
        for id in share.files().ids() {
            if let Some(meta) = self
                .catalog
                .file(share.drive_id(), id)
                .map_err(ScopeError::from)?
            {
                out.push(meta);
            }
        }
        Ok(out)
    }

    fn authorize_file(
        &self,
        req: &AccessRequest<'_>,
        action: Action,
    ) -> Result<FileAuthorization, Error> {
        let now = self.clock.now();
        let (share, _token) = self.open(req, action, now)?;
        let file = self.locate(&share, req.file_id)?;
        self.check_file_policy(&share, action, &file)?;
        let share = match action.use_kind() {
            None => share,
            Some(kind) => match self
                .storage
                .count_use(share.id(), kind, share.token_epoch())?
            {
                UseOutcome::Counted(c) => share.restore_counters(c.counters, c.version),
                UseOutcome::LimitReached { limit } => {
                    return Err(ShareError::LimitReached { kind, limit }.into());
                }
                UseOutcome::EpochMoved => return Err(TokenError::Revoked.into()),
                UseOutcome::NotFound => return Err(Error::ShareNotFound(share.id().clone())),
            },
        };
        self.authorized(&share, action, req.file_id);
        Ok(FileAuthorization { share, file })
    }

    /// Applies the file-type policy to `action` on `file` of `share`,
    /// reporting a refusal as an event.
    pub(super) fn check_file_policy(
        &self,
        share: &Share,
        action: Action,
        file: &FileMeta,
    ) -> Result<(), Error> {
        let ctx = PolicyContext {
            audience: share.audience(),
            created_at: share.created_at(),
            custom_domain: self.tenant_policy(share.tenant()).custom_domain,
        };
        if let Err(refusal) =
            self.config
                .file_policy
                .check(ctx, action, &file.name, file.mime_type.as_deref())
        {
            self.emit(Event::PolicyRefused {
                share_id: share.id().clone(),
                file_id: file.file_id.clone(),
                rule: refusal.rule.clone(),
            });
            return Err(refusal.into());
        }
        Ok(())
    }

    /// Verifies the token and loads its share, then applies the share's rules.
    fn open(
        &self,
        req: &AccessRequest<'_>,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(Share, VerifiedToken), Error> {
        let token = {
            let unverified = UnverifiedToken::parse(req.token)?;
            // Routing check before the MAC: a token for another share is
            // refused without touching storage either way.
            if unverified.claims_unverified().share_id() != req.share_id {
                return Err(TokenError::WrongShare.into());
            }
            self.keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .verify(unverified, now)?
        };
        let share = self.load(req.share_id)?;
        share.authorize(&token, req.caller, action, now)?;
        Ok((share, token))
    }

    /// Finds a file and checks that it lies inside the share.
    pub(super) fn locate(&self, share: &Share, file_id: &FileId) -> Result<FileMeta, Error> {
        let depth = self.config.max_scope_depth;
        let meta = self
            .catalog
            .file(share.drive_id(), file_id)
            .map_err(ScopeError::from)?
            .ok_or(ScopeError::NotInShare)?;
        let ancestors = match share.files() {
            ShareFiles::AllFiles => Vec::new(),
            ShareFiles::Listed(ids) if ids.contains(file_id) => Vec::new(),
            ShareFiles::Listed(_) => self
                .catalog
                .ancestors(share.drive_id(), &meta, depth)
                .map_err(ScopeError::from)?,
        };
        check_in_scope(share.files(), file_id, &ancestors, depth)?;
        Ok(meta)
    }

    fn admit_password_attempt(
        &self,
        req: &TokenRequest,
        now: DateTime<Utc>,
    ) -> Result<Admission, Error> {
        let policy = self.config.throttle;
        let mut decision: Option<Result<Admission, ThrottleRefusal>> = None;
        self.storage.update_throttle(
            &req.share_id,
            &req.client,
            &mut |state| match throttle::admit(state, &policy, now) {
                Ok((next, admission)) => {
                    decision = Some(Ok(admission));
                    next
                }
                Err(r) => {
                    decision = Some(Err(r));
                    state
                }
            },
        )?;
        match decision {
            Some(Ok(admission)) => Ok(admission),
            Some(Err(r)) => {
                self.emit(Event::Throttled {
                    share_id: req.share_id.clone(),
                    client: req.client.clone(),
                    scope: r.scope,
                });
                Err(r.into())
            }
            None => Err(StorageError::Corrupt {
                what: format!("throttle of share {}", req.share_id),
                reason: "the backend stored a throttle update without applying it".into(),
            }
            .into()),
        }
    }

    /// Records how an admitted password attempt ended.
    fn settle_attempt(
        &self,
        req: &TokenRequest,
        admission: Admission,
        outcome: AttemptOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let policy = self.config.throttle;
        self.storage
            .update_throttle(&req.share_id, &req.client, &mut |state| {
                throttle::settle(state, admission, outcome, &policy, now)
            })?;
        Ok(())
    }

    fn authorized(&self, share: &Share, action: Action, file_id: &FileId) {
        self.emit(Event::AccessAuthorized {
            share_id: share.id().clone(),
            action,
            file_id: file_id.clone(),
        });
    }
}
