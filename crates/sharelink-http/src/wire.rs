//! The PDS JSON shapes: request bodies as the SDK sends them (every field
//! optional, unknown fields ignored) and responses with PDS's field names.
//! Times are RFC 3339 UTC to the millisecond; `""` means "never expires".

use std::num::NonZeroU64;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sharelink_core::listing::MAX_PAGE_SIZE;
use sharelink_core::{
    AnonymousShareView, Audience, Counters, CreateShareRequest, Creator, Description, DriveId,
    FileId, FileKind, InputError, Limits, Moderation, PageRequest, PasswordChange, Permissions,
    Share, ShareFiles, ShareFilter, ShareId, ShareListQuery, ShareName, SharePassword, ShareStatus,
    ShareUpdate, TenantId, UseKind,
};

use crate::error::ApiError;
use crate::extract::required;
use crate::files::{category_of, extension_text};
use crate::handlers::{not_supported, page_limit, seconds, share_id};
use crate::host::FileEntry;
use crate::marker;
use crate::query::{parse_order, parse_query};
use crate::wire_time::WireTime;
pub(crate) use crate::wire_time::format_time;

/// Parses an expiration: `""` is "never", anything else must be RFC 3339.
pub fn parse_expiration(s: &str) -> Result<Option<DateTime<Utc>>, InputError> {
    if s.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| InputError::Invalid {
            field: "expiration",
            reason: format!("expected RFC 3339 (2030-01-01T00:00:00.000Z) or \"\": {e}"),
        })
}

fn expiration_text(t: Option<DateTime<Utc>>) -> String {
    t.map(format_time).unwrap_or_default()
}

// ---------------------------------------------------------------- requests

/// `POST /v2/share_link/create`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreateShareLinkBody {
    pub(crate) drive_id: Option<String>,
    pub(crate) file_id_list: Option<Vec<String>>,
    pub(crate) share_all_files: Option<bool>,
    pub(crate) share_pwd: Option<String>,
    pub(crate) share_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) expiration: Option<String>,
    pub(crate) disable_download: Option<bool>,
    pub(crate) disable_preview: Option<bool>,
    pub(crate) disable_save: Option<bool>,
    pub(crate) download_limit: Option<u64>,
    pub(crate) preview_limit: Option<u64>,
    pub(crate) save_limit: Option<u64>,
    pub(crate) require_login: Option<bool>,
    pub(crate) office_editable: Option<bool>,
    pub(crate) creatable: Option<bool>,
    pub(crate) user_id: Option<String>,
}

/// `POST /v2/share_link/update`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UpdateShareLinkBody {
    pub(crate) share_id: Option<String>,
    pub(crate) share_pwd: Option<String>,
    pub(crate) share_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) expiration: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) disable_download: Option<bool>,
    pub(crate) disable_preview: Option<bool>,
    pub(crate) disable_save: Option<bool>,
    pub(crate) download_limit: Option<u64>,
    pub(crate) preview_limit: Option<u64>,
    pub(crate) save_limit: Option<u64>,
    pub(crate) download_count: Option<u64>,
    pub(crate) preview_count: Option<u64>,
    pub(crate) save_count: Option<u64>,
    pub(crate) require_login: Option<bool>,
    pub(crate) office_editable: Option<bool>,
}

/// Bodies that only name a share.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShareIdBody {
    pub(crate) share_id: Option<String>,
}

/// `POST /v2/share_link/list`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListShareLinkBody {
    pub(crate) creator: Option<String>,
    pub(crate) include_cancelled: Option<bool>,
    pub(crate) limit: Option<u32>,
    pub(crate) marker: Option<String>,
    pub(crate) order_by: Option<String>,
    pub(crate) order_direction: Option<String>,
}

/// `POST /v2/share_link/search`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchShareLinkBody {
    pub(crate) creators: Option<Vec<String>>,
    pub(crate) query: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) marker: Option<String>,
    pub(crate) order_by: Option<String>,
    pub(crate) order_direction: Option<String>,
    pub(crate) return_total_count: Option<bool>,
}

/// `""` and absent both mean "no password".
pub(crate) fn optional_password(text: Option<&str>) -> Result<Option<SharePassword>, InputError> {
    match text {
        None | Some("") => Ok(None),
        Some(p) => SharePassword::new(p).map(Some),
    }
}

