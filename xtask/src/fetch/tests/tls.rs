//! Downloads over HTTPS trust the store they are given: a server whose
//! certificate comes from a test CA is accepted with that CA in the trust
//! store, and refused (unknown issuer) with another CA there instead.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use super::*;
use crate::fetch::http::Trust;

/// A self-signed CA.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Serve `bytes` over HTTPS on 127.0.0.1 with a certificate issued by `ca`.
fn https_server(ca: &CertifiedIssuer<'static, KeyPair>, bytes: Vec<u8>) -> String {
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let chain = vec![leaf.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // Read the request head (a failed handshake ends here).
            let mut reader = BufReader::new(&mut tls);
            let mut line = String::new();
            let mut ok = false;
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line == "\r\n" {
                    ok = true;
                    break;
                }
                line.clear();
            }
            if !ok {
                continue;
            }
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = tls.write_all(&bytes);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    base
}

fn fetch_with(f: &Fixture, trust: Trust, src: Source) -> anyhow::Result<()> {
    let mut ctx = f.ctx(&[], Mode::Fetch);
    ctx.http.attempts = 1;
    ctx.http.trust = trust;
    ctx.fetch_component("pkg", &component(src)).map(|_| ())
}

#[test]
fn https_is_accepted_with_the_ca_in_the_trust_store_and_refused_without() {
    let test_ca = ca("gen-kexec test CA");
    let other_ca = ca("some other CA");
    let data = content(50_000);
    let base = https_server(&test_ca, data.clone());
    let f = Fixture::new();
    let test_store = write(&f.root, "test-ca.pem", test_ca.pem().as_bytes());
    let other_store = write(&f.root, "other-ca.pem", other_ca.pem().as_bytes());
    let src = source("pkg-1.0.tar.gz", &data, vec![format!("{base}/pkg.tar.gz")]);

    let refused = fetch_with(
        &f,
        Trust::Paths {
            file: Some(other_store),
            dir: None,
        },
        src.clone(),
    )
    .unwrap_err();
    assert!(
        format!("{refused:#}").contains("UnknownIssuer"),
        "refused for the right reason: {refused:#}"
    );
    assert!(
        f.cache_files().is_empty(),
        "nothing kept: {:?}",
        f.cache_files()
    );

    fetch_with(
        &f,
        Trust::Paths {
            file: Some(test_store),
            dir: None,
        },
        src,
    )
    .unwrap();
    assert_eq!(std::fs::read(f.cache.join("pkg-1.0.tar.gz")).unwrap(), data);
}
