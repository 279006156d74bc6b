//! The receiver's pages: `/s/{share_id}` and what hangs off it.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sharelink_core::{FileId, FileKind, Share, ShareFiles};

use super::forms::{Form, FormError};
use super::lang::{Text, fill};
use super::refusal::{password_sentence, with_retry_after};
use super::session::{SHARE_COOKIE, cookie, set_cookie};
use super::views::{
    Crumb, FileRow, FilesPage, GatePage, Link, MessagePage, PreviewPage, ShareFacts,
};
use super::{Visit, with_share_token};
use crate::ShareApi;
use crate::error::ApiError;
use crate::extract::RequestHead;
use crate::handlers::files::url::percent_encode as enc;
use crate::handlers::{Api, share_id};
use crate::host::{Authenticator, Caller, Category, ChildQuery, DriveStore, FileEntry, FileOrder};
use crate::wire::{
    AnonymousShareWire, CopyFileBody, GetDownloadUrlBody, GetFileBody, GetShareTokenBody,
    PreviewBody, ShareIdBody,
};

/// Files per page of a shared folder.
const PAGE_SIZE: usize = 50;
/// Deepest breadcrumb trail walked.
const MAX_CRUMBS: usize = 16;

/// `?folder=&marker=` of a share page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    folder: Option<String>,
    marker: Option<String>,
}

/// `?file=` of a preview.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PreviewQuery {
    file: Option<String>,
}

/// Runs a page's work on a blocking thread (engine and host calls block).
pub(crate) async fn on_blocking(
    visit: Visit,
    f: impl FnOnce(&Visit) -> Response + Send + 'static,
) -> Response {
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(|| f(&visit))).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(panicked = e.is_panic(), "a page's blocking task failed");
            let mut r = axum::response::IntoResponse::into_response((
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            ));
            super::views::secure_headers(&mut r, None);
            r
        }
    }
}

/// The page path of a share.
pub(crate) fn share_path(id: &str) -> String {
    format!("/s/{}", enc(id))
}

/// A time as pages show it: `2026-12-01 13:05 UTC`.
pub(crate) fn show_time(wire: &str) -> String {
    DateTime::parse_from_rfc3339(wire).map_or_else(
        |_| wire.to_owned(),
        |t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        },
    )
}

/// A size as pages show it.
pub(crate) fn show_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn facts(t: &'static Text, v: &AnonymousShareWire) -> ShareFacts {
    ShareFacts {
        name: v.share_name.clone(),
        description: v.description.clone(),
        shared_by: fill(t.shared_by, &[("name", &v.creator_name)]),
        expiry: if v.expiration.is_empty() {
            t.never_expires.to_owned()
        } else {
            fill(t.expires, &[("when", &show_time(&v.expiration))])
        },
        count: fill(t.files_count, &[("n", &v.file_count)]),
        has_code: v.has_pwd,
        members_only: v.require_login,
    }
}

/// A file row's icon class, badge and category name.
pub(crate) fn icon_of(
    t: &'static Text,
    entry: &FileEntry,
) -> (&'static str, &'static str, &'static str) {
    if entry.meta.kind == FileKind::Folder {
        return ("folder", "DIR", t.cat_folder);
    }
    match crate::category_of(&entry.meta.name) {
        Category::Image => ("image", "IMG", t.cat_image),
        Category::Doc => ("doc", "DOC", t.cat_doc),
        Category::Video => ("video", "VID", t.cat_video),
        Category::Audio => ("audio", "AUD", t.cat_audio),
        Category::Zip => ("zip", "ZIP", t.cat_zip),
        Category::App => ("app", "APP", t.cat_app),
        Category::Others => ("file", "FILE", t.cat_others),
    }
}

