//! Receiver operations: trade a password for a share token, then use the
//! token to list, get, preview, download and save.

use chrono::{DateTime, Utc};

use super::error::{Error, WrongPassword};
use crate::code::InputError;
use crate::events::Event;
use crate::fields::FileId;
use crate::file_policy::{PolicyContext, PolicyRefusal};
use crate::grant::GrantKind;
use crate::quota::QuotaKind;
use crate::scope::{FileKind, FileMeta, ListTarget, ROOT_ID, ScopeError, check_in_scope};
use crate::share::{Action, Member, Share, ShareError, ShareFiles, token_lifetime};
use crate::storage::{AccessItem, AccessOutcome, AccessUpdate, StorageError, UseOutcome};
use crate::throttle::{self, Admission, AttemptOutcome, ThrottleRefusal, ThrottleState};
use crate::token::{ShareToken, TokenError, UnverifiedToken, VerifiedToken};

use super::{Engine, FileRequest, TokenRequest};

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

/// Proof that the engine let a caller read one file's metadata
/// ([`Engine::authorize_get`]) or save it ([`Engine::save_shared`],
/// counted).
///
/// Only the engine makes one: its fields are private, it is not `Clone`, and
/// it records the action it was issued for. It cannot be turned into a
/// download or preview URL; only a [`ContentAuthorization`] can.
#[derive(Debug)]
pub struct FileAuthorization {
    share: Share,
    file: FileMeta,
    action: Action,
}

impl FileAuthorization {
    /// The share, as stored after any counting.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// The file, as the catalogue described it when authorized.
    pub fn file(&self) -> &FileMeta {
        &self.file
    }

    /// What was authorized: [`Action::Get`] or [`Action::Save`].
    pub fn action(&self) -> Action {
        self.action
    }

    /// The file, giving up the proof.
    pub fn into_file(self) -> FileMeta {
        self.file
    }
}

/// Proof that the engine authorized **and counted** one download or preview
/// of one file (never a folder) of a share
/// ([`Engine::authorize_download`], [`Engine::authorize_preview`]).
///
/// It is the only input [`Engine::grant_shared_content`] accepts, and it is
/// consumed there: one counted use, one signed URL, whose kind is the one
/// counted. Its fields are private and it is not `Clone`, so a plain "get"
/// can never be turned into an uncounted download:
///
/// ```compile_fail
/// # use sharelink_core::{Engine, FileAuthorization};
/// fn mint(engine: &Engine, seen: FileAuthorization) {
///     // A metadata read is not a counted download: this does not compile.
///     let _ = engine.grant_shared_content(seen, None);
/// }
/// ```
///
/// ```compile_fail
/// # use sharelink_core::{Engine, ContentAuthorization};
/// fn twice(engine: &Engine, auth: ContentAuthorization) {
///     // One counted download, one URL: it is neither `Clone` nor reusable.
///     let copy = auth.clone();
///     let _ = engine.grant_shared_content(auth, None);
///     let _ = engine.grant_shared_content(copy, None);
/// }
/// ```
#[derive(Debug)]
pub struct ContentAuthorization {
    share: Share,
    file: FileMeta,
    kind: GrantKind,
}

impl ContentAuthorization {
    /// The share, as stored after counting.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// The file (always [`FileKind::File`]).
    pub fn file(&self) -> &FileMeta {
        &self.file
    }

    /// What was counted: a download or a preview.
    pub fn kind(&self) -> GrantKind {
        self.kind
    }

    /// The file, giving up the proof (to stream it directly, without a URL).
    pub fn into_file(self) -> FileMeta {
        self.file
    }
}

/// Proof that the engine let a caller list a folder of a share
/// ([`Engine::authorize_list`]). Private fields, not `Clone`.
#[derive(Debug)]
pub struct ListAuthorization {
    share: Share,
    target: ListTarget,
}

