//! `POST /v2/file/*` and `GET /v2/file/download`.
//!
//! With `share_id`, the share token comes from `x-share-token` and the
//! engine decides; with `drive_id`, the caller's access token and the
//! host's [`DriveStore::may_access`] decide.

use std::io::Read;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharelink_core::{
    ContentAuthorization, DriveId, FileId, FileKind, FileMeta, FileRequest, GrantKind, InputError,
    ListTarget, Share, ShareId,
};

use super::{Api, Refusal, blocking, page_limit, seconds};
use crate::ShareApi;
use crate::error::ApiError;
use crate::extract::{RequestHead, json_body, required};
use crate::files::{MAX_FILE_PAGE, page_entries};
use crate::host::{
    Authenticator, Category, ChildPage, ChildQuery, DriveStore, FileEntry, FileOrder,
};
use crate::rendition;
use crate::wire::{
    AsyncTaskBody, AsyncTaskWire, CopyFileBody, CopyWire, DownloadQuery, DownloadUrlWire, FilePage,
    FileWire, GetDownloadUrlBody, GetFileBody, ListFileBody, PreviewBody, PreviewWire, format_time,
};

/// Longest lifetime of a preview URL (PDS `url_expire_sec`: at most 14400).
const MAX_PREVIEW_URL_SECS: u32 = 14_400;

/// Size of the chunks a download is streamed in.
const CHUNK: usize = 64 * 1024;

/// Whether a file operation goes through a share or straight to a drive.
enum Target {
    Share(ShareId),
    Drive(DriveId),
}

/// The target and the required `file_id` of a file operation.
fn file_target(
    share_id: Option<String>,
    drive_id: Option<String>,
    file_id: Option<String>,
) -> Result<(Target, FileId), ApiError> {
    let target = target(share_id, drive_id)?;
    Ok((target, FileId::new(required(file_id, "file_id")?)?))
}

/// A signed URL, and what it was issued for.
struct IssuedUrl {
    url: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    entry: FileEntry,
    /// The share it goes through, if any.
    share: Option<ShareId>,
}

