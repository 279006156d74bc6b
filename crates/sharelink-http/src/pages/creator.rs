//! The signed-in pages: sign in and out, "My drive" (browse, tick, share),
//! "My shares" (status, counters, expiry; edit, cancel, search).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDateTime, Utc};
use serde::Deserialize;
use sharelink_core::FileId;

use super::Visit;
use super::forms::Form;
use super::lang::{Text, fill};
use super::receiver::{CheckedForm, Walk, on_blocking, row_of, share_path, show_time};
use super::session::session_cookie;
use super::views::{
    Crumb, DrivePage, HomePage, OptionsForm, ShareCard, SharePage, SharesPage, SignInPage,
};
use crate::ShareApi;
use crate::error::ApiError;
use crate::handlers::Api;
use crate::handlers::files::url::percent_encode as enc;
use crate::host::{Authenticator, Caller, DriveStore};
use crate::wire::{
    CreateShareLinkBody, ListFileBody, ListShareLinkBody, SearchShareLinkBody, ShareIdBody,
    ShareLinkWire, UpdateShareLinkBody, format_time,
};

/// Shares per page of "My shares".
const SHARES_PAGE: u32 = 50;
/// Files per page of "My drive".
const DRIVE_PAGE: u32 = 100;

/// `?next=` of the sign-in page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// `?drive=&folder=&marker=` of "My drive".
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DriveQuery {
    drive: Option<String>,
    folder: Option<String>,
    marker: Option<String>,
}

/// `?q=&marker=` of "My shares".
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SharesQuery {
    q: Option<String>,
    marker: Option<String>,
}

/// Only a path of this site: `/` followed by anything but a second `/` or
/// `\` (which browsers read as another host).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 512
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/my/shares".to_owned(),
    }
}

/// The `303` to the sign-in page that comes back to `here`.
fn to_sign_in(visit: &Visit, here: &str) -> Response {
    visit.see_other(&format!("/signin?next={}", enc(here)))
}

/// `GET /`.
pub(crate) async fn home<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    visit: Visit,
) -> Response {
    on_blocking(visit, move |visit| match visit.me(&api) {
        Some(_) => visit.see_other("/my/shares"),
        None => visit.page(
            StatusCode::OK,
            &HomePage {
                c: visit.chrome(visit.t().site, None),
            },
        ),
    })
    .await
}

fn sign_in_page(visit: &Visit, next: String, status: StatusCode, errors: Vec<String>) -> Response {
    let page = SignInPage {
        c: visit.chrome(visit.t().sign_in_title, None),
        next,
        errors,
    };
    visit.page(status, &page)
}

/// `GET /signin`.
pub(crate) async fn sign_in_form<A: Authenticator, D: DriveStore>(
    State(_api): State<Api<A, D>>,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
    visit: Visit,
) -> Response {
    let next = safe_next(query.ok().and_then(|Query(q)| q.next).as_deref());
    sign_in_page(&visit, next, StatusCode::OK, Vec::new())
}

/// `POST /signin`: checks the access token with the host's authenticator
/// and starts a server-side session for it.
pub(crate) async fn sign_in<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    visit: Visit,
    CheckedForm(form): CheckedForm,
) -> Response {
    on_blocking(visit, move |visit| {
        let t = visit.t();
        let next = safe_next(form.get("next"));
        let pages = api.pages();
        if let Err(limited) = pages
            .sign_ins
            .check(visit.head.client.as_str(), api.engine.now())
        {
            let e = api.fail(&limited.into());
            let page_error = super::refusal::describe(t, &e).1;
            return super::refusal::with_retry_after(
                sign_in_page(visit, next, e.status(), vec![page_error]),
                &e,
            );
        }
        let token = form.text("token").unwrap_or_default();
        if token.is_empty() || token.len() > 512 {
            return sign_in_page(
                visit,
                next,
                StatusCode::UNAUTHORIZED,
                vec![t.token_invalid.to_owned()],
            );
        }
        match api.auth.authenticate(&token) {
            Ok(_) => {
                let cookie = pages.sessions.start(token);
                let mut r = visit.see_other(&next);
                let max_age = i64::try_from(pages.sessions.idle().as_secs()).unwrap_or(i64::MAX);
                visit.add_cookie(&mut r, &session_cookie(&cookie, max_age, visit.secure));
                r
            }
            Err(crate::host::AuthError::InvalidToken(_)) => sign_in_page(
                visit,
                next,
                StatusCode::UNAUTHORIZED,
                vec![t.token_invalid.to_owned()],
            ),
            Err(e) => visit.refusal(&ApiError::from(e), None, None),
        }
    })
    .await
}

