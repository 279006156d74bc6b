//! Quotas, throttling and limits over HTTP, concurrent requests included.

use super::*;

#[test]
fn quotas_and_throttling_answer_429_with_retry_after() {
    let s = TestServer::start();
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: false,
            creations_per_day: Some(2),
            accesses_per_day: Some(3),
        },
    );
    let alice = auth(&s.alice);
    let a = s.create(json!({ "file_id_list": ["welcome"] }));
    s.create(json!({ "file_id_list": ["welcome"] }));
    let r = s.post(
        "/v2/share_link/create",
        json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }),
        &[("authorization", &alice)],
    );
    r.assert_error(429, "QuotaExhausted.ShareLinkCreate");
    // t0 is 10:00 at +08:00, so the quota resets in 14 hours
    assert_eq!(r.headers["retry-after"], "50400");

    // An access is one client's first token for one share in a quota day.
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: false,
            creations_per_day: Some(10),
            accesses_per_day: Some(3),
        },
    );
    let shares: Vec<String> = (0..3)
        .map(|_| s.create(json!({ "file_id_list": ["welcome"] })))
        .collect();
    for id in &shares {
        s.token(id, None);
    }
    let r = s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": a }),
        &[],
    );
    r.assert_error(429, "QuotaExhausted.ShareLinkAccess");
    assert_eq!(r.headers["retry-after"], "50400");
    // A repeat for a share this client already opened today costs nothing.
    s.token(&shares[0], None);
    s.clock.advance(Duration::hours(14));
    s.token(&a, None);

    // password guessing: 5 free failures; the 6th failure costs a 1 s wait,
    // answered with 429 and Retry-After
    let p = s.create(json!({ "file_id_list": ["welcome"], "share_pwd": "right" }));
    for _ in 0..6 {
        s.post(
            "/v2/share_link/get_share_token",
            json!({ "share_id": p, "share_pwd": "wrong" }),
            &[],
        )
        .assert_error(400, "InvalidResource.SharePwd");
    }
    let r = s.post(
        "/v2/share_link/get_share_token",
        json!({ "share_id": p, "share_pwd": "right" }),
        &[],
    );
    r.assert_error(429, "TooManyRequests");
    assert_eq!(r.headers["retry-after"], "1");
    s.clock.advance(Duration::seconds(1));
    s.token(&p, Some("right"));
}

#[test]
fn creation_quota_holds_under_concurrent_http_requests() {
    let s = TestServer::start();
    s.app.engine.set_tenant_policy(
        TenantId::new("demo").unwrap(),
        TenantPolicy {
            custom_domain: false,
            creations_per_day: Some(13),
            accesses_per_day: None,
        },
    );
    let alice = auth(&s.alice);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    (0..5)
                        .map(|_| {
                            s.post(
                                "/v2/share_link/create",
                                json!({ "drive_id": ALICE_DRIVE, "file_id_list": ["welcome"] }),
                                &[("authorization", &alice)],
                            )
                            .status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 13);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30 - 13);
}