/// A CreateShareLink body, parsed: everything but who creates it.
pub(crate) struct CreateShareLink {
    /// The `user_id` the body names, if any (it must be the caller).
    pub(crate) for_user: Option<String>,
    /// The drive of the files.
    pub(crate) drive_id: DriveId,
    files: ShareFiles,
    password: Option<SharePassword>,
    name: Option<ShareName>,
    description: Description,
    expiration: Option<DateTime<Utc>>,
    audience: Audience,
    permissions: Permissions,
    limits: Limits,
}

impl TryFrom<CreateShareLinkBody> for CreateShareLink {
    type Error = ApiError;

    /// Refuses what this server does not implement (`creatable`,
    /// `office_editable`), then parses every field; 0 limits are unlimited.
    fn try_from(b: CreateShareLinkBody) -> Result<Self, ApiError> {
        if b.creatable == Some(true) {
            return Err(not_supported("creatable", "upload-enabled shares"));
        }
        if b.office_editable == Some(true) {
            return Err(not_supported("office_editable", "online editing"));
        }
        let drive_id = DriveId::new(required(b.drive_id, "drive_id")?)?;
        let files = if b.share_all_files == Some(true) {
            ShareFiles::AllFiles
        } else {
            let ids = b
                .file_id_list
                .unwrap_or_default()
                .into_iter()
                .map(FileId::new)
                .collect::<Result<Vec<_>, _>>()?;
            ShareFiles::listed(ids)?
        };
        Ok(Self {
            for_user: b.user_id.filter(|u| !u.is_empty()),
            drive_id,
            files,
            password: optional_password(b.share_pwd.as_deref())?,
            name: b
                .share_name
                .filter(|n| !n.is_empty())
                .map(ShareName::new)
                .transpose()?,
            description: Description::new(b.description.unwrap_or_default())?,
            expiration: parse_expiration(b.expiration.as_deref().unwrap_or(""))?,
            audience: if b.require_login == Some(true) {
                Audience::MembersOnly
            } else {
                Audience::Anyone
            },
            permissions: Permissions {
                disable_preview: b.disable_preview.unwrap_or(false),
                disable_download: b.disable_download.unwrap_or(false),
                disable_save: b.disable_save.unwrap_or(false),
            },
            limits: Limits::from_wire(
                b.preview_limit.unwrap_or(0),
                b.download_limit.unwrap_or(0),
                b.save_limit.unwrap_or(0),
            ),
        })
    }
}

impl CreateShareLink {
    /// The engine's request, for `creator` of `tenant`.
    pub(crate) fn into_request(self, tenant: TenantId, creator: Creator) -> CreateShareRequest {
        let mut req = CreateShareRequest::new(tenant, creator, self.drive_id, self.files);
        req.password = self.password;
        req.name = self.name;
        req.description = self.description;
        req.expiration = self.expiration;
        req.audience = self.audience;
        req.permissions = self.permissions;
        req.limits = self.limits;
        req
    }
}

/// An UpdateShareLink body, parsed.
pub(crate) struct UpdateShareLink {
    /// The share.
    pub(crate) share_id: ShareId,
    /// The change.
    pub(crate) update: ShareUpdate,
}

impl TryFrom<UpdateShareLinkBody> for UpdateShareLink {
    type Error = ApiError;

    /// Every absent field stays; `share_pwd: ""` removes the password,
    /// `expiration: ""` makes the share never expire, a 0 limit is
    /// unlimited.
    fn try_from(b: UpdateShareLinkBody) -> Result<Self, ApiError> {
        let share_id = share_id(b.share_id)?;
        if b.office_editable == Some(true) {
            return Err(not_supported("office_editable", "online editing"));
        }
        let update = ShareUpdate {
            password: b
                .share_pwd
                .as_deref()
                .map(|p| {
                    optional_password(Some(p))
                        .map(|p| p.map_or(PasswordChange::Remove, PasswordChange::Set))
                })
                .transpose()?,
            name: b.share_name.map(ShareName::new).transpose()?,
            description: b.description.map(Description::new).transpose()?,
            expiration: b.expiration.as_deref().map(parse_expiration).transpose()?,
            status: b
                .status
                .as_deref()
                .map(ShareStatus::from_wire)
                .transpose()?,
            audience: b.require_login.map(|r| {
                if r {
                    Audience::MembersOnly
                } else {
                    Audience::Anyone
                }
            }),
            disable_preview: b.disable_preview,
            disable_download: b.disable_download,
            disable_save: b.disable_save,
            preview_limit: b.preview_limit.map(NonZeroU64::new),
            download_limit: b.download_limit.map(NonZeroU64::new),
            save_limit: b.save_limit.map(NonZeroU64::new),
            preview_count: b.preview_count,
            download_count: b.download_count,
            save_count: b.save_count,
        };
        Ok(Self { share_id, update })
    }
}

