//! Files built into enos: the stacks of the `enos-stacks` crate (`stacks/` in the repository), so
//! that the binary works alone and users can read and copy the same files from the repository.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use crate::deploy::FileRoot;

/// Every built-in file: its path in the repository and its text (the `enos-stacks` crate).
const FILES: &[(&str, &str)] = enos_stacks::FILES;

/// The built-in file at `path` (relative to the repository, e.g. `stacks/etcd/stack.yaml`).
pub fn builtin_file(path: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// The paths of every built-in file.
pub fn builtin_paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

/// The names of the built-in stacks (`stacks/<name>/stack.yaml`), sorted.
pub fn builtin_stacks() -> Vec<&'static str> {
    let mut names: Vec<&str> = FILES
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("stacks/")?.strip_suffix("/stack.yaml"))
        .collect();
    names.sort_unstable();
    names
}

/// `relative` joined to the built-in directory `dir` without touching the disk (`..` climbs a
/// level); `None` when it climbs out of the repository or is absolute.
fn builtin_join(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// What a file name of a step designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A file of this machine.
    File(PathBuf),
    /// A directory of this machine.
    Dir(PathBuf),
    /// A built-in file, by its path in the repository.
    Builtin(&'static str),
}

/// Finds `relative` under `root`; the error says what is wrong, naming the file as written
/// (`relative`), not where it was looked for.
pub fn find(root: &FileRoot, relative: &str) -> Result<Found, String> {
    // An absolute path is a file of this machine, whatever the root.
    let root = if Path::new(relative).is_absolute() {
        &FileRoot::Dir(PathBuf::from("/"))
    } else {
        root
    };
    match root {
        FileRoot::Dir(dir) => {
            let path = dir.join(relative);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => Ok(Found::Dir(path)),
                Ok(meta) if meta.is_file() => Ok(Found::File(path)),
                Ok(_) => Err(format!("'{relative}' is neither a file nor a directory")),
                Err(e) => Err(format!("cannot read '{relative}': {e}")),
            }
        }
        FileRoot::Builtin(dir) => {
            let joined = builtin_join(dir, relative)
                .ok_or_else(|| format!("'{relative}' leaves the built-in files of {dir}"))?;
            FILES
                .iter()
                .find(|(p, _)| *p == joined)
                .map(|(p, _)| Found::Builtin(p))
                .ok_or_else(|| format!("no built-in file {joined}"))
        }
    }
}

/// The text of the file `relative` under `root` (a directory is an error).
pub fn read_text(root: &FileRoot, relative: &str) -> Result<Cow<'static, str>, String> {
    match find(root, relative)? {
        Found::Builtin(path) => builtin_file(path)
            .map(Cow::Borrowed)
            .ok_or_else(|| format!("no built-in file {path}")),
        Found::File(path) => std::fs::read_to_string(&path)
            .map(Cow::Owned)
            .map_err(|e| format!("cannot read '{relative}': {e}")),
        Found::Dir(_) => Err(format!("'{relative}' is a directory, not a file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_paths_join_without_the_disk() {
        assert_eq!(
            builtin_join("stacks/openstack", "../nginx/site.conf.j2").as_deref(),
            Some("stacks/nginx/site.conf.j2")
        );
        assert_eq!(
            builtin_join("stacks/etcd", "./a/b.j2").as_deref(),
            Some("stacks/etcd/a/b.j2")
        );
        assert_eq!(builtin_join("stacks/etcd", "../../../x"), None);
        assert_eq!(builtin_join("stacks/etcd", "/etc/passwd"), None);
    }
}
