//! Machine-wide allocation of experiment prefixes and address blocks, so that experiments (and
//! parallel tests) on one machine never share a name or an address.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use enos_provider::ProviderError;

use crate::plan::{BLOCKS, block_base, management_link, namespace_prefix};
use crate::sys;

/// Where the local provider keeps per-experiment runtime files (allocation, control sockets).
pub const RUNTIME_ROOT: &str = "/run/enos";
/// Where the local provider keeps per-host file systems (overlay upper layers).
pub const DATA_ROOT: &str = "/var/lib/enos";
const BLOCK_FILE: &str = "block";

/// The runtime directory of experiment `prefix`.
pub fn runtime_dir(prefix: &str) -> PathBuf {
    Path::new(RUNTIME_ROOT).join(prefix)
}

/// The data directory of experiment `prefix`.
pub fn data_dir(prefix: &str) -> PathBuf {
    Path::new(DATA_ROOT).join(prefix)
}

fn io(action: &str, path: &Path, e: std::io::Error) -> ProviderError {
    ProviderError::new(format!("cannot {action} {}: {e}", path.display()))
}

/// Picks a fresh prefix and a free address block, and reserves them for the caller.
pub async fn allocate() -> Result<(String, u32), ProviderError> {
    let root = Path::new(RUNTIME_ROOT);
    fs::create_dir_all(root).map_err(|e| io("create", root, e))?;
    let lock_path = root.join(".alloc.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io("open", &lock_path, e))?;
    lock.lock().map_err(|e| io("lock", &lock_path, e))?;

    let mut used = vec![false; BLOCKS as usize];
    for entry in fs::read_dir(root)
        .map_err(|e| io("read", root, e))?
        .flatten()
    {
        if let Ok(text) = fs::read_to_string(entry.path().join(BLOCK_FILE))
            && let Ok(block) = text.trim().parse::<usize>()
            && block < used.len()
        {
            used[block] = true;
        }
    }
    // Blocks that somebody else routes on this machine are not free either.
    let routes = sys::run("ip", &["-4", "route", "show", "table", "all"], None).await?;
    for (block, taken) in used.iter_mut().enumerate() {
        if routes_overlap(&routes, block as u32) {
            *taken = true;
        }
    }
    let block = used.iter().position(|taken| !taken).ok_or_else(|| {
        ProviderError::new(format!(
            "all {BLOCKS} address blocks of the local provider are in use on this machine"
        ))
        .with_hint("destroy experiments you no longer need (enos destroy --env DIR)")
    })? as u32;

    let namespaces = sys::namespaces();
    let prefix = loop {
        let candidate = random_prefix();
        let taken = runtime_dir(&candidate).exists()
            || data_dir(&candidate).exists()
            || sys::root_link_exists(&management_link(&candidate))
            || namespaces
                .iter()
                .any(|n| n.starts_with(&namespace_prefix(&candidate)));
        if !taken {
            break candidate;
        }
    };
    let dir = runtime_dir(&prefix);
    fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    let path = dir.join(BLOCK_FILE);
    enos_core::fsutil::write_atomic(&path, format!("{block}\n").as_bytes())
        .map_err(|e| io("write", &path, e))?;
    drop(lock);
    Ok((prefix, block))
}

/// Whether any route in `routes` (the output of `ip route show`) overlaps block `block`.
fn routes_overlap(routes: &str, block: u32) -> bool {
    let start = u32::from(block_base(block));
    let end = start + 4095;
    routes
        .lines()
        .filter_map(|line| line.split_whitespace().find(|w| w.contains('.')))
        .any(|word| {
            let (address, len) = word.split_once('/').unwrap_or((word, "32"));
            match (address.parse::<std::net::Ipv4Addr>(), len.parse::<u32>()) {
                (Ok(address), Ok(len)) if len <= 32 => {
                    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    let net_start = u32::from(address) & mask;
                    let net_end = net_start | !mask;
                    net_start <= end && start <= net_end && len > 0
                }
                _ => false,
            }
        })
}

/// A prefix: `e` and four random lowercase letters or digits (five characters in all).
fn random_prefix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let mut bits = hasher.finish();
    let mut prefix = String::from("e");
    for _ in 0..4 {
        prefix.push(ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char);
        bits /= ALPHABET.len() as u64;
    }
    prefix
}

/// Releases the reservation of experiment `prefix` (its runtime directory).
pub fn release(prefix: &str) -> Result<(), ProviderError> {
    let dir = runtime_dir(prefix);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("remove", &dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_short_and_safe() {
        for _ in 0..100 {
            let p = random_prefix();
            assert_eq!(p.len(), 5);
            assert!(p.starts_with('e'));
            assert!(
                p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
        }
    }

    #[test]
    fn route_overlap_detection() {
        let routes = "default via 172.16.0.1 dev eth0\n198.18.16.0/20 via 198.18.16.2 dev eabcdm\n10.0.0.0/8 dev x\n";
        assert!(!routes_overlap(routes, 0));
        assert!(routes_overlap(routes, 1));
        assert!(!routes_overlap(routes, 2));
        assert!(routes_overlap("198.16.0.0/14 dev y\n", 5));
        assert!(routes_overlap("local 198.18.0.7 dev lo table local\n", 0));
    }
}
