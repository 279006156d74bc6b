//! A reference server on an ephemeral loopback port, driven over real HTTP.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::thread::JoinHandle;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sharelink_core::{ManualClock, PasswordHasher};
use sharelink_http::ApiConfig;
use sharelink_server::{App, AppOptions, StorageKind};

pub const ALICE_DRIVE: &str = "drive-demo-alice";
pub const BOB_DRIVE: &str = "drive-demo-bob";

pub struct TestServer {
    pub base: String,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub alice: String,
    pub bob: String,
    pub http: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// A response, read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The error code of a JSON error body (empty if none).
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The `Retry-After` header, in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        self.headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    pub fn text(&self, field: &str) -> String {
        self.json()[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.json()))
            .to_owned()
    }

    /// Asserts a 400 with some `InvalidParameter*` code.
    pub fn assert_bad_input(&self) -> &Self {
        let code = self.json()["code"].as_str().unwrap_or_default().to_owned();
        assert!(code.starts_with("InvalidParameter"), "{}", self.json());
        self.assert_error(400, &code)
    }

    /// Asserts a wire error: status, code, JSON body with a request id equal
    /// to the `x-ca-request-id` header.
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        let body = self.json();
        assert_eq!(
            (self.status, body["code"].as_str()),
            (status, Some(code)),
            "unexpected error {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        let header = self.headers["x-ca-request-id"].to_str().unwrap();
        assert_eq!(body["requestId"].as_str(), Some(header), "{body}");
        assert!(
            self.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        self
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(StorageKind::Sqlite, ApiConfig::default())
    }

    pub fn start_with(storage: StorageKind, config: ApiConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        let app = App::open(
            dir.path(),
            &AppOptions {
                storage,
                password_hasher: PasswordHasher::insecure_fast(),
                clock: clock.clone(),
                ..AppOptions::default()
            },
        )
        .unwrap();
        let seeded = app
            .data
            .seed_if_empty()
            .unwrap()
            .expect("first start seeds");
        let router = app.router(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                sharelink_http::serve(listener, router, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        Self {
            base,
            app,
            clock,
            alice: seeded.alice.1.expose_secret().to_owned(),
            bob: seeded.bob.1.expose_secret().to_owned(),
            http: Client::builder().build().unwrap(),
            shutdown: Some(tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// Signals a graceful shutdown: the server stops accepting connections
    /// and lets in-flight requests finish.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and waits for the server to stop.
    pub fn shutdown(&mut self) {
        self.begin_shutdown();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs raw bytes with headers.
    pub fn post_raw(
        &self,
        path: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body.into());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().unwrap())
    }

    /// POSTs JSON the way the PDS SDK does.
    pub fn post(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("content-type", "application/json; charset=utf-8")];
        all.extend_from_slice(headers);
        self.post_raw(path, serde_json::to_vec(&body).unwrap(), &all)
    }

    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().unwrap())
    }

    pub fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    /// Alice creates a share; returns its id.
    pub fn create(&self, body: Value) -> String {
        let mut b = json!({ "drive_id": ALICE_DRIVE });
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let auth = Self::bearer(&self.alice);
        let r = self.post("/v2/share_link/create", b, &[("authorization", &auth)]);
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.text("share_id")
    }

    /// Trades a password for a share token.
    pub fn token(&self, share: &str, pwd: Option<&str>) -> String {
        let mut b = json!({ "share_id": share });
        if let Some(p) = pwd {
            b["share_pwd"] = json!(p);
        }
        let r = self.post("/v2/share_link/get_share_token", b, &[]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.text("share_token")
    }

    /// Alice's view of a share.
    pub fn share(&self, share: &str) -> Value {
        let auth = Self::bearer(&self.alice);
        let r = self.post(
            "/v2/share_link/get",
            json!({ "share_id": share }),
            &[("authorization", &auth)],
        );
        assert_eq!(r.status, 200);
        r.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Reads the first line a `serve` process prints and returns the
/// `http://…` address in it, and the line.
pub fn served_address(out: &mut impl std::io::BufRead) -> (String, String) {
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    (base, first)
}

/// A response, read in full.
pub fn read(res: Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.bytes().unwrap().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}
