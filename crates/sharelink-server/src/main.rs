//! `sharelink-server`: the reference server and its admin commands.
//!
//! ```text
//! sharelink-server [serve] [--listen 127.0.0.1:8080] [--data-dir ./sharelink-data] [--storage sqlite|sled|postgres://…] [--public-url URL] [limits]
//! sharelink-server add-user --user ID [--tenant demo] [--name NAME] [--phone PHONE]
//! sharelink-server import --user ID --from PATH [--tenant demo] [--into FOLDER_ID]
//! sharelink-server set-tenant --tenant ID [--custom-domain true|false] [--create-limit N] [--access-limit N]
//! sharelink-server rotate-key [--keys PATH] [--step all|add|promote|retire] [--wait SECS]
//! ```
//!
//! Every command takes `--data-dir`. A running server picks up `set-tenant` within 2 s.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use sharelink_core::{FileId, TenantId, TenantPolicy, UserId};
use sharelink_http::{ApiConfig, ServeConfig};
/// mimalloc instead of the system allocator: a request allocates and frees
/// dozens of small strings (decoded rows, wire fields), and glibc's
/// per-thread arenas and consolidation showed up at about a tenth of the
/// server's CPU under load (`benches/README.md`, "The wire"). Built with
/// `no_thp`: on transparent huge pages, the chunks of 36 stalled downloads
/// kept 190 MB resident instead of 68 (`tests/hostile`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use sharelink_server::{
    App, AppOptions, DEMO_SHARE_CODE, DEMO_TENANT, DataDir, Seeded, ServerError, StorageKind,
};

/// How often the server re-reads tenant settings written by `set-tenant`.
const TENANT_RELOAD: std::time::Duration = std::time::Duration::from_secs(2);

const USAGE: &str = "\
sharelink-server: the PDS share-link API over a local data directory.

