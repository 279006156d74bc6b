//! # sharelink-http
//!
//! The PDS wire format over HTTP: an axum [`Router`] that a host mounts, so
//! that existing PDS clients (the official SDKs, `curl`) work against a
//! [`sharelink_core::Engine`] unchanged.
//!
//! The router is generic over two host traits ([`host`]):
//! - an [`Authenticator`] that turns `Authorization: Bearer <access token>`
//!   into a [`Caller`];
//! - a [`DriveStore`] that owns the files: metadata, listings, copies,
//!   content, and who may use which drive.
//!
//! Share-link rules live in the engine, not here: this crate parses wire
//! JSON into engine calls and maps errors to `{code, message, requestId}`.
//!
//! ## Endpoints
//!
//! | method and path | auth | success |
//! |---|---|---|
//! | `POST /v2/share_link/create` | bearer | 201 `ShareLink` |
//! | `POST /v2/share_link/get` | bearer (creator) | 200 `ShareLink` |
//! | `POST /v2/share_link/update` | bearer (creator) | 200 `ShareLink` |
//! | `POST /v2/share_link/cancel` | bearer (creator) | 204, no body |
//! | `POST /v2/share_link/list` | bearer | 200 `{items, next_marker}` |
//! | `POST /v2/share_link/search` | bearer | 200 `{items, next_marker, total_count}` |
//! | `POST /v2/share_link/get_by_anonymous` | none | 200 public view |
//! | `POST /v2/share_link/get_share_token` | none | 200 `{share_token, expires_in, expire_time}` |
//! | `POST /v2/file/list` | `x-share-token` (with `share_id`) or bearer (with `drive_id`) | 200 `{items, next_marker}` |
//! | `POST /v2/file/get` | same | 200 `File` |
//! | `POST /v2/file/get_download_url` | same | 200 `{url, expiration, size, ...}` |
//! | `POST /v2/file/get_video_preview_play_info` | same | 200, a signed preview URL (counted as a preview; it serves a rendition, see [`rendition`]) |
//! | `POST /v2/file/copy` | `x-share-token` **and** bearer | 201 file, 202 folder + `async_task_id` |
//! | `POST /v2/async_task/get` | bearer | 200 `{async_task_id, state, ...}` of a folder copy |
//! | `GET /v2/file/download` | signed URL, `x-share-token` or bearer | 200 bytes |
//!
//! With the `pages` feature, [`ShareApi::with_pages`] also serves the share
//! pages a person opens in a browser (`/s/{share_id}`, sign-in, "My drive",
//! "My shares"), over the same operations: see [`pages`].
//!
//! ## Behaviour
//!
//! - Every error has a JSON body `{"code", "message", "requestId"}` and every
//!   response an `x-ca-request-id` header. Quota and throttle refusals are
//!   429 with `Retry-After`. Bad input is a 400 `InvalidParameter*`, never a
//!   500; bodies over [`ApiConfig::max_body_bytes`] are 413.
//! - Unknown JSON fields and `x-acs-*` headers are accepted; a Host header
//!   carrying a scheme (as the Python SDK sends it) is accepted, and never
//!   used to build URLs ([`ApiConfig::public_base_url`]).
//! - Engine, authenticator and drive-store calls run on blocking threads
//!   (`spawn_blocking`), never on the runtime's workers; read-only requests
//!   run on the worker itself when every read is local (see [`host`]).
//! - Each request gets a `tracing` span (method, path, `x-acs-action`,
//!   request id). Tokens, passwords and bodies are never recorded.
//! - [`serve`] / [`serve_with`] serve the router on the open internet:
//!   connection caps (global and per client address), header-read, idle and
//!   write timeouts, and a bounded drain on shutdown ([`ServeConfig`]).
//!   Downloads read each chunk only when the socket has taken the previous
//!   one, under caps on concurrent streams ([`ApiConfig::max_streams`]), so a
//!   stalled client never holds a thread.
//! - **Downloads are counted once, when authorized**: at `get_download_url`
//!   (the URL it returns is a signed grant that counts nothing when fetched)
//!   or at `GET /v2/file/download` with `x-share-token`.

