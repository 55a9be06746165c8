//! The experiment's SSH keys, generated in this process (the local provider's client key and
//! one host key per host; a remote provider's client key, which it hands to kadeploy, Nova or a
//! Vagrantfile): ECDSA on NIST P-256, in OpenSSH's formats (what `ssh-keygen -t ecdsa -b 256 -N
//! ''` writes).
//!
//! Generating them here rather than with one `ssh-keygen` process per host keeps a 1000-host
//! bring-up from spending seconds starting processes. A connection costs the same CPU with
//! P-256 keys and key exchange as with ed25519 and curve25519 (`perf/ssh-connection.sh`); P-256
//! is what OpenSSL, which OpenSSH links, implements itself.

use std::path::Path;

use crate::ProviderError;
use ssh_key::{Algorithm, EcdsaCurve, LineEnding, PrivateKey, rand_core::OsRng};

/// The experiment's client key, under its `ssh/` directory (its public half adds `.pub`).
pub const CLIENT_KEY: &str = "id_ecdsa";

/// Writes a new ECDSA P-256 key pair at `path` (private, 0600) and `path.pub` (public, 0644), with
/// `comment`. Existing files are replaced atomically, but not flushed to disk: callers making
/// many keys flush once ([`enos_core::fsutil::sync_file_system`]).
pub fn generate(path: &Path, comment: &str) -> Result<(), ProviderError> {
    let fail = |e: &dyn std::fmt::Display| {
        ProviderError::new(format!("cannot make the key {}: {e}", path.display()))
    };
    let algorithm = Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP256,
    };
    let mut key = PrivateKey::random(&mut OsRng, algorithm).map_err(|e| fail(&e))?;
    key.set_comment(comment);
    let private = key.to_openssh(LineEnding::LF).map_err(|e| fail(&e))?;
    let public = key.public_key().to_openssh().map_err(|e| fail(&e))?;
    enos_core::fsutil::write_atomic_unsynced(path, private.as_bytes(), Some(0o600))
        .map_err(|e| fail(&e))?;
    let mut public_path = path.as_os_str().to_owned();
    public_path.push(".pub");
    enos_core::fsutil::write_atomic_unsynced(
        Path::new(&public_path),
        format!("{public}\n").as_bytes(),
        Some(0o644),
    )
    .map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_what_openssh_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_ecdsa");
        generate(&path, "enos-test").unwrap();
        let private = std::fs::read_to_string(&path).unwrap();
        let public = std::fs::read_to_string(dir.path().join("id_ecdsa.pub")).unwrap();
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(public.starts_with("ecdsa-sha2-nistp256 AAAA") && public.ends_with(" enos-test\n"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // OpenSSH itself derives the same public key from the private one.
        let out = std::process::Command::new("ssh-keygen")
            .args(["-y", "-f"])
            .arg(&path)
            .output()
            .expect("ssh-keygen (OpenSSH's client, which the local provider needs) runs");
        let derived = String::from_utf8_lossy(&out.stdout);
        let ours: Vec<&str> = public.split_whitespace().take(2).collect();
        let theirs: Vec<&str> = derived.split_whitespace().take(2).collect();
        assert_eq!(ours, theirs);
    }
}
