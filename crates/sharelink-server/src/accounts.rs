//! Tenants, users and **development** access tokens.
//!
//! This is a clearly labelled development scheme, not an identity system:
//! an access token is `dev-` followed by 32 random base62 characters,
//! stored only as its SHA-256, never expiring until the data directory is
//! deleted. Real hosts plug in their own
//! `sharelink_http::Authenticator` (OAuth, sessions, ...).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rand::Rng as _;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use sharelink_core::{Creator, DriveId, Member, TenantId, TenantPolicy, UserId};
use sharelink_http::{AuthError, Authenticator, Caller};
use sharelink_sqlite::StampedCache;

/// Prefix that marks a development access token.
pub const DEV_TOKEN_PREFIX: &str = "dev-";

/// The accounts tables, on the server's metadata connection.
#[derive(Clone)]
pub struct Accounts {
    db: Arc<Mutex<Connection>>,
    cached: Arc<Cached>,
}

/// Users and tokens as of the database's current WAL header (see
/// [`StampedCache`]): an access token is resolved without a read
/// transaction, and any commit, from any process (an `add-user` beside the
/// server included), empties both.
struct Cached {
    users: StampedCache<(TenantId, UserId), User>,
    /// By the token's SHA-256, as stored; only tokens that exist.
    tokens: StampedCache<[u8; 32], (String, String)>,
}

/// Users and tokens kept in memory by [`Accounts`].
const CACHED_ACCOUNTS: usize = 4096;

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts")
    }
}

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// Tenant and user id.
    pub member: Member,
    /// Display name and phone.
    pub profile: Creator,
    /// The user's drive.
    pub drive_id: DriveId,
}

/// A fresh development access token. Redacted in `Debug`.
pub struct DevToken(String);

impl DevToken {
    /// The token text, to hand to the user once.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DevToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevToken(<redacted>)")
    }
}

