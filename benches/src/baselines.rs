//! What a user would otherwise write: raw HMAC, `jsonwebtoken`, raw
//! rusqlite and raw sled doing the same rows with the same durability.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rusqlite::{Connection, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The parts of one of our tokens, for HMAC baselines over the same bytes.
pub struct TokenBytes {
    pub key: Vec<u8>,
    pub signed: Vec<u8>,
    pub tag: Vec<u8>,
    prekeyed: HmacSha256,
}

impl TokenBytes {
    pub fn new(key: &[u8], token: &str) -> Self {
        let (signed, tag) = token.rsplit_once('.').expect("token shape");
        Self {
            key: key.to_vec(),
            signed: signed.as_bytes().to_vec(),
            tag: URL_SAFE_NO_PAD.decode(tag).expect("tag"),
            prekeyed: HmacSha256::new_from_slice(key).expect("key"),
        }
    }

    /// HMAC-SHA256 keyed per call, over the signed bytes, constant-time compare.
    pub fn raw_verify(&self) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("key");
        mac.update(&self.signed);
        mac.verify_slice(&self.tag).is_ok()
    }

    /// The same with the key schedule precomputed (what our KeyRing does).
    pub fn raw_verify_prekeyed(&self) -> bool {
        let mut mac = self.prekeyed.clone();
        mac.update(&self.signed);
        mac.verify_slice(&self.tag).is_ok()
    }

    /// HMAC-SHA256 keyed per call, producing the tag.
    pub fn raw_sign(&self) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("key");
        mac.update(&self.signed);
        mac.finalize().into_bytes().into()
    }
}

/// Claims equivalent to a share token's.
#[derive(Debug, Serialize, Deserialize)]
pub struct JwtClaims {
    pub sub: String,
    pub epoch: u64,
    pub iat: i64,
    pub exp: i64,
}

/// jsonwebtoken's HS256 signer and verifier exactly as its `rust_crypto`
/// backend writes them (`hmac` + `sha2`: clone the keyed state, reset,
/// update, finalize or `verify_slice`), installed as the process's crypto
/// provider. The measured code path is jsonwebtoken's own; what is left out
/// is compiling RSA, ECDSA and EdDSA (the `rust_crypto` feature pulls them
/// all) into every build of the workspace.
mod jwt_hs256 {
    use hmac::{Hmac, Mac};
    use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
    use jsonwebtoken::errors::{ErrorKind, Result};
    use jsonwebtoken::signature::{self, Signer, Verifier};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
    use sha2::Sha256;

    type HmacSha256 = Hmac<Sha256>;

    struct Hs256Signer(HmacSha256);