fn target(share_id: Option<String>, drive_id: Option<String>) -> Result<Target, ApiError> {
    match (
        share_id.filter(|s| !s.is_empty()),
        drive_id.filter(|s| !s.is_empty()),
    ) {
        (Some(s), _) => Ok(Target::Share(s.parse().map_err(ApiError::input)?)),
        (None, Some(d)) => Ok(Target::Drive(DriveId::new(d)?)),
        (None, None) => Err(ApiError::input(InputError::Missing {
            field: "share_id or drive_id",
        })),
    }
}

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    fn entry_of(&self, meta: &FileMeta) -> Result<FileEntry, ApiError> {
        self.drives
            .entry(&meta.drive_id, &meta.file_id)?
            .ok_or_else(|| not_found_file(&meta.file_id))
    }

    /// A file of a drive the caller may use.
    fn drive_file(
        &self,
        head: &RequestHead,
        drive: &DriveId,
        file: &FileId,
    ) -> Result<FileEntry, ApiError> {
        let caller = self.caller(head)?;
        self.check_drive(&caller.member, drive)?;
        self.drives
            .entry(drive, file)?
            .ok_or_else(|| not_found_file(file))
    }

    fn access<'a>(
        &self,
        head: &'a RequestHead,
        share: &'a ShareId,
        file: &'a FileId,
        caller: Option<&'a sharelink_core::Member>,
    ) -> FileRequest<'a> {
        FileRequest {
            token: head.share_token.as_ref().map_or("", |t| t.0.as_str()),
            share_id: share,
            file_id: file,
            caller,
        }
    }

    /// Authorizes (and counts) a download or preview through a share, in
    /// one engine call: folders, and whatever `precheck` refuses, are
    /// refused before anything is counted.
    fn shared_use(
        &self,
        head: &RequestHead,
        share: &ShareId,
        file: &FileId,
        kind: GrantKind,
        precheck: impl FnOnce(&FileMeta) -> Result<(), ApiError>,
    ) -> Result<ContentAuthorization, ApiError> {
        let caller = self.optional_caller(head)?.map(|c| c.member);
        let req = self.access(head, share, file, caller.as_ref());
        self.engine
            .authorize_content_with(&req, kind, |m| precheck(m).map_err(Refusal::Api))
            .map_err(|r| self.refusal(r))
    }

    /// A file (not a folder) of a drive the caller may use.
    fn drive_content(
        &self,
        head: &RequestHead,
        drive: &DriveId,
        file: &FileId,
    ) -> Result<FileEntry, ApiError> {
        let entry = self.drive_file(head, drive, file)?;
        if entry.meta.kind == FileKind::Folder {
            return Err(folder_download(file));
        }
        Ok(entry)
    }

    /// Authorizes (and, through a share, counts) a download or preview and
    /// signs a URL on this server for it.
    fn issue_url(
        &self,
        head: &RequestHead,
        target: Target,
        file: &FileId,
        kind: GrantKind,
        expire_sec: Option<u32>,
    ) -> Result<IssuedUrl, ApiError> {
        let (entry, share, issued, scope) = match target {
            Target::Share(share_id) => {
                // A file with no preview is refused before it is counted.
                let auth = self.shared_use(head, &share_id, file, kind, |m| match kind {
                    GrantKind::Preview => rendition::previewable(m).map(drop),
                    GrantKind::Download => Ok(()),
                })?;
                let entry = self.entry_of(auth.file())?;
                let issued = self
                    .engine
                    .grant_shared_content(auth, expire_sec)
                    .map_err(|e| self.fail(&e))?;
                let scope = format!("share_id={share_id}");
                (entry, Some(share_id), issued, scope)
            }
            Target::Drive(drive) => {
                let entry = self.drive_content(head, &drive, file)?;
                if kind == GrantKind::Preview {
                    rendition::previewable(&entry.meta)?;
                }
                let issued = self
                    .engine
                    .authorize_drive_file(&drive, file, kind)
                    .and_then(|auth| self.engine.grant_drive_file(auth, expire_sec))
                    .map_err(|e| self.fail(&e))?;
                let scope = format!("drive_id={}", percent_encode(drive.as_str()));
                (entry, None, issued, scope)
            }
        };
        let query = format!("{scope}&grant={}", issued.grant.expose_secret());
        Ok(IssuedUrl {
            url: self.download_url(head, file, &query),
            expires_at: issued.expires_at,
            entry,
            share,
        })
    }

    fn download_url(&self, head: &RequestHead, file: &FileId, query: &str) -> String {
        let base = self
            .config
            .public_base_url
            .as_deref()
            .unwrap_or(&head.base_url)
            .trim_end_matches('/');
        format!(
            "{base}/v2/file/download?file_id={}&{query}",
            percent_encode(file.as_str())
        )
    }
}

