//! The rustls client configuration of the API clients.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// What [`tls_config`] does with what it cannot use in the extra CA file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadCertificates {
    /// Fail: every `CERTIFICATE` section must decode and be accepted by webpki as a trust
    /// anchor, and the file must hold at least one. For a bundle written for the client (a TLS
    /// proxy's CA, a cloud's `cacert`), where a bad certificate is a mistake to report.
    Refuse,
    /// Skip sections that do not decode and certificates webpki refuses; a file without any
    /// usable certificate is no error. For a system bundle, which may hold certificates webpki
    /// does not take as trust anchors. A file that cannot be opened is still an error.
    Skip,
}

/// Why [`tls_config`] failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The extra CA file cannot be opened or read, or, under [`BadCertificates::Refuse`], holds
    /// a certificate that does not decode or that webpki refuses, or no certificate at all.
    #[error("{}: {reason}", path.display())]
    CaFile {
        /// The file, as given.
        path: PathBuf,
        /// What is wrong with it, e.g. `no PEM certificate in it`.
        reason: String,
    },
    /// rustls refused the protocol versions for the ring provider.
    #[error("TLS setup: {0}")]
    Protocols(rustls::Error),
}

impl TlsError {
    /// This error as text, the CA file introduced by `file_label`: `{file_label} {path}:
    /// {reason}`, e.g. `the CA bundle /etc/cacert.pem: no PEM certificate in it`; other errors
    /// as their [`Display`](fmt::Display).
    pub fn describe(&self, file_label: &str) -> String {
        match self {
            TlsError::CaFile { .. } => format!("{file_label} {self}"),
            TlsError::Protocols(_) => self.to_string(),
        }
    }
}

/// The TLS configuration of an API client, for reqwest's `use_preconfigured_tls`: rustls with
/// the ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`, no client certificate, and as trust
/// anchors the webpki roots (Mozilla's) plus the certificates of the PEM file `extra_ca_file`,
/// if any; `bad` says whether certificates of that file that cannot be used are an error or
/// skipped.
pub fn tls_config(
    extra_ca_file: Option<&Path>,
    bad: BadCertificates,
) -> Result<rustls::ClientConfig, TlsError> {
    let roots = root_store(extra_ca_file, bad)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Protocols)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// The webpki roots plus those of `extra_ca_file`.
fn root_store(
    extra_ca_file: Option<&Path>,
    bad: BadCertificates,
) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let Some(path) = extra_ca_file else {
        return Ok(roots);
    };
    let unusable = |reason: &dyn fmt::Display| TlsError::CaFile {
        path: path.to_owned(),
        reason: reason.to_string(),
    };
    let certificates = CertificateDer::pem_file_iter(path).map_err(|e| unusable(&e))?;
    match bad {
        BadCertificates::Refuse => {
            let mut added = 0;
            for certificate in certificates {
                roots
                    .add(certificate.map_err(|e| unusable(&e))?)
                    .map_err(|e| unusable(&e))?;
                added += 1;
            }
            if added == 0 {
                return Err(unusable(&"no PEM certificate in it"));
            }
        }
        BadCertificates::Skip => {
            roots.add_parsable_certificates(certificates.filter_map(Result::ok));
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA certificate rustls accepts.
    const GOOD: &str = include_str!("../testdata/test-ca.pem");
    /// A `CERTIFICATE` section that decodes but is no certificate: webpki refuses it.
    const REFUSED: &str =
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    /// A `CERTIFICATE` section that is not base64.
    const GARBLED: &str =
        "-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n";

    fn webpki_count() -> usize {
        webpki_roots::TLS_SERVER_ROOTS.len()
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write the test file");
        path
    }

    #[test]
    fn the_default_configuration_builds() {
        for bad in [BadCertificates::Refuse, BadCertificates::Skip] {
            let tls = tls_config(None, bad).expect("no extra CA file");
            assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
            let roots = root_store(None, bad).expect("no extra CA file");
            assert_eq!(roots.len(), webpki_count());
        }
    }

    #[test]
    fn an_extra_ca_is_added_to_the_webpki_roots() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let good = file(&dir, "good.pem", GOOD);
        for bad in [BadCertificates::Refuse, BadCertificates::Skip] {
            let roots = root_store(Some(&good), bad).expect("a good CA file");
            assert_eq!(roots.len(), webpki_count() + 1, "{bad:?}");
            tls_config(Some(&good), bad).expect("a good CA file");
        }
    }

    #[test]
    fn refuse_fails_on_anything_unusable() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let cases = [
            (
                file(&dir, "text.pem", "not a certificate\n"),
                "no PEM certificate",
            ),
            (file(&dir, "refused.pem", &format!("{GOOD}{REFUSED}")), ""),
            (file(&dir, "garbled.pem", &format!("{GOOD}{GARBLED}")), ""),
            (dir.path().join("missing.pem"), ""),
        ];
        for (path, reason) in cases {
            let error =
                tls_config(Some(&path), BadCertificates::Refuse).expect_err("an unusable CA file");
            assert!(
                matches!(&error, TlsError::CaFile { path: p, .. } if *p == path),
                "{error:?}"
            );
            let shown = error.to_string();
            assert!(shown.starts_with(&path.display().to_string()), "{shown}");
            assert!(shown.contains(reason), "{shown}");
            assert_eq!(
                error.describe("the CA bundle"),
                format!("the CA bundle {shown}")
            );
        }
    }

    #[test]
    fn skip_keeps_what_it_can_use() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mixed = file(&dir, "mixed.pem", &format!("{REFUSED}{GARBLED}{GOOD}"));
        let roots = root_store(Some(&mixed), BadCertificates::Skip).expect("skipped");
        assert_eq!(roots.len(), webpki_count() + 1);
        let none = file(&dir, "text.pem", "not a certificate\n");
        let roots = root_store(Some(&none), BadCertificates::Skip).expect("nothing to add");
        assert_eq!(roots.len(), webpki_count());
        let missing = dir.path().join("missing.pem");
        let error = tls_config(Some(&missing), BadCertificates::Skip)
            .expect_err("a file that cannot be opened");
        assert!(
            error
                .describe("the CA file")
                .starts_with(&format!("the CA file {}: ", missing.display())),
            "{error}"
        );
    }
}
