//! The share pages over real HTTP against the real server process, without
//! a browser: every refusal's status and sentence, the cookies and headers,
//! CSRF, the two languages, and the attacks an anonymous page invites (code
//! guessing from many addresses, huge and hostile input, open redirects,
//! sign-in floods). A page is never a way around a rule: each test checks
//! the API's own counters and throttle after going through the pages.

#[path = "common/mod.rs"]
mod common;
#[path = "hostile/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use harness::{Server, client};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

/// A browser-like visitor: keeps cookies, never follows redirects.
struct Visitor {
    http: Client,
    base: String,
    cookies: HashMap<String, String>,
    language: &'static str,
}

/// A page, read in full.
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    /// The first hidden CSRF field's value.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF field")
            + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

impl Visitor {
    fn client(ip: &str) -> Client {
        Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().ok())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    fn new(server: &Server, ip: &str) -> Self {
        Self {
            http: Self::client(ip),
            base: server.base.clone(),
            cookies: HashMap::new(),
            language: "en-US,en;q=0.9",
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().unwrap_or_default();
        for v in headers.get_all("set-cookie") {
            let text = v.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            status,
            headers,
            body,
        }
    }

    fn get(&mut self, path: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.language)
            .send()
            .unwrap();
        self.keep(r)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.post_raw(path, body.into_bytes(), &[])
    }

    fn post_raw(&mut self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", self.language)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().unwrap();
        self.keep(r)
    }

    /// Opens a share page and submits `code`; the answer.
    fn enter_code(&mut self, share: &str, code: &str) -> Page {
        let gate = self.get(&format!("/s/{share}"));
        assert_eq!(gate.status, 200, "{}", gate.body);
        let csrf = gate.csrf();
        self.post(&format!("/s/{share}"), &[("csrf", &csrf), ("code", code)])
    }

    fn sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/signin");
        let csrf = form.csrf();
        self.post(
            "/signin",
            &[("csrf", &csrf), ("token", token), ("next", "/my/shares")],
        )
    }
}

fn usage(server: &Server, share: &str) -> Value {
    let r = server.post(
        &client(),
        "/v2/share_link/get",
        json!({ "share_id": share }),
        &[("authorization", &server.alice_auth())],
    );
    assert_eq!(r.status, 200, "{:?}", r.json());
    r.json()
}

