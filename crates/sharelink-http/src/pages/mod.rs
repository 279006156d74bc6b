//! Share pages that a person opens in a browser (feature `pages`).
//!
//! Server-rendered HTML over the very same operations as the JSON API (each
//! page calls the `ShareApi` operation the matching PDS endpoint calls), so
//! the throttle, quotas, limits, switches, the file-type policy and the
//! counting are the API's: a page is never a way around a rule.
//!
//! | method and path | who | what |
//! |---|---|---|
//! | `GET /s/{share_id}` | anyone | public view and the code form; with a share token, the files (`?folder=`, `?marker=`) |
//! | `POST /s/{share_id}` | anyone | trades the code for a share token (cookie), `303` back |
//! | `POST /s/{share_id}/download` | token | counts the download, `303` to a signed URL |
//! | `GET /s/{share_id}/preview?file=` | token | counts a preview, shows the rendition |
//! | `POST /s/{share_id}/save` | token and signed in | copies into the visitor's drive |
//! | `GET`, `POST /signin`; `POST /signout` | anyone | a server-side session for an access token |
//! | `GET /my/drive` | signed in | browse, tick, create a share with every option |
//! | `POST /my/shares` | signed in | creates a share: the link, a copy button, a QR code |
//! | `GET /my/shares` | signed in | status, counters against limits, expiry; search by name (`?q=`) |
//! | `GET`, `POST /my/shares/{share_id}` | creator | details, edit |
//! | `POST /my/shares/{share_id}/cancel` | creator | cancels |
//! | `GET /assets/{name}` | anyone | the stylesheet and the enhancing script, embedded |
//!
//! Every refusal is a page with the API's HTTP status (and `Retry-After`
//! where the API sends one) and a sentence in the visitor's language
//! (English or Simplified Chinese, from `Accept-Language`). Every page works
//! without JavaScript; none loads anything from elsewhere. Pages carry a CSP
//! without inline script, `frame-ancestors 'none'`, `nosniff`, `no-referrer`;
//! every form carries a CSRF value (the `sl_csrf` cookie's, compared in
//! constant time; a POST a browser marks `Sec-Fetch-Site: cross-site` is
//! refused before anything happens); the share token lives
//! in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/s/{share_id}`.
//!
//! Several instances: a receiver's pages need nothing of one instance (the
//! share token in the cookie is signed with the fleet's keys, so any
//! instance accepts it), but sign-in sessions live in the memory of the
//! instance that started them. Behind a load balancer, route a signed-in
//! visitor to one instance (sticky sessions), or they are asked to sign in
//! again; a restart also ends every session.

mod assets;
mod creator;
mod forms;
mod lang;
mod receiver;
mod refusal;
mod session;
mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sharelink_core::{Rate, RateLimiter};

use crate::ShareApi;
use crate::error::ApiError;
use crate::extract::{RequestHead, Secret};
use crate::handlers::Api;
use crate::host::{Authenticator, Caller, DriveStore};
use lang::{Lang, Text};
use session::{CSRF_COOKIE, SESSION_COOKIE, Sessions, cookie, random_token, set_cookie};
use views::Chrome;

/// Settings of the share pages.
#[derive(Debug, Clone)]
pub struct PagesConfig {
    /// A sign-in session ends after this long without a request (default
    /// 12 hours).
    pub session_idle: Duration,
    /// Most sessions kept at once; over it the longest-idle one ends
    /// (default 100,000).
    pub max_sessions: usize,
    /// Sign-in attempts one client address may make (default: 10 at once,
    /// 60 an hour). Over it: `429`.
    pub sign_in_rate: Rate,
    /// Largest accepted form body, in bytes (default 16 KiB).
    pub max_form_bytes: usize,
    /// Mark every cookie `Secure`. `None` (the default): when
    /// [`ApiConfig::public_base_url`](crate::ApiConfig::public_base_url)
    /// is `https://`.
    pub secure_cookies: Option<bool>,
}

impl Default for PagesConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(12 * 3600),
            max_sessions: 100_000,
            sign_in_rate: Rate {
                burst: 10,
                per_hour: 60,
            },
            max_form_bytes: 16 * 1024,
            secure_cookies: None,
        }
    }
}