/// `POST /signout`.
pub(crate) async fn sign_out<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    visit: Visit,
    _checked: CheckedForm,
) -> Response {
    if let Some(s) = &visit.session {
        api.pages().sessions.end(s);
    }
    let mut r = visit.see_other("/");
    visit.add_cookie(&mut r, &session_cookie("", 0, visit.secure));
    r
}

/// Renders "My drive" for `me`.
fn drive_page<A: Authenticator, D: DriveStore>(
    api: &ShareApi<A, D>,
    visit: &Visit,
    me: &Caller,
    q: DriveQuery,
    status: StatusCode,
    errors: Vec<String>,
    opts: OptionsForm,
) -> Response {
    let t = visit.t();
    let drives = match api.drives.drives_of(&me.member) {
        Ok(d) => d,
        Err(e) => return visit.refusal(&ApiError::from(e), Some(me), None),
    };
    let Some(drive) = q
        .drive
        .as_deref()
        .and_then(|asked| drives.iter().find(|d| d.as_str() == asked))
        .or(drives.first())
        .cloned()
    else {
        let e = ApiError::wire(crate::WireCode::ForbiddenNoPermission, t.no_drive);
        return visit.refusal(&e, Some(me), None);
    };
    let folder = match FileId::new(q.folder.unwrap_or_else(|| "root".to_owned())) {
        Ok(f) => f,
        Err(e) => return visit.refusal(&ApiError::from(e), Some(me), None),
    };
    let listed = api.file_list_op(
        &visit.head,
        ListFileBody {
            drive_id: Some(drive.to_string()),
            parent_file_id: Some(folder.to_string()),
            limit: Some(DRIVE_PAGE),
            marker: q.marker,
            order_by: Some("name".to_owned()),
            ..ListFileBody::default()
        },
    );
    let page = match listed {
        Ok(p) => p,
        Err(e) => return visit.refusal(&e, Some(me), None),
    };
    let base = format!("/my/drive?drive={}&", enc(drive.as_str()));
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|entry| row_of(t, entry, &base))
        .collect();
    let next_href = (!page.next_marker.is_empty()).then(|| {
        format!(
            "{base}folder={}&marker={}",
            enc(folder.as_str()),
            enc(&page.next_marker)
        )
    });
    let page = DrivePage {
        c: visit.chrome(t.drive_title, Some(me)),
        drive_id: drive.to_string(),
        crumbs: api.crumbs(
            &visit.head,
            &Walk::Drive(drive.as_str()),
            &folder,
            &base,
            Crumb {
                href: base.trim_end_matches('&').to_owned(),
                label: t.drive_title.to_owned(),
            },
        ),
        rows,
        next_href,
        errors,
        legend: t.create_title,
        opts,
    };
    visit.page(status, &page)
}

/// `GET /my/drive`.
pub(crate) async fn drive<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    query: Result<Query<DriveQuery>, axum::extract::rejection::QueryRejection>,
    visit: Visit,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    on_blocking(visit, move |visit| {
        let Some(me) = visit.me(&api) else {
            return to_sign_in(visit, "/my/drive");
        };
        drive_page(
            &api,
            visit,
            &me,
            q,
            StatusCode::OK,
            Vec::new(),
            OptionsForm::default(),
        )
    })
    .await
}

