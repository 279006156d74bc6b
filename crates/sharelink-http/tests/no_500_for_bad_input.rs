//! Property: whatever JSON (or bytes) arrives at any endpoint, with or
//! without tokens, the answer is never a 5xx, and every error is a JSON
//! `{code, message, requestId}`.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/mount.rs"]
mod example;

use axum::body::{Body, to_bytes};
use axum::http::Request;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

const PATHS: [&str; 14] = [
    "/v2/share_link/create",
    "/v2/share_link/get",
    "/v2/share_link/update",
    "/v2/share_link/cancel",
    "/v2/share_link/list",
    "/v2/share_link/search",
    "/v2/share_link/get_by_anonymous",
    "/v2/share_link/get_share_token",
    "/v2/file/list",
    "/v2/file/get",
    "/v2/file/get_download_url",
    "/v2/file/copy",
    "/v2/file/get_video_preview_play_info",
    "/v2/async_task/get",
];

/// The field names the endpoints read, so that generated bodies hit them.
const FIELDS: [&str; 28] = [
    "share_id",
    "drive_id",
    "file_id",
    "file_id_list",
    "share_pwd",
    "share_name",
    "description",
    "expiration",
    "download_limit",
    "preview_limit",
    "save_limit",
    "disable_download",
    "status",
    "limit",
    "marker",
    "order_by",
    "order_direction",
    "query",
    "creators",
    "expire_sec",
    "parent_file_id",
    "to_drive_id",
    "to_parent_file_id",
    "share_all_files",
    "category",
    "url_expire_sec",
    "get_without_url",
    "async_task_id",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(json!("")),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => Just(json!(u64::MAX)),
        2 => ".{0,40}".prop_map(Value::String),
        2 => "[A-Za-z0-9]{11,24}".prop_map(Value::String),
        1 => Just(json!("root")),
        1 => Just(json!("readme")),
        1 => Just(json!("ann-drive")),
        1 => Just(json!("2030-01-01T00:00:00.000Z")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A field's value: mostly a leaf (the interesting edge cases), sometimes
/// nested JSON.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![4 => leaf(), 1 => value()]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // objects over the real field names, each present with p = 1/2 (most cases)
        4 => prop::collection::vec(prop::option::of(field_value()), FIELDS.len()).prop_map(|vals| {
            let obj: Map<String, Value> = FIELDS
                .iter()
                .zip(vals)
                .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v)))
                .collect();
            Value::Object(obj).to_string().into_bytes()
        }),
        // any JSON value
        1 => value().prop_map(|v| v.to_string().into_bytes()),
        // any bytes
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "authorization",
                "x-share-token",
                "x-acs-bearer-token",
                "host",
            ]),
            prop_oneof![
                Just("Bearer token-of-ann".to_owned()),
                "[ -~]{0,40}".prop_map(|s| s),
                Just("v1.k1.AAAA.BBBB".to_owned()),
                Just("http://127.0.0.1:8080".to_owned()),
            ],
        ),
        0..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn never_a_5xx(path in prop::sample::select(PATHS.to_vec()), body in body(), headers in headers()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = example::app();
        let (status, bytes) = rt.block_on(async move {
            let mut req = Request::post(path);
            for (k, v) in &headers {
                req = req.header(*k, v.as_str());
            }
            let res = app.oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
            let status = res.status().as_u16();
            (status, to_bytes(res.into_body(), 1 << 20).await.unwrap())
        });
        prop_assert!(status < 500, "{path}: {status} {}", String::from_utf8_lossy(&bytes));
        if status >= 400 {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()));
            prop_assert!(v["message"].as_str().is_some());
            prop_assert!(v["requestId"].as_str().is_some_and(|r| r.len() == 36));
        }
    }
}