impl ListAuthorization {
    /// The share.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// What to list.
    pub fn target(&self) -> &ListTarget {
        &self.target
    }
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
                    let after =
                        self.settle_attempt(&req, admission, AttemptOutcome::Failure, now)?;
                    self.emit(Event::PasswordFailed {
                        share_id: req.share_id.clone(),
                        client: req.client.clone(),
                    });
                    return Err(match e {
                        ShareError::WrongPassword => WrongPassword {
                            free_attempts_left: self
                                .config
                                .throttle
                                .free_failures
                                .saturating_sub(after.client.failures),
                            retry_at: after.client.blocked_until.filter(|t| *t > now),
                        }
                        .into(),
                        other => other.into(),
                    });
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
        let apply = move |s: ThrottleState| {
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
        let item = AccessItem {
            share_id: req.share_id.clone(),
            expected_epoch: share.token_epoch(),
            client: req.client.clone(),
            charge: charge.clone(),
            apply: Box::new(apply),
        };
        let outcome = self.commits.record_access(&*self.storage, item)?;
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
            AccessOutcome::Recorded(c) => share.danger_restore_counters(c.counters, c.version),
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
    pub fn authorize_list(&self, req: &FileRequest<'_>) -> Result<ListAuthorization, Error> {
        let now = self.clock.now();
        let (share, _token) = self.open(req, Action::List, now)?;
        let target = if req.file_id.as_str() == ROOT_ID {
            match share.files() {
                ShareFiles::Listed(ids) => ListTarget::SharedItems(ids.as_slice().to_vec()),
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
    /// Counts nothing.
    pub fn authorize_get(&self, req: &FileRequest<'_>) -> Result<FileAuthorization, Error> {
        let now = self.clock.now();
        let (share, _token) = self.open(req, Action::Get, now)?;
        let file = self.locate(&share, req.file_id)?;
        self.authorized(&share, Action::Get, req.file_id);
        Ok(FileAuthorization {
            share,
            file,
            action: Action::Get,
        })
    }

    /// Authorizes and counts a preview. Refused if preview is disabled, its
    /// limit is reached, the file is a folder, or the file-type policy
    /// applies to preview.
    pub fn authorize_preview(&self, req: &FileRequest<'_>) -> Result<ContentAuthorization, Error> {
        self.authorize_content(req, GrantKind::Preview, |_| Ok(()))
    }

    /// Authorizes and counts a download. Refused if download is disabled, its
    /// limit is reached, the file is a folder, or the file-type policy
    /// blocks it (APK/IPA on an external share).
    pub fn authorize_download(&self, req: &FileRequest<'_>) -> Result<ContentAuthorization, Error> {
        self.authorize_content(req, GrantKind::Download, |_| Ok(()))
    }

    /// [`Engine::authorize_download`] or [`Engine::authorize_preview`] (by
    /// `kind`) with a host check between "the file is allowed" and "the use
    /// is counted": `precheck` sees the file and may refuse (an
    /// unsatisfiable byte range, say), in which case nothing is counted.
    /// One token check and one share load in all.
    pub fn authorize_content_with<E: From<Error>>(
        &self,
        req: &FileRequest<'_>,
        kind: GrantKind,
        precheck: impl FnOnce(&FileMeta) -> Result<(), E>,
    ) -> Result<ContentAuthorization, E> {
        self.authorize_content(req, kind, precheck)
    }

    /// Saves a shared file or folder into the caller's drive (PDS CopyFile
    /// with `share_id`), counting the save only if it succeeds.
    ///
    /// Needs a signed-in caller (the login token) as well as the share
    /// token. Saving is not a download: the file-type policy does not apply.
    /// The engine checks the share and counts the save first (refusing at
    /// `save_limit`), then runs the host's `copy` with the authorization;
    /// if `copy` fails (target missing, name taken, not a folder, drive
    /// full) the save is refunded ([`Storage::refund_use`]) and `copy`'s
    /// error is returned. Charge-and-refund never lets the counter pass the
    /// limit, even with saves in flight: a save that would be the limit's
    /// `n + 1`-th is refused while `n` are running, and may succeed once
    /// one of them has failed.
    ///
    /// If the refund itself fails (storage down), the failed save stays
    /// counted: that errs on the side of the limit.
    ///
    /// [`Storage::refund_use`]: crate::Storage::refund_use
    pub fn save_shared<T, E: From<Error>>(
        &self,
        req: &FileRequest<'_>,
        caller: &Member,
        copy: impl FnOnce(&FileAuthorization) -> Result<T, E>,
    ) -> Result<T, E> {
        let req = FileRequest {
            caller: Some(caller),
            ..req.clone()
        };
        let now = self.clock.now();
        let (share, _token) = self.open(&req, Action::Save, now)?;
        let file = self.locate(&share, req.file_id)?;
        let share = self.count(share, Action::Save)?;
        let auth = FileAuthorization {
            share,
            file,
            action: Action::Save,
        };
        match copy(&auth) {
            Ok(done) => {
                self.authorized(&auth.share, Action::Save, req.file_id);
                Ok(done)
            }
            Err(failed) => {
                if let Some(kind) = Action::Save.use_kind() {
                    // The copy's error is what the caller needs; a refund
                    // that fails leaves the save counted (never over the
                    // limit).
                    let _ = self.storage.refund_use(auth.share.id(), kind);
                }
                Err(failed)
            }
        }
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

    fn authorize_content<E: From<Error>>(
        &self,
        req: &FileRequest<'_>,
        kind: GrantKind,
        precheck: impl FnOnce(&FileMeta) -> Result<(), E>,
    ) -> Result<ContentAuthorization, E> {
        let action = kind.action();
        let now = self.clock.now();
        let (share, _token) = self.open(req, action, now)?;
        let file = self.locate(&share, req.file_id)?;
        if file.kind == FileKind::Folder {
            return Err(Error::from(InputError::invalid(
                "file_id",
                format!("{} is a folder; only files have content", file.file_id),
            ))
            .into());
        }
        self.check_file_policy(&share, action, &file)?;
        precheck(&file)?;
        let share = self.count(share, action)?;
        self.authorized(&share, action, req.file_id);
        Ok(ContentAuthorization { share, file, kind })
    }

    /// Counts one use of `action` (if it is counted at all) and returns the
    /// share with the stored counters.
    fn count(&self, share: Share, action: Action) -> Result<Share, Error> {
        let Some(used) = action.limited_use() else {
            return Ok(share);
        };
        let kind = used.use_kind();
        match self.commits.count_use(
            &*self.storage,
            share.id().clone(),
            kind,
            share.token_epoch(),
        )? {
            UseOutcome::Counted(c) => Ok(share.danger_restore_counters(c.counters, c.version)),
            UseOutcome::LimitReached { limit } => {
                Err(ShareError::LimitReached { kind: used, limit }.into())
            }
            UseOutcome::EpochMoved => Err(TokenError::Revoked.into()),
            UseOutcome::NotFound => Err(Error::ShareNotFound(share.id().clone())),
        }
    }

    /// Applies the file-type policy to `action` on `file` of `share`,
    /// reporting a refusal as an event.
    pub(super) fn check_file_policy(
        &self,
        share: &Share,
        action: Action,
        file: &FileMeta,
    ) -> Result<(), Error> {
        if let Some(refusal) = self.policy_verdict(share, action, file)? {
            self.emit(Event::PolicyRefused {
                share_id: share.id().clone(),
                file_id: file.file_id.clone(),
                rule: refusal.rule.clone(),
            });
            return Err(refusal.into());
        }
        Ok(())
    }

    /// Why the file-type policy would refuse downloading `file` from
    /// `share`, or `None` if it allows it: the very check a download makes,
    /// without counting or reporting anything, so that a page can tell a
    /// receiver up front (an APK on a share for external users, say).
    /// Every other rule (limits, switches, the token) is still decided when
    /// the download is asked for.
    pub fn download_refusal(
        &self,
        share: &Share,
        file: &FileMeta,
    ) -> Result<Option<PolicyRefusal>, Error> {
        self.policy_verdict(share, Action::Download, file)
    }

    fn policy_verdict(
        &self,
        share: &Share,
        action: Action,
        file: &FileMeta,
    ) -> Result<Option<PolicyRefusal>, Error> {
        let ctx = PolicyContext {
            audience: share.audience(),
            created_at: share.created_at(),
            custom_domain: self.tenant_policy(share.tenant()).custom_domain,
        };
        let verdict = self
            .config
            .file_policy
            .check_with_content(ctx, action, &file.name, file.mime_type.as_deref(), || {
                self.catalog.package_kind(file)
            })
            .map_err(ScopeError::from)?;
        Ok(verdict.err())
    }

    /// Verifies the token and loads its share, then applies the share's rules.
    fn open(
        &self,
        req: &FileRequest<'_>,
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

    /// Records how an admitted password attempt ended; returns the
    /// throttle state it left.
    fn settle_attempt(
        &self,
        req: &TokenRequest,
        admission: Admission,
        outcome: AttemptOutcome,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, Error> {
        let policy = self.config.throttle;
        let mut after = ThrottleState::default();
        self.storage
            .update_throttle(&req.share_id, &req.client, &mut |state| {
                after = throttle::settle(state, admission, outcome, &policy, now);
                after
            })?;
        Ok(after)
    }

    fn authorized(&self, share: &Share, action: Action, file_id: &FileId) {
        self.emit(Event::FileActionAuthorized {
            share_id: share.id().clone(),
            action,
            file_id: file_id.clone(),
        });
    }
}
