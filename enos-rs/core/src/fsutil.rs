//! Small file-system helpers: atomic writes and atomic symbolic links.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path` atomically: a temporary file beside it, flushed to disk, then renamed.
///
/// A reader sees either the old file or the new one, never a half-written file, even if the
/// process is killed in the middle.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomic_with_mode(path, contents, None)
}

/// Like [`write_atomic`], and gives the file the Unix permission bits `mode` (e.g. `0o600`;
/// default `0o644`), less those of the process's umask. The file has them from its creation:
/// its content is never readable with wider permissions, not even for an instant.
pub fn write_atomic_with_mode(path: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<()> {
    write_replacing(path, contents, mode, true)
}

/// Like [`write_atomic_with_mode`], without flushing to disk: for writing many files at once,
/// followed by one [`sync_file_system`]. A reader still never sees a half-written file; after a
/// crash of the machine (not of the process) the file may be missing.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<()> {
    write_replacing(path, contents, mode, false)
}

/// Flushes to disk everything written on the file system holding `path` (`syncfs`): one call
/// after many [`write_atomic_unsynced`].
pub fn sync_file_system(path: &Path) -> io::Result<()> {
    let dir = fs::File::open(path)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

fn write_replacing(path: &Path, contents: &[u8], mode: Option<u32>, sync: bool) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    // A temporary file left by an earlier process of the same id keeps its own mode if opened
    // again: it goes, and the new one is created with `mode`.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    options.mode(mode.unwrap_or(0o644));
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        if sync {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if sync {
            // Make the rename itself durable.
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Points the symbolic link `link` at `target`, replacing an existing link atomically.
pub fn symlink_atomic(target: &Path, link: &Path) -> io::Result<()> {
    let dir = link
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = link
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "link has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic_with_mode(&path, b"two", Some(0o600)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn a_mode_is_the_file_s_from_its_creation_even_over_a_stale_temporary() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let stale = dir
            .path()
            .join(format!(".secret.tmp-{}", std::process::id()));
        fs::write(&stale, b"old").unwrap();
        fs::set_permissions(&stale, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic_with_mode(&path, b"key", Some(0o600)).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"key");
        assert!(!stale.exists());
    }

    #[test]
    fn atomic_symlink_switches_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("current");
        symlink_atomic(Path::new("a"), &link).unwrap();
        symlink_atomic(Path::new("b"), &link).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("b"));
    }
}
