//! The `mount` example, driven in-process through the router (no socket,
//! no `ConnectInfo`): the host traits as a README reader would write them.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/mount.rs"]
mod example;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn call(router: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let req_is_sharelink = req.uri().path().starts_with("/v2/");
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    // The host's own routes are its own; every sharelink route has a request id.
    if req_is_sharelink {
        assert!(res.headers().contains_key("x-ca-request-id"));
    }
    (
        status,
        to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec(),
    )
}

fn post(path: &str, body: Value, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::post(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn the_mounted_router_serves_the_whole_flow() {
    let app = example::app();
    let (status, body) = call(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"ok".as_slice())
    );

    let auth = [("authorization", "Bearer token-of-ann")];
    let (status, body) = call(
        &app,
        post(
            "/v2/share_link/create",
            json!({"drive_id": "ann-drive", "file_id_list": ["readme"]}),
            &auth,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let share: Value = serde_json::from_slice(&body).unwrap();
    let id = share["share_id"].as_str().unwrap();
    assert_eq!(share["share_name"], "README.txt");

    let (status, body) = call(
        &app,
        post(
            "/v2/share_link/get_share_token",
            json!({"share_id": id}),
            &[],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token: Value = serde_json::from_slice(&body).unwrap();
    let token = token["share_token"].as_str().unwrap();

    let (status, body) = call(
        &app,
        Request::get(format!("/v2/file/download?share_id={id}&file_id=readme"))
            .header("x-share-token", token)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"hello".as_slice())
    );

    // someone else's token, and ann's drive for an unknown caller
    let (status, body) = call(
        &app,
        post(
            "/v2/share_link/create",
            json!({"drive_id": "ann-drive", "file_id_list": ["readme"]}),
            &[("authorization", "Bearer nope")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "AccessTokenInvalid");
}
