//! The real `sharelink-server` process on a loopback port, and clients that
//! connect from chosen 127.0.0.x addresses.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::common::Reply;
use crate::common::{read, served_address};
use reqwest::blocking::Client;
use serde_json::{Value, json};

pub const ALICE_DRIVE: &str = "drive-demo-alice";

/// A running server process, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub alice: String,
    pub bob: String,
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sharelink-server"))
}

impl Server {
    /// Starts `serve` on 127.0.0.1:0 with `flags`, under umask 022, and
    /// waits for its banner.
    pub fn start(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("umask 022; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_sharelink-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (base, _) = served_address(&mut out);
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let addr = base.trim_start_matches("http://").parse().unwrap();
        let token = |name: &str| {
            let path = dir.path().join(format!("{name}.token"));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(t) = std::fs::read_to_string(&path) {
                    if !t.trim().is_empty() {
                        return t.trim().to_owned();
                    }
                }
                assert!(Instant::now() < deadline, "no {name}.token");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let alice = token("alice");
        let bob = token("bob");
        Self {
            child,
            base,
            addr,
            dir,
            alice,
            bob,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of `/proc/<pid>/status`, such as `Threads` or `VmRSS` (kB).
    pub fn proc_status(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// CPU time the process has used so far (user and system), in ms.
    pub fn cpu_ms(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // After the command name (in parentheses): state is field 3, utime
        // and stime are fields 14 and 15, in USER_HZ (100 per second).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| -> u64 { fields[i - 3].parse().unwrap() };
        (ticks(14) + ticks(15)) * 10
    }

    /// The names of the process's threads.
    pub fn thread_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", self.pid()))
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim().to_owned())
            .collect();
        names.sort();
        names
    }

    /// Runs an admin subcommand against the data directory; its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = bin()
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Imports a local path into a user's drive root; the new item's id.
    pub fn import(&self, user: &str, token: &str, path: &Path) -> String {
        self.admin(&["import", "--user", user, "--from", path.to_str().unwrap()]);
        let name = path.file_name().unwrap().to_str().unwrap();
        let drive = format!("drive-demo-{user}");
        let r = self.post(
            &client(),
            "/v2/file/list",
            json!({ "drive_id": drive, "parent_file_id": "root", "limit": 100 }),
            &[("authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["file_id"].as_str())
            .unwrap_or_else(|| panic!("{name} not imported"))
            .to_owned()
    }

    pub fn post(&self, http: &Client, path: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = http.post(format!("{}{path}", self.base)).json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().unwrap())
    }

    pub fn get(&self, http: &Client, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().unwrap())
    }

    pub fn alice_auth(&self) -> String {
        format!("Bearer {}", self.alice)
    }

    /// Alice shares `files` (with a password, if given); the share id.
    pub fn share(&self, files: &[&str], pwd: Option<&str>) -> String {
        let extra = match pwd {
            Some(p) => json!({ "share_pwd": p }),
            None => json!({}),
        };
        self.share_with(files, extra)
    }

    /// A share token, from 127.0.0.1.
    pub fn token(&self, share: &str, pwd: Option<&str>) -> String {
        let r = self.post(
            &client(),
            "/v2/share_link/get_share_token",
            json!({ "share_id": share, "share_pwd": pwd.unwrap_or("") }),
            &[],
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        r.json()["share_token"].as_str().unwrap().to_owned()
    }

    /// A signed download URL for a file of a share.
    pub fn download_url(&self, share: &str, token: &str, file: &str) -> String {
        let r = self.post(
            &client(),
            "/v2/file/get_download_url",
            json!({ "share_id": share, "file_id": file }),
            &[("x-share-token", token)],
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        r.json()["url"].as_str().unwrap().to_owned()
    }

    /// Asks for a preview (`live_transcoding`) of a file of a share.
    pub fn preview(&self, share: &str, token: &str, file: &str) -> Reply {
        self.post(
            &client(),
            "/v2/file/get_video_preview_play_info",
            json!({ "share_id": share, "file_id": file, "category": "live_transcoding" }),
            &[("x-share-token", token)],
        )
    }

    /// The URL of a preview that must be granted.
    pub fn preview_url(&self, share: &str, token: &str, file: &str) -> String {
        let r = self.preview(share, token, file);
        assert_eq!(r.status, 200, "{:?}", r.json());
        r.json()["video_preview_play_info"]["live_transcoding_task_list"][0]["url"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Alice creates a share of her drive with extra fields (limits,
    /// switches) and gets its id.
    pub fn share_with(&self, files: &[&str], extra: Value) -> String {
        let mut body = json!({ "drive_id": ALICE_DRIVE, "file_id_list": files });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.post(
            &client(),
            "/v2/share_link/create",
            body,
            &[("authorization", &self.alice_auth())],
        );
        assert_eq!(r.status, 201, "{:?}", r.json());
        r.json()["share_id"].as_str().unwrap().to_owned()
    }

    /// A counter of a share (`download_count`, `save_count`, ...), as its
    /// creator sees it.
    pub fn counter(&self, share: &str, field: &str) -> u64 {
        let r = self.post(
            &client(),
            "/v2/share_link/get",
            json!({ "share_id": share }),
            &[("authorization", &self.alice_auth())],
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        r.json()[field].as_u64().unwrap()
    }

    /// How long a `get_by_anonymous` from 127.0.0.1 takes; panics on an error.
    pub fn probe(&self, share: &str) -> Duration {
        let started = Instant::now();
        let r = self.post(
            &client_with_timeout("127.0.0.1", Duration::from_secs(5)),
            "/v2/share_link/get_by_anonymous",
            json!({ "share_id": share }),
            &[],
        );
        assert_eq!(r.status, 200, "{:?}", r.json());
        started.elapsed()
    }

    /// Sends SIGTERM and returns how long the process took to exit.
    pub fn terminate(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "the server did not exit within {within:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client from 127.0.0.1.
pub fn client() -> Client {
    client_from("127.0.0.1")
}

/// A client whose connections come from `ip` (a 127.0.0.x address).
pub fn client_from(ip: &str) -> Client {
    client_with_timeout(ip, Duration::from_secs(20))
}

pub fn client_with_timeout(ip: &str, timeout: Duration) -> Client {
    Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().ok())
        .timeout(timeout)
        .build()
        .unwrap()
}

/// A raw TCP connection from `ip` to `addr`.
pub fn connect_from(ip: &str, addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = rt
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(format!("{ip}:0").parse().unwrap())?;
            socket.connect(addr).await
        })
        .unwrap();
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

/// Sends a request line and headers on a raw connection.
pub fn send_head(stream: &mut TcpStream, head: &str) {
    stream.write_all(head.as_bytes()).unwrap();
}

/// Reads until the peer closes (or `limit` passes); the bytes and whether
/// the peer closed.
pub fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return (out, false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (out, false);
            }
            Err(_) => return (out, true), // reset: closed too
        }
    }
}

/// Writes a file of `len` bytes into `dir`.
pub fn big_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    let chunk: Vec<u8> = (0..1024u32 * 1024)
        .map(|i| u8::try_from(i % 251).unwrap_or(0))
        .collect();
    let mut f = std::fs::File::create(&path).unwrap();
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    path
}
