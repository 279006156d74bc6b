//! A TLS-terminating proxy in front of the test database, speaking the
//! PostgreSQL SSLRequest handshake with certificates made for the test: a
//! CA, and a server certificate it signs for `localhost`. The client side
//! is the real thing (the store's rustls connector verifying the chain and
//! the name); behind the proxy the database sees a plain connection.

#![allow(unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

/// The SSLRequest code (1234.5679).
const SSL_REQUEST: u32 = 80_877_103;

pub struct TlsProxy {
    /// Where the proxy listens (loopback).
    pub addr: SocketAddr,
    /// A PEM file holding the test CA's certificate.
    pub ca_file: PathBuf,
    /// TLS sessions the proxy completed.
    pub sessions: Arc<AtomicUsize>,
    _dir: tempfile_dir::Dir,
    _runtime: tokio::runtime::Runtime,
}

/// A temporary directory, removed on drop (no extra dependency).
mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TlsProxy {
    /// Starts a proxy to `upstream` (the database's plain address).
    pub fn start(upstream: SocketAddr) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sharelink test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca, &ca_key)
            .unwrap();

        let dir = std::env::temp_dir().join(format!(
            "sl-tls-proxy-{}-{:x}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![server.der().clone()],
                PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let sessions = Arc::new(AtomicUsize::new(0));
        let counted = sessions.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, counted) = (acceptor.clone(), counted.clone());
                tokio::spawn(async move {
                    let _ = relay(client, upstream, acceptor, counted).await;
                });
            }
        });
        Self {
            addr,
            ca_file,
            sessions,
            _dir: tempfile_dir::Dir(dir),
            _runtime: runtime,
        }
    }

    /// TLS sessions completed so far.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Answers the client's SSLRequest with `S`, completes the TLS handshake,
/// and relays the rest to the database in plain text. A client that does
/// not ask for TLS is refused.
async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    acceptor: TlsAcceptor,
    sessions: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut head = [0u8; 8];
    client.read_exact(&mut head).await?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len != 8 || code != SSL_REQUEST {
        return Ok(()); // plain text is not served here
    }
    client.write_all(b"S").await?;
    let mut tls = acceptor.accept(client).await?;
    sessions.fetch_add(1, Ordering::SeqCst);
    let mut db = TcpStream::connect(upstream).await?;
    tokio::io::copy_bidirectional(&mut tls, &mut db).await?;
    Ok(())
}