/// ListFile.
pub(crate) async fn list<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<FilePage>, ApiError> {
    let b: ListFileBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let target = target(b.share_id, b.drive_id)?;
        let parent = FileId::new(required(b.parent_file_id, "parent_file_id")?)?;
        let query = ChildQuery {
            limit: page_limit(b.limit, MAX_FILE_PAGE)?,
            marker: b.marker.unwrap_or_default(),
            order_by: match b.order_by.as_deref().filter(|s| !s.is_empty()) {
                None => FileOrder::CreatedAt,
                Some(o) => FileOrder::from_wire(o)?,
            },
            descending: match b.order_direction.as_deref().unwrap_or("") {
                "" | "ASC" | "asc" => false,
                "DESC" | "desc" => true,
                other => {
                    return Err(ApiError::input(InputError::Invalid {
                        field: "order_direction",
                        reason: format!("expected ASC or DESC, got {other:?}"),
                    }));
                }
            },
            kind: match b.kind.as_deref().unwrap_or("") {
                "" => None,
                "file" => Some(FileKind::File),
                "folder" => Some(FileKind::Folder),
                other => {
                    return Err(ApiError::input(InputError::Invalid {
                        field: "type",
                        reason: format!("expected file or folder, got {other:?}"),
                    }));
                }
            },
            category: match b.category.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(c) => Some(Category::from_wire(c)?),
            },
        };
        let uploading = match b.status.as_deref().unwrap_or("") {
            "" | "available" => false,
            "uploading" => true,
            other => {
                return Err(ApiError::input(InputError::Invalid {
                    field: "status",
                    reason: format!("expected available or uploading, got {other:?}"),
                }));
            }
        };
        let domain = api.config.domain_id.clone();
        match target {
            Target::Share(share_id) => {
                let caller = api.optional_caller(&head)?.map(|c| c.member);
                let req = api.access(&head, &share_id, &parent, caller.as_ref());
                let auth = api.engine.authorize_list(&req).map_err(|e| api.fail(&e))?;
                let drive = auth.share().drive_id().clone();
                let page = if uploading {
                    ChildPage::default()
                } else {
                    match auth.target() {
                        ListTarget::SharedItems(_) => {
                            let metas = api
                                .engine
                                .shared_items(auth.share())
                                .map_err(|e| api.fail(&e))?;
                            let mut entries = Vec::with_capacity(metas.len());
                            for m in &metas {
                                if let Some(e) = api.drives.entry(&drive, &m.file_id)? {
                                    entries.push(e);
                                }
                            }
                            page_entries(entries, &query)?
                        }
                        ListTarget::DriveRoot => api.drives.list_children(&drive, None, &query)?,
                        ListTarget::Folder(folder) => {
                            api.drives.list_children(&drive, Some(folder), &query)?
                        }
                    }
                };
                Ok(Json(file_page(page, &domain, Some(auth.share()))))
            }
            Target::Drive(drive) => {
                let caller = api.caller(&head)?;
                api.check_drive(&caller.member, &drive)?;
                let folder = if parent.as_str() == sharelink_core::scope::ROOT_ID {
                    None
                } else {
                    let e = api
                        .drives
                        .entry(&drive, &parent)?
                        .ok_or_else(|| not_found_file(&parent))?;
                    if e.meta.kind != FileKind::Folder {
                        return Err(ApiError::input(InputError::Invalid {
                            field: "parent_file_id",
                            reason: "not a folder".into(),
                        }));
                    }
                    Some(parent)
                };
                let page = if uploading {
                    ChildPage::default()
                } else {
                    api.drives.list_children(&drive, folder.as_ref(), &query)?
                };
                Ok(Json(file_page(page, &domain, None)))
            }
        }
    })
    .await
}

/// GetFile.
pub(crate) async fn get<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<FileWire>, ApiError> {
    let b: GetFileBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let domain = &api.config.domain_id;
        match target {
            Target::Share(share_id) => {
                let caller = api.optional_caller(&head)?.map(|c| c.member);
                let req = api.access(&head, &share_id, &file, caller.as_ref());
                let auth = api.engine.authorize_get(&req).map_err(|e| api.fail(&e))?;
                let entry = api.entry_of(auth.file())?;
                Ok(Json(FileWire::of(&entry, domain, Some(auth.share()))))
            }
            Target::Drive(drive) => {
                let entry = api.drive_file(&head, &drive, &file)?;
                Ok(Json(FileWire::of(&entry, domain, None)))
            }
        }
    })
    .await
}

/// GetDownloadUrl: authorizes (and, through a share, counts) the download
/// and returns a signed URL on this server that counts nothing when fetched.
pub(crate) async fn get_download_url<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<DownloadUrlWire>, ApiError> {
    let b: GetDownloadUrlBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let expire_sec = seconds(b.expire_sec, "expire_sec")?;
        // Checked before anything is counted.
        sharelink_core::grant::grant_lifetime(expire_sec)?;
        let IssuedUrl {
            url,
            expires_at,
            entry,
            ..
        } = api.issue_url(&head, target, &file, GrantKind::Download, expire_sec)?;
        Ok(Json(DownloadUrlWire {
            internal_url: url.clone(),
            url,
            cdn_url: String::new(),
            expiration: format_time(expires_at),
            method: "GET",
            size: entry.meta.size,
            content_hash_name: if entry.content_hash.is_some() {
                "sha1".into()
            } else {
                String::new()
            },
            content_hash: entry.content_hash.unwrap_or_default(),
        }))
    })
    .await
}

