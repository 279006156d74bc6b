//! Creator and administrator operations: create, get, update, cancel, list,
//! forbid.

use super::error::Error;
use crate::events::Event;
use crate::fields::{DriveId, ShareName};
use crate::id::ShareId;
use crate::listing::{ShareListQuery, SharePage};
use crate::password::{PasswordHash, SharePassword};
use crate::quota::QuotaKind;
use crate::scope::ScopeError;
use crate::share::{Member, Moderation, Share, ShareFiles, ShareSpec, ShareUpdate};
use crate::storage::{InsertOutcome, QuotaCharge, StorageError};

use super::{AnonymousShareView, CreateShareRequest, Engine};

/// Attempts at drawing a share id that is not taken. With 22 base62
/// characters a collision is astronomically unlikely; the bound only keeps
/// a broken RNG from looping forever.
const MAX_ID_ATTEMPTS: u32 = 4;
impl Engine {
    /// Creates a share (PDS CreateShareLink).
    ///
    /// Every listed file must exist in the drive (else `NotFound.File`). The
    /// name defaults to the first file's name. The password is stored only as
    /// an argon2id hash. Creation and its quota charge are one atomic step:
    /// there is never a share without its charge, nor a charge without a share.
    pub fn create_share_link(&self, req: CreateShareRequest) -> Result<Share, Error> {
        let now = self.clock.now();
        let charge = self.quota_charge(&req.tenant, QuotaKind::Create, now);
        // Cheap pre-check, so an exhausted tenant costs no argon2 work. The
        // atomic check happens in `insert_share`.
        if let (Some(c), Some(_)) = (&charge, &req.password) {
            if self.storage.quota_used(&c.key)? >= c.limit {
                return Err(self.quota_exhausted(c, now));
            }
        }
        let (spec, password) = self.prepare(req)?;
        for _ in 0..MAX_ID_ATTEMPTS {
            let share = Share::create(self.new_share_id()?, spec.clone(), password.clone(), now)?;
            let outcome =
                self.commits
                    .insert_share(&*self.storage, share.clone(), charge.clone())?;
            match self.created(share, outcome, charge.as_ref(), now) {
                Err(Retry) => continue,
                Ok(result) => return result,
            }
        }
        Err(id_space_exhausted())
    }