/// The options a form asks for, in the API's terms.
struct AskedOptions {
    name: Option<String>,
    description: Option<String>,
    expiration: Option<String>,
    disable_download: bool,
    disable_preview: bool,
    disable_save: bool,
    download_limit: u64,
    preview_limit: u64,
    save_limit: u64,
    members_only: bool,
}

fn limit_field(form: &Form, name: &'static str) -> Result<u64, ApiError> {
    match form.text(name) {
        None => Ok(0),
        Some(v) => v.parse::<u64>().map_err(|_| {
            ApiError::input(sharelink_core::InputError::Invalid {
                field: name,
                reason: format!("{v:?} is not a whole number of 0 or more"),
            })
        }),
    }
}

/// The expiry the form chose: `None` keeps the current one (edit only),
/// `Some("")` is never, else an RFC 3339 instant.
fn expiry_field(form: &Form, now: chrono::DateTime<Utc>) -> Result<Option<String>, ApiError> {
    let bad = |reason: String| {
        ApiError::input(sharelink_core::InputError::Invalid {
            field: "expiration",
            reason,
        })
    };
    let after = |d: Duration| Ok(Some(format_time(now + d)));
    match form.get("expiry").unwrap_or("never") {
        "keep" => Ok(None),
        "never" => Ok(Some(String::new())),
        "1h" => after(Duration::hours(1)),
        "1d" => after(Duration::days(1)),
        "7d" => after(Duration::days(7)),
        "30d" => after(Duration::days(30)),
        "custom" => {
            let text = form.text("expire_at").unwrap_or_default();
            let at = NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S"))
                .map_err(|_| {
                    bad(format!(
                        "{text:?} is not a date and time (YYYY-MM-DDTHH:MM)"
                    ))
                })?;
            Ok(Some(format_time(at.and_utc())))
        }
        other => Err(bad(format!("unknown choice {other:?}"))),
    }
}

fn asked_options(form: &Form, now: chrono::DateTime<Utc>) -> Result<AskedOptions, ApiError> {
    Ok(AskedOptions {
        name: form.text("share_name"),
        description: form.get("description").map(|d| d.trim().to_owned()),
        expiration: expiry_field(form, now)?,
        disable_download: !form.checked("allow_download"),
        disable_preview: !form.checked("allow_preview"),
        disable_save: !form.checked("allow_save"),
        download_limit: limit_field(form, "download_limit")?,
        preview_limit: limit_field(form, "preview_limit")?,
        save_limit: limit_field(form, "save_limit")?,
        members_only: form.checked("members_only"),
    })
}

/// The form's values shown back after a refusal, so nothing typed is lost
/// (except the code).
fn options_echo(form: &Form, editing: bool) -> OptionsForm {
    OptionsForm {
        editing,
        name: form.get("share_name").unwrap_or("").to_owned(),
        description: form.get("description").unwrap_or("").to_owned(),
        expire_at: form.get("expire_at").unwrap_or("").to_owned(),
        allow_download: form.checked("allow_download"),
        allow_preview: form.checked("allow_preview"),
        allow_save: form.checked("allow_save"),
        download_limit: limit_field(form, "download_limit").unwrap_or(0),
        preview_limit: limit_field(form, "preview_limit").unwrap_or(0),
        save_limit: limit_field(form, "save_limit").unwrap_or(0),
        members_only: form.checked("members_only"),
    }
}

