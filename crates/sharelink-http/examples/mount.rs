//! Mounting the PDS share-link router in your own axum app.
//!
//! Run it with `cargo run -p sharelink-http --example mount`, then:
//!
//! ```text
//! curl -s localhost:8090/v2/share_link/create -H 'Authorization: Bearer token-of-ann' \
//!      -d '{"drive_id":"ann-drive","file_id_list":["readme"]}'
//! ```
//!
//! The two host traits are implemented here in memory; a real host backs
//! them with its user sessions and its file service.

#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::get;
use chrono::Utc;
use sharelink_core::{
    CatalogError, Creator, DriveId, Engine, FileCatalog, FileId, FileKind, FileMeta, KeyId,
    KeyRing, Member, MemoryStorage, SigningKey, TenantId, UserId,
};
use sharelink_http::{
    ApiConfig, AuthError, Authenticator, Caller, ChildPage, ChildQuery, CopyError, CopyLimits,
    CopyOutcome, DriveStore, FileEntry, ListError, ShareApi, page_entries,
};

/// Your sessions: access token -> user. Here a fixed table.
pub struct StaticTokens(pub HashMap<String, Caller>);

impl Authenticator for StaticTokens {
    fn authenticate(&self, access_token: &str) -> Result<Caller, AuthError> {
        self.0
            .get(access_token)
            .cloned()
            .ok_or_else(|| AuthError::InvalidToken("unknown token".into()))
    }
}

/// Each file's wire entry and content, by drive and file id.
type Files = BTreeMap<(DriveId, FileId), (FileEntry, Vec<u8>)>;

/// Your file service: here a map of entries with their bytes, one drive per user.
#[derive(Default)]
pub struct InMemoryDrives {
    files: RwLock<Files>,
    owners: RwLock<HashMap<DriveId, Member>>,
}

impl InMemoryDrives {
    /// Adds a file (`content: Some`) or a folder.
    pub fn put(
        &self,
        drive: &str,
        id: &str,
        parent: Option<&str>,
        name: &str,
        content: Option<&[u8]>,
    ) {
        let now = Utc::now();
        let meta = FileMeta {
            drive_id: DriveId::new(drive).expect("valid drive id"),
            file_id: FileId::new(id).expect("valid file id"),
            parent_file_id: parent.map(|p| FileId::new(p).expect("valid parent id")),
            name: name.into(),
            kind: if content.is_some() {
                FileKind::File
            } else {
                FileKind::Folder
            },
            mime_type: content.map(|_| "application/octet-stream".into()),
            size: content.map_or(0, |c| c.len() as u64),
        };
        let key = (meta.drive_id.clone(), meta.file_id.clone());
        let entry = FileEntry {
            meta,
            created_at: now,
            updated_at: now,
            content_hash: None,
        };
        let bytes = content.unwrap_or_default().to_vec();
        self.files
            .write()
            .expect("lock")
            .insert(key, (entry, bytes));
    }
}

impl FileCatalog for InMemoryDrives {
    fn file(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileMeta>, CatalogError> {
        Ok(self.entry(drive, file)?.map(|e| e.meta))
    }
}

impl DriveStore for InMemoryDrives {
    fn may_access(&self, caller: &Member, drive: &DriveId) -> Result<bool, CatalogError> {
        Ok(self.owners.read().expect("lock").get(drive) == Some(caller))
    }

    fn entry(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileEntry>, CatalogError> {
        let files = self.files.read().expect("lock");
        Ok(files
            .get(&(drive.clone(), file.clone()))
            .map(|(e, _)| e.clone()))
    }

    fn list_children(
        &self,
        drive: &DriveId,
        parent: Option<&FileId>,
        query: &ChildQuery,
    ) -> Result<ChildPage, ListError> {
        let files = self.files.read().expect("lock");
        let children = files
            .values()
            .map(|(e, _)| e)
            .filter(|e| &e.meta.drive_id == drive && e.meta.parent_file_id.as_ref() == parent)
            .cloned()
            .collect();
        // A bad marker is the client's mistake: 400, not 500.
        Ok(page_entries(children, query)?)
    }

    fn copy(
        &self,
        source: &FileMeta,
        to_drive: &DriveId,
        to_parent: Option<&FileId>,
        _auto_rename: bool,
        _limits: &CopyLimits,
    ) -> Result<CopyOutcome, CopyError> {
        // A shallow copy, enough for the example.
        let mut files = self.files.write().expect("lock");
        let (entry, bytes) = files
            .get(&(source.drive_id.clone(), source.file_id.clone()))
            .cloned()
            .ok_or_else(|| CopyError::Store(CatalogError::msg("source vanished")))?;
        let new_id = FileId::new(format!("{}-copy", source.file_id)).expect("valid id");
        let mut copy = entry;
        copy.meta.drive_id = to_drive.clone();
        copy.meta.file_id = new_id.clone();
        copy.meta.parent_file_id = to_parent.cloned();
        files.insert((to_drive.clone(), new_id), (copy.clone(), bytes));
        Ok(CopyOutcome {
            file: copy.meta,
            async_task_id: None,
        })
    }

    fn open(&self, file: &FileMeta) -> Result<Box<dyn Read + Send>, CatalogError> {
        self.open_at(file, 0)
    }

    fn open_at(&self, file: &FileMeta, offset: u64) -> Result<Box<dyn Read + Send>, CatalogError> {
        let files = self.files.read().expect("lock");
        let (_, bytes) = files
            .get(&(file.drive_id.clone(), file.file_id.clone()))
            .ok_or_else(|| CatalogError::msg("no such file"))?;
        let mut content = Cursor::new(bytes.clone());
        content.set_position(offset);
        Ok(Box::new(content))
    }
}

/// Your app: your own routes, plus the PDS share-link API merged in.
pub fn app() -> Router {
    let ann = Caller {
        member: Member {
            tenant: TenantId::new("acme").expect("valid tenant"),
            user_id: UserId::new("ann").expect("valid user"),
        },
        profile: Creator::new(UserId::new("ann").expect("valid user")),
    };
    let drives = Arc::new(InMemoryDrives::default());
    drives.put("ann-drive", "readme", None, "README.txt", Some(b"hello"));
    drives.owners.write().expect("lock").insert(
        DriveId::new("ann-drive").expect("valid drive"),
        ann.member.clone(),
    );
    let auth = Arc::new(StaticTokens(HashMap::from([(
        "token-of-ann".to_owned(),
        ann,
    )])));

    // Keep the signing key somewhere safe and load it at start; a fresh one
    // per start (as here) invalidates every share token on restart.
    let keys = KeyRing::new(SigningKey::generate(
        KeyId::new("k1").expect("valid key id"),
        &mut rand::rngs::OsRng,
    ));
    let engine = Arc::new(
        Engine::builder(Arc::new(MemoryStorage::new()), drives.clone(), keys)
            .build()
            .expect("the default engine configuration is valid"),
    );

    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(ShareApi::new(engine, auth, drives, ApiConfig::default()).router())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
    println!("listening on http://{}", listener.local_addr()?);
    sharelink_http::serve(listener, app(), sharelink_http::shutdown_signal()).await
}