    /// Group commit: creates many shares with one durable commit (on
    /// backends that support it), each exactly as
    /// [`create_share_link`](Self::create_share_link) would. Results are in
    /// input order; one request's failure does not affect the others.
    pub fn create_share_links(&self, reqs: Vec<CreateShareRequest>) -> Vec<Result<Share, Error>> {
        let now = self.clock.now();
        let mut results: Vec<Option<Result<Share, Error>>> = Vec::with_capacity(reqs.len());
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        for req in reqs {
            let charge = self.quota_charge(&req.tenant, QuotaKind::Create, now);
            let prepared = self.prepare(req).and_then(|(spec, password)| {
                Ok(Share::create(self.new_share_id()?, spec, password, now)?)
            });
            match prepared {
                Ok(share) => {
                    slots.push(results.len());
                    results.push(None);
                    batch.push((share, charge));
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        match self.storage.insert_shares(&batch) {
            Ok(outcomes) => {
                for ((slot, (share, charge)), outcome) in slots.iter().zip(batch).zip(outcomes) {
                    let result = match self.created(share.clone(), outcome, charge.as_ref(), now) {
                        Ok(result) => result,
                        // An id collision: retry this one alone.
                        Err(Retry) => self.retry_create(share, charge.as_ref(), now),
                    };
                    if let Some(r) = results.get_mut(*slot) {
                        *r = Some(result);
                    }
                }
            }
            Err(e) => {
                // One failure, reported by every item of the batch, each
                // keeping it as its source.
                let failure = std::sync::Arc::new(e);
                for slot in slots {
                    if let Some(r) = results.get_mut(slot) {
                        *r = Some(Err(Error::Storage(StorageError::Backend {
                            message: "the batch insert failed".into(),
                            source: Some(Box::new(BatchFailure(failure.clone()))),
                        })));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(id_space_exhausted())))
            .collect()
    }

    /// The creator's view of a share (PDS GetShareLink). Only its creator may read it.
    pub fn get_share_link(&self, caller: &Member, id: &ShareId) -> Result<Share, Error> {
        let share = self.load(id)?;
        share.check_creator(caller)?;
        Ok(share)
    }

    /// Updates a share (PDS UpdateShareLink). Only its creator may.
    ///
    /// Changing the password, audience, expiration or status revokes every
    /// outstanding token. Retries version conflicts a bounded number of times.
    pub fn update_share_link(
        &self,
        caller: &Member,
        id: &ShareId,
        update: ShareUpdate,
    ) -> Result<Share, Error> {
        let now = self.clock.now();
        let owner = format!("{}/{}", caller.tenant, caller.user_id);
        let patch = update.try_map_password(|p| self.hash_password(&owner, &p))?;
        let (before, after) = self.modify_share(id, |share| {
            share.check_creator(caller)?;
            Ok(share.update(patch.clone(), now)?)
        })?;
        self.emit(Event::ShareUpdated {
            share_id: id.clone(),
            tokens_revoked: before.token_epoch() != after.token_epoch(),
        });
        Ok(after)
    }

    /// Cancels a share (PDS CancelShareLink). Only its creator may.
    /// Outstanding tokens die at once.
    pub fn cancel_share_link(&self, caller: &Member, id: &ShareId) -> Result<Share, Error> {
        let now = self.clock.now();
        let (_, after) = self.modify_share(id, |share| {
            share.check_creator(caller)?;
            Ok(share.cancel(now)?)
        })?;
        self.emit(Event::ShareCancelled {
            share_id: id.clone(),
        });
        Ok(after)
    }

    /// An administrator forbids a share. The host must have checked that the
    /// caller is an administrator of the share's tenant.
    pub fn forbid_share_link(&self, id: &ShareId) -> Result<Share, Error> {
        self.moderate(id, Moderation::Forbidden)
    }

    /// An administrator lifts a forbid. The host must have checked the caller.
    pub fn unforbid_share_link(&self, id: &ShareId) -> Result<Share, Error> {
        self.moderate(id, Moderation::Allowed)
    }

    /// The caller's own shares (PDS ListShareLink and SearchShareLink):
    /// those matching `query.filter`, in `query.order`, one page after
    /// `query.page.after`.
    ///
    /// The query is checked first ([`ShareListQuery::check`]): a limit in
    /// 1..=100 and a cursor of the same order, else a 400-class
    /// [`InputError`](crate::InputError). The storage serves every order from an index, so a
    /// page costs the same for a creator with ten shares or a million;
    /// counting a total reads every match from the cursor on.
    pub fn list_share_links(
        &self,
        caller: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, Error> {
        query.check()?;
        Ok(self.storage.list_shares(caller, query)?)
    }

    /// The public view of a share (PDS GetShareLinkByAnonymous): masked
    /// creator, `has_pwd`, expiration, limits and counters; never the
    /// password or the file list. A cancelled, forbidden or expired share
    /// answers with its error instead.
    pub fn get_share_link_by_anonymous(&self, id: &ShareId) -> Result<AnonymousShareView, Error> {
        let now = self.clock.now();
        let share = self.load(id)?;
        share.check_usable(now)?;
        Ok(AnonymousShareView::of(&share))
    }

    /// Moves a share to the moderation state `to`.
    fn moderate(&self, id: &ShareId, to: Moderation) -> Result<Share, Error> {
        let now = self.clock.now();
        let (_, after) = self.modify_share(id, |share| {
            Ok(match to {
                Moderation::Forbidden => share.forbid(now)?,
                Moderation::Allowed => share.unforbid(now)?,
            })
        })?;
        self.emit(Event::ShareModerated {
            share_id: id.clone(),
            forbidden: to == Moderation::Forbidden,
        });
        Ok(after)
    }

    /// Validates a request against the catalogue and hashes its password.
    fn prepare(&self, req: CreateShareRequest) -> Result<(ShareSpec, Option<PasswordHash>), Error> {
        let name = match req.name {
            Some(name) => name,
            None => self.default_name(&req.drive_id, &req.files)?,
        };
        if let ShareFiles::Listed(ids) = &req.files {
            for id in ids.as_slice() {
                if self
                    .catalog
                    .file(&req.drive_id, id)
                    .map_err(ScopeError::from)?
                    .is_none()
                {
                    return Err(ScopeError::NotInShare.into());
                }
            }
        }
        let who = format!("{}/{}", req.tenant, req.creator.user_id);
        let password = req
            .password
            .as_ref()
            .map(|p| self.hash_password(&who, p))
            .transpose()?;
        let spec = ShareSpec {
            tenant: req.tenant,
            drive_id: req.drive_id,
            creator: req.creator,
            files: req.files,
            name,
            description: req.description,
            expiration: req.expiration,
            audience: req.audience,
            permissions: req.permissions,
            limits: req.limits,
        };
        Ok((spec, password))
    }

    /// Turns a storage outcome into the operation's result; `Err(Retry)`
    /// means the id was taken and the caller should draw another.
    fn created(
        &self,
        share: Share,
        outcome: InsertOutcome,
        charge: Option<&QuotaCharge>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<Share, Error>, Retry> {
        match outcome {
            InsertOutcome::Inserted => {
                self.emit(Event::ShareCreated {
                    share_id: share.id().clone(),
                    tenant: share.tenant().clone(),
                    creator: share.creator().user_id.clone(),
                });
                Ok(Ok(share))
            }
            InsertOutcome::IdTaken => Err(Retry),
            InsertOutcome::QuotaExhausted { .. } => Ok(Err(match charge {
                Some(c) => self.quota_exhausted(c, now),
                None => Error::Storage(StorageError::Corrupt {
                    what: format!("quota of tenant {}", share.tenant()),
                    reason: "backend reported exhaustion without a charge".into(),
                }),
            })),
        }
    }

    fn retry_create(
        &self,
        share: Share,
        charge: Option<&QuotaCharge>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Share, Error> {
        for _ in 0..MAX_ID_ATTEMPTS {
            let fresh = share.clone().with_id(self.new_share_id()?);
            let outcome =
                self.commits
                    .insert_share(&*self.storage, fresh.clone(), charge.cloned())?;
            if let Ok(result) = self.created(fresh, outcome, charge, now) {
                return result;
            }
        }
        Err(id_space_exhausted())
    }

    /// Hashes a new password for `who` (tenant/user), within the
    /// password-setting rate and on the bounded hashing pool.
    fn hash_password(&self, who: &str, password: &SharePassword) -> Result<PasswordHash, Error> {
        let now = self.clock.now();
        self.password_sets.check(who, now)?;
        let salt = self.random_bytes::<16>();
        let hasher = self.config.password_hasher;
        let password = password.clone();
        Ok(self.hash(now, move || hasher.hash_with_salt(&password, &salt))??)
    }

    fn default_name(&self, drive: &DriveId, files: &ShareFiles) -> Result<ShareName, Error> {
        let Some(first) = files.ids().first() else {
            return Ok(ShareName::default());
        };
        let meta = self
            .catalog
            .file(drive, first)
            .map_err(ScopeError::from)?
            .ok_or(ScopeError::NotInShare)?;
        // Truncate long file names to the share-name limit rather than fail.
        let mut name: String = meta.name.chars().take(ShareName::MAX_CHARS).collect();
        name.retain(|c| !c.is_control());
        Ok(ShareName::new(name)?)
    }
}

/// The id was taken: draw another.
struct Retry;

fn id_space_exhausted() -> Error {
    Error::IdsExhausted {
        attempts: MAX_ID_ATTEMPTS,
    }
}

/// The storage failure of a whole batch, shared by each of its items.
#[derive(Debug)]
struct BatchFailure(std::sync::Arc<StorageError>);

impl std::fmt::Display for BatchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BatchFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}
