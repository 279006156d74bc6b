//! `POST /v2/file/*` and `GET /v2/file/download`.
//!
//! With `share_id`, the share token comes from `x-share-token` and the
//! engine decides; with `drive_id`, the caller's access token and the
//! host's [`DriveStore::may_access`] decide.

mod range;
mod streaming;
pub(crate) mod url;

use range::RangeSpec;
use streaming::{ChunkSource, Validators, rendition_response, stream_file};
use url::{IssuedUrl, MAX_PREVIEW_URL_SECS};

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharelink_core::{
    ContentAuthorization, DriveId, FileId, FileKind, FileMeta, FileRequest, GrantKind, InputError,
    ListTarget, Share, ShareId,
};

use super::{Api, Refusal, blocking, page_limit, read_only, seconds};
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

    /// One page of a folder of a share (`root`: the shared items), after
    /// the engine has authorized the listing with the request's share
    /// token; with the share as stored.
    pub(crate) fn shared_children(
        &self,
        head: &RequestHead,
        share_id: &ShareId,
        parent: &FileId,
        query: &ChildQuery,
    ) -> Result<(ChildPage, Share), ApiError> {
        let caller = self.optional_caller(head)?.map(|c| c.member);
        let req = self.access(head, share_id, parent, caller.as_ref());
        let auth = self
            .engine
            .authorize_list(&req)
            .map_err(|e| self.fail(&e))?;
        let drive = auth.share().drive_id().clone();
        let page = match auth.target() {
            ListTarget::SharedItems(ids) => {
                // The shared items that still exist, read once each.
                let entries = self.drives.entries(&drive, ids)?;
                page_entries(entries.into_iter().flatten().collect(), query)?
            }
            ListTarget::DriveRoot => self.drives.list_children(&drive, None, query)?,
            ListTarget::Folder(folder) => self.drives.list_children(&drive, Some(folder), query)?,
        };
        Ok((page, auth.share().clone()))
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
}

/// The file operations, from a parsed body to the wire answer: the JSON
/// handlers and the share pages both call these.
impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// ListFile: a folder of a share or of a drive.
    pub(crate) fn file_list_op(
        &self,
        head: &RequestHead,
        b: ListFileBody,
    ) -> Result<FilePage, ApiError> {
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
        let domain = self.config.domain_id.clone();
        match target {
            Target::Share(share_id) => {
                let (page, share) = if uploading {
                    let caller = self.optional_caller(head)?.map(|c| c.member);
                    let req = self.access(head, &share_id, &parent, caller.as_ref());
                    let auth = self
                        .engine
                        .authorize_list(&req)
                        .map_err(|e| self.fail(&e))?;
                    (ChildPage::default(), auth.share().clone())
                } else {
                    self.shared_children(head, &share_id, &parent, &query)?
                };
                Ok(file_page(page, domain, Some(share)))
            }
            Target::Drive(drive) => {
                let caller = self.caller(head)?;
                self.check_drive(&caller.member, &drive)?;
                let folder = if parent.as_str() == sharelink_core::scope::ROOT_ID {
                    None
                } else {
                    let e = self
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
                    self.drives.list_children(&drive, folder.as_ref(), &query)?
                };
                Ok(file_page(page, domain, None))
            }
        }
    }

    /// GetFile.
    pub(crate) fn file_get_op(
        &self,
        head: &RequestHead,
        b: GetFileBody,
    ) -> Result<FileWire, ApiError> {
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let domain = &self.config.domain_id;
        match target {
            Target::Share(share_id) => {
                let caller = self.optional_caller(head)?.map(|c| c.member);
                let req = self.access(head, &share_id, &file, caller.as_ref());
                let auth = self.engine.authorize_get(&req).map_err(|e| self.fail(&e))?;
                let entry = self.entry_of(auth.file())?;
                Ok(FileWire::of(entry, domain, Some(auth.share())))
            }
            Target::Drive(drive) => {
                let entry = self.drive_file(head, &drive, &file)?;
                Ok(FileWire::of(entry, domain, None))
            }
        }
    }

    /// GetDownloadUrl: authorizes (and, through a share, counts) a download.
    pub(crate) fn download_url_op(
        &self,
        head: &RequestHead,
        b: GetDownloadUrlBody,
    ) -> Result<DownloadUrlWire, ApiError> {
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let expire_sec = seconds(b.expire_sec, "expire_sec")?;
        // Checked before anything is counted.
        sharelink_core::grant::grant_lifetime(expire_sec)?;
        let IssuedUrl {
            url,
            expires_at,
            entry,
            ..
        } = self.issue_url(head, target, &file, GrantKind::Download, expire_sec)?;
        Ok(DownloadUrlWire {
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
        })
    }

    /// GetVideoPreviewPlayInfo: authorizes (and, through a share, counts) a preview.
    pub(crate) fn preview_op(
        &self,
        head: &RequestHead,
        b: PreviewBody,
    ) -> Result<PreviewWire, ApiError> {
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
        let issued = self.issue_url(head, target, &file, GrantKind::Preview, expire_sec)?;
        let url = if b.get_without_url == Some(true) {
            String::new()
        } else {
            issued.url
        };
        Ok(PreviewWire::new(
            &self.config.domain_id,
            &issued.entry.meta,
            issued.share.as_ref(),
            category,
            url,
        ))
    }

    /// CopyFile ("save to my drive"): 201 for a file, 202 for a folder.
    pub(crate) fn copy_op(
        &self,
        head: &RequestHead,
        b: CopyFileBody,
    ) -> Result<(StatusCode, CopyWire), ApiError> {
        let caller = self.caller(head)?;
        let (target, file) = file_target(b.share_id, b.drive_id, b.file_id)?;
        let who = format!("{}/{}", caller.member.tenant, caller.member.user_id);
        self.copies
            .check(&who, self.engine.now())
            .map_err(|e| self.fail(&e.into()))?;
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
        self.check_drive(&caller.member, &to_drive)?;
        let to_parent = (to_parent.as_str() != sharelink_core::scope::ROOT_ID).then_some(to_parent);
        let auto_rename = b.auto_rename.unwrap_or(false);
        let copy = |source: &FileMeta| {
            self.drives.copy(
                source,
                &to_drive,
                to_parent.as_ref(),
                auto_rename,
                &self.config.copy_limits,
            )
        };
        let (source, outcome) = match target {
            // Counted only if the copy succeeds: the engine refunds the save
            // when `copy` fails (missing target, name taken, drive full).
            Target::Share(share_id) => {
                let req = self.access(head, &share_id, &file, Some(&caller.member));
                self.engine
                    .save_shared(&req, &caller.member, |auth| {
                        let outcome = copy(auth.file()).map_err(|e| Refusal::Api(e.into()))?;
                        Ok((auth.file().clone(), outcome))
                    })
                    .map_err(|r| self.refusal(r))?
            }
            Target::Drive(drive) => {
                let source = self.drive_file(head, &drive, &file)?.meta;
                let outcome = copy(&source)?;
                (source, outcome)
            }
        };
        let folder = source.kind == FileKind::Folder;
        let wire = CopyWire {
            domain_id: self.config.domain_id.clone(),
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
    }
}

