//! `enos backup`: brings home from every host what a post-mortem needs — the metrics agents'
//! files, the logs of the services enos started (`/var/log/enos`), and the logs and
//! configuration each stack declares (`backup:` in its stack file, fetched from the hosts its
//! steps ran on) — into `backup/<host>/<path on the host>`, with a manifest.
//!
//! Each host lists its files with their sizes and modification times first; only files
//! missing here or changed there (another size or time, as rsync's quick check) are fetched
//! (one tar stream per host, hosts in parallel through their SSH masters), so a second backup
//! of unchanged hosts transfers nothing. Each copy is hashed as it lands here, never on the
//! hosts. A host that cannot be
//! reached is recorded as `unreachable` with the reason, its earlier copies kept; the others
//! are fetched in full. The manifest (`backup/manifest.json`) lists every file held with its
//! host, remote path, size, SHA-256 and when it was collected; `backup/SHA256SUMS` lets
//! `sha256sum -c` check the copies. Files may hold what services log: the backup directory is
//! the owner's only (0700).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use enos_core::{Host, Reporter, layout};
use enos_deploy::DeployReport;
use enos_remote::HostCommand;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::records::{write_json, write_text};
use crate::registry::Providers;
use crate::session::{self, Session};

/// The version of `backup/manifest.json`.
pub const BACKUP_VERSION: u32 = 1;
/// What every host has to back up: the logs of the services enos's deploy started.
pub const SERVICE_LOGS: &str = enos_deploy::script::SERVICE_LOG_DIR;
/// How long a host gets to list its files, and to send them.
const LIST_TIMEOUT: Duration = Duration::from_secs(120);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3600);

/// How a host's backup went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Every file listed is held, as it is on the host.
    Complete,
    /// Some files could not be fetched (see `error`).
    Incomplete,
    /// The host could not be reached: its earlier copies, if any, are kept.
    Unreachable,
}

/// One host in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostBackup {
    /// The host.
    pub host: String,
    /// How its backup went.
    pub status: HostStatus,
    /// Why it is not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The paths asked of it.
    pub paths: Vec<String>,
    /// Files held for it.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Files fetched by this backup (the others were held already, unchanged).
    pub fetched: usize,
    /// Bytes fetched by this backup.
    pub fetched_bytes: u64,
}

/// One file in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The host it comes from.
    pub host: String,
    /// Its path on the host.
    pub path: String,
    /// The copy, relative to `backup/`.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time on the host when it was listed (Unix seconds, as `find` prints
    /// them).
    pub mtime: String,
    /// Its SHA-256 (hex), of the copy.
    pub sha256: String,
    /// When it was fetched (RFC 3339).
    pub collected_at: String,
}

/// `backup/manifest.json` (a record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Record version.
    pub v: u32,
    /// When the latest backup started.
    pub started: String,
    /// When it ended.
    pub ended: String,
    /// Every host.
    pub hosts: Vec<HostBackup>,
    /// Every file held, by host then path.
    pub files: Vec<FileEntry>,
}

/// What `enos backup` did.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRun {
    /// The backup directory.
    pub dir: std::path::PathBuf,
    /// The manifest written.
    pub manifest: Manifest,
}

impl BackupRun {
    /// Files and bytes fetched by this run.
    pub fn fetched(&self) -> (usize, u64) {
        self.manifest
            .hosts
            .iter()
            .fold((0, 0), |(f, b), h| (f + h.fetched, b + h.fetched_bytes))
    }
}