mod error;
mod extract;
mod files;
mod handlers;
pub mod host;
mod marker;
mod observe;
#[cfg(feature = "pages")]
pub mod pages;
mod query;
pub mod rendition;
mod serve;
mod streams;
mod wire;
mod wire_time;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use sharelink_core::Engine;

pub use error::{ApiError, PasswordHint, WireCode};
pub use extract::{REQUEST_ID_HEADER, SHARE_TOKEN_HEADER};
pub use files::{MAX_FILE_PAGE, category_of, extension_of, page_entries};
pub use host::{
    AsyncTask, AuthError, Authenticator, Caller, Category, ChildPage, ChildQuery, CopyError,
    CopyLimits, CopyOutcome, DriveStore, FileEntry, FileOrder, ListError, TaskState,
};
pub use serve::{ServeConfig, serve_with};
pub use wire::parse_expiration;
pub use wire_time::format_time;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes (default 64 KiB).
    pub max_body_bytes: usize,
    /// The `domain_id` shown on files (PDS's tenant domain).
    pub domain_id: String,
    /// Base of the download and preview URLs this API signs, e.g.
    /// `https://share.example.com`. `None`: `http://` and the address the
    /// connection was accepted on (with [`serve`]/[`serve_with`]; otherwise
    /// `http://127.0.0.1`). Never the Host header, which the client chooses:
    /// set this whenever clients reach you through a name or a proxy.
    pub public_base_url: Option<String>,
    /// Prefix of the page URL shown as `share_url` (the share id is
    /// appended), e.g. `https://share.example.com/s/`. `None`: no `share_url`.
    pub share_page_prefix: Option<String>,
    /// Most downloads streaming at once (default 512). Over it: `503`.
    pub max_streams: usize,
    /// Most downloads streaming at once to one client address (default 8).
    /// Over it: `429`.
    pub max_streams_per_client: usize,
    /// Most preview renditions rendered at once (CPU-bound; default: the
    /// number of CPUs), one per client address. Over it: `503` / `429`
    /// with `Retry-After: 1`.
    pub max_renders: usize,
    /// What one copy may hold (passed to [`DriveStore::copy`]).
    pub copy_limits: CopyLimits,
    /// Copies ("save to my drive") one caller may start (default: 10 at
    /// once, 300 an hour). Over it: `429 TooManyRequests`.
    pub copy_rate: sharelink_core::Rate,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            domain_id: "sharelink".into(),
            public_base_url: None,
            share_page_prefix: None,
            max_streams: 512,
            max_streams_per_client: 8,
            max_renders: std::thread::available_parallelism().map_or(2, usize::from),
            copy_limits: CopyLimits::default(),
            copy_rate: sharelink_core::Rate {
                burst: 10,
                per_hour: 300,
            },
        }
    }
}

/// Everything the handlers share: the engine, the host's traits, settings.
pub struct ShareApi<A, D> {
    engine: Arc<Engine>,
    auth: Arc<A>,
    drives: Arc<D>,
    config: ApiConfig,
    streams: streams::StreamSlots,
    renders: streams::StreamSlots,
    copies: sharelink_core::RateLimiter,
    /// Read-only requests run on the async workers (every read is local).
    inline_reads: bool,
    #[cfg(feature = "pages")]
    pages: Option<pages::Pages>,
}