/// ListFile.
pub(crate) async fn list<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<FilePage>, ApiError> {
    let b: ListFileBody = json_body(body, api.config.max_body_bytes).await?;
    read_only(api.inline_reads, move || api.file_list_op(&head, b))
        .await
        .map(Json)
}

/// GetFile.
pub(crate) async fn get<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<FileWire>, ApiError> {
    let b: GetFileBody = json_body(body, api.config.max_body_bytes).await?;
    read_only(api.inline_reads, move || api.file_get_op(&head, b))
        .await
        .map(Json)
}

/// GetDownloadUrl: authorizes (and, through a share, counts) the download
/// and returns a signed URL on this server that counts nothing when fetched.
pub(crate) async fn get_download_url<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<DownloadUrlWire>, ApiError> {
    let b: GetDownloadUrlBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || api.download_url_op(&head, b))
        .await
        .map(Json)
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
    blocking(move || api.preview_op(&head, b)).await.map(Json)
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
    // A signed URL (a grant) and a HEAD only read: with local stores they
    // run on this worker. A download through the share token counts a use
    // (a durable write), so it goes to a blocking thread.
    let grant = q.grant.filter(|g| !g.is_empty());
    let inline = (head_only || grant.is_some()) && api.inline_reads;
    let (meta, validators, kind, range, content) = read_only(inline, move || {
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
        let meta = if let Some(grant) = grant {
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
        let content = if kind == GrantKind::Preview {
            Content::ToRender(drives.open(&meta)?, slot)
        } else {
            let (start, len) = range.map_or((0, meta.size), |r| (r.start, r.len));
            let source = ChunkSource::new(drives.open_at(&meta, start)?, len, slot);
            if head_only {
                // No body is sent: nothing to read ahead.
                Content::Bytes(source)
            } else {
                // Logged where it failed: a host fault, not the client's.
                Content::Bytes(source.prefetch().map_err(|_| ApiError::internal())?)
            }
        };
        Ok((meta, validators, kind, range, content))
    })
    .await?;
    let source = match content {
        Content::Bytes(source) => source,
        Content::ToRender(reader, slot) => {
            // A preview URL serves a rendition, never the file: rendered on
            // a blocking thread while this request holds its stream slot.
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
    };
    let mut res = stream_file(&meta, kind, range, source);
    validators.apply(res.headers_mut());
    Ok(res)
}

/// What a download sends, as its blocking part found it.
enum Content {
    /// The file's bytes (or the range of them), the first chunk read.
    Bytes(ChunkSource),
    /// A preview: the file, to render into an image.
    ToRender(Box<dyn std::io::Read + Send>, crate::streams::StreamSlot),
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
    let (status, wire) = blocking(move || api.copy_op(&head, b)).await?;
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

fn file_page(page: ChildPage, domain_id: String, share: Option<Share>) -> FilePage {
    FilePage {
        items: page.items,
        next_marker: page.next_marker,
        domain_id,
        share,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_errors_are_400() {
        let e = folder_download(&FileId::new("x").unwrap());
        assert_eq!(e.status(), 400);
        assert_eq!(crate::WireCode::AlreadyExistFile.http_status(), 409);
    }
}