/// The row of `entry`, with links under `base` (a share's or a drive's
/// page path plus `?`).
pub(crate) fn row_of(t: &'static Text, entry: &FileEntry, base: &str) -> FileRow {
    let (icon, icon_text, category) = icon_of(t, entry);
    let folder = entry.meta.kind == FileKind::Folder;
    let id = entry.meta.file_id.as_str();
    FileRow {
        id: id.to_owned(),
        name: entry.meta.name.clone(),
        is_folder: folder,
        icon,
        icon_text,
        category,
        size: if folder {
            "—".to_owned()
        } else {
            show_size(entry.meta.size)
        },
        modified: entry.updated_at.format("%Y-%m-%d %H:%M").to_string(),
        open_href: format!("{base}folder={}", enc(id)),
        preview_href: String::new(),
        previewable: false,
        blocked: None,
    }
}

fn gate(
    visit: &Visit,
    api_view: &AnonymousShareWire,
    me: Option<&Caller>,
    status: StatusCode,
    errors: Vec<String>,
) -> Response {
    let t = visit.t();
    let page = GatePage {
        c: visit.chrome(api_view.share_name.clone(), me),
        view: facts(t, api_view),
        show_count: true,
        action: share_path(&api_view.share_id),
        errors,
    };
    visit.page(status, &page)
}

/// Where a breadcrumb trail walks: a share's folders (checked by the
/// engine against the share token) or a drive's (the caller's own).
pub(crate) enum Walk<'a> {
    /// Up to the share's top: its shared items, or the drive root.
    Share(&'a Share),
    /// Up to the drive's root.
    Drive(&'a str),
}

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// The folders from the top of `walk` down to `folder`, each looked up
    /// with GetFile as the request may see it, at most [`MAX_CRUMBS`] deep;
    /// links are `{base}folder=…`, the first one is `root`.
    pub(crate) fn crumbs(
        &self,
        head: &RequestHead,
        walk: &Walk<'_>,
        folder: &FileId,
        base: &str,
        root: Crumb,
    ) -> Vec<Crumb> {
        let mut trail = Vec::new();
        let mut current = folder.clone();
        for _ in 0..MAX_CRUMBS {
            if current.as_str() == sharelink_core::scope::ROOT_ID {
                break;
            }
            let (share_id, drive_id, top) = match walk {
                Walk::Share(share) => (
                    Some(share.id().to_string()),
                    None,
                    matches!(share.files(), ShareFiles::Listed(ids) if ids.contains(&current)),
                ),
                Walk::Drive(drive) => (None, Some((*drive).to_owned()), false),
            };
            let Ok(file) = self.file_get_op(
                head,
                GetFileBody {
                    share_id,
                    drive_id,
                    file_id: Some(current.to_string()),
                },
            ) else {
                break;
            };
            let meta = file.entry.meta;
            trail.push(Crumb {
                href: format!("{base}folder={}", enc(meta.file_id.as_str())),
                label: meta.name,
            });
            match meta.parent_file_id {
                Some(parent) if !top => current = parent,
                _ => break,
            }
        }
        trail.push(root);
        trail.reverse();
        trail
    }
}

