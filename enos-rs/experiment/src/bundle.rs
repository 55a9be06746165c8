//! Bundles: one run packed into one archive, to publish as an artefact or to run again.
//!
//! `enos bundle RUN` writes a gzipped tar whose single top directory is the run's id:
//!
//! ```text
//! <run id>/
//!   bundle.json        the run's ledger entry (scenario hash, values, versions, testbed facts)
//!                      and every file with its size and SHA-256
//!   SHA256SUMS         the same checksums, for `sha256sum -c`
//!   scenario/          the scenario as the run ran it, and the files it names (templates,
//!                      files to copy, local stacks, Rally tasks)
//!   experiment/        the experiment's directory: state, resolved inventory, facts, WAN,
//!                      deploy reports, bench records, metrics, backup, analysis — without its
//!                      SSH keys, SSH configuration, secrets and lock
//! ```
//!
//! [`open`] unpacks a bundle under a results root and checks every file against its checksum
//! before anything runs; `enos run --from` then runs its scenario and compares the new run with
//! the bundled one.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use enos_core::layout;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::ledger::{self, LedgerEntry};

/// The version of [`BundleRecord`].
pub const BUNDLE_VERSION: u32 = 1;
/// The bundle's record, in its top directory.
pub const BUNDLE_RECORD: &str = "bundle.json";
/// The checksums, in its top directory.
pub const BUNDLE_SUMS: &str = "SHA256SUMS";
/// The scenario and its files.
pub const BUNDLE_SCENARIO_DIR: &str = "scenario";
/// The experiment's directory.
pub const BUNDLE_EXPERIMENT_DIR: &str = "experiment";
/// Where bundles opened for a re-run are unpacked, under a results root.
pub const BUNDLES_DIR: &str = "bundles";

/// Entries of an experiment's directory a bundle leaves out: keys (the experiment's, and those
/// Vagrant made for its VMs), secrets, the lock.
const LEFT_OUT: [&str; 5] = [
    layout::SSH_DIR,
    layout::SSH_CONFIG,
    layout::SECRETS,
    layout::LOCK,
    layout::VAGRANT_MACHINES,
];

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundledFile {
    /// Its path, under the bundle's top directory.
    pub path: String,
    /// Its size, in bytes.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: String,
}

/// `bundle.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleRecord {
    /// [`BUNDLE_VERSION`].
    pub v: u32,
    /// When the bundle was made.
    pub created: jiff::Timestamp,
    /// The version of enos that made it.
    pub enos: String,
    /// The run, as the ledger has it.
    pub run: LedgerEntry,
    /// The scenario file, under the bundle's top directory (`scenario/<file name>`).
    pub scenario: String,
    /// Every other file, with its checksum.
    pub files: Vec<BundledFile>,
}

/// What [`bundle`] wrote.
#[derive(Debug, Clone)]
pub struct Bundled {
    /// The archive.
    pub archive: PathBuf,
    /// Its record.
    pub record: BundleRecord,
}

/// A file to pack: where it goes, and where it comes from.
enum Source {
    File(PathBuf),
    Text(Vec<u8>),
}