impl<A, D> std::fmt::Debug for ShareApi<A, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareApi")
            .field("engine", &self.engine)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// The API over `engine`, whose file catalogue must be `drives` (or
    /// agree with it).
    pub fn new(engine: Arc<Engine>, auth: Arc<A>, drives: Arc<D>, config: ApiConfig) -> Self {
        let inline_reads =
            engine.reads_are_local() && auth.reads_are_local() && drives.reads_are_local();
        Self {
            inline_reads,
            engine,
            auth,
            drives,
            streams: streams::StreamSlots::new(
                config.max_streams,
                config.max_streams_per_client,
                "downloads",
            ),
            renders: streams::StreamSlots::new(config.max_renders, 1, "preview renders"),
            copies: sharelink_core::RateLimiter::new(config.copy_rate, "copies"),
            config,
            #[cfg(feature = "pages")]
            pages: None,
        }
    }

    /// Whether read-only requests run on the async workers: the engine's
    /// storage and catalogue, the authenticator and the drive store all
    /// answer `reads_are_local()` (see [`host`]). `false` is always
    /// correct, only slower for local stores.
    pub fn reads_inline(&self) -> bool {
        self.inline_reads
    }

    /// Also serve the share pages ([`pages`]) from [`router`](Self::router):
    /// `/s/{share_id}` for receivers, sign-in, "My drive" and "My shares"
    /// for creators, over the same operations as the JSON endpoints.
    #[cfg(feature = "pages")]
    pub fn with_pages(mut self, config: pages::PagesConfig) -> Self {
        self.pages = Some(pages::Pages::new(
            &config,
            self.config.public_base_url.as_deref(),
        ));
        self
    }

    /// The router: every PDS endpoint above, JSON errors for unknown routes
    /// and methods, request ids, tracing spans and panic safety. Serve it
    /// with `into_make_service_with_connect_info::<SocketAddr>()` so that
    /// password throttling can key on the client's address.
    pub fn router(self) -> Router {
        #[cfg(feature = "pages")]
        let with_pages = self.pages.is_some();
        let state = Arc::new(self);
        let router = Router::new();
        #[cfg(feature = "pages")]
        let router = if with_pages {
            router.merge(pages::routes::<A, D>())
        } else {
            router
        };
        router
            .route(
                "/v2/share_link/create",
                post(handlers::share_links::create::<A, D>),
            )
            .route(
                "/v2/share_link/get",
                post(handlers::share_links::get::<A, D>),
            )
            .route(
                "/v2/share_link/update",
                post(handlers::share_links::update::<A, D>),
            )
            .route(
                "/v2/share_link/cancel",
                post(handlers::share_links::cancel::<A, D>),
            )
            .route(
                "/v2/share_link/list",
                post(handlers::share_links::list::<A, D>),
            )
            .route(
                "/v2/share_link/search",
                post(handlers::share_links::search::<A, D>),
            )
            .route(
                "/v2/share_link/get_by_anonymous",
                post(handlers::share_links::get_by_anonymous::<A, D>),
            )
            .route(
                "/v2/share_link/get_share_token",
                post(handlers::share_links::get_share_token::<A, D>),
            )
            .route("/v2/file/list", post(handlers::files::list::<A, D>))
            .route("/v2/file/get", post(handlers::files::get::<A, D>))
            .route(
                "/v2/file/get_download_url",
                post(handlers::files::get_download_url::<A, D>),
            )
            .route(
                "/v2/file/get_video_preview_play_info",
                post(handlers::files::get_video_preview_play_info::<A, D>),
            )
            .route("/v2/file/copy", post(handlers::files::copy::<A, D>))
            .route("/v2/file/download", get(handlers::files::download::<A, D>))
            .route(
                "/v2/async_task/get",
                post(handlers::files::get_async_task::<A, D>),
            )
            .fallback(observe::not_found)
            .method_not_allowed_fallback(observe::method_not_allowed)
            .with_state(state)
            .layer(axum::middleware::from_fn(observe::observe))
    }
}

/// Serves `router` on `listener` with the default [`ServeConfig`] until
/// `shutdown` resolves, then drains in-flight requests for at most
/// [`ServeConfig::drain_timeout`]. See [`serve_with`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, ServeConfig::default(), shutdown).await
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM: the usual shutdown signal for
/// [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
