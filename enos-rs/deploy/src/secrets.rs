//! Secrets that templates ask for by name (`{{ secret("db-password") }}`): made once per
//! experiment, kept in the results directory, the same on every host and every later deploy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;

/// Why a secret could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secrets file could not be read or written.
    #[error("secrets file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The system gave no random bytes.
    #[error("no random bytes for secret '{0}': {1}")]
    Random(String, String),
    /// The name is not a plain name.
    #[error("bad secret name '{0}': lowercase letters, digits, `-`, `_` and `.`")]
    BadName(String),
}

/// How new secrets are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Making {
    /// 32 random bytes, URL-safe base64 (44 characters): a valid Fernet key, and a password
    /// that needs no quoting in URLs, shells or SQL. It starts with a letter or a digit.
    Random,
    /// `secret-<name>`: for plans rendered before a testbed exists, and for golden tests.
    Placeholder,
}

/// The secrets of one experiment.
#[derive(Debug)]
pub struct SecretStore {
    file: Option<PathBuf>,
    making: Making,
    values: Mutex<BTreeMap<String, String>>,
    /// Whether secrets were made since the store was opened.
    dirty: Mutex<bool>,
}

impl SecretStore {
    /// The secrets kept in `file` (a JSON object; created when missing, mode 0600).
    pub fn open(file: &Path) -> Result<SecretStore, SecretError> {
        let values = match std::fs::read_to_string(file) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| SecretError::File {
                path: file.to_owned(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(SecretError::File {
                    path: file.to_owned(),
                    message: e.to_string(),
                });
            }
        };
        Ok(SecretStore {
            file: Some(file.to_owned()),
            making: Making::Random,
            values: Mutex::new(values),
            dirty: Mutex::new(false),
        })
    }

    /// A store that writes nothing and makes `secret-<name>` placeholders.
    pub fn placeholders() -> SecretStore {
        SecretStore {
            file: None,
            making: Making::Placeholder,
            values: Mutex::new(BTreeMap::new()),
            dirty: Mutex::new(false),
        }
    }

    /// The secret called `name`, made now if it does not exist yet.
    pub fn get(&self, name: &str) -> Result<String, SecretError> {
        let plain = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !plain {
            return Err(SecretError::BadName(name.to_owned()));
        }
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = values.get(name) {
            return Ok(value.clone());
        }
        let value = match self.making {
            Making::Placeholder => format!("secret-{name}"),
            Making::Random => loop {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes)
                    .map_err(|e| SecretError::Random(name.to_owned(), e.to_string()))?;
                let value = base64::engine::general_purpose::URL_SAFE.encode(bytes);
                // A secret that starts with `-` is taken for an option by the commands it is
                // given to (`--password -x…`): draw again.
                if value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                    break value;
                }
            },
        };
        values.insert(name.to_owned(), value.clone());
        *self.dirty.lock().unwrap_or_else(|p| p.into_inner()) = true;
        Ok(value)
    }

    /// Writes the secrets made since the store was opened to its file, atomically, readable by
    /// the owner only. Nothing happens for a placeholder store or when nothing is new.
    pub fn save(&self) -> Result<(), SecretError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut dirty = self.dirty.lock().unwrap_or_else(|p| p.into_inner());
        if !*dirty {
            return Ok(());
        }
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = serde_json::to_vec_pretty(&*values).map_err(|e| SecretError::File {
            path: file.clone(),
            message: e.to_string(),
        })?;
        text.push(b'\n');
        enos_core::fsutil::write_atomic_with_mode(file, &text, Some(0o600)).map_err(|e| {
            SecretError::File {
                path: file.clone(),
                message: e.to_string(),
            }
        })?;
        *dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.json");
        let store = SecretStore::open(&file).unwrap();
        let a = store.get("db").unwrap();
        assert_eq!(a.len(), 44);
        for i in 0..200 {
            let other = store.get(&format!("s{i}")).unwrap();
            assert!(
                other.starts_with(|c: char| c.is_ascii_alphanumeric()),
                "{other}"
            );
        }
        assert_eq!(store.get("db").unwrap(), a);
        assert_ne!(store.get("other").unwrap(), a);
        assert!(store.get("Bad Name").is_err());
        store.save().unwrap();
        let again = SecretStore::open(&file).unwrap();
        assert_eq!(again.get("db").unwrap(), a);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A Fernet key is 32 bytes in URL-safe base64.
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(a.as_bytes())
            .unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn placeholders_write_nothing() {
        let store = SecretStore::placeholders();
        assert_eq!(store.get("token").unwrap(), "secret-token");
        store.save().unwrap();
    }
}
