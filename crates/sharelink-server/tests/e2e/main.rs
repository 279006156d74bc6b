//! End-to-end over real HTTP: every endpoint, every reachable error row of
//! the core's table and the HTTP layer's, and bad input of every kind. One
//! test binary, one module per area.

#[path = "../common/mod.rs"]
mod common;

mod content;
mod happy_path;
mod keys;
mod limits;
mod refusals;

use chrono::Duration;
use common::{ALICE_DRIVE, BOB_DRIVE, TestServer};
use serde_json::json;
use sharelink_core::{ShareId, TenantId, TenantPolicy};
use sharelink_server::StorageKind;

fn auth(token: &str) -> String {
    TestServer::bearer(token)
}

/// The reference server's stores are local files, so its read-only
/// requests run on the async workers (no thread hop): every layer between
/// the stores and the API (the engine, `Arc`s) must pass that on.
#[test]
fn local_stores_read_inline() {
    for storage in [StorageKind::Sqlite, StorageKind::Sled] {
        let dir = tempfile::tempdir().unwrap();
        let options = sharelink_server::AppOptions {
            storage: storage.clone(),
            ..sharelink_server::AppOptions::default()
        };
        let app = sharelink_server::App::open(dir.path(), &options).unwrap();
        assert!(app.engine.reads_are_local(), "{storage:?}: the engine");
        let api = app.api(sharelink_http::ApiConfig::default());
        assert!(api.reads_inline(), "{storage:?}: the API");
    }
}