/// `GET /s/{share_id}`: the public view and the code form, or (with a
/// share token) the files.
pub(crate) async fn show<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    query: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
    visit: Visit,
) -> Response {
    let token = cookie(&visit.headers, SHARE_COOKIE);
    let q = query.map(|Query(q)| q).unwrap_or_default();
    on_blocking(visit, move |visit| {
        let me = visit.me(&api);
        let t = visit.t();
        let view = match api.anonymous_op(ShareIdBody {
            share_id: Some(raw_id.clone()),
        }) {
            Ok(v) => v,
            Err(e) => return visit.refusal(&e, me.as_ref(), Some(&share_path(&raw_id))),
        };
        let Some(token) = token else {
            return gate(visit, &view, me.as_ref(), StatusCode::OK, Vec::new());
        };
        let Ok(id) = share_id(Some(raw_id.clone())) else {
            return gate(visit, &view, me.as_ref(), StatusCode::OK, Vec::new());
        };
        let head = with_share_token(&visit.head, Some(token));
        let folder = match FileId::new(q.folder.unwrap_or_else(|| "root".to_owned())) {
            Ok(f) => f,
            Err(e) => {
                return visit.refusal(&ApiError::from(e), me.as_ref(), Some(&share_path(&raw_id)));
            }
        };
        let query = ChildQuery {
            limit: PAGE_SIZE,
            marker: q.marker.unwrap_or_default(),
            order_by: FileOrder::Name,
            descending: false,
            kind: None,
            category: None,
        };
        let (page, share) = match api.shared_children(&head, &id, &folder, &query) {
            Ok(x) => x,
            Err(e) if e.code() == "ShareLinkTokenInvalid" => {
                // An old or revoked token: ask again, and forget it.
                let mut r = gate(
                    visit,
                    &view,
                    me.as_ref(),
                    StatusCode::OK,
                    vec![t.session_ended.to_owned()],
                );
                let path = share_path(&raw_id);
                visit.add_cookie(
                    &mut r,
                    &set_cookie(SHARE_COOKIE, "", &path, 0, visit.secure),
                );
                return r;
            }
            Err(e) => return visit.refusal(&e, me.as_ref(), Some(&share_path(&raw_id))),
        };
        let path = share_path(id.as_str());
        let permissions = share.permissions();
        let rows = page
            .items
            .iter()
            .map(|entry| {
                let mut row = row_of(t, entry, &format!("{path}?"));
                if !row.is_folder {
                    row.previewable = !permissions.disable_preview
                        && crate::rendition::previewable(&entry.meta).is_ok();
                    row.preview_href = format!("{path}/preview?file={}", enc(&row.id));
                    let refused = api
                        .engine
                        .download_refusal(&share, &entry.meta)
                        .map_or(true, |r| r.is_some());
                    if refused {
                        row.blocked = Some(t.apk_blocked);
                    } else if permissions.disable_download {
                        row.blocked = Some(t.disabled_download);
                    }
                }
                row
            })
            .collect();
        let next_href = (!page.next_marker.is_empty()).then(|| {
            format!(
                "{path}?folder={}&marker={}",
                enc(folder.as_str()),
                enc(&page.next_marker)
            )
        });
        let can_save = !permissions.disable_save
            && me
                .as_ref()
                .is_some_and(|c| api.drives.drives_of(&c.member).is_ok_and(|d| !d.is_empty()));
        let mut c = visit.chrome(view.share_name.clone(), me.as_ref());
        c.sign_in_href = format!("/signin?next={}", enc(&path));
        let page = FilesPage {
            crumbs: api.crumbs(
                &head,
                &Walk::Share(&share),
                &folder,
                &format!("{path}?"),
                Crumb {
                    href: path.clone(),
                    label: t.share_root.to_owned(),
                },
            ),
            c,
            view: facts(t, &view),
            show_count: false,
            rows,
            next_href,
            download_action: format!("{path}/download"),
            save_action: format!("{path}/save"),
            can_save,
        };
        visit.page(StatusCode::OK, &page)
    })
    .await
}

/// Reads a form and checks its CSRF value; the refusal page otherwise.
async fn checked_form<A: Authenticator, D: DriveStore>(
    api: &ShareApi<A, D>,
    visit: &Visit,
    body: Body,
) -> Result<Form, Response> {
    let form = match Form::read(body, api.pages().max_form_bytes).await {
        Ok(f) => f,
        Err(FormError::TooLarge) => {
            let e = ApiError::wire(
                crate::WireCode::RequestBodyTooLarge,
                format!("The form exceeds {} bytes.", api.pages().max_form_bytes),
            );
            return Err(visit.refusal(&e, None, None));
        }
        Err(FormError::Unreadable) => {
            let e = ApiError::wire(
                crate::WireCode::InvalidParameterWrongFormat,
                "The form could not be read.",
            );
            return Err(visit.refusal(&e, None, None));
        }
    };
    if !visit.csrf_ok(form.get("csrf")) {
        let t = visit.t();
        let page = MessagePage {
            c: visit.chrome(t.bad_request_title, None),
            tone: "bad",
            lines: vec![t.form_expired.to_owned()],
            links: Vec::new(),
        };
        return Err(visit.page(StatusCode::FORBIDDEN, &page));
    }
    Ok(form)
}