#[test]
fn the_code_form_counts_and_throttles_as_the_api_does() {
    let server = Server::start(&[]);
    let share = server.share(&["welcome", "photos"], Some("right-code"));
    let mut v = Visitor::new(&server, "127.0.0.2");

    // The public view: every security header, a CSRF cookie, no token.
    let gate = v.get(&format!("/s/{share}"));
    assert_eq!(gate.status, 200);
    let csp = gate.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(gate.headers["x-content-type-options"], "nosniff");
    assert_eq!(gate.headers["referrer-policy"], "no-referrer");
    assert_eq!(gate.headers["cache-control"], "no-store");
    assert!(gate.set_cookies().iter().any(|c| c.starts_with("sl_csrf=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Strict")));
    assert!(gate.body.contains("Shared by") && gate.body.contains("extraction code"));

    // Wrong codes: 400 with the attempts left, then the wait.
    for left in (0..5).rev() {
        let p = v.enter_code(&share, "nope");
        assert_eq!(p.status, 400, "{}", p.body);
        assert!(p.body.contains("That code is not right."));
        assert!(
            p.body.contains(&format!("You can try {left} more time(s)")),
            "{left}: {}",
            p.body
        );
    }
    let p = v.enter_code(&share, "nope");
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Please wait 1 seconds"), "{}", p.body);
    // The page's failures are the API's: the same address is throttled there.
    let api = server.post(
        &harness::client_from("127.0.0.2"),
        "/v2/share_link/get_share_token",
        json!({ "share_id": share, "share_pwd": "right-code" }),
        &[],
    );
    assert_eq!(api.status, 429, "{:?}", api.json());
    // ... and the page's refusal is a 429 with Retry-After.
    let p = v.enter_code(&share, "right-code");
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.headers.contains_key("retry-after"));
    assert!(p.body.contains("Too many attempts"), "{}", p.body);

    // After the wait, the right code: a 303 and the token in a cookie
    // scoped to this share's pages.
    std::thread::sleep(Duration::from_millis(1100));
    let p = v.enter_code(&share, "right-code");
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location(), format!("/s/{share}"));
    let token_cookie = p
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sl_share="))
        .expect("a share cookie");
    assert!(
        token_cookie.contains(&format!("Path=/s/{share}")),
        "{token_cookie}"
    );
    assert!(token_cookie.contains("HttpOnly") && token_cookie.contains("SameSite=Strict"));
    assert!(token_cookie.contains("Max-Age=7200"), "{token_cookie}");
    assert!(!p.location().contains("v1."), "never in a URL");
    assert_eq!(usage(&server, &share)["access_count"], 1);

    // The files, and a download through the page counts as the API's.
    let files = v.get(&format!("/s/{share}"));
    assert_eq!(files.status, 200);
    assert!(files.body.contains("welcome.txt") && files.body.contains("photos"));
    let csrf = files.csrf();
    let d = v.post(
        &format!("/s/{share}/download"),
        &[("csrf", &csrf), ("file_id", "welcome")],
    );
    assert_eq!(d.status, 303, "{}", d.body);
    assert!(d.location().contains("/v2/file/download?") && d.location().contains("grant="));
    assert_eq!(usage(&server, &share)["download_count"], 1);
    let bytes = client().get(d.location()).send().unwrap().bytes().unwrap();
    assert!(bytes.starts_with(b"Hello from sharelink!"));

    // Without the CSRF value, cross-site, or with another one: refused
    // before anything is counted.
    for (form, headers) in [
        (vec![("file_id", "welcome")], vec![]),
        (vec![("csrf", "forged"), ("file_id", "welcome")], vec![]),
        (
            vec![("csrf", csrf.as_str()), ("file_id", "welcome")],
            vec![("sec-fetch-site", "cross-site")],
        ),
    ] {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let p = v.post_raw(&format!("/s/{share}/download"), body.into_bytes(), &headers);
        assert_eq!(p.status, 403, "{form:?} {headers:?}");
        assert!(p.body.contains("This form has expired"), "{}", p.body);
    }
    assert_eq!(
        usage(&server, &share)["download_count"],
        1,
        "nothing counted"
    );

    // Cancelled: the page says so, with the API's status; the token died.
    let r = server.post(
        &client(),
        "/v2/share_link/cancel",
        json!({ "share_id": share }),
        &[("authorization", &server.alice_auth())],
    );
    assert_eq!(r.status, 204);
    let p = v.get(&format!("/s/{share}"));
    assert_eq!(p.status, 403);
    assert!(p.body.contains("This share was cancelled"), "{}", p.body);
}

