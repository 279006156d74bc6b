//! Model-based test: the Engine over `MemoryStorage` agrees with a plain
//! reference model over random operation sequences.
//!
//! The sequences mix creations, token requests (right, wrong and missing
//! passwords, odd lifetimes), downloads of a normal file and of an APK,
//! cancels, password changes, expiration changes, clock advances across
//! token expiries, share expiries and quota-day boundaries, and key
//! rotation/removal. After every step, the engine's outcome (success, or the
//! stable error code) must equal the model's prediction.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sharelink_core::*;

const PASSWORDS: [&str; 3] = ["1234", "abcd", "zzzz"];
const CREATE_LIMIT: u32 = 4;
const ACCESS_LIMIT: u32 = 6;

/// Picks one element of a collection of any size, `raw / 2^64` of the way
/// in: the rule of proptest's `sample::Index`, kept here so that the named
/// regression cases below can spell their picks.
#[derive(Debug, Clone, Copy)]
struct Pick(u64);

impl Pick {
    /// The position in a collection of `size` elements (`size > 0`).
    fn index(self, size: usize) -> usize {
        usize::try_from((size as u128 * u128::from(self.0)) >> 64).unwrap_or(0)
    }
}

fn pick() -> impl Strategy<Value = Pick> + Clone {
    any::<u64>().prop_map(Pick)
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        pw: Option<usize>,
        expires_in: Option<i64>,
        download_limit: u64,
    },
    Token {
        share: Pick,
        pw: Option<usize>,
        expire_sec: Option<u32>,
    },
    Download {
        token: Pick,
        apk: bool,
    },
    Cancel {
        share: Pick,
    },
    SetPassword {
        share: Pick,
        pw: Option<usize>,
    },
    SetExpiration {
        share: Pick,
        expires_in: Option<i64>,
    },
    Advance {
        secs: i64,
    },
    RotateKey,
    RemoveOldestKey,
}

fn op() -> impl Strategy<Value = Op> {
    let idx = pick();
    prop_oneof![
        3 => (prop::option::of(0usize..2), prop::option::of(1i64..6000), 0u64..3)
            .prop_map(|(pw, expires_in, download_limit)| Op::Create { pw, expires_in, download_limit }),
        5 => (idx.clone(), prop::option::of(0usize..3), prop::option::of(prop_oneof![Just(0u32), 1u32..8000]))
            .prop_map(|(share, pw, expire_sec)| Op::Token { share, pw, expire_sec }),
        5 => (pick(), any::<bool>()).prop_map(|(token, apk)| Op::Download { token, apk }),
        1 => idx.clone().prop_map(|share| Op::Cancel { share }),
        1 => (idx.clone(), prop::option::of(0usize..2)).prop_map(|(share, pw)| Op::SetPassword { share, pw }),
        1 => (idx, prop::option::of(1i64..6000)).prop_map(|(share, expires_in)| Op::SetExpiration { share, expires_in }),
        3 => prop_oneof![0i64..600, 600i64..8000, Just(86_400)].prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::RotateKey),
        1 => Just(Op::RemoveOldestKey),
    ]
}

#[derive(Debug)]
struct MShare {
    id: ShareId,
    pw: Option<usize>,
    expiration: Option<DateTime<Utc>>,
    cancelled: bool,
    epoch: u64,
    downloads: u64,
    limit: u64,
}

#[derive(Debug)]
struct MToken {
    share: usize,
    text: String,
    epoch: u64,
    expires_at: DateTime<Utc>,
    key: String,
}

#[derive(Default)]
struct Model {
    shares: Vec<MShare>,
    tokens: Vec<MToken>,
    keys: Vec<String>, // oldest first; the last is active
    quota: HashMap<(&'static str, NaiveDate), u32>,
}

fn day(now: DateTime<Utc>) -> NaiveDate {
    (now + Duration::hours(8)).date_naive()
}

type Outcome = Result<(), &'static str>;

fn outcome<T>(r: &Result<T, Error>) -> Outcome {
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(e.code().as_str()),
    }
}