/// Reads the manifest of the experiment in `dir`, if there is one.
pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read(dir.join(layout::BACKUP_MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The paths to back up on each host: the metrics agent's directory, the service logs, and
/// what the stacks declare on the hosts their steps ran on (from the deploy reports).
pub fn paths_per_host(session: &Session) -> BTreeMap<String, Vec<String>> {
    let dir = session.experiment.dir();
    let state = session.experiment.state();
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let add = |paths: &mut BTreeMap<String, Vec<String>>, host: &str, path: &str| {
        let list = paths.entry(host.to_owned()).or_default();
        if !list.iter().any(|p| p == path) {
            list.push(path.to_owned());
        }
    };
    for host in &session.testbed.hosts {
        add(
            &mut paths,
            &host.name,
            &crate::metrics::remote_metrics_dir(state, &host.name),
        );
        add(&mut paths, &host.name, SERVICE_LOGS);
    }
    // Step numbers run from 1 over the groups' steps in order, as the deploy report numbers
    // them: a stack's steps are a range of them.
    let reports = deploy_reports(dir);
    let mut number = 0;
    for group in &state.scenario.deploy.groups {
        let first = number + 1;
        number += group.steps.len();
        let Some(stack) = group.stack.as_ref().filter(|s| !s.backup.is_empty()) else {
            continue;
        };
        let hosts: BTreeSet<&str> = reports
            .iter()
            .flat_map(|r| &r.steps)
            .filter(|s| (first..=number).contains(&s.number))
            .flat_map(|s| s.hosts.iter().map(|h| h.host.as_str()))
            .collect();
        for host in hosts {
            for path in &stack.backup {
                add(&mut paths, host, path);
            }
        }
    }
    paths
}

fn deploy_reports(dir: &Path) -> Vec<DeployReport> {
    let Ok(runs) = std::fs::read_dir(dir.join(layout::DEPLOY_DIR)) else {
        return Vec::new();
    };
    runs.flatten()
        .filter_map(|run| std::fs::read(run.path().join(layout::DEPLOY_REPORT)).ok())
        .filter_map(|text| serde_json::from_slice(&text).ok())
        .collect()
}

/// The listing script: for each path given that exists, `F <size> <mtime> <path>` per regular
/// file.
const LIST_SCRIPT: &str = r#"for p in "$@"; do
  if [ -e "$p" ]; then
    find "$p" -type f -printf 'F %s %T@ %p\n' || exit 70
  fi
done"#;

/// A file as the host listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    size: u64,
    mtime: String,
}

/// Reads a listing; lines that do not parse (a name with a newline) are skipped.
fn parse_listing(stdout: &[u8]) -> BTreeMap<String, Listed> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("F ")?;
            let (size, rest) = rest.split_once(' ')?;
            let (mtime, path) = rest.split_once(' ')?;
            let size = size.parse().ok()?;
            let plain =
                path.starts_with('/') && mtime.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            plain.then(|| {
                (
                    path.to_owned(),
                    Listed {
                        size,
                        mtime: mtime.to_owned(),
                    },
                )
            })
        })
        .collect()
}

/// The copy of `path` of `host`, relative to `backup/`.
fn copy_name(host: &str, path: &str) -> String {
    format!("{host}/{}", path.trim_start_matches('/'))
}

