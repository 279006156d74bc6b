//! The whole share-link flow on an embedded in-memory store, step by step.
//!
//! Run with `cargo run --example quickstart`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;

use chrono::Duration;
use sharelink_core::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let engine = Engine::builder(Arc::new(MemoryStorage::new()), catalog, keys).build();

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
    let request = |file_id| AccessRequest {
        token: issued.token.expose_secret(),
        share_id: share.id(),
        file_id,
        caller: None,
    };
    let ok = engine.authorize_download(&request(&report))?;
    println!(
        "5. download of {} authorized (downloads so far: {})",
        ok.file.name,
        ok.share.counters().download
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
    Ok(())
}