/// The form values of an existing share.
fn options_of(share: &ShareLinkWire) -> OptionsForm {
    let u = &share.usage;
    OptionsForm {
        editing: true,
        name: share.share_name.clone(),
        description: share.description.clone(),
        expire_at: chrono::DateTime::parse_from_rfc3339(&share.expiration)
            .map(|t| t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default(),
        allow_download: !u.disable_download,
        allow_preview: !u.disable_preview,
        allow_save: !u.disable_save,
        download_limit: u.download_limit,
        preview_limit: u.preview_limit,
        save_limit: u.save_limit,
        members_only: share.require_login,
    }
}

/// A share as "My shares" and its detail page show it.
fn card(t: &'static Text, share: &ShareLinkWire) -> ShareCard {
    let u = &share.usage;
    let count = |used: u64, limit: u64| {
        if limit == 0 {
            used.to_string()
        } else {
            fill(t.of_limit, &[("used", &used), ("limit", &limit)])
        }
    };
    let (status, class, active) = match (share.status, share.expired) {
        ("forbidden", _) => (t.status_forbidden, "inactive", false),
        ("disabled", _) => (t.status_cancelled, "inactive", false),
        (_, true) => (t.status_expired, "inactive", false),
        _ => (t.status_enabled, "active", true),
    };
    let detail = format!("/my/shares/{}", enc(&share.share_id));
    ShareCard {
        name: share.share_name.clone(),
        url: share.share_url.clone(),
        page_href: share_path(&share.share_id),
        status,
        status_class: class,
        active,
        usage: fill(
            t.usage_line,
            &[
                ("downloads", &count(u.download_count, u.download_limit)),
                ("previews", &count(u.preview_count, u.preview_limit)),
                ("saves", &count(u.save_count, u.save_limit)),
                ("accesses", &u.access_count),
            ],
        ),
        expiry: if share.expiration.is_empty() {
            t.never_expires.to_owned()
        } else {
            fill(t.expires, &[("when", &show_time(&share.expiration))])
        },
        edit_action: detail.clone(),
        cancel_action: format!("{detail}/cancel"),
        detail_href: detail,
    }
}

/// The QR code of `url`, as inline SVG (no script, no external reference).
fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(192, 192)
                .quiet_zone(true)
                .build();
            // Inline SVG in HTML: drop the XML declaration.
            match svg.find("<svg") {
                Some(at) => svg[at..].to_owned(),
                None => String::new(),
            }
        }
        Err(_) => String::new(),
    }
}

fn share_page(
    visit: &Visit,
    me: &Caller,
    share: &ShareLinkWire,
    status: StatusCode,
    code: Option<String>,
    notices: Vec<String>,
    errors: Vec<String>,
) -> Response {
    let t = visit.t();
    let title = if code.is_some() || status == StatusCode::CREATED {
        t.created_title
    } else {
        t.edit_title
    };
    let page = SharePage {
        c: visit.chrome(title, Some(me)),
        share: card(t, share),
        code: code.map(|c| fill(t.code_is, &[("code", &c)])),
        qr: qr_svg(&share.share_url),
        notices,
        errors,
        legend: t.edit_title,
        opts: options_of(share),
    };
    visit.page(status, &page)
}

/// `POST /my/shares`: creates a share from "My drive"'s form.
pub(crate) async fn create<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    visit: Visit,
    CheckedForm(form): CheckedForm,
) -> Response {
    on_blocking(visit, move |visit| {
        let Some(me) = visit.me(&api) else {
            return to_sign_in(visit, "/my/drive");
        };
        let t = visit.t();
        let back = DriveQuery {
            drive: form.get("drive_id").map(str::to_owned),
            ..DriveQuery::default()
        };
        let files = form.all("file_id");
        if files.is_empty() {
            return drive_page(
                &api,
                visit,
                &me,
                back,
                StatusCode::BAD_REQUEST,
                vec![t.nothing_selected.to_owned()],
                options_echo(&form, false),
            );
        }
        let code = form.text("share_pwd");
        let created = asked_options(&form, api.engine.now()).and_then(|o| {
            api.create_op(
                &visit.head,
                CreateShareLinkBody {
                    drive_id: form.get("drive_id").map(str::to_owned),
                    file_id_list: Some(files),
                    share_pwd: code.clone(),
                    share_name: o.name,
                    description: o.description.filter(|d| !d.is_empty()),
                    expiration: o.expiration,
                    disable_download: Some(o.disable_download),
                    disable_preview: Some(o.disable_preview),
                    disable_save: Some(o.disable_save),
                    download_limit: Some(o.download_limit),
                    preview_limit: Some(o.preview_limit),
                    save_limit: Some(o.save_limit),
                    require_login: Some(o.members_only),
                    ..CreateShareLinkBody::default()
                },
            )
        });
        match created {
            Ok(share) => share_page(
                visit,
                &me,
                &share,
                StatusCode::CREATED,
                code,
                Vec::new(),
                Vec::new(),
            ),
            Err(e) => {
                let sentence = super::refusal::describe(t, &e).1;
                let r = drive_page(
                    &api,
                    visit,
                    &me,
                    back,
                    e.status(),
                    vec![sentence],
                    options_echo(&form, false),
                );
                super::refusal::with_retry_after(r, &e)
            }
        }
    })
    .await
}

