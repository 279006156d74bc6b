//! Sign-in sessions and the cookies the pages set.
//!
//! - **Sessions** are server-side: the `sl_session` cookie (`SameSite=Lax`,
//!   so a signed-in visitor arriving from a link elsewhere is still signed
//!   in) holds 256 random bits; the server keeps, under the cookie's SHA-256, the access token it
//!   stands for, until it has been idle for [`PagesConfig::session_idle`] or
//!   the visitor signs out. The raw access token never goes back to the
//!   browser. At most [`PagesConfig::max_sessions`] are kept; when full,
//!   the longest-idle one goes.
//! - **CSRF**: every form carries the value of the `sl_csrf` cookie
//!   (random, `HttpOnly`, `SameSite=Strict`) and a POST whose field does
//!   not match it (compared in constant time), or that a browser marks
//!   `Sec-Fetch-Site: cross-site`, is refused before anything happens.
//! - **Share tokens** live in `sl_share`, scoped to `/s/{share_id}`,
//!   `HttpOnly`, `SameSite=Strict`, for the token's own lifetime, never in a
//!   URL.
//!
//! Every cookie is `Secure` when the pages are served over https.
//!
//! [`PagesConfig::session_idle`]: super::PagesConfig::session_idle
//! [`PagesConfig::max_sessions`]: super::PagesConfig::max_sessions

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::extract::Secret;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "sl_session";
/// The CSRF cookie's name.
pub(crate) const CSRF_COOKIE: &str = "sl_csrf";
/// The share token cookie's name.
pub(crate) const SHARE_COOKIE: &str = "sl_share";

/// 256 random bits from the operating system's CSPRNG, base64url.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name`, if the request carries exactly one
/// well-formed one.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == name {
                    if found.is_some() {
                        // Two cookies of one name (one planted by a
                        // sibling domain, say): trust neither.
                        return None;
                    }
                    found = Some(v.trim().to_owned());
                }
            }
        }
    }
    found.filter(|v| !v.is_empty() && v.len() <= 4096)
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict` (but the session
/// cookie's, see [`session_cookie`]), `Secure` over https.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    secure: bool,
) -> String {
    cookie_line(name, value, path, max_age, secure, "Strict")
}

/// The session cookie: `SameSite=Lax`, so that a signed-in visitor who
/// follows a share link from a chat or a mail arrives signed in (a
/// members-only share opens, "Save to my drive" shows). Lax never sends it
/// with a cross-site POST, and every form checks its CSRF value besides.
pub(crate) fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    cookie_line(SESSION_COOKIE, value, "/", max_age, secure, "Lax")
}

fn cookie_line(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    secure: bool,
    same_site: &str,
) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether a form's CSRF field matches the request's CSRF cookie and the
/// browser does not call the request cross-site.
pub(crate) fn csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    if cross_site {
        return false;
    }
    match (cookie(headers, CSRF_COOKIE), field) {
        (Some(c), Some(f)) if !f.is_empty() => {
            constant_time_eq::constant_time_eq(c.as_bytes(), f.as_bytes())
        }
        _ => false,
    }
}

struct Session {
    access_token: Secret,
    last_used: Instant,
}

/// The server-side sessions of signed-in visitors.
pub(crate) struct Sessions {
    by_key: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    max: usize,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("idle", &self.idle)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

fn key_of(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

impl Sessions {
    pub(crate) fn new(idle: Duration, max: usize) -> Self {
        Self {
            by_key: Mutex::new(HashMap::new()),
            idle,
            max: max.max(1),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for `access_token`; returns the cookie value.
    pub(crate) fn start(&self, access_token: String) -> String {
        let cookie = random_token();
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= self.max {
            map.retain(|_, s| now.duration_since(s.last_used) < self.idle);
        }
        if map.len() >= self.max {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(
            key_of(&cookie),
            Session {
                access_token: Secret(access_token),
                last_used: now,
            },
        );
        cookie
    }

    /// The access token of a live session, touching it.
    pub(crate) fn access_token(&self, cookie: &str) -> Option<Secret> {
        let key = key_of(cookie);
        let now = Instant::now();
        let mut map = self.map();
        let live = map
            .get(&key)
            .is_some_and(|s| now.duration_since(s.last_used) < self.idle);
        if !live {
            map.remove(&key);
            return None;
        }
        let s = map.get_mut(&key)?;
        s.last_used = now;
        Some(s.access_token.clone())
    }

    /// Ends a session.
    pub(crate) fn end(&self, cookie: &str) {
        self.map().remove(&key_of(cookie));
    }

    /// How long an idle session lives.
    pub(crate) fn idle(&self) -> Duration {
        self.idle
    }

    /// How many sessions are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, v.parse().unwrap());
        h
    }

    #[test]
    fn cookies_are_read_strictly() {
        assert_eq!(
            cookie(&with_cookie("a=1; sl_csrf=xyz"), CSRF_COOKIE).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            cookie(&with_cookie("sl_csrf=a; sl_csrf=b"), CSRF_COOKIE),
            None
        );
        assert_eq!(cookie(&with_cookie("sl_csrf="), CSRF_COOKIE), None);
        assert_eq!(cookie(&with_cookie("other=1"), CSRF_COOKIE), None);
    }

    #[test]
    fn csrf_needs_the_matching_field_and_a_same_site_request() {
        let h = with_cookie("sl_csrf=abc");
        assert!(csrf_ok(&h, Some("abc")));
        assert!(!csrf_ok(&h, Some("abd")));
        assert!(!csrf_ok(&h, Some("")));
        assert!(!csrf_ok(&h, None));
        assert!(!csrf_ok(&HeaderMap::new(), Some("abc")));
        let mut cross = h.clone();
        cross.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!csrf_ok(&cross, Some("abc")));
        let mut same = h;
        same.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(csrf_ok(&same, Some("abc")));
    }

    #[test]
    fn sessions_expire_end_and_stay_bounded() {
        let s = Sessions::new(Duration::from_secs(3600), 2);
        let a = s.start("tok-a".into());
        assert_eq!(s.access_token(&a).unwrap().0, "tok-a");
        assert!(s.access_token("forged").is_none());
        let b = s.start("tok-b".into());
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            s.access_token(&a).is_some(),
            "touching a makes b the idlest"
        );
        let c = s.start("tok-c".into());
        assert_eq!(s.len(), 2);
        assert!(s.access_token(&b).is_none(), "the idlest session went");
        assert!(s.access_token(&c).is_some());
        s.end(&c);
        assert!(s.access_token(&c).is_none());

        let short = Sessions::new(Duration::from_millis(1), 10);
        let d = short.start("tok-d".into());
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.access_token(&d).is_none(), "idle sessions end");
    }

    #[test]
    fn a_session_debug_shows_no_token() {
        let s = Sessions::new(Duration::from_secs(60), 4);
        let _ = s.start("dev-secret-token".into());
        assert!(!format!("{s:?}").contains("dev-secret"));
    }
}
