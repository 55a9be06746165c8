//! Uploads and downloads: files through `cat`, directories and downloads as tar streams.
//!
//! Nothing is read whole into memory: a local file is handed to the ssh master as the remote
//! command's standard input, and tar archives flow through a pipe between the master and a
//! thread that packs or unpacks them.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use openssh::Stdio;
use sha2::{Digest, Sha256};

use crate::RemoteError;
use crate::master::is_plain_file_name;
use crate::session::{HostCtx, exit_of, read_all};
use crate::types::Exit;

/// A problem with the arguments of a transfer, found before any host is contacted.
#[derive(Debug, Clone)]
pub(crate) enum PlanError {
    /// A local file operation failed.
    Io { operation: String, message: String },
    /// An argument cannot be used.
    Invalid(String),
}

impl PlanError {
    /// The error, as seen on `host`.
    pub(crate) fn for_host(&self, host: &str) -> RemoteError {
        let host = host.to_owned();
        match self.clone() {
            Self::Io { operation, message } => RemoteError::Io {
                host,
                operation,
                message,
            },
            Self::Invalid(message) => RemoteError::Invalid { host, message },
        }
    }
}

/// What an upload copies, and where to.
#[derive(Debug)]
pub(crate) struct UploadPlan {
    local: PathBuf,
    is_dir: bool,
    /// The remote path of the copy.
    target: String,
}

pub(crate) fn plan_upload(local: &Path, remote: &str) -> Result<UploadPlan, PlanError> {
    let meta = fs::metadata(local).map_err(|e| PlanError::Io {
        operation: format!("cannot read {}", local.display()),
        message: e.to_string(),
    })?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(PlanError::Invalid(format!(
            "{} is neither a regular file nor a directory",
            local.display()
        )));
    }
    if remote.is_empty() || remote.contains('\0') {
        return Err(PlanError::Invalid(
            "the remote path is empty or contains a NUL byte".into(),
        ));
    }
    let target = if remote.ends_with('/') {
        let name = local.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            PlanError::Invalid(format!(
                "cannot name the copy of {} in {remote}: give the remote path in full",
                local.display()
            ))
        })?;
        format!("{remote}{name}")
    } else {
        remote.to_owned()
    };
    Ok(UploadPlan {
        local: local.to_owned(),
        is_dir: meta.is_dir(),
        target,
    })
}

/// What a download copies, and where to.
#[derive(Debug)]
pub(crate) struct DownloadPlan {
    /// The remote path, as given.
    remote: String,
    /// Its parent directory.
    parent: String,
    /// Its last component: the name of the copy.
    name: String,
    local_dir: PathBuf,
}

pub(crate) fn plan_download(remote: &str, local_dir: &Path) -> Result<DownloadPlan, PlanError> {
    if remote.contains('\0') {
        return Err(PlanError::Invalid(
            "the remote path contains a NUL byte".into(),
        ));
    }
    let trimmed = remote.trim_end_matches('/');
    let path = Path::new(trimmed);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| is_plain_file_name(n))
        .ok_or_else(|| {
            PlanError::Invalid(format!(
                "the remote path '{remote}' does not end with a name"
            ))
        })?;
    let parent = match path.parent().and_then(Path::to_str) {
        None | Some("") => ".",
        Some(parent) => parent,
    };
    Ok(DownloadPlan {
        remote: remote.to_owned(),
        parent: parent.to_owned(),
        name: name.to_owned(),
        local_dir: local_dir.to_owned(),
    })
}

/// `text` quoted for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `path` quoted for a POSIX shell, relative paths starting with `./` so that no command takes
/// them for an option and `cd` does not look them up in `CDPATH`.
fn quote_path(path: &str) -> String {
    let explicit = path.starts_with('/')
        || path.starts_with("./")
        || path.starts_with("../")
        || path == "."
        || path == "..";
    if explicit {
        quote(path)
    } else {
        quote(&format!("./{path}"))
    }
}

/// The parent directory of the remote path `path`.
fn remote_parent(path: &str) -> String {
    match Path::new(path.trim_end_matches('/'))
        .parent()
        .and_then(Path::to_str)
    {
        None if path.starts_with('/') => "/".to_owned(),
        None | Some("") => ".".to_owned(),
        Some(parent) => parent.to_owned(),
    }
}

fn upload_file_script(target: &str, size: u64, mode: u32) -> String {
    let t = quote_path(target);
    let d = quote_path(&remote_parent(target));
    format!(
        "set -e; t={t}; d={d}; \
         if [ -d \"$t\" ]; then echo \"$t is a directory\" >&2; exit 1; fi; \
         mkdir -p -- \"$d\"; tmp=\"$t.enos-upload.$$\"; trap 'rm -f -- \"$tmp\"' EXIT; \
         cat > \"$tmp\"; n=$(wc -c < \"$tmp\"); n=$((n)); \
         if [ \"$n\" -ne {size} ]; then echo \"incomplete upload: $n of {size} bytes\" >&2; exit 1; fi; \
         chmod {mode:04o} \"$tmp\"; mv -f -- \"$tmp\" \"$t\"; trap - EXIT"
    )
}

