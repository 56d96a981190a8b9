//! TLS with rustls (on ring; no OpenSSL), configured as libpq users expect:
//! `POSTGRES_SSLMODE`, `POSTGRES_SSLROOTCERT`, `POSTGRES_SSLCERT`, `POSTGRES_SSLKEY`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use es_core::{Env, Error, Result};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a connection uses TLS (`POSTGRES_SSLMODE`, libpq's names and meanings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate; plain otherwise. The
    /// default, as in libpq: it reaches both a local server without TLS and a managed one that
    /// requires it. Use `verify-full` where an attacker could sit between.
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is checked only when `POSTGRES_SSLROOTCERT` is set
    /// (then as `verify-ca`), as in libpq.
    Require,
    /// TLS, with a certificate signed by a trusted root; the host name is not checked.
    VerifyCa,
    /// TLS, with a certificate signed by a trusted root and naming the host.
    VerifyFull,
}

impl SslMode {
    const NAMES: [(&'static str, Self); 5] = [
        ("disable", Self::Disable),
        ("prefer", Self::Prefer),
        ("require", Self::Require),
        ("verify-ca", Self::VerifyCa),
        ("verify-full", Self::VerifyFull),
    ];
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Self::NAMES
            .iter()
            .find(|(_, m)| m == self)
            .map_or("prefer", |(n, _)| n);
        f.write_str(name)
    }
}

/// TLS settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TlsSettings {
    /// `POSTGRES_SSLMODE` (default `prefer`).
    pub mode: SslMode,
    /// `POSTGRES_SSLROOTCERT`: a PEM file of trusted roots; the system's roots otherwise.
    pub root_cert: Option<PathBuf>,
    /// `POSTGRES_SSLCERT`: a PEM client certificate (chain), with `POSTGRES_SSLKEY`.
    pub client_cert: Option<PathBuf>,
    /// `POSTGRES_SSLKEY`: the PEM private key of the client certificate.
    pub client_key: Option<PathBuf>,
}

fn path(env: &Env, key: &str) -> Option<PathBuf> {
    env.get(key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl TlsSettings {
    /// Reads `POSTGRES_SSLMODE`, `POSTGRES_SSLROOTCERT`, `POSTGRES_SSLCERT` and
    /// `POSTGRES_SSLKEY`, app-prefixed keys first.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable for an unknown mode, or a certificate without its
    /// key (or a key without its certificate).
    pub fn from_env(env: &Env) -> Result<Self> {
        let mode = match env.get("POSTGRES_SSLMODE").map(str::trim) {
            None | Some("") => SslMode::default(),
            Some(v) => SslMode::NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(v))
                .map(|(_, m)| *m)
                .ok_or_else(|| {
                    Error::config(
                        "POSTGRES_SSLMODE",
                        "unknown mode; expected disable, prefer, require, verify-ca or verify-full",
                    )
                })?,
        };
        let settings = Self {
            mode,
            root_cert: path(env, "POSTGRES_SSLROOTCERT"),
            client_cert: path(env, "POSTGRES_SSLCERT"),
            client_key: path(env, "POSTGRES_SSLKEY"),
        };
        match (&settings.client_cert, &settings.client_key) {
            (Some(_), None) => Err(Error::config(
                "POSTGRES_SSLKEY",
                "not set, but POSTGRES_SSLCERT is",
            )),
            (None, Some(_)) => Err(Error::config(
                "POSTGRES_SSLCERT",
                "not set, but POSTGRES_SSLKEY is",
            )),
            _ => Ok(settings),
        }
    }

    /// The driver's mode.
    pub(crate) fn driver_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        }
    }

    /// The connector: certificates read and checked once, when a recorder is opened.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable whose file cannot be read or holds no usable
    /// certificate or key.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verify = match self.mode {
            SslMode::Disable | SslMode::Prefer => None,
            SslMode::Require => self.root_cert.as_ref().map(|_| Verify::Chain),
            SslMode::VerifyCa => Some(Verify::Chain),
            SslMode::VerifyFull => Some(Verify::Full),
        };
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config("POSTGRES_SSLMODE", format!("TLS set-up failed: {e}")))?;
        let builder = match verify {
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider))),
            Some(verify) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider)
                        .build()
                        .map_err(|e| {
                            Error::config(self.roots_key(), format!("no usable root: {e}"))
                        })?;
                match verify {
                    Verify::Full => builder.with_webpki_verifier(webpki),
                    Verify::Chain => builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki))),
                }
            }
        };
        let config = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "POSTGRES_SSLCERT")?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|_| {
                    Error::config(
                        "POSTGRES_SSLKEY",
                        "cannot read a PEM private key from the file",
                    )
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::config("POSTGRES_SSLKEY", format!("unusable: {e}")))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    fn roots_key(&self) -> &'static str {
        if self.root_cert.is_some() {
            "POSTGRES_SSLROOTCERT"
        } else {
            "POSTGRES_SSLMODE"
        }
    }

    /// The trusted roots: the PEM file, or the system's.
    fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(file) => {
                let (added, _) =
                    roots.add_parsable_certificates(read_certs(file, "POSTGRES_SSLROOTCERT")?);
                if added == 0 {
                    return Err(Error::config(
                        "POSTGRES_SSLROOTCERT",
                        "no usable certificate in the file",
                    ));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
        Ok(roots)
    }
}

fn read_certs(file: &PathBuf, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|_| Error::config(key, "cannot read PEM certificates from the file"))?;
    if certs.is_empty() {
        return Err(Error::config(key, "no certificate in the file"));
    }
    Ok(certs)
}

/// What a verifying mode checks.
#[derive(Clone, Copy)]
enum Verify {
    /// The chain to a trusted root (`verify-ca`, and `require` with a root file).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// `prefer` and `require` without roots: encryption without authentication, as in libpq.
/// Handshake signatures are still checked.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

/// `verify-ca`: the chain must verify; a certificate for another name is accepted.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