/// GetVideoPreviewPlayInfo: authorizes (and, through a share, counts) a
/// preview and returns a signed URL that serves the file inline.
///
/// This reference has no transcoder: images and text preview as a
/// rendition ([`rendition`]), listed as one finished task of the requested
/// category; other files have no preview (`400 NotSupported.Preview`,
/// nothing counted). With `get_without_url`, no URL is issued but the preview is
/// still authorized and counted.
pub(crate) async fn get_video_preview_play_info<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<PreviewWire>, ApiError> {
    let b: PreviewBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let category = match b.category.as_deref().unwrap_or("") {
            "" => "live_transcoding",
            c @ ("live_transcoding" | "quick_video" | "offline_audio" | "offline_video") => c,
            other => {
                return Err(ApiError::input(InputError::Invalid {
                    field: "category",
                    reason: format!(
                        "expected live_transcoding, quick_video, offline_audio or offline_video, got {other:?}"
                    ),
                }));
            }
        };
        let expire_sec = seconds(b.url_expire_sec, "url_expire_sec")?;
        if expire_sec.is_some_and(|s| s > MAX_PREVIEW_URL_SECS) {
            return Err(ApiError::input(InputError::OutOfRange {
                field: "url_expire_sec",
                reason: format!("1..={MAX_PREVIEW_URL_SECS} seconds"),
            }));
        }
        let issued = api.issue_url(&head, target, &file, GrantKind::Preview, expire_sec)?;
        let url = if b.get_without_url == Some(true) {
            String::new()
        } else {
            issued.url
        };
        Ok(Json(PreviewWire::new(
            &api.config.domain_id,
            &issued.entry.meta,
            issued.share.as_ref(),
            category,
            url,
        )))
    })
    .await
}

/// DownloadFile: streams the bytes. Accepts a signed URL (`grant`, counted
/// when it was issued), a share token (counted now) or, for a drive, the
/// owner's access token. A `HEAD` answers the same headers and never counts.
///
/// A single `Range: bytes=…` is honoured (206 with `Content-Range`), so an
/// interrupted download resumes; through a signed URL that costs nothing,
/// through a share token each request counts. An unsatisfiable range is
/// `416 InvalidRange`, checked before anything is counted.
pub(crate) async fn download<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    method: axum::http::Method,
    headers: HeaderMap,
    query: Result<Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    // A HEAD asks what a download would be; it never counts one.
    let head_only = method == axum::http::Method::HEAD;
    let Query(q) = query.map_err(|e| {
        ApiError::input(InputError::Invalid {
            field: "query",
            reason: e.body_text(),
        })
    })?;
    let requested = RangeSpec::parse(headers.get(header::RANGE));
    let if_range = headers
        .get(header::IF_RANGE)
        .map(|v| v.to_str().unwrap_or("").trim().to_owned());
    // Taken before anything is counted, released when the body is dropped.
    let slot = api.streams.acquire(head.client.as_str())?;
    let head_client = head.client.clone();
    let renders = api.clone();
    let drives = api.drives.clone();
    let (meta, validators, kind, range, reader) = blocking(move || {
        // The range that applies: none when `If-Range` names another version.
        let effective = |m: &FileMeta| -> Result<(RangeSpec, Validators), ApiError> {
            let v = Validators::of(drives.entry(&m.drive_id, &m.file_id)?.as_ref());
            let spec = match &if_range {
                Some(cond) if !v.matches(cond) => RangeSpec::Whole,
                _ => requested,
            };
            Ok((spec, v))
        };
        let file = FileId::new(required(q.file_id, "file_id")?)?;
        let mut kind = GrantKind::Download;
        let mut checked = None;
        let meta = if let Some(grant) = q.grant.filter(|g| !g.is_empty()) {
            let redeemed = api
                .engine
                .redeem_content_grant(&grant, &file)
                .map_err(|e| api.fail(&e))?;
            kind = redeemed.kind;
            redeemed.file
        } else {
            match target(q.share_id, q.drive_id)? {
                Target::Share(share_id) if head_only => {
                    let caller = api.optional_caller(&head)?.map(|c| c.member);
                    let req = api.access(&head, &share_id, &file, caller.as_ref());
                    let seen = api.engine.authorize_get(&req).map_err(|e| api.fail(&e))?;
                    if seen.file().kind == FileKind::Folder {
                        return Err(folder_download(&file));
                    }
                    seen.into_file()
                }
                Target::Share(share_id) => api
                    .shared_use(&head, &share_id, &file, GrantKind::Download, |m| {
                        let (spec, v) = effective(m)?;
                        spec.resolve(m.size)?;
                        checked = Some((spec, v));
                        Ok(())
                    })?
                    .into_file(),
                Target::Drive(drive) => api.drive_content(&head, &drive, &file)?.meta,
            }
        };
        // Read once: the share-token path already looked the file up.
        let (spec, validators) = match checked {
            Some(seen) => seen,
            None => effective(&meta)?,
        };
        let range = spec.resolve(meta.size)?;
        let reader = drives.open(&meta)?;
        Ok((meta, validators, kind, range, reader))
    })
    .await?;
    if kind == GrantKind::Preview {
        // A preview URL serves a rendition, never the file: rendered on a
        // blocking thread while this request holds its stream slot.
        let render_slot = renders.renders.acquire(head_client.as_str())?;
        let (meta, rendered) = blocking(move || {
            let _render_slot = render_slot;
            let rendered = rendition::render(&meta, reader)?;
            Ok((meta, rendered))
        })
        .await?;
        drop(slot);
        return Ok(rendition_response(&meta, rendered));
    }
    let mut res = stream_file(&meta, kind, range, reader, slot);
    validators.apply(res.headers_mut());
    Ok(res)
}

