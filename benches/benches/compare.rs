//! Criterion benches: every engine figure next to its baseline.

#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use sharelink_benches::baselines::{Jwt, RawSqlite, TokenBytes};
use sharelink_benches::fixtures::{self, Backend, EngineFixture};
use sharelink_core::{ShareId, ShareRecord};

fn tokens(c: &mut Criterion) {
    let now = fixtures::now();
    let ring = fixtures::key_ring();
    let claims = fixtures::claims(now);
    let text = ring.sign(&claims).expose_secret().to_owned();
    let raw = TokenBytes::new(&[42u8; 32], &text);
    let jwt = Jwt::new(&[42u8; 32], claims.share_id().as_str(), now.timestamp());
    let mut g = c.benchmark_group("token_verify");
    g.bench_function("sharelink", |b| {
        b.iter(|| ring.verify_str(black_box(&text), now).expect("verify"))
    });
    g.bench_function("raw_hmac", |b| b.iter(|| raw.raw_verify()));
    g.bench_function("raw_hmac_prekeyed", |b| {
        b.iter(|| raw.raw_verify_prekeyed())
    });
    g.bench_function("jsonwebtoken", |b| b.iter(|| jwt.decode()));
    g.finish();
    let mut g = c.benchmark_group("token_issue");
    g.bench_function("sharelink", |b| b.iter(|| ring.sign(black_box(&claims))));
    g.bench_function("raw_hmac", |b| b.iter(|| raw.raw_sign()));
    g.bench_function("jsonwebtoken", |b| b.iter(|| jwt.encode()));
    g.finish();
    let mut g = c.benchmark_group("share_id");
    let mut rng = rand::rngs::OsRng;
    g.bench_function("generate", |b| {
        b.iter(|| ShareId::generate(&mut rng, 22).expect("id"))
    });
    g.bench_function("rand_16_bytes", |b| {
        b.iter(|| {
            let mut buf = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
            buf
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| ShareId::parse(black_box("O2Nhm5VnC2pmV9CxjETt8S")))
    });
    g.finish();
}

fn storage(c: &mut Criterion) {
    for backend in [Backend::Memory, Backend::SqliteNormal] {
        let fx = EngineFixture::new(backend);
        let mut g = c.benchmark_group(format!("engine_{}", backend.name().replace(' ', "_")));
        g.sample_size(20);
        g.bench_function("create_share_link", |b| b.iter(|| fx.create()));
        g.bench_function("get_share_token", |b| b.iter(|| fx.get_token()));
        g.bench_function("authorize_download", |b| b.iter(|| fx.download()));
        g.finish();
    }
    let dir = tempfile::tempdir().expect("dir");
    let fx = EngineFixture::new(Backend::SqliteNormal);
    let mut raw = RawSqlite::open(
        dir.path(),
        "NORMAL",
        String::from_utf8(ShareRecord::encode_share(&fx.share).expect("record")).expect("utf-8"),
    );
    let mut g = c.benchmark_group("raw_sqlite_NORMAL");
    g.sample_size(20);
    g.bench_function("create", |b| b.iter(|| raw.create()));
    g.bench_function("token", |b| b.iter(|| raw.token()));
    g.bench_function("download", |b| b.iter(|| raw.download()));
    g.finish();
}

criterion_group!(benches, tokens, storage);
criterion_main!(benches);