fn upload_dir_script(target: &str) -> String {
    let t = quote_path(target);
    format!("set -e; t={t}; mkdir -p -- \"$t\"; exec tar -x -p -o -f - -C \"$t\"")
}

/// Exit code of the download script when the remote path does not exist.
const NOT_FOUND: i32 = 3;

fn download_script(plan: &DownloadPlan) -> String {
    let p = quote_path(&plan.remote);
    let d = quote_path(&plan.parent);
    let n = quote(&format!("./{}", plan.name));
    format!(
        "p={p}; if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then \
         echo \"$p: no such file or directory\" >&2; exit {NOT_FOUND}; fi; \
         cd {d} || exit {NOT_FOUND}; \
         if [ -L {n} ]; then exec tar -c -h -f - {n}; else exec tar -c -f - {n}; fi"
    )
}

/// Uploads on one host.
pub(crate) async fn upload_one(ctx: &HostCtx<'_>, plan: &UploadPlan) -> Result<(), RemoteError> {
    let host = ctx.host();
    let local_error = |operation: String, e: &dyn std::fmt::Display| RemoteError::Io {
        host: host.to_owned(),
        operation,
        message: e.to_string(),
    };
    let session = ctx.session()?;
    if !plan.is_dir {
        let file = fs::File::open(&plan.local)
            .map_err(|e| local_error(format!("cannot open {}", plan.local.display()), &e))?;
        let meta = file
            .metadata()
            .map_err(|e| local_error(format!("cannot read {}", plan.local.display()), &e))?;
        let script =
            upload_file_script(&plan.target, meta.len(), meta.permissions().mode() & 0o7777);
        let mut child = {
            let mut cmd = session.command("sh");
            cmd.arg("-c").arg(script);
            cmd.stdin(Stdio::from(file))
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            ctx.spawn(&mut cmd).await?
        };
        let stderr = read_all(child.stderr().take()).await.unwrap_or_default();
        let exit = exit_of(host, child.wait().await)?;
        return check_remote(host, "upload", exit, &stderr);
    }

    let (reader, writer) =
        io::pipe().map_err(|e| local_error("cannot create a pipe".into(), &e))?;
    let mut child = {
        let mut cmd = session.command("sh");
        cmd.arg("-c").arg(upload_dir_script(&plan.target));
        cmd.stdin(Stdio::from(OwnedFd::from(reader)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        ctx.spawn(&mut cmd).await?
    };
    let local = plan.local.clone();
    let pack = tokio::task::spawn_blocking(move || -> io::Result<()> {
        let mut builder = tar::Builder::new(writer);
        builder.follow_symlinks(false);
        builder.append_dir_all(".", &local)?;
        builder.into_inner()?;
        Ok(())
    });
    let (stderr, packed) = tokio::join!(read_all(child.stderr().take()), pack);
    let exit = exit_of(host, child.wait().await)?;
    check_remote(host, "upload", exit, &stderr.unwrap_or_default())?;
    match packed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(local_error(
            format!("cannot pack {}", plan.local.display()),
            &e,
        )),
        Err(e) => Err(local_error(
            format!("cannot pack {}", plan.local.display()),
            &e,
        )),
    }
}

/// Downloads from one host.
pub(crate) async fn download_one(
    ctx: &HostCtx<'_>,
    plan: &DownloadPlan,
) -> Result<PathBuf, RemoteError> {
    let host = ctx.host();
    let local_error = |operation: String, e: &dyn std::fmt::Display| io_error(host, operation, e);
    let session = ctx.session()?;
    let (host_dir, scratch) = host_scratch(host, &plan.local_dir, ".enos-download-")?;

    let (reader, writer) =
        io::pipe().map_err(|e| local_error("cannot create a pipe".into(), &e))?;
    let mut child = {
        let mut cmd = session.command("sh");
        cmd.arg("-c").arg(download_script(plan));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(OwnedFd::from(writer)))
            .stderr(Stdio::piped());
        ctx.spawn(&mut cmd).await?
    };
    let unpack = tokio::task::spawn_blocking(move || -> io::Result<tempfile::TempDir> {
        let mut archive = tar::Archive::new(io::BufReader::with_capacity(1 << 18, reader));
        archive.set_preserve_permissions(true);
        archive.set_preserve_mtime(true);
        archive.set_unpack_xattrs(false);
        archive.set_overwrite(true);
        archive.unpack(scratch.path())?;
        // Read the archive's padding too, so that the remote tar never writes into a closed pipe.
        io::copy(&mut archive.into_inner(), &mut io::sink())?;
        Ok(scratch)
    });
    let (stderr, unpacked) = tokio::join!(read_all(child.stderr().take()), unpack);
    let exit = exit_of(host, child.wait().await)?;
    let stderr = stderr.unwrap_or_default();
    let unpacked = match unpacked {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    // GNU tar exits with 1 when a file changed while it was read (a growing log): the archive
    // is still whole, so that is fine when it unpacked.
    let tolerated = exit == Exit::Code(1) && unpacked.is_ok();
    if !tolerated {
        check_remote(host, "download", exit, &stderr)?;
    }
    let scratch = unpacked
        .map_err(|e| local_error(format!("cannot unpack into {}", host_dir.display()), &e))?;

    let fresh = scratch.path().join(&plan.name);
    if fs::symlink_metadata(&fresh).is_err() {
        return Err(RemoteError::Remote {
            host: host.to_owned(),
            operation: "download",
            message: format!("the archive did not hold {}", plan.name),
        });
    }
    let dest = host_dir.join(&plan.name);
    // Move the previous copy out of the way (into the scratch directory, removed on drop).
    if fs::symlink_metadata(&dest).is_ok() {
        fs::rename(&dest, scratch.path().join(".previous"))
            .map_err(|e| local_error(format!("cannot replace {}", dest.display()), &e))?;
    }
    fs::rename(&fresh, &dest).map_err(|e| {
        local_error(
            format!("cannot move the download to {}", dest.display()),
            &e,
        )
    })?;
    Ok(dest)
}

/// A file [`Fleet::fetch_archives`](crate::Fleet::fetch_archives) placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedFile {
    /// Where, relative to the host's directory.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 (hex), computed as it was written.
    pub sha256: String,
}