impl Accounts {
    /// The tables on `db`, the connection to the WAL database at `path`.
    /// Users and tokens read from it are kept in memory while nothing is
    /// committed to it.
    pub fn new(db: Arc<Mutex<Connection>>, path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            db,
            cached: Arc::new(Cached {
                users: StampedCache::open(path, CACHED_ACCOUNTS)?,
                tokens: StampedCache::open(path, CACHED_ACCOUNTS)?,
            }),
        })
    }

    /// Creates the schema if it does not exist.
    pub fn init_schema(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS tenants (
                tenant        TEXT PRIMARY KEY,
                custom_domain INTEGER NOT NULL DEFAULT 0,
                create_limit  INTEGER,
                access_limit  INTEGER
            );
            CREATE TABLE IF NOT EXISTS users (
                tenant       TEXT NOT NULL,
                user_id      TEXT NOT NULL,
                display_name TEXT NOT NULL,
                phone        TEXT NOT NULL,
                drive_id     TEXT NOT NULL UNIQUE,
                PRIMARY KEY (tenant, user_id)
            );
            CREATE TABLE IF NOT EXISTS access_tokens (
                token_sha256 BLOB PRIMARY KEY,
                tenant       TEXT NOT NULL,
                user_id      TEXT NOT NULL
            );",
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the user (and its drive `drive-<user>`) if missing, updates
    /// its profile otherwise, and issues a new access token.
    pub fn add_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        display_name: &str,
        phone: &str,
    ) -> rusqlite::Result<(User, DevToken)> {
        // One transaction: a failure leaves no tenant, user or token behind.
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO tenants (tenant) VALUES (?1) ON CONFLICT (tenant) DO NOTHING",
            params![tenant.as_str()],
        )?;
        let drive = match tx
            .query_row(
                "SELECT drive_id FROM users WHERE tenant = ?1 AND user_id = ?2",
                params![tenant.as_str(), user.as_str()],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            Some(existing) => existing,
            None => free_drive_id(&tx, tenant, user)?,
        };
        tx.execute(
            "INSERT INTO users (tenant, user_id, display_name, phone, drive_id) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant, user_id) DO UPDATE SET display_name = ?3, phone = ?4",
            params![tenant.as_str(), user.as_str(), display_name, phone, drive],
        )?;
        let token = new_token();
        tx.execute(
            "INSERT INTO access_tokens (token_sha256, tenant, user_id) VALUES (?1, ?2, ?3)",
            params![digest(&token).as_slice(), tenant.as_str(), user.as_str()],
        )?;
        tx.commit()?;
        drop(conn);
        let stored = self
            .user(tenant, user)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((stored, DevToken(token)))
    }

    /// A user by id.
    pub fn user(&self, tenant: &TenantId, user: &UserId) -> rusqlite::Result<Option<User>> {
        self.cached
            .users
            .get_or_load(&(tenant.clone(), user.clone()), || {
                self.load_user(tenant, user)
            })
    }

    fn load_user(&self, tenant: &TenantId, user: &UserId) -> rusqlite::Result<Option<User>> {
        self.lock()
            .prepare_cached(
                "SELECT display_name, phone, drive_id FROM users WHERE tenant = ?1 AND user_id = ?2",
            )?
            .query_row(params![tenant.as_str(), user.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .optional()?
            .map(|(name, phone, drive)| {
                let mut profile = Creator::new(user.clone());
                profile.display_name = name;
                profile.phone = phone;
                Ok(User {
                    member: Member {
                        tenant: tenant.clone(),
                        user_id: user.clone(),
                    },
                    profile,
                    drive_id: DriveId::new(drive).map_err(|e| corrupt(&e))?,
                })
            })
            .transpose()
    }

    /// The drive of a member, if the member exists.
    pub fn drive_of(&self, member: &Member) -> rusqlite::Result<Option<DriveId>> {
        Ok(self
            .user(&member.tenant, &member.user_id)?
            .map(|u| u.drive_id))
    }

    /// Sets a tenant's custom domain and daily limits (`None` = default).
    pub fn set_tenant(&self, tenant: &TenantId, policy: &TenantPolicy) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO tenants (tenant, custom_domain, create_limit, access_limit) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant) DO UPDATE SET custom_domain = ?2, create_limit = ?3, access_limit = ?4",
            params![
                tenant.as_str(),
                policy.custom_domain,
                policy.creations_per_day,
                policy.accesses_per_day
            ],
        )?;
        Ok(())
    }

    /// Every tenant with its policy.
    pub fn tenants(&self) -> rusqlite::Result<Vec<(TenantId, TenantPolicy)>> {
        let conn = self.lock();
        let mut st =
            conn.prepare("SELECT tenant, custom_domain, create_limit, access_limit FROM tenants")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<u32>>(2)?,
                r.get::<_, Option<u32>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (tenant, custom_domain, create, access) = row?;
            let tenant = TenantId::new(tenant).map_err(|e| corrupt(&e))?;
            out.push((
                tenant,
                TenantPolicy {
                    custom_domain,
                    creations_per_day: create,
                    accesses_per_day: access,
                },
            ));
        }
        Ok(out)
    }

    fn member_of_token(&self, token: &str) -> rusqlite::Result<Option<(String, String)>> {
        let hash = digest(token);
        let load = || {
            self.lock()
                .prepare_cached(
                    "SELECT tenant, user_id FROM access_tokens WHERE token_sha256 = ?1",
                )?
                .query_row(params![hash.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        };
        self.cached.tokens.get_or_load(&hash, load)
    }
}

/// Resolves development access tokens (see the module doc).
#[derive(Debug, Clone)]
pub struct DevAuthenticator {
    accounts: Accounts,
}

impl DevAuthenticator {
    /// An authenticator over `accounts`.
    pub fn new(accounts: Accounts) -> Self {
        Self { accounts }
    }
}

impl Authenticator for DevAuthenticator {
    /// One local SQLite file.
    fn reads_are_local(&self) -> bool {
        true
    }

    fn authenticate(&self, access_token: &str) -> Result<Caller, AuthError> {
        if !access_token.starts_with(DEV_TOKEN_PREFIX) || access_token.len() > 128 {
            return Err(AuthError::InvalidToken("unknown token".into()));
        }
        // The lookup is by SHA-256: the stored value is not the token, and
        // the comparison happens inside the index on a hash.
        let unavailable = |e: rusqlite::Error| AuthError::Unavailable(e.to_string());
        let (tenant, user) = self
            .accounts
            .member_of_token(access_token)
            .map_err(unavailable)?
            .ok_or_else(|| AuthError::InvalidToken("unknown token".into()))?;
        let tenant = TenantId::new(tenant).map_err(|e| AuthError::Unavailable(e.to_string()))?;
        let user = UserId::new(user).map_err(|e| AuthError::Unavailable(e.to_string()))?;
        let stored = self
            .accounts
            .user(&tenant, &user)
            .map_err(unavailable)?
            .ok_or_else(|| AuthError::InvalidToken("the user no longer exists".into()))?;
        Ok(Caller {
            member: stored.member,
            profile: stored.profile,
        })
    }
}

/// `drive-<tenant>-<user>`, or with `-2`, `-3`… when another user already
/// has that id (`demo`/`x-y` and `demo-x`/`y` would otherwise share one).
fn free_drive_id(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    user: &UserId,
) -> rusqlite::Result<String> {
    let base = format!("drive-{}-{}", tenant.as_str(), user.as_str());
    let taken = |id: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE drive_id = ?1)",
            [id],
            |r| r.get(0),
        )
    };
    if !taken(&base)? {
        return Ok(base);
    }
    for n in 2u32..=u32::MAX {
        let candidate = format!("{base}-{n}");
        if !taken(&candidate)? {
            return Ok(candidate);
        }
    }
    Err(rusqlite::Error::QueryReturnedNoRows)
}

fn new_token() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..32)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("{DEV_TOKEN_PREFIX}{body}")
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn corrupt(e: &dyn std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(std::io::Error::other(e.to_string())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_tokens_and_users_follow_commits_from_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let data = crate::DataDir::open(dir.path()).unwrap();
        let tenant = TenantId::new("t").unwrap();
        let user = UserId::new("u").unwrap();
        let (_, token) = data
            .accounts
            .add_user(&tenant, &user, "Una", "100")
            .unwrap();
        let auth = DevAuthenticator::new(data.accounts.clone());
        let name = || {
            auth.authenticate(token.expose_secret())
                .map(|c| c.profile.display_name)
        };
        assert_eq!(name().unwrap(), "Una");
        assert_eq!(name().unwrap(), "Una", "answered again, from memory");
        let other = Connection::open(dir.path().join("drive.sqlite")).unwrap();
        other
            .execute("UPDATE users SET display_name = 'Ursula'", [])
            .unwrap();
        assert_eq!(name().unwrap(), "Ursula", "a commit elsewhere was missed");
        // A token deleted by another process is refused at once.
        other.execute("DELETE FROM access_tokens", []).unwrap();
        assert!(matches!(name(), Err(AuthError::InvalidToken(_))));
        // Unknown tokens are not kept: a later insert is seen.
        assert!(matches!(
            auth.authenticate("dev-unknown"),
            Err(AuthError::InvalidToken(_))
        ));
    }
}
