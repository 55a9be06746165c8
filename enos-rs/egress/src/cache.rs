//! On-disk cache of immutable Debian packages.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::Uri;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Longest file name used for an entry; longer URLs are not cached.
const MAX_NAME: usize = 240;

/// A directory of complete `.deb`/`.udeb` downloads, one file per URL.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    seq: AtomicU64,
}

impl Cache {
    /// Uses `dir`, creating it if needed.
    pub(crate) fn open(dir: PathBuf) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            seq: AtomicU64::new(0),
        })
    }

    /// Returns the entry name of `uri` if it may be cached.
    ///
    /// The name is `host:port` followed by the path and query, with every byte
    /// outside `[A-Za-z0-9._+~-]` percent-encoded (including `/` and `%`), so
    /// names are one path component, unique per URL, and always contain `%3A`:
    /// never `.`/`..`, never the name of a temporary file.
    pub(crate) fn key(uri: &Uri) -> Option<String> {
        let path = uri.path();
        if uri.scheme_str() != Some("http") || !(path.ends_with(".deb") || path.ends_with(".udeb"))
        {
            return None;
        }
        let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(80);
        let rest = uri.path_and_query().map_or(path, |pq| pq.as_str());
        let mut name = String::new();
        for b in format!("{host}:{port}{rest}").bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'+' | b'~' | b'-' => {
                    name.push(char::from(b));
                }
                _ => {
                    let _ = write!(name, "%{b:02X}");
                }
            }
        }
        (name.len() <= MAX_NAME).then_some(name)
    }

    /// Opens the complete entry `key`, returning it with its length.
    pub(crate) async fn lookup(&self, key: &str) -> Option<(File, u64)> {
        let path = self.dir.join(key);
        let opened = async {
            let file = File::open(&path).await?;
            let len = file.metadata().await?.len();
            Ok::<_, io::Error>((file, len))
        };
        match opened.await {
            Ok(found) => Some(found),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read cache entry: {e}");
                None
            }
        }
    }

    /// Starts writing entry `key` into a temporary file of the cache directory.
    pub(crate) async fn begin(&self, key: &str) -> io::Result<Entry> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!("_tmp.{}.{seq}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await?;
        Ok(Entry {
            file: BufWriter::with_capacity(256 * 1024, file),
            written: 0,
            dest: self.dir.join(key),
            tmp: TempFile(Some(tmp)),
        })
    }
}

/// A cache entry being written. Dropping it without [`Entry::commit`] removes
/// the temporary file.
#[derive(Debug)]
pub(crate) struct Entry {
    file: BufWriter<File>,
    written: u64,
    dest: PathBuf,
    tmp: TempFile,
}

impl Entry {
    /// Appends body bytes.
    pub(crate) async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data).await?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Moves the entry into place if `expected` (the announced length, if any)
    /// matches what was written; otherwise removes it.
    pub(crate) async fn commit(mut self, expected: Option<u64>) -> io::Result<()> {
        if let Some(expected) = expected.filter(|&n| n != self.written) {
            return Err(io::Error::other(format!(
                "body has {} bytes, Content-Length said {expected}",
                self.written
            )));
        }
        self.file.flush().await?;
        let tmp = self.tmp.path()?;
        tokio::fs::rename(tmp, &self.dest).await?;
        self.tmp.0 = None;
        Ok(())
    }

    /// Final path of the entry.
    pub(crate) fn dest(&self) -> &Path {
        &self.dest
    }
}

/// Path of a temporary file, removed on drop unless taken.
#[derive(Debug)]
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> io::Result<&Path> {
        self.0
            .as_deref()
            .ok_or_else(|| io::Error::other("temporary file already gone"))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && let Err(e) = std::fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), "cannot remove temporary file: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Option<String> {
        Cache::key(&s.parse().unwrap())
    }

    #[test]
    fn keys_are_single_safe_components() {
        assert_eq!(
            key("http://Deb.Debian.org/debian/pool/main/g/gcc/g++_1.0~rc1_amd64.deb").as_deref(),
            Some("deb.debian.org%3A80%2Fdebian%2Fpool%2Fmain%2Fg%2Fgcc%2Fg++_1.0~rc1_amd64.deb")
        );
        for url in [
            "http://h/../../etc/passwd.deb",
            "http://h:8080/a%2F..%2Fb.udeb?x=/../y",
            "http://h/a_b/c.deb",
        ] {
            let k = key(url).unwrap();
            assert!(
                !k.contains('/') && k.contains("%3A") && !k.starts_with('.'),
                "{k}"
            );
        }
        assert_ne!(key("http://h/a/b.deb"), key("http://h/a_b.deb"));
        assert_ne!(key("http://h/a.deb"), key("http://h:81/a.deb"));
    }

    #[test]
    fn only_debs_over_http_are_cacheable() {
        assert!(key("http://h/dists/sid/InRelease").is_none());
        assert!(key("http://h/dists/sid/main/by-hash/SHA256/abc").is_none());
        assert!(key("https://h/a.deb").is_none());
        assert!(key("/a.deb").is_none());
        assert!(key(&format!("http://h/{}.deb", "x".repeat(300))).is_none());
        assert!(key("http://h/a.udeb").is_some());
    }
}