/// A posted form whose CSRF value matched; otherwise the request is
/// answered with the refusal page before its handler runs.
pub(crate) struct CheckedForm(pub(crate) Form);

impl<A: Authenticator, D: DriveStore> axum::extract::FromRequest<Api<A, D>> for CheckedForm {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        api: &Api<A, D>,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(visit) = <Visit as axum::extract::FromRequestParts<Api<A, D>>>::from_request_parts(
            &mut parts, api,
        )
        .await;
        checked_form(api, &visit, body).await.map(CheckedForm)
    }
}

/// `POST /s/{share_id}`: trades the code for a share token, kept in a
/// cookie scoped to the share's pages.
pub(crate) async fn open<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    visit: Visit,
    CheckedForm(form): CheckedForm,
) -> Response {
    on_blocking(visit, move |visit| {
        let me = visit.me(&api);
        let t = visit.t();
        let path = share_path(&raw_id);
        let asked = api.share_token_op(
            &visit.head,
            GetShareTokenBody {
                share_id: Some(raw_id.clone()),
                share_pwd: form.get("code").map(str::to_owned),
                expire_sec: None,
            },
        );
        match asked {
            Ok(issued) => {
                let mut r = visit.see_other(&path);
                visit.add_cookie(
                    &mut r,
                    &set_cookie(
                        SHARE_COOKIE,
                        &issued.share_token,
                        &path,
                        issued.expires_in,
                        visit.secure,
                    ),
                );
                r
            }
            Err(e) if matches!(e.code(), "InvalidResource.SharePwd" | "TooManyRequests") => {
                let Ok(view) = api.anonymous_op(ShareIdBody {
                    share_id: Some(raw_id.clone()),
                }) else {
                    return visit.refusal(&e, me.as_ref(), Some(&path));
                };
                let errors = if e.code() == "TooManyRequests" {
                    vec![super::refusal::describe(t, &e).1]
                } else {
                    vec![t.wrong_code.to_owned(), password_sentence(t, &e)]
                };
                let errors = errors.into_iter().filter(|l| !l.is_empty()).collect();
                with_retry_after(gate(visit, &view, me.as_ref(), e.status(), errors), &e)
            }
            Err(e) => visit.refusal(&e, me.as_ref(), Some(&path)),
        }
    })
    .await
}

/// `POST /s/{share_id}/download`: counts the download as GetDownloadUrl
/// does, then sends the browser to the signed URL.
pub(crate) async fn download<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    visit: Visit,
    CheckedForm(form): CheckedForm,
) -> Response {
    let token = cookie(&visit.headers, SHARE_COOKIE);
    on_blocking(visit, move |visit| {
        let me = visit.me(&api);
        let path = share_path(&raw_id);
        let head = with_share_token(&visit.head, token);
        match api.download_url_op(
            &head,
            GetDownloadUrlBody {
                share_id: Some(raw_id.clone()),
                file_id: form.get("file_id").map(str::to_owned),
                ..GetDownloadUrlBody::default()
            },
        ) {
            Ok(url) => visit.see_other(&url.url),
            Err(e) => visit.refusal(&e, me.as_ref(), Some(&path)),
        }
    })
    .await
}