#[test]
fn every_refusal_is_a_page_with_the_api_status() {
    let server = Server::start(&[]);
    let mut v = Visitor::new(&server, "127.0.0.3");

    // Unknown and malformed ids: 404, never a 500.
    for id in [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "not-an-id",
        &"x".repeat(5000),
        "%00%0a",
    ] {
        let p = v.get(&format!("/s/{id}"));
        assert!(
            matches!(p.status, 404 | 400 | 414),
            "{id:.20}: {}",
            p.status
        );
        if p.status == 404 {
            assert!(p.body.contains("Share not found"), "{}", p.body);
        }
    }

    // Expired (a share cannot be created in the past: one that ends soon).
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let expired = server.share_with(
        &["welcome"],
        json!({ "expiration": soon.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) }),
    );
    std::thread::sleep(Duration::from_millis(1600));
    let p = v.get(&format!("/s/{expired}"));
    assert_eq!(p.status, 403);
    assert!(p.body.contains("This share has expired"));

    // A download limit reached, through the pages.
    let limited = server.share_with(&["welcome"], json!({ "download_limit": 1 }));
    let p = v.enter_code(&limited, "");
    assert_eq!(p.status, 303, "{}", p.body);
    let csrf = v.get(&format!("/s/{limited}")).csrf();
    let d = v.post(
        &format!("/s/{limited}/download"),
        &[("csrf", &csrf), ("file_id", "welcome")],
    );
    assert_eq!(d.status, 303);
    let d = v.post(
        &format!("/s/{limited}/download"),
        &[("csrf", &csrf), ("file_id", "welcome")],
    );
    assert_eq!(d.status, 403);
    assert!(
        d.body.contains("download limit of 1 has been reached"),
        "{}",
        d.body
    );
    assert_eq!(usage(&server, &limited)["download_count"], 1);

    // The APK rule: shown up front, and refused if posted anyway.
    let apk = server.share(&["app"], None);
    v.enter_code(&apk, "");
    let files = v.get(&format!("/s/{apk}"));
    assert!(
        files
            .body
            .contains("installation packages (APK, IPA) are not allowed")
    );
    assert!(
        !files
            .body
            .contains("aria-label=\"Download: app-release.apk\"")
    );
    // No form on this page: the value a form would carry is the cookie's.
    let csrf = v.cookies["sl_csrf"].clone();
    let d = v.post(
        &format!("/s/{apk}/download"),
        &[("csrf", &csrf), ("file_id", "app")],
    );
    assert_eq!(d.status, 403);
    assert!(
        d.body.contains("This file cannot be downloaded here"),
        "{}",
        d.body
    );

    // Downloads switched off.
    let no_dl = server.share_with(&["welcome"], json!({ "disable_download": true }));
    v.enter_code(&no_dl, "");
    let listed = v.get(&format!("/s/{no_dl}"));
    assert!(
        listed.body.contains("does not allow downloads"),
        "shown up front"
    );
    let csrf = v.cookies["sl_csrf"].clone();
    let d = v.post(
        &format!("/s/{no_dl}/download"),
        &[("csrf", &csrf), ("file_id", "welcome")],
    );
    assert_eq!(d.status, 403);
    assert!(d.body.contains("does not allow downloads"), "{}", d.body);

    // Members only: 403 with a way to sign in; signed in, it opens.
    let members = server.share_with(&["welcome"], json!({ "require_login": true }));
    let p = v.enter_code(&members, "");
    assert_eq!(p.status, 403);
    assert!(
        p.body.contains("Members only") && p.body.contains("/signin?next="),
        "{}",
        p.body
    );
    let mut bob = Visitor::new(&server, "127.0.0.4");
    assert_eq!(bob.sign_in(&server.bob).status, 303);
    let p = bob.enter_code(&members, "");
    assert_eq!(
        p.status, 303,
        "bob is a member of alice's tenant: {}",
        p.body
    );

    // A file outside the share, by a forged id: 404 page, nothing counted.
    let outside = server.share(&["welcome"], None);
    v.enter_code(&outside, "");
    let csrf = v.get(&format!("/s/{outside}")).csrf();
    let d = v.post(
        &format!("/s/{outside}/download"),
        &[("csrf", &csrf), ("file_id", "sunset")],
    );
    assert_eq!(d.status, 404, "{}", d.body);
    let p = v.get(&format!("/s/{outside}?folder=photos"));
    assert_eq!(p.status, 404, "{}", p.body);
    assert_eq!(usage(&server, &outside)["download_count"], 0);

    // The access quota, exhausted for the tenant: 429 with Retry-After.
    server.admin(&["set-tenant", "--tenant", "demo", "--access-limit", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    let quota = server.share(&["welcome"], None);
    let mut first = Visitor::new(&server, "127.0.0.5");
    let mut second = Visitor::new(&server, "127.0.0.6");
    // Earlier accesses today used the quota up already.
    let p = first.enter_code(&quota, "");
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.headers.contains_key("retry-after"));
    assert!(p.body.contains("daily limit"), "{}", p.body);
    let p = second.enter_code(&quota, "");
    assert_eq!(p.status, 429);
}

