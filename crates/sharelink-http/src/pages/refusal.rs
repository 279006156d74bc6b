//! Every refusal as a page: the API's status (and `Retry-After`), a title
//! and a sentence in the visitor's language, and the way forward.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::Visit;
use super::lang::{Text, fill};
use super::views::{Link, MessagePage};
use crate::error::ApiError;
use crate::host::Caller;

/// The title and sentence for an API error.
pub(crate) fn describe(t: &'static Text, e: &ApiError) -> (&'static str, String) {
    let secs = e.retry_after_secs().unwrap_or(1);
    let limit = || {
        e.message()
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .unwrap_or("0")
            .to_owned()
    };
    match e.code() {
        "InvalidResource.SharePwd" => (t.wrong_code, password_sentence(t, e)),
        "TooManyRequests" => (t.throttled_title, fill(t.throttled, &[("secs", &secs)])),
        "ShareLink.Expired" => (t.expired_title, t.expired.to_owned()),
        "ShareLink.Cancelled" => (t.cancelled_title, t.cancelled.to_owned()),
        "ShareLink.Forbidden" => (t.forbidden_title, t.forbidden.to_owned()),
        "NotFound.ShareLink" | "NotFound" => (t.not_found_title, t.not_found.to_owned()),
        "NotFound.File" => (t.file_not_found_title, t.file_not_found.to_owned()),
        "ShareLink.DownloadLimitExceeded" => {
            (t.limit_title, fill(t.limit_download, &[("n", &limit())]))
        }
        "ShareLink.PreviewLimitExceeded" => {
            (t.limit_title, fill(t.limit_preview, &[("n", &limit())]))
        }
        "ShareLink.SaveLimitExceeded" => (t.limit_title, fill(t.limit_save, &[("n", &limit())])),
        "QuotaExhausted.ShareLinkCreate" | "QuotaExhausted.ShareLinkAccess" => {
            (t.quota_title, fill(t.quota, &[("secs", &secs)]))
        }
        "ForbiddenNoPermission.ShareLink" => (t.members_title, t.members.to_owned()),
        "ForbiddenNoPermission.Download" => (t.disabled_title, t.disabled_download.to_owned()),
        "ForbiddenNoPermission.Preview" => (t.disabled_title, t.disabled_preview.to_owned()),
        "ForbiddenNoPermission.Save" => (t.disabled_title, t.disabled_save.to_owned()),
        "ForbiddenFileType.Download" => (t.file_type_title, t.file_type.to_owned()),
        "ShareLinkTokenInvalid" | "DownloadUrlInvalid" => {
            (t.session_title, t.session_ended.to_owned())
        }
        "AccessTokenInvalid" => (t.session_title, t.sign_in_again.to_owned()),
        "ForbiddenNoPermission" => (t.disabled_title, t.no_permission.to_owned()),
        "ServiceUnavailable" => (t.busy_title, fill(t.busy, &[("secs", &secs)])),
        "InternalError" => (t.internal_title, t.internal.to_owned()),
        // Bad input: the API's own message names the field and the reason.
        _ => (t.bad_request_title, e.message().to_owned()),
    }
}

/// "That code is not right" plus the attempts left or the wait.
pub(crate) fn password_sentence(t: &'static Text, e: &ApiError) -> String {
    match e.password_hint() {
        Some(h) => match h.wait_secs {
            Some(secs) => fill(t.wait_before_retry, &[("secs", &secs)]),
            None => fill(t.attempts_left, &[("n", &h.free_attempts_left)]),
        },
        None => String::new(),
    }
}

/// Adds `Retry-After` where the API would send it.
pub(crate) fn with_retry_after(mut r: Response, e: &ApiError) -> Response {
    if let Some(secs) = e.retry_after_secs() {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// The page for `e`.
pub(crate) fn page(
    visit: &Visit,
    e: &ApiError,
    me: Option<&Caller>,
    back: Option<&str>,
) -> Response {
    let t = visit.t();
    let (title, sentence) = describe(t, e);
    let mut links = Vec::new();
    let needs_sign_in = matches!(
        e.code(),
        "ForbiddenNoPermission.ShareLink" | "AccessTokenInvalid"
    );
    if needs_sign_in && me.is_none() {
        let next = back.unwrap_or("/");
        links.push(Link {
            href: format!(
                "/signin?next={}",
                crate::handlers::files::url::percent_encode(next)
            ),
            label: t.sign_in_to_continue.to_owned(),
        });
    }
    if let Some(back) = back.filter(|_| e.code() != "NotFound.ShareLink") {
        links.push(Link {
            href: back.to_owned(),
            label: t.back_to_share.to_owned(),
        });
    }
    let page = MessagePage {
        c: visit.chrome(title, me),
        tone: "bad",
        lines: vec![sentence]
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect(),
        links,
    };
    let status = e.status();
    let status = if status.is_success() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    with_retry_after(visit.page(status, &page), e)
}