/// A preview's response: inline, no ranges, not cached, inert.
fn rendition_response(meta: &FileMeta, r: rendition::Rendition) -> Response {
    let mut res = Response::new(Body::from(r.bytes));
    let disposition = format!("inline; filename*=UTF-8''{}", percent_encode(&meta.name));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    inert(h);
    res
}

/// A download's validators: the content hash as a strong `ETag`, and the
/// modification time as `Last-Modified`.
#[derive(Debug, Clone, Default)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

impl Validators {
    fn of(entry: Option<&FileEntry>) -> Self {
        entry.map_or_else(Self::default, |e| Self {
            etag: e
                .content_hash
                .as_deref()
                .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()))
                .map(|h| format!("\"{h}\"")),
            last_modified: Some(e.updated_at),
        })
    }

    /// Whether an `If-Range` value names this version (RFC 9110 §13.1.5):
    /// an entity tag by strong comparison, or a date equal to
    /// `Last-Modified`. Weak tags and anything unparsable never match.
    fn matches(&self, cond: &str) -> bool {
        if cond.starts_with('"') {
            return self.etag.as_deref() == Some(cond);
        }
        if cond.starts_with("W/") {
            return false;
        }
        match (
            chrono::DateTime::parse_from_rfc2822(cond),
            self.last_modified,
        ) {
            (Ok(date), Some(modified)) => date.timestamp() == modified.timestamp(),
            _ => false,
        }
    }

    fn apply(&self, headers: &mut HeaderMap) {
        if let Some(v) = self
            .etag
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::ETAG, v);
        }
        if let Some(v) = self
            .last_modified
            .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .and_then(|t| HeaderValue::from_str(&t).ok())
        {
            headers.insert(header::LAST_MODIFIED, v);
        }
    }
}

