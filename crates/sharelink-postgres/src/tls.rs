//! TLS to the database, through rustls: which servers to trust, and the
//! libpq connection-string settings the driver does not read itself.
//!
//! A connection uses TLS when its connection string asks for it:
//! `sslmode=require`, `verify-ca` or `verify-full` (all three mean the same
//! here), and then a server without TLS is refused. Whenever TLS is used
//! the server's certificate chain *and* its name are verified, always:
//! against the public web roots (Mozilla's, compiled in), or against the
//! CAs of a PEM file given as
//! [`PostgresOptions::tls_root_certificates`](crate::PostgresOptions::tls_root_certificates)
//! or as the connection string's `sslrootcert`.
//!
//! Without `sslmode`, or with `prefer`, `allow` or `disable`, connections
//! are plain. (libpq's `prefer` would encrypt opportunistically without
//! verifying the server, which an active attacker defeats; this crate does
//! not do unverified TLS.) Production connection strings should say
//! `sslmode=verify-full`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use sharelink_core::StorageError;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connection string with the settings this module handles taken out:
/// what the driver parses, and the `sslrootcert` it would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// The connection string for the driver.
    pub(crate) driver_url: String,
    /// The connection string's `sslrootcert`, if any.
    pub(crate) root_file: Option<PathBuf>,
}

/// Takes `sslrootcert` out of `url`, maps `sslmode=verify-ca` and
/// `verify-full` to the driver's `require` (rustls verifies the chain and
/// the name whenever TLS is used), and makes every other mode (or none)
/// `disable`; in both the URL form (`postgres://…?k=v&…`) and the
/// key-value form (`k=v k=v`).
pub(crate) fn split_tls_settings(url: &str) -> TlsSettings {
    let mut root_file = None;
    let mut mode_given = false;
    let mut keep = |key: &str, value: &str| -> Option<String> {
        match (key, value) {
            ("sslrootcert", v) => {
                root_file = Some(PathBuf::from(percent_decode(v)));
                None
            }
            ("sslmode", v) => {
                mode_given = true;
                match v {
                    "require" | "verify-ca" | "verify-full" => Some("sslmode=require".to_owned()),
                    "prefer" | "allow" | "disable" => Some("sslmode=disable".to_owned()),
                    // The driver names what it does not know.
                    other => Some(format!("sslmode={other}")),
                }
            }
            _ => Some(format!("{key}={value}")),
        }
    };
    let driver_url = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let params: Vec<String> = query
                    .split('&')
                    .filter(|p| !p.is_empty())
                    .filter_map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        keep(k, v)
                    })
                    .collect();
                if params.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", params.join("&"))
                }
            }
            None => url.to_owned(),
        }
    } else {
        url.split_whitespace()
            .filter_map(|kv| match kv.split_once('=') {
                Some((k, v)) => keep(k, v),
                None => Some(kv.to_owned()),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let driver_url = match (mode_given, url.starts_with("postgres")) {
        (true, _) => driver_url,
        (false, true) if driver_url.contains('?') => format!("{driver_url}&sslmode=disable"),
        (false, true) => format!("{driver_url}?sslmode=disable"),
        (false, false) => format!("{driver_url} sslmode=disable"),
    };
    TlsSettings {
        driver_url,
        root_file,
    }
}

/// `%XX` escapes decoded (a URL parameter's value); anything malformed is
/// kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connector every pooled connection uses: rustls with the ring
/// provider, trusting the CAs in `root_file` or else the public web roots.
pub(crate) fn connector(root_file: Option<&Path>) -> Result<MakeRustlsConnect, StorageError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(path) => {
            let bad = |why: String| StorageError::Backend {
                message: format!("postgres: TLS root certificates {}: {why}", path.display()),
                source: None,
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificate in it".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::backend("postgres: TLS configuration", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Why TLS negotiation failed, if that is what a driver error is (an
/// untrusted or misnamed certificate, a server without TLS when it is
/// required): a setup problem to report as such, not an outage to wait
/// out.
pub(crate) fn failure_reason(e: &postgres::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(tls) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls.to_string());
        }
        source = s.source();
    }
    let text = e.to_string();
    text.contains("TLS").then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_and_verify_modes_mean_require() {
        let s = split_tls_settings(
            "postgres://u@db:5432/x?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20b.pem&application_name=a",
        );
        assert_eq!(
            s.driver_url,
            "postgres://u@db:5432/x?sslmode=require&application_name=a"
        );
        assert_eq!(s.root_file.as_deref(), Some(Path::new("/etc/ca b.pem")));

        let s = split_tls_settings("host=db user=u sslrootcert=/ca.pem sslmode=verify-ca");
        assert_eq!(s.driver_url, "host=db user=u sslmode=require");
        assert_eq!(s.root_file.as_deref(), Some(Path::new("/ca.pem")));

        // No TLS unless asked for: never the driver's unverified `prefer`.
        for (given, plain) in [
            ("postgres://u@db/x", "postgres://u@db/x?sslmode=disable"),
            (
                "postgres://u@db/x?a=b",
                "postgres://u@db/x?a=b&sslmode=disable",
            ),
            (
                "postgres://u@db/x?sslmode=disable",
                "postgres://u@db/x?sslmode=disable",
            ),
            (
                "postgres://u@db/x?sslmode=allow",
                "postgres://u@db/x?sslmode=disable",
            ),
            ("host=db sslmode=prefer", "host=db sslmode=disable"),
            ("host=db", "host=db sslmode=disable"),
        ] {
            let s = split_tls_settings(given);
            assert_eq!(
                (s.driver_url.as_str(), s.root_file),
                (plain, None),
                "{given}"
            );
        }
        let s = split_tls_settings("postgresql://u@db/x?sslrootcert=/a.pem");
        assert_eq!(s.driver_url, "postgresql://u@db/x?sslmode=disable");
        let s = split_tls_settings("postgres://u@db/x?sslmode=sometimes");
        assert_eq!(s.driver_url, "postgres://u@db/x?sslmode=sometimes");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn a_root_file_without_certificates_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("sl-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for (path, needle) in [
            (empty.clone(), "no PEM certificate"),
            (dir.join("missing.pem"), "missing.pem"),
        ] {
            let e = connector(Some(&path)).err().unwrap();
            assert!(
                matches!(e, StorageError::Backend { .. }) && e.to_string().contains(needle),
                "{e}"
            );
        }
        assert!(connector(None).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