/// The pages' own state, beside the API's.
pub(crate) struct Pages {
    sessions: Sessions,
    sign_ins: RateLimiter,
    max_form_bytes: usize,
    secure: bool,
    /// The origin of signed content URLs when it is not the pages' own.
    content_origin: Option<String>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("sessions", &self.sessions)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl Pages {
    pub(crate) fn new(config: &PagesConfig, public_base_url: Option<&str>) -> Self {
        let https = public_base_url.is_some_and(|u| u.starts_with("https://"));
        Self {
            sessions: Sessions::new(config.session_idle, config.max_sessions),
            sign_ins: RateLimiter::new(config.sign_in_rate, "sign-in attempts"),
            max_form_bytes: config.max_form_bytes,
            secure: config.secure_cookies.unwrap_or(https),
            content_origin: public_base_url.and_then(origin_of),
        }
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The page routes, over the API's state.
pub(crate) fn routes<A: Authenticator, D: DriveStore>() -> Router<Api<A, D>> {
    Router::new()
        .route("/", get(creator::home::<A, D>))
        .route(
            "/s/{share_id}",
            get(receiver::show::<A, D>).post(receiver::open::<A, D>),
        )
        .route("/s/{share_id}/download", post(receiver::download::<A, D>))
        .route("/s/{share_id}/preview", get(receiver::preview::<A, D>))
        .route("/s/{share_id}/save", post(receiver::save::<A, D>))
        .route(
            "/signin",
            get(creator::sign_in_form::<A, D>).post(creator::sign_in::<A, D>),
        )
        .route("/signout", post(creator::sign_out::<A, D>))
        .route("/my/drive", get(creator::drive::<A, D>))
        .route(
            "/my/shares",
            get(creator::shares::<A, D>).post(creator::create::<A, D>),
        )
        .route(
            "/my/shares/{share_id}",
            get(creator::detail::<A, D>).post(creator::edit::<A, D>),
        )
        .route(
            "/my/shares/{share_id}/cancel",
            post(creator::cancel::<A, D>),
        )
        .route("/assets/{name}", get(assets::serve))
}

/// One page request: who is asking, in which language, with which cookies.
pub(crate) struct Visit {
    lang: Lang,
    headers: HeaderMap,
    csrf: String,
    new_csrf: bool,
    session: Option<String>,
    /// The API's view of the request: the client's address, the base of
    /// signed URLs, and the session's access token as the bearer.
    head: RequestHead,
    secure: bool,
    content_origin: Option<String>,
}

impl<A: Authenticator, D: DriveStore> FromRequestParts<Api<A, D>> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Api<A, D>,
    ) -> Result<Self, Self::Rejection> {
        let pages = api.pages();
        let headers = parts.headers.clone();
        let (csrf, new_csrf) = match cookie(&headers, CSRF_COOKIE) {
            Some(c) if c.len() == 43 => (c, false),
            _ => (random_token(), true),
        };
        let session = cookie(&headers, SESSION_COOKIE);
        let bearer = session
            .as_deref()
            .and_then(|s| pages.sessions.access_token(s));
        let (client, base_url) = crate::extract::client_and_base(parts);
        Ok(Self {
            lang: Lang::negotiate(&headers),
            head: RequestHead {
                bearer,
                share_token: None,
                client,
                base_url,
            },
            headers,
            csrf,
            new_csrf,
            session,
            secure: pages.secure,
            content_origin: pages.content_origin.clone(),
        })
    }
}

impl Visit {
    pub(crate) fn t(&self) -> &'static Text {
        self.lang.text()
    }

    /// The page frame, for a page titled `title`.
    pub(crate) fn chrome(&self, title: impl Into<String>, me: Option<&Caller>) -> Chrome {
        Chrome {
            t: self.t(),
            lang: self.lang.code(),
            title: title.into(),
            csrf: self.csrf.clone(),
            signed_in: me.map(display_name),
            sign_in_href: "/signin".to_owned(),
        }
    }

    /// Whether the form's CSRF field is right for this request.
    pub(crate) fn csrf_ok(&self, field: Option<&str>) -> bool {
        session::csrf_ok(&self.headers, field)
    }

    /// The signed-in caller, if the session's token is (still) accepted.
    pub(crate) fn me<A: Authenticator, D: DriveStore>(
        &self,
        api: &ShareApi<A, D>,
    ) -> Option<Caller> {
        api.optional_caller(&self.head).ok().flatten()
    }

    /// Adds the headers every page carries, and the CSRF cookie if new.
    pub(crate) fn finish(&self, mut response: Response) -> Response {
        views::secure_headers(&mut response, self.content_origin.as_deref());
        if self.new_csrf {
            self.add_cookie(
                &mut response,
                &set_cookie(CSRF_COOKIE, &self.csrf, "/", 86_400, self.secure),
            );
        }
        response
    }

    pub(crate) fn add_cookie(&self, response: &mut Response, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }

    /// A `303 See Other` to a path of ours.
    pub(crate) fn see_other(&self, location: &str) -> Response {
        let mut r = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(r)
    }

    /// Renders a page.
    pub(crate) fn page(&self, status: StatusCode, page: &impl askama::Template) -> Response {
        self.finish(views::html(status, page))
    }

    /// A refusal page for an API error, with its status and `Retry-After`.
    pub(crate) fn refusal(
        &self,
        e: &ApiError,
        me: Option<&Caller>,
        back: Option<&str>,
    ) -> Response {
        refusal::page(self, e, me, back)
    }
}

/// How a signed-in visitor is named in the header.
fn display_name(c: &Caller) -> String {
    if c.profile.display_name.is_empty() {
        c.member.user_id.to_string()
    } else {
        c.profile.display_name.clone()
    }
}

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// The pages' state; the page routes are only mounted with it.
    pub(crate) fn pages(&self) -> &Pages {
        self.pages
            .as_ref()
            .unwrap_or_else(|| unreachable!("page routes are only mounted with pages configured"))
    }
}

/// The bearer of a request head, as the API would read it.
pub(crate) fn with_share_token(head: &RequestHead, token: Option<String>) -> RequestHead {
    RequestHead {
        share_token: token.map(Secret),
        ..head.clone()
    }
}