/// `GET /s/{share_id}/preview?file=`: counts a preview as
/// GetVideoPreviewPlayInfo does and shows the rendition.
pub(crate) async fn preview<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    query: Result<Query<PreviewQuery>, axum::extract::rejection::QueryRejection>,
    visit: Visit,
) -> Response {
    let token = cookie(&visit.headers, SHARE_COOKIE);
    let file = query.ok().and_then(|Query(q)| q.file);
    on_blocking(visit, move |visit| {
        let me = visit.me(&api);
        let path = share_path(&raw_id);
        let head = with_share_token(&visit.head, token);
        let result = api
            .file_get_op(
                &head,
                GetFileBody {
                    share_id: Some(raw_id.clone()),
                    file_id: file.clone(),
                    ..GetFileBody::default()
                },
            )
            .and_then(|f| {
                let shown = api.preview_op(
                    &head,
                    PreviewBody {
                        share_id: Some(raw_id.clone()),
                        file_id: file.clone(),
                        ..PreviewBody::default()
                    },
                )?;
                Ok((f, shown))
            });
        match result {
            Ok((f, shown)) => {
                let name = f.entry.meta.name;
                let page = PreviewPage {
                    c: visit.chrome(name.clone(), me.as_ref()),
                    is_image: crate::category_of(&name) == Category::Image,
                    name,
                    url: shown.url().to_owned(),
                    back_href: path,
                };
                visit.page(StatusCode::OK, &page)
            }
            Err(e) => visit.refusal(&e, me.as_ref(), Some(&path)),
        }
    })
    .await
}

/// `POST /s/{share_id}/save`: copies a shared file or folder into the
/// signed-in visitor's drive, as CopyFile does.
pub(crate) async fn save<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    visit: Visit,
    CheckedForm(form): CheckedForm,
) -> Response {
    let token = cookie(&visit.headers, SHARE_COOKIE);
    on_blocking(visit, move |visit| {
        let path = share_path(&raw_id);
        let Some(me) = visit.me(&api) else {
            return visit.see_other(&format!("/signin?next={}", enc(&path)));
        };
        let t = visit.t();
        let drive = match api.drives.drives_of(&me.member) {
            Ok(d) => d.into_iter().next(),
            Err(e) => return visit.refusal(&ApiError::from(e), Some(&me), Some(&path)),
        };
        let Some(drive) = drive else {
            let e = ApiError::wire(crate::WireCode::ForbiddenNoPermission, t.no_drive);
            return visit.refusal(&e, Some(&me), Some(&path));
        };
        let head = with_share_token(&visit.head, token);
        let file = form.get("file_id").map(str::to_owned);
        let name = api
            .file_get_op(
                &head,
                GetFileBody {
                    share_id: Some(raw_id.clone()),
                    file_id: file.clone(),
                    ..GetFileBody::default()
                },
            )
            .map(|f| (f.entry.meta.name, f.entry.meta.kind == FileKind::Folder));
        let copied = name.and_then(|named| {
            api.copy_op(
                &head,
                CopyFileBody {
                    share_id: Some(raw_id.clone()),
                    file_id: file.clone(),
                    to_drive_id: Some(drive.to_string()),
                    to_parent_file_id: Some("root".to_owned()),
                    auto_rename: Some(true),
                    ..CopyFileBody::default()
                },
            )
            .map(|_| named)
        });
        match copied {
            Ok((name, folder)) => {
                let sentence = if folder { t.saved_folder } else { t.saved };
                let page = MessagePage {
                    c: visit.chrome(t.saved_title, Some(&me)),
                    tone: "good",
                    lines: vec![fill(sentence, &[("name", &name)])],
                    links: vec![
                        Link {
                            href: "/my/drive".to_owned(),
                            label: t.open_drive.to_owned(),
                        },
                        Link {
                            href: path,
                            label: t.back_to_share.to_owned(),
                        },
                    ],
                };
                visit.page(StatusCode::OK, &page)
            }
            Err(e) => visit.refusal(&e, Some(&me), Some(&path)),
        }
    })
    .await
}