/// A GetShareLinkToken body, parsed.
pub(crate) struct ShareTokenAsk {
    /// The share.
    pub(crate) share_id: ShareId,
    /// The password typed, if any.
    pub(crate) password: Option<SharePassword>,
    /// The lifetime asked for.
    pub(crate) expire_sec: Option<u32>,
}

impl TryFrom<GetShareTokenBody> for ShareTokenAsk {
    type Error = ApiError;

    fn try_from(b: GetShareTokenBody) -> Result<Self, ApiError> {
        Ok(Self {
            share_id: share_id(b.share_id)?,
            password: optional_password(b.share_pwd.as_deref())?,
            expire_sec: seconds(b.expire_sec, "expire_sec")?,
        })
    }
}

impl TryFrom<ListShareLinkBody> for ShareListQuery {
    type Error = ApiError;

    /// ListShareLink: the caller's shares, cancelled ones only with
    /// `include_cancelled`, in `order_by` / `order_direction`.
    fn try_from(b: ListShareLinkBody) -> Result<Self, ApiError> {
        Ok(Self {
            filter: if b.include_cancelled.unwrap_or(false) {
                ShareFilter::default()
            } else {
                ShareFilter::enabled_only()
            },
            order: parse_order(b.order_by.as_deref(), b.order_direction.as_deref())?,
            page: PageRequest {
                limit: page_limit(b.limit, MAX_PAGE_SIZE)?,
                after: marker::decode(b.marker.as_deref().unwrap_or(""))?,
                count_total: false,
            },
        })
    }
}

impl TryFrom<SearchShareLinkBody> for ShareListQuery {
    type Error = ApiError;

    /// SearchShareLink: the caller's shares matching `query` (cancelled
    /// ones included unless it asks for a status), with the total on
    /// `return_total_count`.
    fn try_from(b: SearchShareLinkBody) -> Result<Self, ApiError> {
        Ok(Self {
            filter: parse_query(b.query.as_deref().unwrap_or(""))?,
            order: parse_order(b.order_by.as_deref(), b.order_direction.as_deref())?,
            page: PageRequest {
                limit: page_limit(b.limit, MAX_PAGE_SIZE)?,
                after: marker::decode(b.marker.as_deref().unwrap_or(""))?,
                count_total: b.return_total_count.unwrap_or(false),
            },
        })
    }
}

/// `POST /v2/share_link/get_share_token`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GetShareTokenBody {
    pub(crate) share_id: Option<String>,
    pub(crate) share_pwd: Option<String>,
    pub(crate) expire_sec: Option<i64>,
}

/// `POST /v2/file/list`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListFileBody {
    pub(crate) share_id: Option<String>,
    pub(crate) drive_id: Option<String>,
    pub(crate) parent_file_id: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) marker: Option<String>,
    pub(crate) order_by: Option<String>,
    pub(crate) order_direction: Option<String>,
    pub(crate) category: Option<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) status: Option<String>,
}

/// `POST /v2/file/get`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GetFileBody {
    pub(crate) share_id: Option<String>,
    pub(crate) drive_id: Option<String>,
    pub(crate) file_id: Option<String>,
}

/// `POST /v2/file/get_download_url`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GetDownloadUrlBody {
    pub(crate) share_id: Option<String>,
    pub(crate) drive_id: Option<String>,
    pub(crate) file_id: Option<String>,
    pub(crate) expire_sec: Option<i64>,
}

/// `POST /v2/file/copy`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CopyFileBody {
    pub(crate) share_id: Option<String>,
    pub(crate) drive_id: Option<String>,
    pub(crate) file_id: Option<String>,
    pub(crate) to_drive_id: Option<String>,
    pub(crate) to_parent_file_id: Option<String>,
    pub(crate) auto_rename: Option<bool>,
}

/// `POST /v2/file/get_video_preview_play_info`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PreviewBody {
    pub(crate) share_id: Option<String>,
    pub(crate) drive_id: Option<String>,
    pub(crate) file_id: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) url_expire_sec: Option<i64>,
    pub(crate) get_without_url: Option<bool>,
}