    impl Signer<Vec<u8>> for Hs256Signer {
        fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
            let mut signer = self.0.clone();
            signer.reset();
            signer.update(msg);
            Ok(signer.finalize().into_bytes().to_vec())
        }
    }

    impl JwtSigner for Hs256Signer {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    struct Hs256Verifier(HmacSha256);

    impl Verifier<Vec<u8>> for Hs256Verifier {
        fn verify(
            &self,
            msg: &[u8],
            signature: &Vec<u8>,
        ) -> std::result::Result<(), signature::Error> {
            let mut verifier = self.0.clone();
            verifier.reset();
            verifier.update(msg);
            verifier
                .verify_slice(signature)
                .map_err(signature::Error::from_source)
        }
    }

    impl JwtVerifier for Hs256Verifier {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    fn keyed(secret: &[u8]) -> Result<HmacSha256> {
        HmacSha256::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        match alg {
            Algorithm::HS256 => Ok(Box::new(Hs256Signer(keyed(key.try_get_hmac_secret()?)?))),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        match alg {
            Algorithm::HS256 => Ok(Box::new(Hs256Verifier(keyed(key.try_get_hmac_secret()?)?))),
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory: new_signer,
        verifier_factory: new_verifier,
        jwk_utils: JwkUtils::new_unimplemented(),
    };

    /// Installs the provider (once per process; later calls do nothing).
    pub(super) fn install() {
        let _ = PROVIDER.install_default();
    }
}

/// `jsonwebtoken` HS256 with prebuilt keys.
pub struct Jwt {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
    header: Header,
    pub claims: JwtClaims,
    pub token: String,
}

impl Jwt {
    pub fn new(key: &[u8], share_id: &str, iat: i64) -> Self {
        jwt_hs256::install();
        let claims = JwtClaims {
            sub: share_id.to_owned(),
            epoch: 3,
            iat,
            exp: iat + 7200,
        };
        let enc = EncodingKey::from_secret(key);
        let header = Header::new(Algorithm::HS256);
        let token = jsonwebtoken::encode(&header, &claims, &enc).expect("jwt encode");
        Self {
            enc,
            dec: DecodingKey::from_secret(key),
            validation: Validation::new(Algorithm::HS256),
            header,
            claims,
            token,
        }
    }

    pub fn encode(&self) -> String {
        jsonwebtoken::encode(&self.header, &self.claims, &self.enc).expect("jwt encode")
    }

    pub fn decode(&self) -> JwtClaims {
        jsonwebtoken::decode::<JwtClaims>(&self.token, &self.dec, &self.validation)
            .expect("jwt decode")
            .claims
    }
}

const RAW_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS shares (
    share_id TEXT PRIMARY KEY NOT NULL, tenant TEXT NOT NULL, creator TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, expiration_ms INTEGER,
    status TEXT NOT NULL, version INTEGER NOT NULL, token_epoch INTEGER NOT NULL, body TEXT NOT NULL,
    access_count INTEGER NOT NULL DEFAULT 0, download_count INTEGER NOT NULL DEFAULT 0,
    download_limit INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shares_by_creator ON shares (tenant, creator, created_at_ms DESC, share_id DESC);
CREATE TABLE IF NOT EXISTS quota (tenant TEXT NOT NULL, kind TEXT NOT NULL, day TEXT NOT NULL,
    used INTEGER NOT NULL, PRIMARY KEY (tenant, kind, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS throttle_share (share_id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS throttle_client (share_id TEXT NOT NULL, client TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (share_id, client)) WITHOUT ROWID;
";

/// One unit of a quota counter, under its limit, in one statement.
fn charge_quota(conn: &Connection, kind: &str, day: &str) {
    conn.execute(
        "INSERT INTO quota (tenant, kind, day, used) VALUES ('acme', ?1, ?2, 1)
         ON CONFLICT (tenant, kind, day) DO UPDATE SET used = used + 1 WHERE used < 4294967295",
        [kind, day],
    )
    .expect("quota");
}

/// Hand-written rusqlite: the same rows as the engine, in one transaction
/// each, with the same pragmas (WAL, the given `synchronous`).
pub struct RawSqlite {
    conn: Connection,
    body: String,
    next: u64,
}

impl RawSqlite {
    pub fn open(dir: &Path, synchronous: &str, share_body: String) -> Self {
        let conn = Connection::open(dir.join("raw.sqlite")).expect("open");
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .expect("busy");
        let _: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .expect("wal");
        conn.pragma_update(None, "synchronous", synchronous)
            .expect("sync");
        conn.execute_batch(RAW_SCHEMA).expect("schema");
        conn.execute(
            "INSERT OR IGNORE INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms,
             status, version, token_epoch, body) VALUES ('s0', 'acme', 'alice', 0, 0, 'enabled', 1, 0, ?1)",
            [&share_body],
        )
        .expect("seed");
        Self {
            conn,
            body: share_body,
            next: 0,
        }
    }

    /// Insert a share row and charge the creation quota.
    pub fn create(&mut self) {
        self.next += 1;
        let id = format!("raw{:019}", self.next);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        tx.execute(
            "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms, expiration_ms,
             status, version, token_epoch, body) VALUES (?1, 'acme', 'alice', ?2, ?2, NULL, 'enabled', 1, 0, ?3)",
            params![id, 1_700_000_000_000i64 + self.next as i64, self.body],
        )
        .expect("insert");
        charge_quota(&tx, "create", "2026-01-01");
        tx.commit().expect("commit");
    }

    /// A token issue: read the share, settle throttle rows, charge the
    /// access quota, count the access.
    pub fn token(&mut self) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        let _body: String = tx
            .query_row("SELECT body FROM shares WHERE share_id = 's0'", [], |r| {
                r.get(0)
            })
            .expect("select");
        tx.execute(
            "INSERT INTO throttle_share (share_id, body) VALUES ('s0', '{\"failures\":0}')
             ON CONFLICT (share_id) DO UPDATE SET body = excluded.body",
            [],
        )
        .expect("throttle");
        tx.execute(
            "INSERT INTO throttle_client (share_id, client, body) VALUES ('s0', 'c', '{\"failures\":0}')
             ON CONFLICT (share_id, client) DO UPDATE SET body = excluded.body",
            [],
        )
        .expect("throttle");
        charge_quota(&tx, "access", "2026-01-01");
        tx.execute(
            "UPDATE shares SET access_count = access_count + 1, version = version + 1 WHERE share_id = 's0'",
            [],
        )
        .expect("count");
        tx.commit().expect("commit");
    }

    /// A counted download: read the share, bump the counter under its limit.
    pub fn download(&mut self) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        let _body: String = tx
            .query_row("SELECT body FROM shares WHERE share_id = 's0'", [], |r| {
                r.get(0)
            })
            .expect("select");
        tx.execute(
            "UPDATE shares SET download_count = download_count + 1, version = version + 1
             WHERE share_id = 's0' AND (download_limit = 0 OR download_count < download_limit)",
            [],
        )
        .expect("count");
        tx.commit().expect("commit");
    }

    /// One unit of a daily quota, under its limit.
    pub fn quota(&mut self) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("tx");
        charge_quota(&tx, "access", "2026-01-02");
        tx.commit().expect("commit");
    }
}

/// Hand-written sled: the same keys and values, one transaction each, with
/// the same flush policy.
pub struct RawSled {
    db: sled::Db,
    shares: sled::Tree,
    idx: sled::Tree,
    quota: sled::Tree,
    throttle: sled::Tree,
    value: Vec<u8>,
    flush: bool,
    next: u64,
}

impl RawSled {
    pub fn open(dir: &Path, flush: bool, share_value: Vec<u8>) -> Self {
        let db = sled::open(dir.join("raw.sled")).expect("open");
        let t = |n: &str| db.open_tree(n).expect("tree");
        let s = Self {
            shares: t("shares"),
            idx: t("idx"),
            quota: t("quota"),
            throttle: t("throttle"),
            db,
            value: share_value,
            flush,
            next: 0,
        };
        s.shares.insert("s0", s.value.clone()).expect("seed");
        s.db.flush().expect("flush");
        s
    }

    fn done(&self) {
        if self.flush {
            self.db.flush().expect("flush");
        }
    }

    pub fn create(&mut self) {
        use sled::Transactional;
        self.next += 1;
        let id = format!("raw{:019}", self.next);
        let value = &self.value;
        (&self.shares, &self.idx, &self.quota)
            .transaction(|(s, i, q)| {
                s.insert(id.as_bytes(), value.as_slice())?;
                i.insert([b"acme/alice/".as_slice(), id.as_bytes()].concat(), &[])?;
                let used = q.get("create")?.map_or(0, |v| {
                    u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]))
                });
                q.insert("create", &(used + 1).to_be_bytes())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .expect("tx");
        self.done();
    }

    pub fn token(&mut self) {
        use sled::Transactional;
        (&self.shares, &self.quota, &self.throttle)
            .transaction(|(s, q, t)| {
                let v = s.get("s0")?.expect("seeded");
                t.insert("s0", b"{\"failures\":0}".as_slice())?;
                t.insert("s0/c", b"{\"failures\":0}".as_slice())?;
                let used = q.get("access")?.map_or(0, |v| {
                    u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]))
                });
                q.insert("access", &(used + 1).to_be_bytes())?;
                s.insert("s0", v)?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .expect("tx");
        self.done();
    }

    pub fn download(&mut self) {
        let old = self.shares.get("s0").expect("get").expect("seeded");
        let _ = self
            .shares
            .compare_and_swap("s0", Some(&old), Some(old.clone()))
            .expect("cas");
        self.done();
    }

    pub fn quota(&mut self) {
        self.quota
            .update_and_fetch("q", |old| {
                let n = old.map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])));
                Some((n + 1).to_be_bytes().to_vec())
            })
            .expect("quota");
        self.done();
    }
}