/// Packs the run `id` of the results root `root` into `output` (default: `<id>.tar.gz` in the
/// current directory).
pub fn bundle(root: &Path, id: &str, output: Option<&Path>) -> Result<Bundled, Error> {
    let entry = ledger::find(root, id)?;
    let experiment_rel = entry.experiment.clone().ok_or_else(|| {
        Error::new(format!(
            "run '{id}' has no experiment directory: nothing to bundle"
        ))
    })?;
    let experiment = root.join(&experiment_rel);
    let scenario_text = std::fs::read(experiment.join(layout::SCENARIO)).map_err(|e| {
        Error::new(format!(
            "cannot read the scenario of run '{id}' in {}: {e}",
            experiment.display()
        ))
    })?;
    let scenario_file = Path::new(&entry.scenario.file);
    let scenario_name = scenario_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario.yaml".to_owned());
    let mut sources: Vec<(String, Source)> = Vec::new();
    let scenario_path = format!("{BUNDLE_SCENARIO_DIR}/{scenario_name}");
    sources.push((scenario_path.clone(), Source::Text(scenario_text.clone())));
    // The files the scenario names, as this machine has them now.
    let state = enos_core::read_state(&experiment)?;
    let scenario_dir = scenario_file.parent().unwrap_or(Path::new("/"));
    for (relative, source) in named_files(&state.scenario, scenario_dir)? {
        sources.push((format!("{BUNDLE_SCENARIO_DIR}/{relative}"), source));
    }
    walk(&experiment, &experiment, &mut |relative, path| {
        sources.push((
            format!("{BUNDLE_EXPERIMENT_DIR}/{relative}"),
            Source::File(path.to_owned()),
        ));
    })?;
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    sources.dedup_by(|a, b| a.0 == b.0);

    let archive = output.map_or_else(|| PathBuf::from(format!("{id}.tar.gz")), Path::to_owned);
    let tmp = archive.with_extension("tmp");
    let file = std::fs::File::create(&tmp)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", tmp.display())))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut files = Vec::new();
    let io = |e: std::io::Error| Error::new(format!("cannot write {}: {e}", tmp.display()));
    for (path, source) in &sources {
        let bytes = match source {
            Source::Text(bytes) => bytes.clone(),
            Source::File(from) => std::fs::read(from)
                .map_err(|e| Error::new(format!("cannot read {}: {e}", from.display())))?,
        };
        files.push(BundledFile {
            path: path.clone(),
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
        });
        append(&mut tar, &format!("{id}/{path}"), &bytes).map_err(io)?;
    }
    let record = BundleRecord {
        v: BUNDLE_VERSION,
        created: jiff::Timestamp::now(),
        enos: env!("CARGO_PKG_VERSION").to_owned(),
        run: entry,
        scenario: scenario_path,
        files,
    };
    let sums: String = record
        .files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.path))
        .collect();
    append(&mut tar, &format!("{id}/{BUNDLE_SUMS}"), sums.as_bytes()).map_err(io)?;
    let json = serde_json::to_vec_pretty(&record).map_err(|e| Error::new(e.to_string()))?;
    append(&mut tar, &format!("{id}/{BUNDLE_RECORD}"), &json).map_err(io)?;
    let gz = tar.into_inner().map_err(io)?;
    let mut file = gz.finish().map_err(io)?;
    file.flush().map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &archive)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", archive.display())))?;
    Ok(Bundled { archive, record })
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Calls `found(relative path, path)` for every regular file under `dir` (symbolic links, the
/// experiment's `current` pointers, are left out, as are [`LEFT_OUT`]).
fn walk(top: &Path, dir: &Path, found: &mut dyn FnMut(&str, &Path)) -> Result<(), Error> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", dir.display())))?;
    let mut items: Vec<_> = read.flatten().collect();
    items.sort_by_key(|i| i.file_name());
    for item in items {
        let path = item.path();
        let relative = path
            .strip_prefix(top)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if LEFT_OUT.contains(&relative.as_str()) {
            continue;
        }
        let Ok(kind) = item.file_type() else { continue };
        if kind.is_dir() {
            walk(top, &path, found)?;
        } else if kind.is_file() {
            found(&relative, &path);
        }
    }
    Ok(())
}

/// The files the scenario names, relative to its directory `dir`: templates and files to copy
/// of its own steps, local stacks whole, Rally task files as they were read.
fn named_files(
    scenario: &enos_scenario::Scenario,
    dir: &Path,
) -> Result<Vec<(String, Source)>, Error> {
    use enos_scenario::deploy::{Action, FileRoot, TemplateSource};
    let mut out = Vec::new();
    let under = |path: &Path| -> Result<String, Error> {
        path.strip_prefix(dir)
            .map(|p| p.display().to_string())
            .map_err(|_| {
                Error::new(format!(
                    "cannot bundle {}: it is not under the scenario's directory {}",
                    path.display(),
                    dir.display()
                ))
            })
    };
    for group in &scenario.deploy.groups {
        let FileRoot::Dir(root) = &group.files else {
            continue; // built into enos
        };
        if group.stack.is_some() {
            // A stack given by path: all of it.
            walk(root, root, &mut |relative, path| {
                out.push((relative.to_owned(), Source::File(path.to_owned())));
            })?;
            let prefix = under(root)?;
            for item in out.iter_mut().rev() {
                if item.0.starts_with(&prefix) {
                    break;
                }
                item.0 = format!("{prefix}/{}", item.0);
            }
            continue;
        }
        for step in &group.steps {
            let named = match &step.action {
                Action::Template {
                    source: TemplateSource::File(name),
                    ..
                } => name,
                Action::Copy { src, .. } => src,
                _ => continue,
            };
            let path = root.join(named);
            let relative = under(&path)?;
            if path.is_dir() {
                walk(&path, &path, &mut |inner, file| {
                    out.push((format!("{relative}/{inner}"), Source::File(file.to_owned())));
                })?;
            } else {
                out.push((relative, Source::File(path)));
            }
        }
    }
    for workload in &scenario.bench.workloads {
        for (name, text) in &workload.files {
            out.push((name.clone(), Source::Text(text.clone().into_bytes())));
        }
    }
    Ok(out)
}

/// A bundle unpacked and checked.
#[derive(Debug, Clone)]
pub struct Opened {
    /// Where it was unpacked (`bundles/<run id>` under the results root).
    pub dir: PathBuf,
    /// Its record.
    pub record: BundleRecord,
    /// Its scenario file, unpacked.
    pub scenario: PathBuf,
    /// The bundled experiment's directory.
    pub experiment: PathBuf,
}