USAGE:
  sharelink-server [serve] [--listen ADDR] [--data-dir DIR] [--storage sqlite|sled|postgres://…] [LIMITS]
  sharelink-server add-user --user ID [--tenant demo] [--name NAME] [--phone PHONE] [--data-dir DIR]
  sharelink-server import --user ID --from PATH [--tenant demo] [--into FOLDER_ID] [--data-dir DIR]
  sharelink-server set-tenant --tenant ID [--custom-domain true|false] [--create-limit N]
                              [--access-limit N] [--data-dir DIR]
  sharelink-server rotate-key [--data-dir DIR] [--keys PATH] [--step all|add|promote|retire]
                              [--wait SECS]

DEFAULTS: --listen 127.0.0.1:8080, --data-dir ./sharelink-data, --storage sqlite
(or $SHARELINK_DATABASE_URL when set). With --storage postgres://…, several
instances that share the database and the data directory act as one.
--keys PATH (or $SHARELINK_KEYS; default DIR/keys) is the signing key file
every instance of a fleet shares; instances re-read it every second.

ROTATE-KEY adds a verify-only key, waits (--wait, default 60 s) until every
running instance uses the file holding it, promotes it to signing, and keeps
the old key verifying until everything it signed has expired. --step add or
promote runs one half; --step retire drops keys whose time has come.

LIMITS (serve; defaults are safe on the internet):
  --max-connections N             open connections (1024)
  --max-connections-per-client N  open connections per IPv4 address or IPv6 /64 (64)
  --header-timeout SECS           time to send a request head (10)
  --idle-timeout SECS             a connection silent this long is closed (60)
  --write-timeout SECS            a response the client stops reading is dropped after (30)
  --drain-timeout SECS            on SIGTERM/SIGINT, time given to requests in flight (10)
  --max-streams N                 downloads streaming at once (512)
  --max-streams-per-client N      downloads streaming at once per address (8)
  --max-renders N                 preview renditions rendered at once (CPUs)
  --copy-max-entries N            files and folders one copy may hold (10000)
  --copy-max-depth N              levels below a copied folder (32)
  --drive-max-entries N           files and folders one drive may hold (100000)
  --public-url URL                base of signed download URLs and share pages
                                  (default: the address a client connected to;
                                  never the Host header)
Access tokens printed here are a DEVELOPMENT scheme; real hosts plug in their own authenticator.
Log level: RUST_LOG (default info).";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), ServerError> {
    // Everything this process writes (databases, journals, blobs, keys,
    // tokens) is its owner's alone, whatever umask it was started with.
    #[cfg(unix)]
    sharelink_server::private::restrict_umask();
    let (command, flags) = parse_args(args)?;
    let data_dir = PathBuf::from(flag(&flags, "data-dir").unwrap_or("./sharelink-data"));
    match command.as_str() {
        "serve" => serve(&flags, data_dir),
        "add-user" => {
            allow(&flags, &["data-dir", "user", "tenant", "name", "phone"])?;
            let data = DataDir::open(&data_dir)?;
            let tenant = tenant_flag(&flags)?;
            let user = UserId::new(required(&flags, "user")?).map_err(bad)?;
            let (user, token) = data.accounts.add_user(
                &tenant,
                &user,
                flag(&flags, "name").unwrap_or(user.as_str()),
                flag(&flags, "phone").unwrap_or(""),
            )?;
            // The token alone on stdout, so scripts can capture it; the rest on stderr.
            say_err(&format!(
                "user {} of tenant {} (drive {}); development access token:",
                user.member.user_id, user.member.tenant, user.drive_id
            ));
            say(token.expose_secret());
            Ok(())
        }
        "import" => {
            allow(&flags, &["data-dir", "user", "tenant", "from", "into"])?;
            let data = DataDir::open(&data_dir)?;
            let tenant = tenant_flag(&flags)?;
            let user = UserId::new(required(&flags, "user")?).map_err(bad)?;
            let from = PathBuf::from(required(&flags, "from")?);
            let into = flag(&flags, "into")
                .map(FileId::new)
                .transpose()
                .map_err(bad)?;
            let (drive, n) = data.import(&tenant, &user, &from, into.as_ref())?;
            say(&format!(
                "imported {n} item(s) from {} into drive {drive}",
                from.display()
            ));
            Ok(())
        }
        "set-tenant" => {
            allow(
                &flags,
                &[
                    "data-dir",
                    "tenant",
                    "custom-domain",
                    "create-limit",
                    "access-limit",
                ],
            )?;
            let data = DataDir::open(&data_dir)?;
            let tenant = TenantId::new(required(&flags, "tenant")?).map_err(bad)?;
            let policy = TenantPolicy {
                custom_domain: match flag(&flags, "custom-domain") {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(other) => {
                        return Err(bad(format!("--custom-domain {other:?}: true or false")));
                    }
                },
                creations_per_day: number(&flags, "create-limit")?,
                accesses_per_day: number(&flags, "access-limit")?,
            };
            data.accounts.set_tenant(&tenant, &policy)?;
            say(&format!(
                "tenant {tenant}: custom domain {}, creations/day {}, accesses/day {} (a running server applies it within 2 s)",
                policy.custom_domain,
                policy
                    .creations_per_day
                    .map_or("default".into(), |n| n.to_string()),
                policy
                    .accesses_per_day
                    .map_or("default".into(), |n| n.to_string()),
            ));
            Ok(())
        }
        "rotate-key" => {
            allow(&flags, &["data-dir", "keys", "step", "wait"])?;
            let store = key_store(&flags, &data_dir);
            let step = flag(&flags, "step").unwrap_or("all").parse()?;
            let wait = secs(&flags, "wait")?.unwrap_or(std::time::Duration::from_secs(60));
            let report = sharelink_server::keys::rotate(&store, step, wait, chrono::Utc::now)?;
            say(report.to_string().trim_end());
            Ok(())
        }
        "help" | "--help" | "-h" => {
            say(USAGE);
            Ok(())
        }
        other => Err(bad(format!("unknown command {other:?}\n\n{USAGE}"))),
    }
}

