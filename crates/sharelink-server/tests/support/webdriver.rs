//! A small W3C WebDriver client over blocking HTTP, for driving Debian's
//! headless Chromium through `chromedriver` in the browser tests.
//!
//! Written here rather than taking `fantoccini`: the dozen endpoints the
//! tests use are plain JSON, and fantoccini's dependency tree (126 crates,
//! ICU segmentation data among them) would cost every CI build more than
//! this file.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::blocking::Client;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where Debian puts them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian puts them.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether this machine can run the browser tests.
pub fn available() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

/// A running `chromedriver`, killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: Client,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until ready.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, base, http }
    }

    /// A new headless browser window of `width` × `height`, downloading
    /// into `downloads`, asking for pages in `accept_language`.
    pub fn session(
        &self,
        downloads: &Path,
        width: u32,
        height: u32,
        accept_language: &str,
    ) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-quic",
                        "--disable-features=Translate,MediaRouter,OptimizationHints",
                        format!("--user-data-dir={}", profile.path().display()),
                        format!("--window-size={width},{height}"),
                        format!("--lang={accept_language}"),
                    ],
                    "prefs": {
                        "download.default_directory": downloads.display().to_string(),
                        "download.prompt_for_download": false,
                        "intl.accept_languages": accept_language,
                    },
                },
            }},
        });
        let reply: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .expect("new session")
            .json()
            .unwrap();
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_owned();
        let browser = Browser {
            http: self.http.clone(),
            url: format!("{}/session/{id}", self.base),
            _profile: profile,
            downloads: downloads.to_owned(),
        };
        // Headless Chromium downloads only where it is told to.
        browser.cdp(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": downloads.display().to_string() }),
        );
        browser.cmd(
            "POST",
            "/timeouts",
            json!({ "implicit": 0, "pageLoad": 30000, "script": 30000 }),
        );
        browser
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session, closed on drop.
pub struct Browser {
    http: Client,
    url: String,
    _profile: tempfile::TempDir,
    pub downloads: PathBuf,
}

/// An element reference.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.url);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let reply: Value = req.send().expect("webdriver request").json().unwrap();
        if let Some(err) = reply["value"]["error"].as_str() {
            panic!(
                "webdriver {method} {path}: {err}: {}",
                reply["value"]["message"]
            );
        }
        reply["value"].clone()
    }

    /// Runs a Chrome DevTools Protocol command.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({ "cmd": cmd, "params": params }),
        )
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    /// The current URL.
    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The page's `<title>`.
    pub fn title(&self) -> String {
        self.cmd("GET", "/title", Value::Null)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Every element matching `css`.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.cmd(
            "POST",
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
    }

    /// The one element matching `css` (panics naming it otherwise).
    pub fn find(&self, css: &str) -> Element {
        let mut found = self.find_all(css);
        if found.is_empty() {
            let source = self.cmd("GET", "/source", Value::Null);
            panic!(
                "no element {css} on {}: {:.2000}",
                self.current_url(),
                source.as_str().unwrap_or("")
            );
        }
        found.swap_remove(0)
    }

    /// Clicks an element (and waits for a navigation it starts).
    pub fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), json!({}));
    }

    /// Clicks an element that loads another page, and waits (bounded) until
    /// the new page has loaded.
    pub fn click_to_page(&self, e: &Element) {
        self.run("window.__leaving = true; return true;");
        self.click(e);
        self.wait_for_new_page();
    }

    /// Follows a link to `url` from the current page, as a person clicking
    /// it would (the browser decides which cookies go with it: a link from
    /// another site carries only `SameSite=Lax` ones).
    pub fn follow_link_to(&self, url: &str) {
        self.run("window.__leaving = true; return true;");
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": "const a = document.createElement('a'); a.href = arguments[0]; document.body.appendChild(a); a.click(); return true;", "args": [url] }),
        );
        self.wait_for_new_page();
    }

    fn wait_for_new_page(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let arrived = self.try_run(
                "return window.__leaving === undefined && document.readyState === 'complete';",
            );
            if arrived == Some(Value::Bool(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page after a click on {}",
                self.current_url()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn try_run(&self, script: &str) -> Option<Value> {
        let reply: Value = self
            .http
            .post(format!("{}/execute/sync", self.url))
            .json(&json!({ "script": script, "args": [] }))
            .send()
            .ok()?
            .json()
            .ok()?;
        if reply["value"]["error"].is_string() {
            return None;
        }
        Some(reply["value"].clone())
    }

    /// Types into an element (after clearing it).
    pub fn type_into(&self, e: &Element, text: &str) {
        self.cmd("POST", &format!("/element/{}/clear", e.0), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            json!({ "text": text }),
        );
    }

    /// An element's visible text.
    pub fn text_of(&self, e: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", e.0), Value::Null)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The whole page's visible text.
    pub fn body_text(&self) -> String {
        let body = self.find("body");
        self.text_of(&body)
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub fn run(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Runs an asynchronous `script`, whose last argument is the callback.
    pub fn run_async(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Resizes the window.
    pub fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({ "width": width, "height": height }),
        );
    }

    /// Emulates a phone's viewport, `width` CSS pixels wide (a desktop
    /// window cannot be made that narrow).
    pub fn phone(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": true }),
        );
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.cmd("GET", "/screenshot", Value::Null);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .unwrap()
    }

    /// Waits (bounded) until `file` is completely downloaded; its bytes.
    pub fn downloaded(&self, file: &str) -> Vec<u8> {
        let path = self.downloads.join(file);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let partial = std::fs::read_dir(&self.downloads)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"))
                })
                .unwrap_or(false);
            if path.exists() && !partial {
                return std::fs::read(&path).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "{file} was not downloaded into {}",
                self.downloads.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.url).send();
    }
}
