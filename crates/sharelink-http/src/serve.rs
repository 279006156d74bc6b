//! Serving a router on the open internet: connection caps, timeouts and a
//! bounded graceful shutdown.
//!
//! [`serve_with`] is an HTTP/1.1 accept loop over hyper that keeps what one
//! client can hold small and bounded:
//!
//! - **Connection caps.** At most [`ServeConfig::max_connections`] open
//!   connections, and [`ServeConfig::max_connections_per_client`] from one
//!   client address (an IPv4 address, or an IPv6 /64). A connection over a
//!   cap is answered at once with a JSON `503 ServiceUnavailable` (global) or
//!   `429 TooManyRequests` (per client), `Retry-After: 1`, and closed.
//! - **Header-read timeout.** A request head must arrive within
//!   [`ServeConfig::header_read_timeout`] (slowloris).
//! - **Idle timeout.** A connection on which nothing is read or written for
//!   [`ServeConfig::idle_timeout`] is closed (idle keep-alive connections,
//!   clients that go silent mid-body).
//! - **Write timeout.** A response write that makes no progress for
//!   [`ServeConfig::write_timeout`] closes the connection (a client that
//!   stops reading a download). A stalled client never holds a thread: the
//!   router reads a download's next chunk only when the socket takes the
//!   previous one.
//! - **Bounded drain.** When `shutdown` resolves, the listener closes, idle
//!   connections close, requests in flight may finish for at most
//!   [`ServeConfig::drain_timeout`], then every remaining connection is
//!   dropped and `serve_with` returns.
//!
//! Requests whose head hyper itself cannot parse (a malformed request line,
//! a head larger than [`ServeConfig::max_head_bytes`]) are answered by hyper
//! with a bare `400` or `431` and no JSON body: the router never sees them.
//! Below that size, the router's own limits answer `414` and `431` with the
//! usual JSON body and request id.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::Service as _;

/// Connection-level limits of [`serve_with`]. The defaults are meant for a
/// server facing the internet directly.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Most open connections (default 1024; also capped below the process's
    /// file-descriptor limit).
    pub max_connections: usize,
    /// Most open connections from one client address (default 64).
    pub max_connections_per_client: usize,
    /// Time allowed for a request head to arrive (default 10 s).
    pub header_read_timeout: Duration,
    /// A connection with no bytes read or written for this long is closed
    /// (default 60 s).
    pub idle_timeout: Duration,
    /// A response write that makes no progress for this long closes the
    /// connection (default 30 s).
    pub write_timeout: Duration,
    /// After shutdown begins, how long requests in flight may take to finish
    /// (default 10 s).
    pub drain_timeout: Duration,
    /// Largest request head hyper buffers (default 64 KiB; at least 8 KiB).
    pub max_head_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_client: 64,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            max_head_bytes: 64 * 1024,
        }
    }
}

/// Serves `router` on `listener` with `config`'s limits until `shutdown`
/// resolves: the listener closes, idle connections close, requests in flight
/// may finish for at most [`ServeConfig::drain_timeout`], then the remaining
/// connections are dropped and this returns.
///
/// A connection over a cap is answered at once with a JSON `503
/// ServiceUnavailable` (global) or `429 TooManyRequests` (per client),
/// `Retry-After: 1`, and closed. Requests whose head hyper cannot parse (a
/// malformed request line, a head over [`ServeConfig::max_head_bytes`]) get
/// hyper's bare `400`/`431` without a JSON body.
///
/// Handlers see the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Arc::new(ConnectionLimits::new(&config));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors, or a connection reset before accept:
                // back off a little instead of spinning or exiting.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let permit = match limits.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                refuse(stream, refusal);
                continue;
            }
        };
        let service = router.clone();
        let config = config.clone();
        let stop = stop_rx.clone();
        connections.spawn(async move {
            serve_connection(stream, peer, service, &config, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(config.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            "drain timeout: closing the remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// One connection: hyper's HTTP/1.1 state machine, watched for idleness and
/// stalled writes, and told to finish when shutdown begins.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    config: &ServeConfig,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let local = stream.local_addr().ok().map(LocalAddr);
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if let Some(local) = local {
            req.extensions_mut().insert(local);
        }
        router.clone().call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_head_bytes.max(8192))
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = *stop.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = activity.deadline(config.idle_timeout, config.write_timeout);
        tokio::select! {
            _ = conn.as_mut() => return,
            changed = stop.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                if activity.expired(config.idle_timeout, config.write_timeout) {
                    tracing::debug!(%peer, "closing an idle or stalled connection");
                    return;
                }
            }
        }
    }
}

/// The address a connection was accepted on: the base of the URLs this
/// server signs when no public base URL is configured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) SocketAddr);

/// When a connection last made progress, and since when a write is stuck.
#[derive(Debug)]
struct Activity {
    origin: Instant,
    /// Milliseconds since `origin` of the last byte read or written.
    last_progress_ms: AtomicU64,
    /// Milliseconds since `origin` (plus one) when a write first found the
    /// socket full without progress since; 0 when no write is stuck.
    write_stuck_since_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            last_progress_ms: AtomicU64::new(0),
            write_stuck_since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn progressed(&self) {
        self.last_progress_ms
            .store(self.now_ms(), Ordering::Relaxed);
        self.write_stuck_since_ms.store(0, Ordering::Relaxed);
    }