fn serve(flags: &HashMap<String, String>, data_dir: PathBuf) -> Result<(), ServerError> {
    allow(
        flags,
        &[
            "data-dir",
            "listen",
            "storage",
            "max-connections",
            "max-connections-per-client",
            "header-timeout",
            "idle-timeout",
            "write-timeout",
            "drain-timeout",
            "max-streams",
            "max-streams-per-client",
            "max-renders",
            "copy-max-entries",
            "copy-max-depth",
            "drive-max-entries",
            "public-url",
            "keys",
        ],
    )?;
    let public_url = flag(flags, "public-url")
        .map(|u| {
            let u = u.trim_end_matches('/');
            let ok = (u.starts_with("http://") || u.starts_with("https://"))
                && u.len() > "https://".len()
                && u.bytes().all(|b| b.is_ascii_graphic())
                && !u.contains(['?', '#']);
            if ok {
                Ok(u.to_owned())
            } else {
                Err(bad(format!(
                    "--public-url {u:?}: an http:// or https:// base URL without query"
                )))
            }
        })
        .transpose()?;
    let defaults = ServeConfig::default();
    let serve_config = ServeConfig {
        max_connections: count(flags, "max-connections")?.unwrap_or(defaults.max_connections),
        max_connections_per_client: count(flags, "max-connections-per-client")?
            .unwrap_or(defaults.max_connections_per_client),
        header_read_timeout: secs(flags, "header-timeout")?.unwrap_or(defaults.header_read_timeout),
        idle_timeout: secs(flags, "idle-timeout")?.unwrap_or(defaults.idle_timeout),
        write_timeout: secs(flags, "write-timeout")?.unwrap_or(defaults.write_timeout),
        drain_timeout: secs(flags, "drain-timeout")?.unwrap_or(defaults.drain_timeout),
        ..defaults
    };
    let api_defaults = ApiConfig::default();
    let max_streams = count(flags, "max-streams")?.unwrap_or(api_defaults.max_streams);
    let max_streams_per_client =
        count(flags, "max-streams-per-client")?.unwrap_or(api_defaults.max_streams_per_client);
    let max_renders = count(flags, "max-renders")?.unwrap_or(api_defaults.max_renders);
    let copy_limits = sharelink_http::CopyLimits {
        max_entries: count(flags, "copy-max-entries")?
            .map_or(api_defaults.copy_limits.max_entries, |n| n as u64),
        max_depth: count(flags, "copy-max-depth")?.unwrap_or(api_defaults.copy_limits.max_depth),
    };
    let drive_max_entries = count(flags, "drive-max-entries")?.map_or(
        sharelink_server::drive_store::DEFAULT_MAX_DRIVE_ENTRIES,
        |n| n as u64,
    );
    let listen: SocketAddr = flag(flags, "listen")
        .unwrap_or("127.0.0.1:8080")
        .parse()
        .map_err(|e| bad(format!("--listen: {e}")))?;
    let from_env = std::env::var("SHARELINK_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let storage = match flag(flags, "storage")
        .or(from_env.as_deref())
        .unwrap_or("sqlite")
    {
        "sqlite" => StorageKind::Sqlite,
        "sled" => StorageKind::Sled,
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            StorageKind::Postgres(url.to_owned())
        }
        other => {
            return Err(bad(format!(
                "--storage {:?}: sqlite, sled or a postgres:// URL",
                sharelink_postgres::redact_url(other)
            )));
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut app = App::open(
        &data_dir,
        &AppOptions {
            storage: storage.clone(),
            keys: Some(key_store(flags, &data_dir).path().to_owned()),
            ..AppOptions::default()
        },
    )?;
    app.data.drives = app.data.drives.with_max_drive_entries(drive_max_entries);
    let seeded = app.data.seed_if_empty()?;
    let demo_share = match &seeded {
        Some(seeded) => Some(app.create_demo_share(seeded)?),
        None => app.demo_share(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServerError::Io {
            what: "starting the runtime".into(),
            source: e,
        })?;
    let drain = serve_config.drain_timeout;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| ServerError::Io {
                what: format!("binding {listen}"),
                source: e,
            })?;
        let addr = listener.local_addr().map_err(|e| ServerError::Io {
            what: "reading the bound address".into(),
            source: e,
        })?;
        // Acknowledge the key file before saying we serve, so that a
        // rotation started from now on waits for this instance.
        let watcher = follow_keys(&app, &addr)?;
        say(&format!(
            "sharelink-server listening on http://{addr} (data directory {}, {storage:?} share store)",
            data_dir.display()
        ));
        let page_base = public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        if let Some(id) = &demo_share {
            say(&format!(
                "Open the demo share in your browser: {page_base}/s/{id} (extraction code {DEMO_SHARE_CODE}); sign in at {page_base}/signin with {dir}/alice.token",
                dir = data_dir.display()
            ));
        }
        if let Some(seeded) = &seeded {
            say(&walkthrough(addr, &data_dir, seeded));
        } else {
            say(&format!(
                "Demo access tokens: {dir}/alice.token, {dir}/bob.token",
                dir = data_dir.display()
            ));
        }
        // `set-tenant` runs in another process: pick its changes up.
        let reloader = app.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TENANT_RELOAD);
            loop {
                every.tick().await;
                let app = reloader.clone();
                match tokio::task::spawn_blocking(move || app.reload_tenants()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "reloading tenant settings failed"),
                    Err(e) => tracing::warn!(error = %e, "reloading tenant settings panicked"),
                }
            }
        });
        let router = app.router(ApiConfig {
            // Signed URLs point here, never where a Host header says.
            public_base_url: public_url,
            share_page_prefix: Some(format!("{page_base}/s/")),
            max_streams,
            max_streams_per_client,
            max_renders,
            copy_limits,
            ..api_defaults
        });
        let served = sharelink_http::serve_with(
            listener,
            router,
            serve_config,
            sharelink_http::shutdown_signal(),
        )
        .await;
        watcher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stop();
        served.map_err(|e| ServerError::Io {
            what: "serving".into(),
            source: e,
        })
    });
    // Blocking work still running after the drain (a hash, a chunk read) is
    // not waited for beyond a short grace period.
    runtime.shutdown_timeout(drain.min(std::time::Duration::from_secs(2)));
    say("sharelink-server stopped");
    served
}