/// CopyFile ("save to my drive"): needs the access token, and with
/// `share_id` the share token too. 201 for a file; 202 and `async_task_id`
/// for a folder.
pub(crate) async fn copy<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let b: CopyFileBody = json_body(body, api.config.max_body_bytes).await?;
    let (status, wire) = blocking(move || {
        let caller = api.caller(&head)?;
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let who = format!("{}/{}", caller.member.tenant, caller.member.user_id);
        api.copies
            .check(&who, api.engine.now())
            .map_err(|e| api.fail(&e.into()))?;
        let to_drive = match (b.to_drive_id.filter(|s| !s.is_empty()), &target) {
            (Some(d), _) => DriveId::new(d)?,
            (None, Target::Drive(d)) => d.clone(),
            (None, Target::Share(_)) => {
                return Err(ApiError::input(InputError::Missing {
                    field: "to_drive_id",
                }));
            }
        };
        let to_parent = FileId::new(required(b.to_parent_file_id, "to_parent_file_id")?)?;
        api.check_drive(&caller.member, &to_drive)?;
        let to_parent = (to_parent.as_str() != sharelink_core::scope::ROOT_ID).then_some(to_parent);
        let auto_rename = b.auto_rename.unwrap_or(false);
        let copy = |source: &FileMeta| {
            api.drives.copy(
                source,
                &to_drive,
                to_parent.as_ref(),
                auto_rename,
                &api.config.copy_limits,
            )
        };
        let (source, outcome) = match target {
            // Counted only if the copy succeeds: the engine refunds the save
            // when `copy` fails (missing target, name taken, drive full).
            Target::Share(share_id) => {
                let req = api.access(&head, &share_id, &file, Some(&caller.member));
                api.engine
                    .save_shared(&req, &caller.member, |auth| {
                        let outcome = copy(auth.file()).map_err(|e| Refusal::Api(e.into()))?;
                        Ok((auth.file().clone(), outcome))
                    })
                    .map_err(|r| api.refusal(r))?
            }
            Target::Drive(drive) => {
                let source = api.drive_file(&head, &drive, &file)?.meta;
                let outcome = copy(&source)?;
                (source, outcome)
            }
        };
        let folder = source.kind == FileKind::Folder;
        let wire = CopyWire {
            domain_id: api.config.domain_id.clone(),
            drive_id: outcome.file.drive_id.to_string(),
            file_id: outcome.file.file_id.to_string(),
            async_task_id: if folder {
                Some(
                    outcome
                        .async_task_id
                        .unwrap_or_else(|| format!("copy-{}", outcome.file.file_id)),
                )
            } else {
                None
            },
        };
        let status = if folder {
            StatusCode::ACCEPTED
        } else {
            StatusCode::CREATED
        };
        Ok((status, wire))
    })
    .await?;
    Ok((status, Json(wire)).into_response())
}

/// GetAsyncTask: the state of a folder copy's background task.
pub(crate) async fn get_async_task<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<AsyncTaskWire>, ApiError> {
    let b: AsyncTaskBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let caller = api.caller(&head)?;
        let id = required(b.async_task_id, "async_task_id")?;
        let task = api.drives.async_task(&caller.member, &id)?.ok_or_else(|| {
            ApiError::wire(
                crate::error::WireCode::NotFoundAsyncTask,
                format!("The resource async_task {id} cannot be found. Please check."),
            )
        })?;
        Ok(Json(AsyncTaskWire::of(id, &task)))
    })
    .await
}

fn file_page(page: ChildPage, domain: &str, share: Option<&Share>) -> FilePage {
    FilePage {
        items: page
            .items
            .iter()
            .map(|e| FileWire::of(e, domain, share))
            .collect(),
        next_marker: page.next_marker,
    }
}

fn not_found_file(file: &FileId) -> ApiError {
    ApiError::core(
        sharelink_core::ErrorCode::NotFoundFile,
        format!("The resource file {file} cannot be found. Please check."),
    )
}

fn folder_download(file: &FileId) -> ApiError {
    ApiError::input(InputError::Invalid {
        field: "file_id",
        reason: format!("{file} is a folder; only files can be downloaded"),
    })
}

/// Streams `reader` (or the `range` of it) in [`CHUNK`]-sized pieces.
///
/// Each piece is read on a blocking thread only when the response body asks
/// for it, that is when the socket has taken the previous one: a client that
/// stops reading holds its socket, one chunk and its stream slot, never a
/// thread.
fn stream_file(
    meta: &FileMeta,
    kind: GrantKind,
    range: Option<ByteRange>,
    reader: Box<dyn Read + Send>,
    slot: crate::streams::StreamSlot,
) -> Response {
    let (skip, len) = match range {
        Some(r) => (r.start, r.len),
        None => (0, meta.size),
    };
    let source = ChunkSource {
        reader,
        skip,
        remaining: len,
        _slot: slot,
    };
    let stream = futures_util::stream::try_unfold(source, |source| async move {
        if source.remaining == 0 {
            return Ok(None);
        }
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| source.next_chunk()))
            .await
            .map_err(std::io::Error::other)?
            .map(Some)
    });
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(r) = range {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!("bytes {}-{}/{}", r.start, r.start + r.len - 1, meta.size);
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let mime = meta
        .mime_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(mime) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    // A preview is shown in the page; a download is saved; active content
    // (HTML, SVG, XML, scripts) is always saved, never rendered.
    let inline = kind == GrantKind::Preview && !is_active_content(mime, &meta.name);
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encode(&meta.name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    inert(h);
    res
}

/// Whatever the bytes are, the browser neither sniffs them into something
/// executable nor runs anything in them on this origin.
fn inert(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CSP),
    );
}