/// Unpacks the bundle `archive` under the results root `root` and checks every file against
/// its checksum; a file missing, changed or not listed is an error, and nothing is run.
pub fn open(archive: &Path, root: &Path) -> Result<Opened, Error> {
    let read_err =
        |e: std::io::Error| Error::new(format!("cannot read {}: {e}", archive.display()));
    let file = std::fs::File::open(archive).map_err(read_err)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let target = root.join(BUNDLES_DIR);
    std::fs::create_dir_all(&target)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", target.display())))?;
    let staging = tempdir_in(&target)?;
    let mut top: Option<String> = None;
    for item in tar.entries().map_err(read_err)? {
        let mut item = item.map_err(read_err)?;
        let path = item.path().map_err(read_err)?.into_owned();
        let first = path
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        match &top {
            None => top = Some(first),
            Some(t) if *t == first => {}
            Some(t) => {
                return Err(Error::new(format!(
                    "{}: not a bundle: entries under '{t}' and '{first}'",
                    archive.display()
                )));
            }
        }
        // `unpack_in` refuses paths that leave the directory.
        let inside = item.unpack_in(&staging).map_err(read_err)?;
        if !inside {
            return Err(Error::new(format!(
                "{}: not a bundle: '{}' leaves its directory",
                archive.display(),
                path.display()
            )));
        }
    }
    let top = top.ok_or_else(|| Error::new(format!("{}: an empty archive", archive.display())))?;
    let unpacked = staging.join(&top);
    let record_path = unpacked.join(BUNDLE_RECORD);
    let text = std::fs::read(&record_path)
        .map_err(|e| Error::new(format!("{}: no {BUNDLE_RECORD}: {e}", archive.display())))?;
    let record: BundleRecord = serde_json::from_slice(&text)
        .map_err(|e| Error::new(format!("{}: {BUNDLE_RECORD}: {e}", archive.display())))?;
    if record.v != BUNDLE_VERSION {
        return Err(Error::new(format!(
            "{}: a bundle of version {}, this enos reads {BUNDLE_VERSION}",
            archive.display(),
            record.v
        )));
    }
    let mut listed: Vec<&str> = record.files.iter().map(|f| f.path.as_str()).collect();
    listed.extend([BUNDLE_RECORD, BUNDLE_SUMS]);
    let mut present = Vec::new();
    walk(&unpacked, &unpacked, &mut |relative, _| {
        present.push(relative.to_owned())
    })?;
    if let Some(extra) = present.iter().find(|p| !listed.contains(&p.as_str())) {
        return Err(Error::new(format!(
            "{}: {extra} is not listed in {BUNDLE_RECORD}",
            archive.display()
        )));
    }
    for file in &record.files {
        let path = unpacked.join(&file.path);
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::new(format!("{}: {}: {e}", archive.display(), file.path)))?;
        if hex(&Sha256::digest(&bytes)) != file.sha256 {
            return Err(Error::new(format!(
                "{}: {} does not match its checksum: the bundle was changed or damaged",
                archive.display(),
                file.path
            )));
        }
    }
    let dir = target.join(&top);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Error::new(format!("cannot replace {}: {e}", dir.display())))?;
    }
    std::fs::rename(&unpacked, &dir)
        .map_err(|e| Error::new(format!("cannot move to {}: {e}", dir.display())))?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(Opened {
        scenario: dir.join(&record.scenario),
        experiment: dir.join(BUNDLE_EXPERIMENT_DIR),
        dir,
        record,
    })
}

/// A new private directory under `dir`.
fn tempdir_in(dir: &Path) -> Result<PathBuf, Error> {
    for n in 0..1000u32 {
        let path = dir.join(format!(".unpack-{}-{n}", std::process::id()));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::new(format!("cannot create {}: {e}", path.display()))),
        }
    }
    Err(Error::new(format!(
        "cannot create a directory in {}",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_bundle_leaves_out_keys_secrets_the_lock_and_vagrants_machine_state() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        for file in [
            "state.json",
            ".lock",
            "secrets.json",
            "ssh_config",
            "ssh/id_ecdsa",
            "logs/vagrant.log",
            "vagrant/Vagrantfile",
            "vagrant/.vagrant/machines/paris-server-1/libvirt/private_key",
        ] {
            let path = top.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file).unwrap();
        }
        let mut found = Vec::new();
        walk(top, top, &mut |relative, _| found.push(relative.to_owned())).unwrap();
        assert_eq!(
            found,
            ["logs/vagrant.log", "state.json", "vagrant/Vagrantfile"]
        );
    }
}