/// The key file: `--keys`, else `$SHARELINK_KEYS`, else `<data dir>/keys`.
fn key_store(flags: &Flags, data_dir: &std::path::Path) -> sharelink_server::keys::KeyStore {
    let from_env = std::env::var_os("SHARELINK_KEYS").filter(|p| !p.is_empty());
    match flag(flags, "keys")
        .map(PathBuf::from)
        .or(from_env.map(PathBuf::from))
    {
        Some(path) => sharelink_server::keys::KeyStore::new(path),
        None => sharelink_server::keys::KeyStore::new(data_dir.join("keys")),
    }
}

/// Puts the key file's keys in use, acknowledges them, and re-reads the
/// file every [`RELOAD_EVERY`](sharelink_server::keys::RELOAD_EVERY) from
/// then on, on a thread of its own (not the runtime's blocking pool, whose
/// idle threads a once-a-second task would keep alive). Returns the
/// watcher, to withdraw the acknowledgement at exit.
fn follow_keys(
    app: &App,
    addr: &SocketAddr,
) -> Result<std::sync::Arc<std::sync::Mutex<sharelink_server::keys::KeyWatcher>>, ServerError> {
    use sharelink_server::keys::{KeyReload, RELOAD_EVERY};
    let mut watcher = app.key_watcher(&addr.to_string())?;
    watcher.tick(&app.engine, app.engine.now())?;
    let watcher = std::sync::Arc::new(std::sync::Mutex::new(watcher));
    let (engine, shared) = (app.engine.clone(), watcher.clone());
    let spawned = std::thread::Builder::new()
        .name("sharelink-keys".into())
        .spawn(move || {
            let mut last_error = String::new();
            loop {
                std::thread::sleep(RELOAD_EVERY);
                let mut watcher = shared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if watcher.is_stopped() {
                    return;
                }
                match watcher.tick(&engine, engine.now()) {
                    Ok(reload) => {
                        last_error.clear();
                        match reload {
                            KeyReload::Unchanged => {}
                            KeyReload::Reloaded(ids) => {
                                tracing::info!(keys = ?ids, "key file reloaded (active key first)");
                            }
                            KeyReload::Retired(ids) => {
                                tracing::info!(keys = ?ids, "a retiring key's time came (active key first)");
                            }
                        }
                    }
                    // Said once per distinct failure, not every second.
                    Err(e) if e.to_string() != last_error => {
                        last_error = e.to_string();
                        tracing::warn!(error = %e, "reloading the key file failed; keeping the keys in use");
                    }
                    Err(_) => {}
                }
            }
        });
    spawned.map_err(|e| ServerError::Io {
        what: "starting the key reload thread".into(),
        source: e,
    })?;
    Ok(watcher)
}

/// A positive whole number flag.
fn count(flags: &Flags, name: &str) -> Result<Option<usize>, ServerError> {
    flag(flags, name)
        .map(|v| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(bad(format!("--{name} {v:?}: a whole number above 0"))),
        })
        .transpose()
}

/// A duration flag in seconds (fractions allowed), above 0 and at most a day.
fn secs(flags: &Flags, name: &str) -> Result<Option<std::time::Duration>, ServerError> {
    flag(flags, name)
        .map(|v| match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 && x <= 86_400.0 => {
                Ok(std::time::Duration::from_secs_f64(x))
            }
            _ => Err(bad(format!(
                "--{name} {v:?}: seconds, above 0 and at most 86400"
            ))),
        })
        .transpose()
}

