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
