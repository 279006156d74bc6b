//! Deterministic shares and keys for backend tests.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sharelink_core::share::ShareSpec;
use sharelink_core::throttle::{self, ThrottlePolicy, ThrottleState};
use sharelink_core::*;

/// The instant every fixture starts from: 2026-03-01T04:00:00Z.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 4, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `t0()` plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// A valid share id derived from `n` (stable across runs).
pub fn share_id(n: u32) -> ShareId {
    ShareId::parse(&format!("fixture{n:08}")).unwrap_or_else(|e| panic!("fixture id: {e}"))
}

/// A tenant named `t{n}`.
pub fn tenant(n: u32) -> TenantId {
    TenantId::new(format!("t{n}")).unwrap_or_else(|e| panic!("fixture tenant: {e}"))
}

/// A user named `u{n}`.
pub fn user(n: u32) -> UserId {
    UserId::new(format!("u{n}")).unwrap_or_else(|e| panic!("fixture user: {e}"))
}

/// The member `u{user_n}` of tenant `t{tenant_n}`.
pub fn member(tenant_n: u32, user_n: u32) -> Member {
    Member {
        tenant: tenant(tenant_n),
        user_id: user(user_n),
    }
}

/// Every page of a listing, from `query`'s cursor on, following `next`.
/// Checks that no page passes its limit, that a page without `next` ends
/// the listing, and that paging terminates.
pub fn list_every_page(s: &dyn Storage, owner: &Member, query: &ShareListQuery) -> Vec<Share> {
    let mut out = Vec::new();
    let mut q = query.clone();
    loop {
        let page = s
            .list_shares(owner, &q)
            .unwrap_or_else(|e| panic!("list_shares: {e}"));
        assert!(
            page.items.len() <= q.page.limit,
            "a page of {} items for a limit of {}",
            page.items.len(),
            q.page.limit
        );
        out.extend(page.items);
        match page.next {
            Some(next) => q.page.after = Some(next),
            None => return out,
        }
        assert!(out.len() <= 100_000, "paging does not terminate");
    }
}

/// A client key named `c{n}`.
pub fn client(n: u32) -> ClientKey {
    ClientKey::new(format!("c{n}")).unwrap_or_else(|e| panic!("fixture client: {e}"))
}

/// What a fixture share looks like.
#[derive(Debug, Clone)]
pub struct ShareFixture {
    /// Id number (see [`share_id`]).
    pub id: u32,
    /// Tenant number.
    pub tenant: u32,
    /// Creator number.
    pub creator: u32,
    /// Creation instant, seconds after `t0()`.
    pub created: i64,
    /// Expiration, seconds after `t0()` (must be after `created`).
    pub expires: Option<i64>,
    /// Download limit (0 = unlimited).
    pub download_limit: u64,
    /// A precomputed password hash, if any.
    pub password: Option<PasswordHash>,
}

impl ShareFixture {
    /// A plain share: tenant 0, creator 0, created at `t0()`, never expires.
    pub fn new(id: u32) -> Self {
        Self {
            id,
            tenant: 0,
            creator: 0,
            created: 0,
            expires: None,
            download_limit: 0,
            password: None,
        }
    }

    /// Builds the share.
    pub fn build(&self) -> Share {
        let mut creator = Creator::new(user(self.creator));
        creator.display_name = format!("User {}", self.creator);
        creator.phone = "13900001234".into();
        let spec = ShareSpec {
            tenant: tenant(self.tenant),
            drive_id: DriveId::new("drive").unwrap_or_else(|e| panic!("{e}")),
            creator,
            files: ShareFiles::listed(vec![
                FileId::new("f1").unwrap_or_else(|e| panic!("{e}")),
                FileId::new("folder").unwrap_or_else(|e| panic!("{e}")),
            ])
            .unwrap_or_else(|e| panic!("{e}")),
            name: ShareName::new(format!("share {}", self.id)).unwrap_or_else(|e| panic!("{e}")),
            description: Description::new("déscription ✓").unwrap_or_else(|e| panic!("{e}")),
            expiration: self.expires.map(at),
            audience: Audience::Anyone,
            permissions: Permissions::default(),
            limits: Limits::from_wire(0, self.download_limit, 0),
        };
        Share::create(
            share_id(self.id),
            spec,
            self.password.clone(),
            at(self.created),
        )
        .unwrap_or_else(|e| panic!("fixture share: {e}"))
    }
}

/// A precomputed cheap password hash (argon2id at minimum cost).
pub fn cheap_hash(password: &str) -> PasswordHash {
    let pw = SharePassword::new(password).unwrap_or_else(|e| panic!("{e}"));
    PasswordHasher::insecure_fast()
        .hash_with_salt(&pw, &[7u8; 16])
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A quota charge for `tenant` on `day` (days after 2026-03-01).
pub fn charge(tenant_n: u32, kind: QuotaKind, day: u32, limit: u32) -> QuotaCharge {
    let base = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    QuotaCharge {
        key: QuotaKey {
            tenant: tenant(tenant_n),
            kind,
            day: base + chrono::Days::new(u64::from(day)),
        },
        limit,
    }
}

/// `state` after one attempt admitted at `now` (unchanged if refused).
pub fn admitted(state: ThrottleState, now: DateTime<Utc>) -> ThrottleState {
    throttle::admit(state, &ThrottlePolicy::default(), now).map_or(state, |(s, _)| s)
}

/// `state` after one wrong guess admitted and settled at `now`.
pub fn failed(state: ThrottleState, now: DateTime<Utc>) -> ThrottleState {
    let policy = ThrottlePolicy::default();
    match throttle::admit(state, &policy, now) {
        Ok((s, a)) => throttle::settle(s, a, throttle::AttemptOutcome::Failure, &policy, now),
        Err(_) => state,
    }
}

/// `state` after its oldest attempt in flight (a fresh one) is settled as
/// a right password, and whether to charge the quota (always).
pub fn succeeded(state: ThrottleState, now: DateTime<Utc>) -> AccessUpdate {
    let policy = ThrottlePolicy::default();
    let admission = throttle::Admission {
        pool: throttle::Pool::Fresh,
    };
    AccessUpdate {
        throttle: throttle::settle(
            state,
            admission,
            throttle::AttemptOutcome::Success,
            &policy,
            now,
        ),
        charge_quota: true,
    }
}