struct Harness {
    engine: Engine,
    clock: Arc<ManualClock>,
    alice: Member,
    drive: DriveId,
    next_key: u32,
    next_client: u32,
}

fn harness() -> Harness {
    let drive = DriveId::new("d").unwrap();
    let catalog = Arc::new(MemoryCatalog::new());
    catalog
        .add(&drive, "f1", None, "notes.txt", FileKind::File)
        .unwrap();
    catalog
        .add(&drive, "app", None, "Game.apk", FileKind::File)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let keys = KeyRing::new(SigningKey::generate(KeyId::new("k0").unwrap(), &mut rng));
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 5, 1, 15, 0, 0).unwrap(),
    ));
    let mut config = EngineConfig {
        password_hasher: PasswordHasher::insecure_fast(),
        ..EngineConfig::default()
    };
    config.quota.creations_per_day = CREATE_LIMIT;
    config.quota.accesses_per_day = ACCESS_LIMIT;
    config.quota.day_offset = FixedOffset::east_opt(8 * 3600).unwrap();
    // Throttling has its own tests; here every request comes from a fresh
    // client and the share-wide budgets are out of reach.
    config.throttle.fresh_burst = u32::MAX / 4;
    config.throttle.suspect_burst = u32::MAX / 4;
    let engine = Engine::builder(Arc::new(MemoryStorage::new()), catalog, keys)
        .clock(clock.clone())
        .config(config)
        .rng(Box::new(rng))
        .build()
        .unwrap();
    Harness {
        engine,
        clock,
        alice: Member {
            tenant: TenantId::new("t").unwrap(),
            user_id: UserId::new("alice").unwrap(),
        },
        drive,
        next_key: 1,
        next_client: 0,
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = harness();
    let mut m = Model {
        keys: vec!["k0".into()],
        ..Model::default()
    };
    for (step, op) in ops.into_iter().enumerate() {
        let now = h.clock.now();
        match op {
            Op::Create {
                pw,
                expires_in,
                download_limit,
            } => {
                let used = m.quota.entry(("create", day(now))).or_default();
                let expected: Outcome = if *used >= CREATE_LIMIT {
                    Err("QuotaExhausted.ShareLinkCreate")
                } else {
                    Ok(())
                };
                let mut req = CreateShareRequest::new(
                    h.alice.tenant.clone(),
                    Creator::new(h.alice.user_id.clone()),
                    h.drive.clone(),
                    ShareFiles::listed(vec![
                        FileId::new("f1").unwrap(),
                        FileId::new("app").unwrap(),
                    ])
                    .unwrap(),
                );
                req.password = pw.map(|i| SharePassword::new(PASSWORDS[i]).unwrap());
                req.expiration = expires_in.map(|s| now + Duration::seconds(s));
                req.limits.download = std::num::NonZeroU64::new(download_limit);
                let got = h.engine.create_share_link(req);
                match (&got, expected) {
                    (Ok(share), Ok(())) => {
                        *used += 1;
                        m.shares.push(MShare {
                            id: share.id().clone(),
                            pw,
                            expiration: share.expiration(),
                            cancelled: false,
                            epoch: 0,
                            downloads: 0,
                            limit: download_limit,
                        });
                    }
                    (Err(e), Err(c)) => prop_assert_eq!(e.code().as_str(), c, "step {}", step),
                    (got, exp) => {
                        prop_assert!(false, "step {step}: create got {got:?}, model {exp:?}")
                    }
                }
            }
            Op::Token {
                share,
                pw,
                expire_sec,
            } => {
                if m.shares.is_empty() {
                    continue;
                }
                let share = share.index(m.shares.len());
                let s = &m.shares[share];
                let access = m.quota.entry(("access", day(now))).or_default();
                let expected: Outcome = if s.cancelled {
                    Err("ShareLink.Cancelled")
                } else if s.expiration.is_some_and(|e| e <= now) {
                    Err("ShareLink.Expired")
                } else if expire_sec.is_some_and(|x| x > 7200) {
                    Err("InvalidParameterOutOfRange")
                } else if s.pw.is_some() && s.pw != pw {
                    Err("InvalidResource.SharePwd")
                } else if *access >= ACCESS_LIMIT {
                    Err("QuotaExhausted.ShareLinkAccess")
                } else {
                    Ok(())
                };
                h.next_client += 1;
                let got = h.engine.get_share_token(TokenRequest {
                    share_id: s.id.clone(),
                    password: pw.map(|i| SharePassword::new(PASSWORDS[i]).unwrap()),
                    expire_sec,
                    client: ClientKey::new(format!("c{}", h.next_client)).unwrap(),
                    caller: None,
                });
                prop_assert_eq!(outcome(&got), expected, "step {}", step);
                if let Ok(issued) = got {
                    *access += 1;
                    let life = match expire_sec {
                        None | Some(0) => 7200,
                        Some(x) => i64::from(x),
                    };
                    let mut exp = now + Duration::seconds(life);
                    if let Some(e) = s.expiration {
                        exp = exp.min(e);
                    }
                    prop_assert_eq!(issued.expires_at, exp);
                    m.tokens.push(MToken {
                        share,
                        text: issued.token.expose_secret().to_owned(),
                        epoch: s.epoch,
                        expires_at: exp,
                        key: m.keys.last().unwrap().clone(),
                    });
                }
            }
            Op::Download { token, apk } => {
                if m.tokens.is_empty() {
                    continue;
                }
                let t = &m.tokens[token.index(m.tokens.len())];
                let s = &mut m.shares[t.share];
                let expected: Outcome =
                    if !m.keys.contains(&t.key) || t.expires_at <= now || t.epoch != s.epoch {
                        Err("ShareLinkTokenInvalid")
                    } else if s.limit != 0 && s.downloads >= s.limit {
                        // The share's own rules come before the file's.
                        Err("ShareLink.DownloadLimitExceeded")
                    } else if apk {
                        Err("ForbiddenFileType.Download")
                    } else {
                        Ok(())
                    };
                let file = FileId::new(if apk { "app" } else { "f1" }).unwrap();
                let got = h.engine.authorize_download(&FileRequest {
                    token: &t.text,
                    share_id: &s.id,
                    file_id: &file,
                    caller: None,
                });
                prop_assert_eq!(outcome(&got), expected, "step {}", step);
                if let Ok(auth) = got {
                    s.downloads += 1;
                    prop_assert_eq!(auth.share().counters().download, s.downloads);
                }
            }
            Op::Cancel { share } => {
                if m.shares.is_empty() {
                    continue;
                }
                let len = m.shares.len();
                let s = &mut m.shares[share.index(len)];
                let expected: Outcome = if s.cancelled {
                    Err("ShareLink.Cancelled")
                } else {
                    Ok(())
                };
                let got = outcome(&h.engine.cancel_share_link(&h.alice, &s.id));
                prop_assert_eq!(got, expected, "step {}", step);
                if got.is_ok() {
                    s.cancelled = true;
                    s.epoch += 1;
                }
            }
            Op::SetPassword { share, pw } => {
                if m.shares.is_empty() {
                    continue;
                }
                let len = m.shares.len();
                let s = &mut m.shares[share.index(len)];
                let got = h.engine.update_share_link(
                    &h.alice,
                    &s.id,
                    ShareUpdate {
                        password: Some(pw.map_or(PasswordChange::Remove, |i| {
                            PasswordChange::Set(SharePassword::new(PASSWORDS[i]).unwrap())
                        })),
                        ..Default::default()
                    },
                );
                prop_assert!(got.is_ok(), "step {step}: {got:?}");
                // A new hash (fresh salt) is always a change; none -> none is not.
                if s.pw.is_some() || pw.is_some() {
                    s.epoch += 1;
                }
                s.pw = pw;
            }
            Op::SetExpiration { share, expires_in } => {
                if m.shares.is_empty() {
                    continue;
                }
                let len = m.shares.len();
                let s = &mut m.shares[share.index(len)];
                let new = expires_in.map(|x| now + Duration::seconds(x));
                let got = h.engine.update_share_link(
                    &h.alice,
                    &s.id,
                    ShareUpdate {
                        expiration: Some(new),
                        ..Default::default()
                    },
                );
                prop_assert!(got.is_ok(), "step {step}: {got:?}");
                if new != s.expiration {
                    s.epoch += 1;
                }
                s.expiration = new;
            }
            Op::Advance { secs } => h.clock.advance(Duration::seconds(secs)),
            Op::RotateKey => {
                let id = format!("k{}", h.next_key);
                h.next_key += 1;
                let key = h.engine.generate_signing_key(KeyId::new(&id).unwrap());
                h.engine.rotate_signing_key(key).unwrap();
                m.keys.push(id);
            }
            Op::RemoveOldestKey => {
                if m.keys.len() > 1 {
                    let id = m.keys.remove(0);
                    h.engine
                        .remove_signing_key(&KeyId::new(&id).unwrap())
                        .unwrap();
                }
            }
        }
        // Stored counters agree with the model after every step.
        for s in &m.shares {
            let stored = h.engine.get_share_link(&h.alice, &s.id).unwrap();
            prop_assert_eq!(stored.counters().download, s.downloads);
            prop_assert_eq!(stored.token_epoch(), s.epoch);
            prop_assert!(s.limit == 0 || stored.counters().download <= s.limit);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn engine_agrees_with_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}

/// The cases proptest once shrank failures to (they were its persisted
/// regression seeds), as named tests that always run.
mod regressions {
    use super::*;

    fn create(download_limit: u64) -> Op {
        Op::Create {
            pw: None,
            expires_in: None,
            download_limit,
        }
    }

    fn token(share: u64, pw: Option<usize>, expire_sec: Option<u32>) -> Op {
        Op::Token {
            share: Pick(share),
            pw,
            expire_sec,
        }
    }

    fn download(token: u64) -> Op {
        Op::Download {
            token: Pick(token),
            apk: false,
        }
    }

    /// Downloads against a limit of 1 with tokens of several shares, one
    /// of them cancelled, and a token asked with a password the share does
    /// not have.
    #[test]
    fn limits_and_cancelled_shares_with_many_tokens() {
        run(vec![
            create(1),
            create(0),
            download(0),
            create(0),
            Op::Cancel {
                share: Pick(17_390_450_993_457_457),
            },
            create(1),
            token(16_471_007_976_561_175_975, Some(0), Some(149)),
            token(16_031_071_590_284_881_684, Some(0), None),
            token(55_364_816_757_871_476, None, None),
            token(543_952_545_188_283_721, None, None),
            download(10_513_376_338_402_034_760),
            download(16_660_637_840_092_767_716),
        ])
        .unwrap();
    }

    /// Seven token requests for one share (the access quota is six a day),
    /// the last with a password the share does not have.
    #[test]
    fn seven_token_requests_against_an_access_quota_of_six() {
        let mut ops = vec![create(0)];
        ops.extend((0..6).map(|_| token(0, None, None)));
        ops.push(token(3, Some(0), Some(4413)));
        run(ops).unwrap();
    }

    /// Creation quota: the fifth share against a limit of four.
    #[test]
    fn the_creation_quota_stops_the_fifth_share() {
        run((0..5).map(|_| create(0)).collect()).unwrap();
    }

    /// A token signed by a key that was rotated out and then removed.
    #[test]
    fn a_token_of_a_removed_key_downloads_nothing() {
        run(vec![
            create(0),
            create(0),
            token(0, None, None),
            Op::RotateKey,
            Op::RemoveOldestKey,
            download(0),
        ])
        .unwrap();
    }
}