/// A writer that hashes what it writes.
struct Hashing<W> {
    file: W,
    hasher: Sha256,
    size: u64,
}

impl<W: io::Write> io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A local I/O error on `host`'s side of a transfer.
fn io_error(host: &str, operation: String, e: &dyn std::fmt::Display) -> RemoteError {
    RemoteError::Io {
        host: host.to_owned(),
        operation,
        message: e.to_string(),
    }
}

/// `local_dir/<host>` (created), and a temporary directory in it named with `prefix`, where a
/// download lands before it is moved into place.
fn host_scratch(
    host: &str,
    local_dir: &Path,
    prefix: &str,
) -> Result<(PathBuf, tempfile::TempDir), RemoteError> {
    if !is_plain_file_name(host) {
        return Err(RemoteError::Invalid {
            host: host.to_owned(),
            message: "the host name cannot name a local directory".to_owned(),
        });
    }
    let host_dir = local_dir.join(host);
    fs::create_dir_all(&host_dir)
        .map_err(|e| io_error(host, format!("cannot create {}", host_dir.display()), &e))?;
    let scratch = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&host_dir)
        .map_err(|e| {
            io_error(
                host,
                format!("cannot create a directory in {}", host_dir.display()),
                &e,
            )
        })?;
    Ok((host_dir, scratch))
}