/// Backs up the experiment at `location`.
pub async fn backup(
    providers: &Providers,
    location: &Path,
    reporter: &dyn Reporter,
) -> Result<BackupRun, Error> {
    let session = Session::open(location)?;
    crate::provider_of(providers, &session.experiment)?;
    let started = jiff::Timestamp::now().to_string();
    let dir = session.experiment.dir().join(layout::BACKUP_DIR);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    let previous = read_manifest(session.experiment.dir());
    let held: BTreeMap<(String, String), FileEntry> = previous
        .iter()
        .flat_map(|m| m.files.iter())
        .map(|f| ((f.host.clone(), f.path.clone()), f.clone()))
        .collect();
    let paths = paths_per_host(&session);
    let testbed = &session.testbed;
    let (fleet, failures) =
        session::connect(testbed, &testbed.hosts, session::PARALLELISM, reporter).await;
    let mut hosts: BTreeMap<String, HostBackup> = testbed
        .hosts
        .iter()
        .map(|h| {
            (
                h.name.clone(),
                HostBackup {
                    host: h.name.clone(),
                    status: HostStatus::Complete,
                    error: None,
                    paths: paths.get(&h.name).cloned().unwrap_or_default(),
                    files: 0,
                    bytes: 0,
                    fetched: 0,
                    fetched_bytes: 0,
                },
            )
        })
        .collect();
    for f in &failures {
        if let Some(h) = hosts.get_mut(&f.host) {
            h.status = HostStatus::Unreachable;
            h.error = Some(f.outcome_error());
        }
    }

    // 1. Each reachable host lists its files.
    let reachable: Vec<&Host> = testbed
        .hosts
        .iter()
        .filter(|h| fleet.hosts().any(|n| n == h.name))
        .collect();
    let listing_commands: Vec<(String, String)> = reachable
        .iter()
        .map(|h| {
            let words: Vec<String> = paths
                .get(&h.name)
                .into_iter()
                .flatten()
                .map(|p| enos_deploy::script::quote(p))
                .collect();
            let command = format!(
                "sh -c {} sh {}",
                enos_deploy::script::quote(LIST_SCRIPT),
                words.join(" ")
            );
            (h.name.clone(), h.as_root(&command))
        })
        .collect();
    let mut listings: BTreeMap<String, BTreeMap<String, Listed>> = BTreeMap::new();
    for result in fleet
        .run_each(&listing_commands, LIST_TIMEOUT, reporter)
        .await
    {
        let Some(h) = hosts.get_mut(&result.host) else {
            continue;
        };
        match result.outcome {
            Ok(output) if output.success() => {
                listings.insert(result.host, parse_listing(&output.stdout));
            }
            Ok(output) => {
                h.status = HostStatus::Incomplete;
                h.error = Some(format!(
                    "listing its files failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            Err(e) => {
                h.status = if e.is_connection_failure() {
                    HostStatus::Unreachable
                } else {
                    HostStatus::Incomplete
                };
                h.error = Some(e.reason());
            }
        }
    }

    // 2. What is missing here or changed there.
    let mut wanted: BTreeMap<String, Vec<(String, Listed)>> = BTreeMap::new();
    let mut files: Vec<FileEntry> = Vec::new();
    for (host, listing) in &listings {
        for (path, listed) in listing {
            let name = copy_name(host, path);
            let kept = held.get(&(host.clone(), path.clone())).filter(|entry| {
                entry.size == listed.size
                    && entry.mtime == listed.mtime
                    && std::fs::metadata(dir.join(&name)).is_ok_and(|m| m.len() == listed.size)
            });
            match kept {
                Some(entry) => files.push(entry.clone()),
                None => wanted
                    .entry(host.clone())
                    .or_default()
                    .push((path.clone(), listed.clone())),
            }
        }
    }
    // Hosts not listed now keep what earlier backups fetched.
    for ((host, _), entry) in &held {
        if !listings.contains_key(host) {
            files.push(entry.clone());
        }
    }

    // 3. One tar stream per host of its wanted files.
    let commands: Vec<HostCommand> = wanted
        .iter()
        .filter_map(|(host, list)| {
            let h = testbed.host(host)?;
            let mut input = Vec::new();
            for (path, _) in list {
                input.extend_from_slice(path.trim_start_matches('/').as_bytes());
                input.push(0);
            }
            Some(HostCommand {
                host: host.clone(),
                command: h.as_root("tar -c -f - -C / --null -T -"),
                input: vec![Bytes::from(input)],
            })
        })
        .collect();
    let fetched = fleet
        .fetch_archives(commands, &dir, FETCH_TIMEOUT, reporter)
        .await;
    let collected_at = jiff::Timestamp::now().to_string();
    for result in fetched {
        let Some(h) = hosts.get_mut(&result.host) else {
            continue;
        };
        let got: BTreeMap<String, enos_remote::FetchedFile> = match result.outcome {
            Ok(list) => list
                .into_iter()
                .map(|f| (format!("/{}", f.path.display()), f))
                .collect(),
            Err(e) => {
                h.status = HostStatus::Incomplete;
                h.error = Some(format!("fetching its files failed: {}", e.reason()));
                BTreeMap::new()
            }
        };
        for (path, listed) in wanted.get(&result.host).into_iter().flatten() {
            let Some(fetched) = got.get(path) else {
                // Gone on the host since the listing, or not fetched: an earlier copy stays.
                if let Some(entry) = held.get(&(result.host.clone(), path.clone())) {
                    files.push(entry.clone());
                }
                continue;
            };
            // What is held is what counts: a file that grew while it was fetched is recorded
            // as fetched (its hash is the copy's), and fetched again next time.
            h.fetched += 1;
            h.fetched_bytes += fetched.size;
            files.push(FileEntry {
                host: result.host.clone(),
                path: path.clone(),
                file: copy_name(&result.host, path),
                size: fetched.size,
                mtime: listed.mtime.clone(),
                sha256: fetched.sha256.clone(),
                collected_at: collected_at.clone(),
            });
        }
    }
    files.sort_by(|a, b| (&a.host, &a.path).cmp(&(&b.host, &b.path)));
    for f in &files {
        if let Some(h) = hosts.get_mut(&f.host) {
            h.files += 1;
            h.bytes += f.size;
        }
    }
    let manifest = Manifest {
        v: BACKUP_VERSION,
        started,
        ended: jiff::Timestamp::now().to_string(),
        hosts: testbed
            .hosts
            .iter()
            .filter_map(|h| hosts.remove(&h.name))
            .collect(),
        files,
    };
    let sums: String = manifest
        .files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.file))
        .collect();
    write_text(
        &session.experiment.dir().join(layout::BACKUP_SUMS),
        sums.as_bytes(),
    )?;
    write_json(
        &session.experiment.dir().join(layout::BACKUP_MANIFEST),
        &manifest,
    )?;
    Ok(BackupRun { dir, manifest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_reads_sizes_and_times_and_skips_what_does_not_parse() {
        let text = "F 12 1796153957.5343210000 /var/log/enos/web.log\nF 0 1796153957.0000000000 /var/log/a b.log\n\
                    name\nF x 1 /bad-size\nF 3 17961 relative\n";
        let listing = parse_listing(text.as_bytes());
        assert_eq!(listing.len(), 2, "{listing:?}");
        assert_eq!(
            listing["/var/log/enos/web.log"],
            Listed {
                size: 12,
                mtime: "1796153957.5343210000".to_owned()
            }
        );
        assert_eq!(listing["/var/log/a b.log"].size, 0);
        assert_eq!(
            copy_name("a-x-1", "/var/log/a b.log"),
            "a-x-1/var/log/a b.log"
        );
    }
}
