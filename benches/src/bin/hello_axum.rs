//! The baseline of the wire report: a hello-world axum JSON handler on the
//! same runtime settings as the reference server (tokio's multi-threaded
//! runtime, one worker per core), so that the report's ratios measure what
//! sharelink adds over the framework itself.
//!
//! ```text
//! cargo run -p sharelink-benches --release --bin hello_axum -- 127.0.0.1:18090
//! cargo run -p sharelink-benches --release --bin hello_axum -- 127.0.0.1:18090 guarded
//! ```
//!
//! `guarded` serves the same handler through sharelink's own connection
//! loop ([`sharelink_http::serve_with`]: per-address limits, timeouts,
//! drain), to tell what that loop costs apart from the rest.
//! `--answer-bytes=N` pads the answer to about `N` bytes (with one string
//! field), to tell what the size of an answer costs apart from the rest.

#![allow(clippy::print_stdout)]

use axum::Json;
use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};

/// Reads the JSON body (as every PDS call has one) and answers a small
/// JSON object.
async fn hello(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({ "hello": "world", "fields": body.as_object().map_or(0, |o| o.len()) }))
}

/// [`hello`] with a filler field of `pad` bytes.
async fn padded(pad: &'static str, Json(body): Json<Value>) -> Json<Value> {
    Json(json!({
        "hello": "world",
        "fields": body.as_object().map_or(0, |o| o.len()),
        "pad": pad,
    }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    let guarded = std::env::args().skip(2).any(|a| a == "guarded");
    let answer_bytes = std::env::args()
        .skip(2)
        .find_map(|a| a.strip_prefix("--answer-bytes=")?.parse::<usize>().ok());
    let app = match answer_bytes {
        None => Router::new().fallback(post(hello)),
        Some(n) => {
            let pad: &'static str = "x".repeat(n.saturating_sub(40)).leak();
            Router::new().fallback(post(move |body| padded(pad, body)))
        }
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("hello_axum listening on http://{}", listener.local_addr()?);
    if guarded {
        let config = sharelink_http::ServeConfig::default();
        sharelink_http::serve_with(listener, app, config, std::future::pending()).await
    } else {
        axum::serve(listener, app).await
    }
}