/// `GET /my/shares`: the caller's shares, or those whose name matches `q`.
pub(crate) async fn shares<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    query: Result<Query<SharesQuery>, axum::extract::rejection::QueryRejection>,
    visit: Visit,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    on_blocking(visit, move |visit| {
        let Some(me) = visit.me(&api) else {
            return to_sign_in(visit, "/my/shares");
        };
        let t = visit.t();
        let term = q.q.as_deref().map(str::trim).unwrap_or("").to_owned();
        let listed = if term.is_empty() {
            api.list_op(
                &visit.head,
                ListShareLinkBody {
                    include_cancelled: Some(true),
                    limit: Some(SHARES_PAGE),
                    marker: q.marker.clone(),
                    ..ListShareLinkBody::default()
                },
            )
        } else {
            // The query language quotes with ' or "; a term holding both
            // loses its double quotes.
            let quote = if term.contains('\'') { '"' } else { '\'' };
            let clean: String = term.chars().filter(|c| *c != quote).collect();
            api.search_op(
                &visit.head,
                SearchShareLinkBody {
                    query: Some(format!("share_name match {quote}{clean}{quote}")),
                    limit: Some(SHARES_PAGE),
                    marker: q.marker.clone(),
                    ..SearchShareLinkBody::default()
                },
            )
        };
        let page = match listed {
            Ok(p) => p,
            Err(e) => return visit.refusal(&e, Some(&me), None),
        };
        let next_href = (!page.next_marker.is_empty()).then(|| {
            format!(
                "/my/shares?q={}&marker={}",
                enc(&term),
                enc(&page.next_marker)
            )
        });
        let page = SharesPage {
            c: visit.chrome(t.shares_title, Some(&me)),
            query: term,
            rows: page.items.iter().map(|s| card(t, s)).collect(),
            next_href,
            notices: Vec::new(),
        };
        visit.page(StatusCode::OK, &page)
    })
    .await
}

/// `GET /my/shares/{share_id}`.
pub(crate) async fn detail<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    visit: Visit,
) -> Response {
    on_blocking(visit, move |visit| {
        let here = format!("/my/shares/{}", enc(&raw_id));
        let Some(me) = visit.me(&api) else {
            return to_sign_in(visit, &here);
        };
        match api.get_op(
            &visit.head,
            ShareIdBody {
                share_id: Some(raw_id),
            },
        ) {
            Ok(share) => share_page(
                visit,
                &me,
                &share,
                StatusCode::OK,
                None,
                Vec::new(),
                Vec::new(),
            ),
            Err(e) => visit.refusal(&e, Some(&me), None),
        }
    })
    .await
}