#[test]
fn hostile_input_gets_pages_not_errors() {
    let server = Server::start(&[]);
    let mut v = Visitor::new(&server, "127.0.0.7");
    let share = server.share(&["welcome"], None);
    let csrf = v.get(&format!("/s/{share}")).csrf();

    // A huge form: 413, refused before it is read in full.
    let big = format!("csrf={csrf}&code={}", "a".repeat(64 * 1024));
    let p = v.post_raw(&format!("/s/{share}"), big.into_bytes(), &[]);
    assert_eq!(p.status, 413, "{}", p.body);
    // Far over what is drained: the connection may be cut mid-body, the
    // server carries on.
    let started = Instant::now();
    let _ = v
        .http
        .post(format!("{}/s/{share}", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 8 << 20])
        .send();
    assert!(started.elapsed() < Duration::from_secs(20));
    // On a new connection: the cut one may still sit in the client's pool,
    // and a request sent on it races the server's close.
    v.http = Visitor::client("127.0.0.7");
    assert_eq!(v.get(&format!("/s/{share}")).status, 200);
    // Malformed urlencoding and bytes: an answer, never a 500.
    for body in [
        b"csrf=%zz&&&==".to_vec(),
        vec![0xff, 0xfe, b'=', 0x00],
        b"code".to_vec(),
    ] {
        let p = v.post_raw(&format!("/s/{share}"), body, &[]);
        assert_eq!(p.status, 403, "refused by CSRF");
    }
    // Odd folder and marker parameters.
    v.enter_code(&share, "");
    for q in [
        "folder=",
        "folder=%00",
        "marker=garbage",
        "folder=root&marker=%ff%fe",
    ] {
        let p = v.get(&format!("/s/{share}?{q}"));
        assert!(matches!(p.status, 200 | 400 | 404), "{q}: {}", p.status);
        assert!(p.headers.contains_key("content-security-policy"));
    }
    // A code that is not text the engine accepts (too long).
    let p = v.post(
        &format!("/s/{share}"),
        &[("csrf", &csrf), ("code", &"x".repeat(65))],
    );
    assert!(p.status == 303 || p.status == 400, "{}", p.status);

    // Open redirects: `next` only ever leads to a local path.
    let form = v.get("/signin");
    let csrf = form.csrf();
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let p = v.post(
            "/signin",
            &[("csrf", &csrf), ("token", &server.alice), ("next", next)],
        );
        assert_eq!(p.status, 303);
        assert_eq!(p.location(), "/my/shares", "{next}");
    }
}

#[test]
fn sessions_are_server_side_and_sign_in_is_rate_limited() {
    let server = Server::start(&[]);
    let mut v = Visitor::new(&server, "127.0.0.8");
    let p = v.sign_in(&server.alice);
    assert_eq!(p.status, 303);
    let session = v.cookies["sl_session"].clone();
    assert!(!session.contains(&server.alice) && !server.alice.contains(&session));
    let set = p
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sl_session="))
        .unwrap();
    // Lax: a signed-in visitor following a share link from elsewhere stays
    // signed in; cross-site POSTs never carry it (and need the CSRF value).
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    let shares = v.get("/my/shares");
    assert_eq!(shares.status, 200);
    assert!(shares.body.contains("Alice Liddell"));

    // Signing out ends the session on the server: the old cookie is dead.
    let csrf = shares.csrf();
    assert_eq!(v.post("/signout", &[("csrf", &csrf)]).status, 303);
    let mut replay = Visitor::new(&server, "127.0.0.8");
    replay.cookies.insert("sl_session".into(), session);
    let p = replay.get("/my/shares");
    assert_eq!(p.status, 303);
    assert!(p.location().starts_with("/signin?next="));

    // Guessing access tokens: 10 tries at once, then 429.
    let mut guesser = Visitor::new(&server, "127.0.0.9");
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(guesser.sign_in(&format!("dev-guess-{i}")).status);
    }
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
    // Another address is not locked out.
    assert_eq!(
        Visitor::new(&server, "127.0.0.10")
            .sign_in(&server.bob)
            .status,
        303
    );
}

