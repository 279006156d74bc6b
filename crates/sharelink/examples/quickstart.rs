//! The whole share-link flow, step by step, on an embedded store in a local
//! data directory.
//!
//! ```text
//! cargo run --example quickstart                                   # SQLite in ./sharelink-data
//! cargo run --example quickstart -- --storage sled                 # sled instead
//! cargo run --example quickstart -- --storage memory               # nothing on disk
//! cargo run --example quickstart -- --data-dir /tmp/somewhere
//! ```

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Duration;
use sharelink::sled::{SledOptions, SledStorage};
use sharelink::sqlite::{SqliteOptions, SqliteStorage};
use sharelink::*;

struct Args {
    storage: String,
    data_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        storage: "sqlite".into(),
        data_dir: PathBuf::from("sharelink-data"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--storage" => args.storage = value,
            "--data-dir" => args.data_dir = PathBuf::from(value),
            other => {
                return Err(format!(
                    "unknown flag {other}; use --storage sqlite|sled|memory and --data-dir DIR"
                ));
            }
        }
    }
    Ok(args)
}

fn open_store(args: &Args) -> Result<Arc<dyn Storage>, Box<dyn std::error::Error>> {
    Ok(match args.storage.as_str() {
        "sqlite" => {
            std::fs::create_dir_all(&args.data_dir)?;
            let path = args.data_dir.join("sharelink.sqlite");
            println!(
                "0. storage: SQLite at {} (WAL, synchronous=FULL)",
                path.display()
            );
            Arc::new(SqliteStorage::open(path, &SqliteOptions::default())?)
        }
        "sled" => {
            let path = args.data_dir.join("sharelink.sled");
            println!(
                "0. storage: sled at {} (flush before every acknowledgement)",
                path.display()
            );
            Arc::new(SledStorage::open(path, &SledOptions::default())?)
        }
        "memory" => {
            println!("0. storage: in memory (nothing is kept)");
            Arc::new(MemoryStorage::new())
        }
        other => {
            return Err(format!("unknown storage {other:?}: use sqlite, sled or memory").into());
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let storage = open_store(&args)?;

    // The host's files: a drive with a folder holding a report and an APK.
    let drive = DriveId::new("drive-1")?;
    let catalog = Arc::new(MemoryCatalog::new());
    catalog.add(&drive, "folder-1", None, "Release", FileKind::Folder)?;
    catalog.add(
        &drive,
        "file-report",
        Some("folder-1"),
        "report.pdf",
        FileKind::File,
    )?;
    catalog.add(
        &drive,
        "file-apk",
        Some("folder-1"),
        "app-release.APK",
        FileKind::File,
    )?;

    // A signing key from the OS CSPRNG. A real host persists it.
    let keys = KeyRing::new(SigningKey::generate(
        KeyId::new("k1")?,
        &mut rand::rngs::OsRng,
    ));
    let engine = Engine::builder(storage, catalog, keys).build()?;

    let alice = Member {
        tenant: TenantId::new("acme")?,
        user_id: UserId::new("alice")?,
    };
    let mut profile = Creator::new(alice.user_id.clone());
    profile.display_name = "Alice Liddell".into();
    profile.phone = "13900001234".into();

    // 1. Alice shares the folder with a password, for three days.
    let mut req = CreateShareRequest::new(
        alice.tenant.clone(),
        profile,
        drive,
        ShareFiles::listed(vec![FileId::new("folder-1")?])?,
    );
    req.password = Some(SharePassword::new("4xK9")?);
    req.expiration = Some(SystemClock.now() + Duration::days(3));
    let share = engine.create_share_link(req)?;
    println!(
        "1. created share {} ({:?})",
        share.id(),
        share.name().as_str()
    );

    // 2. Anyone with the link sees the public view.
    let view = engine.get_share_link_by_anonymous(share.id())?;
    println!(
        "2. anonymous view: creator {} / {}, has_pwd={}, expires {}",
        view.creator_name,
        view.creator_phone,
        view.has_pwd,
        view.expiration.map_or("never".into(), |t| t.to_rfc3339()),
    );

    let ask = |pw: &str| -> Result<IssuedToken, Error> {
        engine.get_share_token(TokenRequest {
            share_id: share.id().clone(),
            password: Some(SharePassword::new(pw)?),
            expire_sec: None,
            client: ClientKey::new("198.51.100.0/24")?,
            caller: None,
        })
    };

    // 3. A wrong password is refused.
    match ask("0000") {
        Err(e) => println!(
            "3. wrong password refused: {} ({}): {e}",
            e.code(),
            e.http_status()
        ),
        Ok(_) => return Err("a wrong password yielded a token".into()),
    }

    // 4. The right one yields a share token.
    let issued = ask("4xK9")?;
    println!("4. share token issued, expires_in={}s", issued.expires_in);

    // 5. The token authorizes a download inside the shared folder.
    let (report, apk) = (FileId::new("file-report")?, FileId::new("file-apk")?);
    let request = |file_id| FileRequest {
        token: issued.token.expose_secret(),
        share_id: share.id(),
        file_id,
        caller: None,
    };
    let ok = engine.authorize_download(&request(&report))?;
    println!(
        "5. download of {} authorized (downloads so far: {})",
        ok.file().name,
        ok.share().counters().download
    );

    // 6. The APK is refused: the share faces external users.
    match engine.authorize_download(&request(&apk)) {
        Err(e) => println!(
            "6. APK download refused: {} ({}): {e}",
            e.code(),
            e.http_status()
        ),
        Ok(_) => return Err("an APK download was authorized".into()),
    }
    let (used, limit) = engine.quota_usage(&alice.tenant, QuotaKind::Create)?;
    println!(
        "7. tenant {} has created {used} of {} shares today",
        alice.tenant,
        limit.map_or("unlimited".into(), |l| l.to_string())
    );
    Ok(())
}