    fn write_blocked(&self) {
        let now = self.now_ms().saturating_add(1);
        let _ = self.write_stuck_since_ms.compare_exchange(
            0,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The next instant at which [`expired`](Self::expired) may turn true.
    fn deadline(&self, idle: Duration, write: Duration) -> Instant {
        let idle_at = self.last_progress_ms.load(Ordering::Relaxed) + millis(idle);
        let stuck = self.write_stuck_since_ms.load(Ordering::Relaxed);
        let at = if stuck == 0 {
            idle_at
        } else {
            idle_at.min(stuck - 1 + millis(write))
        };
        // Woken at least every second, so that a write that gets stuck after
        // the deadline was computed is noticed in time.
        let at = at.min(self.now_ms() + 1000);
        self.origin + Duration::from_millis(at)
    }

    fn expired(&self, idle: Duration, write: Duration) -> bool {
        self.expired_at(self.now_ms(), idle, write)
    }

    fn expired_at(&self, now: u64, idle: Duration, write: Duration) -> bool {
        let stuck = self.write_stuck_since_ms.load(Ordering::Relaxed);
        now >= self.last_progress_ms.load(Ordering::Relaxed) + millis(idle)
            || (stuck != 0 && now >= stuck - 1 + millis(write))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 4)
}

/// The socket, recording progress for the connection's watchdog.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.progressed();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note_write(&res);
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note_write(&res);
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Watched {
    fn note_write(&self, res: &Poll<std::io::Result<usize>>) {
        match res {
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.progressed(),
            Poll::Pending => self.activity.write_blocked(),
            _ => {}
        }
    }
}

/// The connection caps: a global semaphore and a count per client address.
#[derive(Debug)]
struct ConnectionLimits {
    global: Arc<Semaphore>,
    per_client: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    ServerFull,
    ClientFull,
}

/// An admitted connection's place under both caps; released on drop.
#[derive(Debug)]
struct ConnectionPermit {
    _global: tokio::sync::OwnedSemaphorePermit,
    client: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

impl ConnectionLimits {
    fn new(config: &ServeConfig) -> Self {
        let max = config.max_connections.clamp(1, descriptor_budget());
        Self {
            global: Arc::new(Semaphore::new(max)),
            per_client: config.max_connections_per_client.max(1),
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn admit(&self, peer: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let client = client_network(peer);
        let global = self
            .global
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::ServerFull)?;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(client).or_insert(0);
        if *n >= self.per_client {
            return Err(Refusal::ClientFull);
        }
        *n += 1;
        Ok(ConnectionPermit {
            _global: global,
            client,
            open: self.open.clone(),
        })
    }
}

/// The address a per-client cap counts: the IPv4 address, or the IPv6 /64.
pub(crate) fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Connections the process can hold open, leaving room for its own files.
fn descriptor_budget() -> usize {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        if let Some(soft) = limit.current {
            return usize::try_from(soft.saturating_sub(128))
                .unwrap_or(usize::MAX)
                .max(16);
        }
    }
    usize::MAX
}

/// Answers a connection over a cap with a JSON error, without waiting for
/// the request, and closes it.
fn refuse(stream: TcpStream, refusal: Refusal) {
    let (status, code, message) = match refusal {
        Refusal::ServerFull => (
            "503 Service Unavailable",
            "ServiceUnavailable",
            "The server is at its connection limit. Please retry.",
        ),
        Refusal::ClientFull => (
            "429 Too Many Requests",
            "TooManyRequests",
            "Too many open connections from your address. Please retry.",
        ),
    };
    let request_id = crate::observe::new_request_id();
    let body = serde_json::json!({ "code": code, "message": message, "requestId": request_id })
        .to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\n{}: {request_id}\r\nconnection: close\r\n\r\n{body}",
        body.len(),
        crate::REQUEST_ID_HEADER,
    );
    // Best effort and never blocking: a fresh socket's buffer takes it.
    let _ = stream.try_write(response.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_client_cap_counts_networks_and_releases_on_drop() {
        let limits = ConnectionLimits::new(&ServeConfig {
            max_connections: 3,
            max_connections_per_client: 2,
            ..ServeConfig::default()
        });
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let p1 = limits.admit(a).unwrap();
        let _p2 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::ClientFull);
        let _p3 = limits.admit("192.0.2.1".parse().unwrap()).unwrap();
        assert_eq!(
            limits.admit("192.0.2.2".parse().unwrap()).unwrap_err(),
            Refusal::ServerFull
        );
        drop(p1);
        assert!(limits.admit(a).is_ok());
    }

    #[test]
    fn watchdog_tells_idle_from_stuck() {
        let a = Activity::new();
        let idle = Duration::from_secs(60);
        let write = Duration::from_secs(5);
        let at = |ms: u64| a.expired_at(ms, idle, write);
        assert!(!at(0));
        // A write finds the socket full at t = 10 s.
        a.write_stuck_since_ms.store(10_001, Ordering::Relaxed);
        assert!(!at(14_000));
        assert!(at(15_000), "a write stuck for 5 s");
        // Progress at t = 15 s clears it; then only idleness counts.
        a.last_progress_ms.store(15_000, Ordering::Relaxed);
        a.write_stuck_since_ms.store(0, Ordering::Relaxed);
        assert!(!at(74_999));
        assert!(at(75_000), "idle for 60 s");
    }
}