/// `POST /v2/async_task/get`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AsyncTaskBody {
    pub(crate) async_task_id: Option<String>,
}

/// `GetAsyncTask` response.
#[derive(Debug, Serialize)]
pub(crate) struct AsyncTaskWire {
    pub(crate) async_task_id: String,
    pub(crate) state: &'static str,
    pub(crate) status: &'static str,
    pub(crate) total_process: u64,
    pub(crate) consumed_process: u64,
    pub(crate) failed_process: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) error_message: String,
}

impl AsyncTaskWire {
    pub(crate) fn of(id: String, task: &crate::host::AsyncTask) -> Self {
        use crate::host::TaskState;
        let (state, error_message) = match &task.state {
            TaskState::Running => ("Running", String::new()),
            TaskState::Succeed => ("Succeed", String::new()),
            TaskState::PartialSucceed => ("PartialSucceed", String::new()),
            TaskState::Failed { message } => ("Failed", message.clone()),
        };
        Self {
            async_task_id: id,
            state,
            status: state,
            total_process: task.total,
            consumed_process: task.done,
            failed_process: if state == "Failed" {
                task.total - task.done.min(task.total)
            } else {
                0
            },
            error_message,
        }
    }
}

/// `GET /v2/file/download` query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DownloadQuery {
    pub(crate) share_id: Option<String>,
    pub(crate) drive_id: Option<String>,
    pub(crate) file_id: Option<String>,
    pub(crate) grant: Option<String>,
}

// --------------------------------------------------------------- responses

/// A share as its creator sees it (PDS `ShareLink`).
#[derive(Debug, Serialize)]
pub(crate) struct ShareLinkWire {
    pub(crate) share_id: String,
    pub(crate) share_name: String,
    /// Always `""`: passwords are stored only as argon2id hashes, so the
    /// server cannot show them back. `has_pwd` says whether one is set.
    pub(crate) share_pwd: String,
    pub(crate) has_pwd: bool,
    pub(crate) description: String,
    pub(crate) drive_id: String,
    pub(crate) file_id_list: Vec<String>,
    pub(crate) share_all_files: bool,
    pub(crate) expiration: String,
    pub(crate) expired: bool,
    /// `enabled`, `disabled` (cancelled) or `forbidden` (by an administrator).
    pub(crate) status: &'static str,
    pub(crate) creator: String,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    #[serde(flatten)]
    pub(crate) usage: UsageWire,
    pub(crate) office_editable: bool,
    pub(crate) require_login: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) share_url: String,
}

impl ShareLinkWire {
    pub(crate) fn of(share: &Share, now: DateTime<Utc>, share_url: String) -> Self {
        let status = if share.moderation() == Moderation::Forbidden {
            "forbidden"
        } else {
            share.status().as_wire()
        };
        Self {
            share_id: share.id().to_string(),
            share_name: share.name().to_string(),
            share_pwd: String::new(),
            has_pwd: share.has_password(),
            description: share.description().to_string(),
            drive_id: share.drive_id().to_string(),
            file_id_list: share
                .files()
                .ids()
                .iter()
                .map(ToString::to_string)
                .collect(),
            share_all_files: matches!(share.files(), ShareFiles::AllFiles),
            expiration: expiration_text(share.expiration()),
            expired: share.is_expired(now),
            status,
            creator: share.creator().user_id.to_string(),
            created_at: format_time(share.created_at()),
            updated_at: format_time(share.updated_at()),
            usage: UsageWire::of(share.counters(), share.limits(), share.permissions()),
            office_editable: false,
            require_login: share.audience() == sharelink_core::Audience::MembersOnly,
            share_url,
        }
    }
}

/// Counters, limits and switches, as both share views show them. Reports
/// and video previews are not tracked separately: they read 0.
#[derive(Debug, Serialize)]
pub(crate) struct UsageWire {
    pub(crate) access_count: u64,
    pub(crate) download_count: u64,
    pub(crate) preview_count: u64,
    pub(crate) save_count: u64,
    pub(crate) report_count: u64,
    pub(crate) video_preview_count: u64,
    pub(crate) download_limit: u64,
    pub(crate) preview_limit: u64,
    pub(crate) save_limit: u64,
    pub(crate) save_download_limit: u64,
    pub(crate) disable_download: bool,
    pub(crate) disable_preview: bool,
    pub(crate) disable_save: bool,
}