/// The `Content-Security-Policy` of every file response: a sandbox (no
/// scripts, no same origin, no forms) that loads nothing.
const FILE_CSP: &str = "sandbox; default-src 'none'";

/// Whether a browser could run something in this file if it rendered it:
/// HTML, SVG, XML and scripts, by MIME type or by extension.
fn is_active_content(mime: &str, name: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let active_mime = mime.contains("html")
        || mime.contains("xml")
        || mime.contains("svg")
        || mime.contains("javascript")
        || mime.contains("ecmascript");
    let active_ext = matches!(
        crate::files::extension_of(name).as_str(),
        "html"
            | "htm"
            | "xhtml"
            | "shtml"
            | "svg"
            | "svgz"
            | "xml"
            | "xsl"
            | "xslt"
            | "js"
            | "mjs"
            | "wasm"
    );
    active_mime || active_ext
}

/// The reader behind a download body, and what is left to send.
struct ChunkSource {
    reader: Box<dyn Read + Send>,
    /// Bytes to discard first (the start of a range).
    skip: u64,
    /// Bytes still to send.
    remaining: u64,
    _slot: crate::streams::StreamSlot,
}

impl ChunkSource {
    /// Reads the next chunk (blocking). A file shorter than its stated size
    /// is an error: the `Content-Length` sent cannot be honoured.
    fn next_chunk(mut self) -> std::io::Result<(Vec<u8>, Self)> {
        if self.skip > 0 {
            let skipped = std::io::copy(
                &mut (&mut self.reader).take(self.skip),
                &mut std::io::sink(),
            )
            .inspect_err(|e| tracing::error!(error = %e, "skipping to the range failed"))?;
            if skipped < self.skip {
                return Err(short_content());
            }
            self.skip = 0;
        }
        let want = usize::try_from(self.remaining.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => return Err(short_content()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading file content failed");
                    return Err(e);
                }
            }
        }
        self.remaining -= want as u64;
        Ok((buf, self))
    }
}

fn short_content() -> std::io::Error {
    tracing::error!("file content is shorter than its recorded size");
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "file content is shorter than its recorded size",
    )
}

/// A requested `Range` (RFC 9110 §14), before the size is known. Only a
/// single byte range is honoured; anything else (several ranges, another
/// unit, a malformed header) is ignored and the whole file served, as the
/// RFC allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    Whole,
    /// `bytes=first-` or `bytes=first-last`.
    From {
        first: u64,
        last: Option<u64>,
    },
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

/// A satisfiable range: `len >= 1` bytes from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteRange {
    start: u64,
    len: u64,
}

impl RangeSpec {
    fn parse(header: Option<&HeaderValue>) -> Self {
        let Some(text) = header.and_then(|v| v.to_str().ok()) else {
            return Self::Whole;
        };
        // The unit is case-insensitive (RFC 9110 §14.1).
        let text = text.trim();
        let Some(spec) = text
            .get(..6)
            .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
            .and_then(|_| text.get(6..))
        else {
            return Self::Whole;
        };
        if spec.contains(',') {
            return Self::Whole;
        }
        let Some((a, b)) = spec.trim().split_once('-') else {
            return Self::Whole;
        };
        let num = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (num(a), b.trim().is_empty()) {
            (Some(first), true) => Self::From { first, last: None },
            (Some(first), false) => match num(b) {
                Some(last) if last >= first => Self::From {
                    first,
                    last: Some(last),
                },
                _ => Self::Whole,
            },
            (None, false) if a.trim().is_empty() => num(b).map_or(Self::Whole, Self::Suffix),
            _ => Self::Whole,
        }
    }