#[test]
fn creators_create_edit_search_and_cancel_through_the_pages() {
    let server = Server::start(&[]);
    let mut v = Visitor::new(&server, "127.0.0.11");
    v.sign_in(&server.alice);
    let drive = v.get("/my/drive");
    assert_eq!(drive.status, 200);
    assert!(drive.body.contains("welcome.txt") && drive.body.contains("photos"));
    let csrf = drive.csrf();
    // Nothing ticked: the form comes back with the reason.
    let p = v.post(
        "/my/shares",
        &[("csrf", &csrf), ("drive_id", "drive-demo-alice")],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Tick at least one file"));
    // Every option.
    let p = v.post(
        "/my/shares",
        &[
            ("csrf", &csrf),
            ("drive_id", "drive-demo-alice"),
            ("file_id", "welcome"),
            ("file_id", "photos"),
            ("share_name", "Trip"),
            ("description", "for the family"),
            ("share_pwd", "abcd"),
            ("expiry", "custom"),
            ("expire_at", "2099-05-06T07:08"),
            ("allow_download", "1"),
            ("download_limit", "3"),
            ("preview_limit", "0"),
            ("save_limit", "2"),
            ("members_only", "1"),
        ],
    );
    assert_eq!(p.status, 201, "{}", p.body);
    assert!(p.body.contains("Extraction code: abcd") && p.body.contains("<svg"));
    let needle = "id=\"link\" type=\"text\" readonly value=\"";
    let at = p.body.find(needle).unwrap() + needle.len();
    let link = p.body[at..].split('"').next().unwrap().to_owned();
    let id = link.rsplit('/').next().unwrap().to_owned();
    let s = usage(&server, &id);
    assert_eq!(s["share_name"], "Trip");
    assert_eq!(s["description"], "for the family");
    assert_eq!(s["expiration"], "2099-05-06T07:08:00.000Z");
    assert_eq!(s["has_pwd"], true);
    assert_eq!(s["download_limit"], 3);
    assert_eq!(s["save_limit"], 2);
    assert_eq!(s["disable_preview"], true);
    assert_eq!(s["disable_save"], true);
    assert_eq!(s["disable_download"], false);
    assert_eq!(s["require_login"], true);

    // Bad input comes back as a sentence, and nothing is created.
    let before = server.post(
        &client(),
        "/v2/share_link/list",
        json!({}),
        &[("authorization", &server.alice_auth())],
    );
    let p = v.post(
        "/my/shares",
        &[
            ("csrf", &csrf),
            ("drive_id", "drive-demo-alice"),
            ("file_id", "welcome"),
            ("download_limit", "-5"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("download_limit"), "{}", p.body);
    let p = v.post(
        "/my/shares",
        &[
            ("csrf", &csrf),
            ("drive_id", "drive-demo-bob"),
            ("file_id", "welcome"),
        ],
    );
    assert_eq!(p.status, 403, "not alice's drive: {}", p.body);
    let after = server.post(
        &client(),
        "/v2/share_link/list",
        json!({}),
        &[("authorization", &server.alice_auth())],
    );
    assert_eq!(
        before.json()["items"].as_array().unwrap().len(),
        after.json()["items"].as_array().unwrap().len()
    );

    // Edit: remove the code, never expire.
    let detail = v.get(&format!("/my/shares/{id}"));
    assert_eq!(detail.status, 200);
    let p = v.post(
        &format!("/my/shares/{id}"),
        &[
            ("csrf", &csrf),
            ("share_name", "Trip 2"),
            ("remove_pwd", "1"),
            ("expiry", "never"),
            ("allow_download", "1"),
            ("allow_preview", "1"),
            ("allow_save", "1"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Changes saved."));
    let s = usage(&server, &id);
    assert_eq!(
        (
            s["share_name"].as_str(),
            s["has_pwd"].as_bool(),
            s["expiration"].as_str()
        ),
        (Some("Trip 2"), Some(false), Some(""))
    );

    // Bob cannot edit or cancel alice's share through the pages either.
    let mut bob = Visitor::new(&server, "127.0.0.12");
    bob.sign_in(&server.bob);
    let bob_csrf = bob.get("/my/shares").csrf();
    let p = bob.post(&format!("/my/shares/{id}/cancel"), &[("csrf", &bob_csrf)]);
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(usage(&server, &id)["status"], "enabled");

    // Search by name, then cancel.
    let found = v.get("/my/shares?q=Trip");
    assert!(found.body.contains("Trip 2"));
    let none = v.get("/my/shares?q=%27%22nothing");
    assert_eq!(none.status, 200, "quotes in a search are harmless");
    assert!(!none.body.contains("Trip 2"));
    let p = v.post(&format!("/my/shares/{id}/cancel"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 303);
    assert_eq!(usage(&server, &id)["status"], "disabled");
    assert!(v.get("/my/shares").body.contains("Cancelled"));
}

#[test]
fn pages_speak_chinese_to_chinese_browsers() {
    let server = Server::start(&[]);
    let share = server.share(&["welcome"], Some("1234"));
    let mut v = Visitor::new(&server, "127.0.0.13");
    v.language = "zh-CN,zh;q=0.9,en;q=0.8";
    let p = v.get(&format!("/s/{share}"));
    assert!(p.body.contains("<html lang=\"zh-CN\">"));
    assert!(p.body.contains("此分享需要提取码。"), "{}", p.body);
    let p = v.enter_code(&share, "0000");
    assert!(
        p.body.contains("提取码不正确。") && p.body.contains("还可以再试 4 次"),
        "{}",
        p.body
    );
    v.language = "en";
    assert!(
        v.get(&format!("/s/{share}"))
            .body
            .contains("<html lang=\"en\">")
    );
}

#[test]
fn guessing_codes_through_the_pages_from_many_addresses_is_bounded() {
    let server = Server::start(&[]);
    let share = server.share(&["welcome"], Some("a-long-right-code"));
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let ip = format!("127.0.1.{}", i + 1);
            let (share, server_base) = (share.clone(), server.base.clone());
            std::thread::spawn(move || {
                let mut v = Visitor {
                    http: Client::builder()
                        .local_address(ip.parse::<std::net::IpAddr>().ok())
                        .redirect(reqwest::redirect::Policy::none())
                        .timeout(Duration::from_secs(30))
                        .build()
                        .unwrap(),
                    base: server_base,
                    cookies: HashMap::new(),
                    language: "en",
                };
                (0..10)
                    .map(|n| v.enter_code(&share, &format!("guess-{n}")).status)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let evaluated = statuses.iter().filter(|s| **s == 400).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(evaluated + refused, 80, "{statuses:?}");
    // The share's budgets bound the guesses evaluated (20 fresh + 10 suspect
    // bursts), whatever door they come through.
    assert!(
        evaluated <= 30,
        "{evaluated} guesses evaluated: {statuses:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    // The right code from a new address still gets in.
    let mut friend = Visitor::new(&server, "127.0.2.1");
    let p = friend.enter_code(&share, "a-long-right-code");
    assert_eq!(p.status, 303, "{}", p.body);
}