/// Runs `command` on one host with `input` as its standard input; the command writes a tar
/// archive of regular files on its standard output, which is unpacked into
/// `local_dir/<host>/`: into a temporary directory first, then each file renamed into place, so
/// that a file is either its previous copy or the whole new one. Returns the files placed,
/// relative to `local_dir/<host>/`, in archive order.
pub(crate) async fn fetch_archive_one(
    ctx: &HostCtx<'_>,
    command: &str,
    input: &[u8],
    local_dir: &Path,
) -> Result<Vec<FetchedFile>, RemoteError> {
    use tokio::io::AsyncWriteExt as _;
    let host = ctx.host();
    let local_error = |operation: String, e: &dyn std::fmt::Display| io_error(host, operation, e);
    let session = ctx.session()?;
    let (host_dir, scratch) = host_scratch(host, local_dir, ".enos-fetch-")?;
    let (reader, writer) =
        io::pipe().map_err(|e| local_error("cannot create a pipe".into(), &e))?;
    let mut child = {
        let mut cmd = session.raw_command(command);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::from(OwnedFd::from(writer)))
            .stderr(Stdio::piped());
        ctx.spawn(&mut cmd).await?
    };
    let stdin = child.stdin().take();
    let write = async move {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(input).await;
            let _ = stdin.shutdown().await;
        }
    };
    let root = scratch.path().to_owned();
    let unpack = tokio::task::spawn_blocking(move || -> io::Result<Vec<FetchedFile>> {
        // Large reads (256 KiB) keep the pipe drained: the master then writes big chunks, not the little
        // room a small reader leaves it.
        let mut archive = tar::Archive::new(io::BufReader::with_capacity(1 << 18, reader));
        let mut files = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.into_owned();
            // Only plain relative paths: nothing may land outside the host's directory.
            let plain = path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain || entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let target = root.join(&path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            // Written and hashed in one pass, the owner's alone (the copy's directory says
            // who else may read it).
            let mode = entry.header().mode().unwrap_or(0o600) & 0o700;
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode | 0o600)
                .open(&target)?;
            let mut out = Hashing {
                file: io::BufWriter::with_capacity(1 << 16, file),
                hasher: Sha256::new(),
                size: 0,
            };
            io::copy(&mut entry, &mut out)?;
            out.file.flush()?;
            files.push(FetchedFile {
                path,
                size: out.size,
                sha256: format!("{:x}", out.hasher.finalize()),
            });
        }
        // Read the archive's padding too, so that the remote tar never writes into a closed pipe.
        io::copy(&mut archive.into_inner(), &mut io::sink())?;
        Ok(files)
    });
    let ((), stderr, unpacked) = tokio::join!(write, read_all(child.stderr().take()), unpack);
    let exit = exit_of(host, child.wait().await)?;
    let unpacked = match unpacked {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    // GNU tar exits with 1 when a file changed while it was read: the archive is whole.
    if !(exit == Exit::Code(1) && unpacked.is_ok()) {
        check_remote(host, "fetch", exit, &stderr.unwrap_or_default())?;
    }
    let files = unpacked
        .map_err(|e| local_error(format!("cannot unpack into {}", host_dir.display()), &e))?;
    for file in &files {
        let file = &file.path;
        let dest = host_dir.join(file);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| local_error(format!("cannot create {}", parent.display()), &e))?;
        }
        fs::rename(scratch.path().join(file), &dest)
            .map_err(|e| local_error(format!("cannot move a file to {}", dest.display()), &e))?;
    }
    Ok(files)
}

/// An error when the remote helper did not exit with 0.
fn check_remote(
    host: &str,
    operation: &'static str,
    exit: Exit,
    stderr: &[u8],
) -> Result<(), RemoteError> {
    if exit.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let message = if lines.is_empty() {
        format!("{exit}")
    } else {
        lines.join("; ")
    };
    Err(RemoteError::Remote {
        host: host.to_owned(),
        operation,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote_path("/x y"), "'/x y'");
        assert_eq!(quote_path("-rf"), "'./-rf'");
        assert_eq!(quote_path("../up"), "'../up'");
    }

    #[test]
    fn remote_parents() {
        assert_eq!(remote_parent("/a/b"), "/a");
        assert_eq!(remote_parent("/a"), "/");
        assert_eq!(remote_parent("/"), "/");
        assert_eq!(remote_parent("b"), ".");
        assert_eq!(remote_parent("a/b/"), "a");
    }

    #[test]
    fn upload_targets() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("conf.yml");
        fs::write(&file, "x").unwrap();
        assert_eq!(
            plan_upload(&file, "/etc/app/").unwrap().target,
            "/etc/app/conf.yml"
        );
        assert_eq!(
            plan_upload(&file, "/etc/app/c.yml").unwrap().target,
            "/etc/app/c.yml"
        );
        assert!(!plan_upload(&file, "x").unwrap().is_dir);
        assert!(plan_upload(dir.path(), "x").unwrap().is_dir);
        let missing = plan_upload(&dir.path().join("nope"), "/x").unwrap_err();
        let err = missing.for_host("h");
        assert!(matches!(err, RemoteError::Io { .. }), "{err}");
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(plan_upload(&file, "").is_err());
    }

    #[test]
    fn download_names() {
        let plan = plan_download("/var/log/syslog", Path::new("out")).unwrap();
        assert_eq!(
            (plan.parent.as_str(), plan.name.as_str()),
            ("/var/log", "syslog")
        );
        let plan = plan_download("/etc/ssh/", Path::new("out")).unwrap();
        assert_eq!((plan.parent.as_str(), plan.name.as_str()), ("/etc", "ssh"));
        let plan = plan_download("notes", Path::new("out")).unwrap();
        assert_eq!((plan.parent.as_str(), plan.name.as_str()), (".", "notes"));
        for bad in ["/", "", "a/..", "//"] {
            assert!(plan_download(bad, Path::new("out")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn remote_failures_carry_stderr() {
        let err = check_remote("h", "upload", Exit::Code(2), b"tar: oops\n\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "host 'h': upload failed on the host: tar: oops"
        );
        let err = check_remote("h", "upload", Exit::Signal, b"").unwrap_err();
        assert!(err.to_string().ends_with("killed by a signal"));
        assert!(check_remote("h", "upload", Exit::Code(0), b"warn").is_ok());
    }
}