    /// The bytes to send of a `size`-byte file: `None` for all of it, or
    /// `416 InvalidRange` when nothing of the file is in the range.
    fn resolve(self, size: u64) -> Result<Option<ByteRange>, ApiError> {
        let unsatisfiable = || {
            ApiError::wire(
                crate::error::WireCode::InvalidRange,
                format!("The requested range is not satisfiable for a file of {size} bytes."),
            )
            .with_content_range(size)
        };
        match self {
            Self::Whole => Ok(None),
            Self::From { first, last } => {
                if first >= size {
                    return Err(unsatisfiable());
                }
                let last = last.unwrap_or(u64::MAX).min(size - 1);
                Ok(Some(ByteRange {
                    start: first,
                    len: last - first + 1,
                }))
            }
            Self::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(unsatisfiable());
                }
                let len = n.min(size);
                Ok(Some(ByteRange {
                    start: size - len,
                    len,
                }))
            }
        }
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b/ç.txt"), "a%20b%2F%C3%A7.txt");
        assert_eq!(percent_encode("A-z_0.~"), "A-z_0.~");
    }

    #[test]
    fn ranges() {
        let parse = |s: &str| RangeSpec::parse(Some(&HeaderValue::from_str(s).unwrap()));
        assert_eq!(
            parse("bytes=0-9").resolve(100).unwrap(),
            Some(ByteRange { start: 0, len: 10 })
        );
        assert_eq!(
            parse("bytes=90-").resolve(100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            parse("bytes=90-500").resolve(100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            parse("bytes=-5").resolve(100).unwrap(),
            Some(ByteRange { start: 95, len: 5 })
        );
        assert_eq!(
            parse("bytes=-500").resolve(100).unwrap(),
            Some(ByteRange { start: 0, len: 100 })
        );
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=1",
            "",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(parse(ignored), RangeSpec::Whole, "{ignored}");
        }
        assert_eq!(RangeSpec::parse(None), RangeSpec::Whole);
        assert_eq!(
            parse("BYTES=0-1"),
            RangeSpec::From {
                first: 0,
                last: Some(1)
            }
        );
        let e = parse("bytes=100-").resolve(100).unwrap_err();
        assert_eq!((e.status().as_u16(), e.code()), (416, "InvalidRange"));
        assert!(parse("bytes=-0").resolve(100).is_err());
        assert!(parse("bytes=-1").resolve(0).is_err());
        assert_eq!(
            parse("bytes=0-").resolve(1).unwrap(),
            Some(ByteRange { start: 0, len: 1 })
        );
    }

    #[test]
    fn if_range_matches_only_this_version() {
        let v = Validators {
            etag: Some("\"ABC\"".into()),
            last_modified: chrono::DateTime::from_timestamp(784_887_151, 0),
        };
        assert!(v.matches("\"ABC\""));
        assert!(!v.matches("\"OTHER\""));
        assert!(!v.matches("W/\"ABC\""), "weak tags never match");
        assert!(v.matches("Tue, 15 Nov 1994 08:12:31 GMT"));
        assert!(!v.matches("Tue, 15 Nov 1994 08:12:32 GMT"));
        assert!(!v.matches("garbage"));
        let mut h = HeaderMap::new();
        v.apply(&mut h);
        assert_eq!(h[header::ETAG], "\"ABC\"");
        assert_eq!(h[header::LAST_MODIFIED], "Tue, 15 Nov 1994 08:12:31 GMT");
    }

    #[test]
    fn active_content_is_recognised_by_type_or_name() {
        assert!(is_active_content("text/html; charset=utf-8", "a.txt"));
        assert!(is_active_content("image/svg+xml", "x"));
        assert!(is_active_content("application/octet-stream", "page.HTML"));
        assert!(is_active_content("text/plain", "x.js"));
        assert!(!is_active_content("image/jpeg", "sunset.jpg"));
        assert!(!is_active_content("text/plain; charset=utf-8", "notes.md"));
    }

    #[test]
    fn folder_errors_are_400() {
        let e = folder_download(&FileId::new("x").unwrap());
        assert_eq!(e.status(), 400);
        assert_eq!(crate::WireCode::AlreadyExistFile.http_status(), 409);
    }
}