impl UsageWire {
    fn of(counters: Counters, limits: Limits, permissions: Permissions) -> Self {
        Self {
            access_count: counters.access,
            download_count: counters.download,
            preview_count: counters.preview,
            save_count: counters.save,
            report_count: 0,
            video_preview_count: 0,
            download_limit: limits.wire(UseKind::Download),
            preview_limit: limits.wire(UseKind::Preview),
            save_limit: limits.wire(UseKind::Save),
            save_download_limit: 0,
            disable_download: permissions.disable_download,
            disable_preview: permissions.disable_preview,
            disable_save: permissions.disable_save,
        }
    }
}

/// A page of shares.
#[derive(Debug, Serialize)]
pub(crate) struct ShareLinkPage {
    pub(crate) items: Vec<ShareLinkWire>,
    pub(crate) next_marker: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) total_count: Option<u64>,
}

/// The public view of a share (PDS GetShareLinkByAnonymous).
#[derive(Debug, Serialize)]
pub(crate) struct AnonymousShareWire {
    pub(crate) share_id: String,
    pub(crate) creator_id: String,
    pub(crate) creator_name: String,
    pub(crate) creator_phone: String,
    pub(crate) avatar: String,
    pub(crate) share_name: String,
    pub(crate) description: String,
    pub(crate) expiration: String,
    pub(crate) updated_at: String,
    pub(crate) has_pwd: bool,
    pub(crate) need_check_pwd: bool,
    pub(crate) require_login: bool,
    #[serde(flatten)]
    pub(crate) usage: UsageWire,
    pub(crate) file_count: usize,
}

impl AnonymousShareWire {
    pub(crate) fn of(v: &AnonymousShareView) -> Self {
        Self {
            share_id: v.share_id.to_string(),
            creator_id: v.creator_id.clone(),
            creator_name: v.creator_name.clone(),
            creator_phone: v.creator_phone.clone(),
            avatar: v.avatar.clone(),
            share_name: v.share_name.clone(),
            description: v.description.clone(),
            expiration: expiration_text(v.expiration),
            updated_at: format_time(v.updated_at),
            has_pwd: v.has_pwd,
            need_check_pwd: v.has_pwd,
            require_login: v.require_login,
            usage: UsageWire::of(v.counters, v.limits, v.permissions),
            file_count: v.file_count,
        }
    }
}

/// `GetShareLinkToken` response.
#[derive(Debug, Serialize)]
pub(crate) struct ShareTokenWire {
    pub(crate) share_token: String,
    pub(crate) expires_in: i64,
    pub(crate) expire_time: String,
}

/// A file (PDS `File`), as `file/get` answers it: the host's entry, written
/// through [`FileView`] when the answer is serialized.
#[derive(Debug)]
pub(crate) struct FileWire {
    pub(crate) entry: FileEntry,
    pub(crate) domain_id: String,
    /// The share it is seen through, and whether it is one of the share's
    /// top-level items (shown with `root` as its parent).
    pub(crate) share: Option<(ShareId, bool)>,
}

impl FileWire {
    pub(crate) fn of(entry: FileEntry, domain_id: &str, share: Option<&Share>) -> Self {
        let share = share.map(|s| (s.id().clone(), is_shared_root(s, &entry)));
        Self {
            entry,
            domain_id: domain_id.to_owned(),
            share,
        }
    }
}

impl Serialize for FileWire {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let share = self.share.as_ref().map(|(id, root)| (id.as_str(), *root));
        FileView::of(&self.entry, &self.domain_id, share).serialize(s)
    }
}

fn is_shared_root(share: &Share, entry: &FileEntry) -> bool {
    share.files().ids().contains(&entry.meta.file_id)
}

/// A file (PDS `File`) borrowed from the host's entry: what the wire shows,
/// written without copying the entry's strings.
#[derive(Debug, Serialize)]
pub(crate) struct FileView<'a> {
    domain_id: &'a str,
    drive_id: &'a str,
    file_id: &'a str,
    parent_file_id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    file_extension: std::borrow::Cow<'a, str>,
    content_type: &'a str,
    mime_type: &'a str,
    category: &'static str,
    size: u64,
    #[serde(skip_serializing_if = "is_empty")]
    content_hash: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    content_hash_name: &'static str,
    status: &'static str,
    created_at: WireTime,
    updated_at: WireTime,
    starred: bool,
    hidden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    share_id: Option<&'a str>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