/// The curl walk-through printed on first start.
fn walkthrough(addr: SocketAddr, dir: &std::path::Path, seeded: &Seeded) -> String {
    let dir = dir.display();
    format!(
        "\
First start: seeded tenant `{DEMO_TENANT}` with users alice (drive {alice_drive}) and bob (drive {bob_drive}).
Their DEVELOPMENT access tokens are in {dir}/alice.token and {dir}/bob.token.
Try the whole flow (needs curl and python3 for JSON):

  S=http://{addr}; ALICE=$(cat {dir}/alice.token); BOB=$(cat {dir}/bob.token)
  j() {{ python3 -c \"import json,sys; print(json.load(sys.stdin)['$1'])\"; }}

  # 1. alice shares her photos folder and welcome.txt, with a password
  SHARE=$(curl -s $S/v2/share_link/create -H \"Authorization: Bearer $ALICE\" \\
    -d '{{\"drive_id\":\"{alice_drive}\",\"file_id_list\":[\"photos\",\"welcome\"],\"share_pwd\":\"s3cret\",\"expiration\":\"\"}}' | j share_id)
  # 2. anyone sees the public view
  curl -s $S/v2/share_link/get_by_anonymous -d \"{{\\\"share_id\\\":\\\"$SHARE\\\"}}\"
  # 3. trade the password for a share token
  TOKEN=$(curl -s $S/v2/share_link/get_share_token -d \"{{\\\"share_id\\\":\\\"$SHARE\\\",\\\"share_pwd\\\":\\\"s3cret\\\"}}\" | j share_token)
  # 4. list and download
  curl -s $S/v2/file/list -H \"x-share-token: $TOKEN\" -d \"{{\\\"share_id\\\":\\\"$SHARE\\\",\\\"parent_file_id\\\":\\\"root\\\"}}\"
  URL=$(curl -s $S/v2/file/get_download_url -H \"x-share-token: $TOKEN\" -d \"{{\\\"share_id\\\":\\\"$SHARE\\\",\\\"file_id\\\":\\\"welcome\\\"}}\" | j url)
  curl -s \"$URL\"
  # 5. bob saves the photos folder into his drive
  curl -s $S/v2/file/copy -H \"x-share-token: $TOKEN\" -H \"Authorization: Bearer $BOB\" \\
    -d \"{{\\\"share_id\\\":\\\"$SHARE\\\",\\\"file_id\\\":\\\"photos\\\",\\\"to_drive_id\\\":\\\"{bob_drive}\\\",\\\"to_parent_file_id\\\":\\\"root\\\"}}\"
",
        alice_drive = seeded.alice.0.drive_id,
        bob_drive = seeded.bob.0.drive_id,
    )
}

type Flags = HashMap<String, String>;

fn parse_args(args: Vec<String>) -> Result<(String, Flags), ServerError> {
    let mut command = None;
    let mut flags = Flags::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        if let Some(name) = arg.strip_prefix("--") {
            if name == "help" {
                command = Some("help".to_owned());
                continue;
            }
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let v = it
                        .next()
                        .ok_or_else(|| bad(format!("--{name} needs a value")))?;
                    (name.to_owned(), v)
                }
            };
            if flags.insert(name.clone(), value).is_some() {
                return Err(bad(format!("--{name} given twice")));
            }
        } else if command.is_none() {
            command = Some(arg);
        } else {
            return Err(bad(format!("unexpected argument {arg:?}\n\n{USAGE}")));
        }
    }
    Ok((command.unwrap_or_else(|| "serve".to_owned()), flags))
}

fn allow(flags: &Flags, known: &[&str]) -> Result<(), ServerError> {
    match flags.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(format!("unknown option --{k}\n\n{USAGE}"))),
        None => Ok(()),
    }
}

fn flag<'a>(flags: &'a Flags, name: &str) -> Option<&'a str> {
    flags.get(name).map(String::as_str)
}

fn required<'a>(flags: &'a Flags, name: &str) -> Result<&'a str, ServerError> {
    flag(flags, name).ok_or_else(|| bad(format!("--{name} is required\n\n{USAGE}")))
}

fn number(flags: &Flags, name: &str) -> Result<Option<u32>, ServerError> {
    flag(flags, name)
        .map(|v| {
            v.parse::<u32>()
                .map_err(|e| bad(format!("--{name} {v:?}: {e}")))
        })
        .transpose()
}

fn tenant_flag(flags: &Flags) -> Result<TenantId, ServerError> {
    TenantId::new(flag(flags, "tenant").unwrap_or(DEMO_TENANT)).map_err(bad)
}

fn bad(e: impl std::fmt::Display) -> ServerError {
    ServerError::Input(e.to_string())
}

fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn say_err(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