/// `POST /my/shares/{share_id}`: applies the edit form.
pub(crate) async fn edit<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    visit: Visit,
    CheckedForm(form): CheckedForm,
) -> Response {
    on_blocking(visit, move |visit| {
        let here = format!("/my/shares/{}", enc(&raw_id));
        let Some(me) = visit.me(&api) else {
            return to_sign_in(visit, &here);
        };
        let t = visit.t();
        let code = if form.checked("remove_pwd") {
            Some(String::new())
        } else {
            form.text("share_pwd")
        };
        let updated = asked_options(&form, api.engine.now()).and_then(|o| {
            api.update_op(
                &visit.head,
                UpdateShareLinkBody {
                    share_id: Some(raw_id.clone()),
                    share_pwd: code.clone(),
                    share_name: o.name,
                    description: o.description,
                    expiration: o.expiration,
                    disable_download: Some(o.disable_download),
                    disable_preview: Some(o.disable_preview),
                    disable_save: Some(o.disable_save),
                    download_limit: Some(o.download_limit),
                    preview_limit: Some(o.preview_limit),
                    save_limit: Some(o.save_limit),
                    require_login: Some(o.members_only),
                    ..UpdateShareLinkBody::default()
                },
            )
        });
        match updated {
            Ok(share) => {
                let shown_code = code.filter(|c| !c.is_empty());
                share_page(
                    visit,
                    &me,
                    &share,
                    StatusCode::OK,
                    shown_code,
                    vec![t.changes_saved.to_owned()],
                    Vec::new(),
                )
            }
            Err(e) => match api.get_op(
                &visit.head,
                ShareIdBody {
                    share_id: Some(raw_id),
                },
            ) {
                Ok(share) => {
                    let sentence = super::refusal::describe(t, &e).1;
                    let r = share_page(
                        visit,
                        &me,
                        &share,
                        e.status(),
                        None,
                        Vec::new(),
                        vec![sentence],
                    );
                    super::refusal::with_retry_after(r, &e)
                }
                Err(_) => visit.refusal(&e, Some(&me), None),
            },
        }
    })
    .await
}

/// `POST /my/shares/{share_id}/cancel`.
pub(crate) async fn cancel<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    Path(raw_id): Path<String>,
    visit: Visit,
    _checked: CheckedForm,
) -> Response {
    on_blocking(visit, move |visit| {
        let Some(me) = visit.me(&api) else {
            return to_sign_in(visit, "/my/shares");
        };
        match api.cancel_op(
            &visit.head,
            ShareIdBody {
                share_id: Some(raw_id),
            },
        ) {
            Ok(()) => visit.see_other("/my/shares"),
            Err(e) => visit.refusal(&e, Some(&me), None),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_local_path() {
        assert_eq!(safe_next(Some("/s/abc")), "/s/abc");
        assert_eq!(safe_next(Some("//evil.example/")), "/my/shares");
        assert_eq!(safe_next(Some("/\\evil.example")), "/my/shares");
        assert_eq!(safe_next(Some("https://evil.example/")), "/my/shares");
        assert_eq!(safe_next(Some("/a\nb")), "/my/shares");
        assert_eq!(safe_next(None), "/my/shares");
    }

    #[test]
    fn expiry_choices_become_wire_instants() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let form = |s: &str| Form::parse(s.as_bytes());
        assert_eq!(
            expiry_field(&form("expiry=never"), now).unwrap(),
            Some(String::new())
        );
        assert_eq!(expiry_field(&form("expiry=keep"), now).unwrap(), None);
        assert_eq!(
            expiry_field(&form("expiry=1d"), now).unwrap(),
            Some(format_time(now + Duration::days(1)))
        );
        assert_eq!(
            expiry_field(&form("expiry=custom&expire_at=2027-01-02T03%3A04"), now).unwrap(),
            Some("2027-01-02T03:04:00.000Z".to_owned())
        );
        let e = expiry_field(&form("expiry=custom&expire_at=soon"), now).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter");
        assert!(expiry_field(&form("expiry=forever"), now).is_err());
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("http://127.0.0.1:8080/s/abc");
        assert!(svg.starts_with("<svg"), "{svg:.40}");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn limits_are_whole_numbers() {
        let f = Form::parse(b"download_limit=5&preview_limit=-1&save_limit=");
        assert_eq!(limit_field(&f, "download_limit").unwrap(), 5);
        assert_eq!(
            limit_field(&f, "preview_limit").unwrap_err().code(),
            "InvalidParameter"
        );
        assert_eq!(limit_field(&f, "save_limit").unwrap(), 0);
    }
}