impl<'a> FileView<'a> {
    /// `share`: the share's id, and whether the file is one of its
    /// top-level items (those show `root` as their parent).
    pub(crate) fn of(e: &'a FileEntry, domain_id: &'a str, share: Option<(&'a str, bool)>) -> Self {
        let m = &e.meta;
        let parent = match (&m.parent_file_id, share.is_some_and(|(_, root)| root)) {
            (Some(p), false) => p.as_str(),
            _ => sharelink_core::scope::ROOT_ID,
        };
        let folder = m.kind == FileKind::Folder;
        let mime = if folder {
            ""
        } else {
            m.mime_type.as_deref().unwrap_or("application/octet-stream")
        };
        Self {
            domain_id,
            drive_id: m.drive_id.as_str(),
            file_id: m.file_id.as_str(),
            parent_file_id: parent,
            name: &m.name,
            kind: m.kind.as_wire(),
            file_extension: if folder {
                "".into()
            } else {
                extension_text(&m.name)
            },
            content_type: mime,
            mime_type: mime,
            category: if folder {
                ""
            } else {
                category_of(&m.name).as_wire()
            },
            size: m.size,
            content_hash: e.content_hash.as_deref().unwrap_or(""),
            content_hash_name: if e.content_hash.is_some() { "sha1" } else { "" },
            status: "available",
            created_at: WireTime(e.created_at),
            updated_at: WireTime(e.updated_at),
            starred: false,
            hidden: false,
            share_id: share.map(|(id, _)| id),
        }
    }
}

/// A page of files: the host's entries, written through [`FileView`] when
/// the answer is serialized.
#[derive(Debug)]
pub(crate) struct FilePage {
    pub(crate) items: Vec<FileEntry>,
    pub(crate) next_marker: String,
    pub(crate) domain_id: String,
    /// The share the folder is seen through.
    pub(crate) share: Option<Share>,
}

impl Serialize for FilePage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Items<'a>(&'a FilePage);
        impl Serialize for Items<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let page = self.0;
                s.collect_seq(page.items.iter().map(|e| {
                    let share = page
                        .share
                        .as_ref()
                        .map(|sh| (sh.id().as_str(), is_shared_root(sh, e)));
                    FileView::of(e, &page.domain_id, share)
                }))
            }
        }
        let mut st = s.serialize_struct("FilePage", 2)?;
        st.serialize_field("items", &Items(self))?;
        st.serialize_field("next_marker", &self.next_marker)?;
        st.end()
    }
}

/// `GetDownloadUrl` response.
#[derive(Debug, Serialize)]
pub(crate) struct DownloadUrlWire {
    pub(crate) url: String,
    pub(crate) internal_url: String,
    pub(crate) cdn_url: String,
    pub(crate) expiration: String,
    pub(crate) method: &'static str,
    pub(crate) size: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) content_hash: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) content_hash_name: String,
}

/// `GetVideoPreviewPlayInfo` response: one finished task, the rendition.
#[derive(Debug, Serialize)]
pub(crate) struct PreviewWire {
    domain_id: String,
    drive_id: String,
    file_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    share_id: Option<String>,
    video_preview_play_info: PlayInfoWire,
}

#[derive(Debug, Serialize)]
struct PlayInfoWire {
    category: String,
    live_transcoding_task_list: Vec<PlayTaskWire>,
    quick_video_list: Vec<PlayTaskWire>,
    offline_video_transcoding_list: Vec<PlayTaskWire>,
}

#[derive(Debug, Serialize)]
struct PlayTaskWire {
    template_id: &'static str,
    status: &'static str,
    url: String,
}

impl PreviewWire {
    pub(crate) fn new(
        domain_id: &str,
        meta: &sharelink_core::FileMeta,
        share: Option<&sharelink_core::ShareId>,
        category: &str,
        url: String,
    ) -> Self {
        let task = || {
            vec![PlayTaskWire {
                template_id: "rendition",
                status: "finished",
                url: url.clone(),
            }]
        };
        let (live, quick, offline) = match category {
            "quick_video" => (vec![], task(), vec![]),
            "offline_video" | "offline_audio" => (vec![], vec![], task()),
            _ => (task(), vec![], vec![]),
        };
        Self {
            domain_id: domain_id.to_owned(),
            drive_id: meta.drive_id.to_string(),
            file_id: meta.file_id.to_string(),
            share_id: share.map(ToString::to_string),
            video_preview_play_info: PlayInfoWire {
                category: category.to_owned(),
                live_transcoding_task_list: live,
                quick_video_list: quick,
                offline_video_transcoding_list: offline,
            },
        }
    }

    /// The signed URL of the rendition (empty with `get_without_url`).
    pub(crate) fn url(&self) -> &str {
        let info = &self.video_preview_play_info;
        info.live_transcoding_task_list
            .iter()
            .chain(&info.quick_video_list)
            .chain(&info.offline_video_transcoding_list)
            .map(|t| t.url.as_str())
            .next()
            .unwrap_or("")
    }
}

/// `CopyFile` response.
#[derive(Debug, Serialize)]
pub(crate) struct CopyWire {
    pub(crate) domain_id: String,
    pub(crate) drive_id: String,
    pub(crate) file_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) async_task_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(id: &str, parent: Option<&str>, name: &str, kind: FileKind) -> FileEntry {
        let t = Utc.with_ymd_and_hms(2023, 3, 8, 7, 38, 43).unwrap();
        FileEntry {
            meta: sharelink_core::FileMeta {
                drive_id: DriveId::new("d1").unwrap(),
                file_id: FileId::new(id).unwrap(),
                parent_file_id: parent.map(|p| FileId::new(p).unwrap()),
                name: name.into(),
                kind,
                mime_type: (kind == FileKind::File).then(|| "image/jpeg".into()),
                size: 7,
            },
            created_at: t,
            updated_at: t + chrono::Duration::milliseconds(5),
            content_hash: (kind == FileKind::File).then(|| "AB12".into()),
        }
    }

    #[test]
    fn files_are_written_as_pds_writes_them() {
        let file = entry("f1", Some("photos"), "Sunset.JPG", FileKind::File);
        let json = serde_json::to_string(&FileView::of(&file, "dom", None)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"domain_id":"dom","drive_id":"d1","file_id":"f1","parent_file_id":"photos","#,
                r#""name":"Sunset.JPG","type":"file","file_extension":"jpg","#,
                r#""content_type":"image/jpeg","mime_type":"image/jpeg","category":"image","#,
                r#""size":7,"content_hash":"AB12","content_hash_name":"sha1","status":"available","#,
                r#""created_at":"2023-03-08T07:38:43.000Z","updated_at":"2023-03-08T07:38:43.005Z","#,
                r#""starred":false,"hidden":false}"#
            )
        );
        // A folder: no type-derived fields, no hash; a shared top-level item
        // shows `root` as its parent, and the share's id.
        let folder = entry("p", Some("home"), "photos", FileKind::Folder);
        let json =
            serde_json::to_string(&FileView::of(&folder, "dom", Some(("s1", true)))).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"domain_id":"dom","drive_id":"d1","file_id":"p","parent_file_id":"root","#,
                r#""name":"photos","type":"folder","file_extension":"","#,
                r#""content_type":"","mime_type":"","category":"","#,
                r#""size":7,"status":"available","#,
                r#""created_at":"2023-03-08T07:38:43.000Z","updated_at":"2023-03-08T07:38:43.005Z","#,
                r#""starred":false,"hidden":false,"share_id":"s1"}"#
            )
        );
        let inner =
            serde_json::to_value(FileView::of(&folder, "dom", Some(("s1", false)))).unwrap();
        assert_eq!(inner["parent_file_id"], "home");
        let page = FilePage {
            items: vec![file, folder],
            next_marker: "m".into(),
            domain_id: "dom".into(),
            share: None,
        };
        let v = serde_json::to_value(&page).unwrap();
        assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            (v["items"][1]["file_id"].as_str(), v["next_marker"].as_str()),
            (Some("p"), Some("m"))
        );
    }

    #[test]
    fn times_have_milliseconds_and_z() {
        let t = Utc.with_ymd_and_hms(2023, 3, 8, 7, 38, 43).unwrap()
            + chrono::Duration::milliseconds(408);
        assert_eq!(format_time(t), "2023-03-08T07:38:43.408Z");
        assert_eq!(
            parse_expiration("2023-03-08T07:38:43.408Z").unwrap(),
            Some(t)
        );
        assert_eq!(
            parse_expiration("2023-03-08T15:38:43.408+08:00").unwrap(),
            Some(t)
        );
        assert_eq!(parse_expiration("").unwrap(), None);
        assert!(parse_expiration("tomorrow").is_err());
        assert!(parse_expiration("2023-13-08T07:38:43Z").is_err());
    }
}
