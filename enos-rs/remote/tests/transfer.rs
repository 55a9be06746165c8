//! Uploads and downloads of files and directory trees.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use enos_core::NullReporter;
use enos_remote::{Fleet, RemoteError};

use crate::common::{Sshd, control_dir, targets};

const TIMEOUT: Duration = Duration::from_secs(120);

/// `len` bytes of varied content.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// What a tree holds: relative path -> (kind, mode, content or link target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (char, u32, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (char, u32, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let m = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, ('l', 0, target.into_os_string().into_encoded_bytes()));
            } else if meta.is_dir() {
                out.insert(rel, ('d', m, Vec::new()));
                walk(root, &path, out);
            } else {
                out.insert(rel, ('f', m, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    out.insert(PathBuf::from("."), ('d', mode(root), Vec::new()));
    walk(root, root, &mut out);
    out
}

#[tokio::test]
async fn a_file_goes_up_and_comes_back_with_its_mode() {
    let Some(sshd) = Sshd::start("a_file_goes_up_and_comes_back_with_its_mode") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "dead", "beta"]),
        &NullReporter,
    )
    .await;
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("data.bin");
    let bytes = content(5 * 1024 * 1024 + 17, 1);
    fs::write(&file, &bytes).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();

    let target = sshd.remote_dir.join("up/deeper/data.bin");
    let results = fleet
        .upload(&file, target.to_str().unwrap(), TIMEOUT, &NullReporter)
        .await;
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(matches!(
        results[1].outcome,
        Err(RemoteError::Unreachable { .. })
    ));
    assert_eq!(fs::read(&target).unwrap(), bytes);
    assert_eq!(mode(&target), 0o640);
    let owner = std::os::unix::fs::MetadataExt::uid(&fs::metadata(&target).unwrap());
    assert_eq!(owner, sshd.user.uid);
    // No temporary file is left beside it.
    assert_eq!(fs::read_dir(target.parent().unwrap()).unwrap().count(), 1);

    // A trailing slash puts the copy into the directory under its own name.
    let into = format!("{}/into/", sshd.remote_dir.display());
    let results = fleet
        .subset(&["alpha"])
        .upload(&file, &into, TIMEOUT, &NullReporter)
        .await;
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(
        fs::read(sshd.remote_dir.join("into/data.bin")).unwrap(),
        bytes
    );

    // Download from both hosts into <dir>/<host>/<name>.
    let downloads = tempfile::tempdir().unwrap();
    let results = fleet
        .download(
            target.to_str().unwrap(),
            downloads.path(),
            TIMEOUT,
            &NullReporter,
        )
        .await;
    for (result, host) in [(&results[0], "alpha"), (&results[2], "beta")] {
        let path = result.outcome.as_ref().unwrap();
        assert_eq!(path, &downloads.path().join(host).join("data.bin"));
        assert_eq!(fs::read(path).unwrap(), bytes);
        assert_eq!(mode(path), 0o640);
    }
    assert!(results[1].outcome.is_err());
    // Nothing else is left in the host's directory.
    assert_eq!(
        fs::read_dir(downloads.path().join("alpha"))
            .unwrap()
            .count(),
        1
    );
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn a_directory_tree_goes_up_and_comes_back() {
    let Some(sshd) = Sshd::start("a_directory_tree_goes_up_and_comes_back") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha"]),
        &NullReporter,
    )
    .await;
    let local = tempfile::tempdir().unwrap();
    let tree = local.path().join("tree");
    fs::create_dir_all(tree.join("bin")).unwrap();
    fs::create_dir_all(tree.join("nested/deep")).unwrap();
    fs::create_dir_all(tree.join("empty")).unwrap();
    fs::write(tree.join("a.txt"), "hello\n").unwrap();
    fs::write(tree.join("bin/run.sh"), "#!/bin/sh\necho run\n").unwrap();
    fs::write(tree.join("secret"), "s3cr3t").unwrap();
    fs::write(tree.join("nested/deep/big.bin"), content(1_500_000, 2)).unwrap();
    fs::write(tree.join("name with 'quotes' and spaces"), "q").unwrap();
    std::os::unix::fs::symlink("a.txt", tree.join("link")).unwrap();
    fs::set_permissions(tree.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(tree.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(tree.join("nested"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::set_permissions(&tree, fs::Permissions::from_mode(0o751)).unwrap();

    let remote = sshd.remote_dir.join("deployed/tree");
    let results = fleet
        .upload(&tree, remote.to_str().unwrap(), TIMEOUT, &NullReporter)
        .await;
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(snapshot(&remote), snapshot(&tree));

    let downloads = tempfile::tempdir().unwrap();
    let results = fleet
        .download(
            remote.to_str().unwrap(),
            downloads.path(),
            TIMEOUT,
            &NullReporter,
        )
        .await;
    let path = results[0].outcome.as_ref().unwrap();
    assert_eq!(path, &downloads.path().join("alpha/tree"));
    assert_eq!(snapshot(path), snapshot(&tree));

    // A second download replaces the first whole.
    fs::write(path.join("stray"), "x").unwrap();
    let results = fleet
        .download(
            &format!("{}/", remote.display()),
            downloads.path(),
            TIMEOUT,
            &NullReporter,
        )
        .await;
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(snapshot(path), snapshot(&tree));
    assert_eq!(
        fs::read_dir(downloads.path().join("alpha"))
            .unwrap()
            .count(),
        1
    );
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn transfer_errors_are_reported_per_host() {
    let Some(sshd) = Sshd::start("transfer_errors_are_reported_per_host") else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha", "beta"]),
        &NullReporter,
    )
    .await;
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("f");
    fs::write(&file, "x").unwrap();

    // A missing local file: every host says so, nothing panics.
    let results = fleet
        .upload(
            &local.path().join("missing"),
            "/tmp/x",
            TIMEOUT,
            &NullReporter,
        )
        .await;
    for result in &results {
        match &result.outcome {
            Err(e @ RemoteError::Io { .. }) => assert!(e.to_string().contains("missing"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
    // A file onto an existing directory.
    let results = fleet
        .upload(
            &file,
            sshd.remote_dir.to_str().unwrap(),
            TIMEOUT,
            &NullReporter,
        )
        .await;
    match &results[0].outcome {
        Err(e @ RemoteError::Remote { .. }) => {
            assert!(e.to_string().contains("is a directory"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Somewhere the login user may not write.
    if sshd.user.uid != 0 {
        let private = sshd.dir().join("private");
        fs::create_dir(&private).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
        let target = private.join("sub/file");
        let results = fleet
            .upload(&file, target.to_str().unwrap(), TIMEOUT, &NullReporter)
            .await;
        match &results[0].outcome {
            Err(e @ RemoteError::Remote { .. }) => {
                assert!(e.to_string().contains("Permission denied"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }
    // A missing remote path.
    let downloads = tempfile::tempdir().unwrap();
    let missing = format!("{}/nothing-here", sshd.remote_dir.display());
    let results = fleet
        .download(&missing, downloads.path(), TIMEOUT, &NullReporter)
        .await;
    match &results[0].outcome {
        Err(e @ RemoteError::Remote { .. }) => {
            assert!(e.to_string().contains("no such file"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!downloads.path().join("alpha/nothing-here").exists());
    // A remote path without a name.
    let results = fleet
        .download("/", downloads.path(), TIMEOUT, &NullReporter)
        .await;
    assert!(
        matches!(results[0].outcome, Err(RemoteError::Invalid { .. })),
        "{results:?}"
    );
    enos_remote::close_all(control.path()).await.unwrap();
}

#[tokio::test]
async fn archives_land_file_by_file_and_nothing_leaves_the_hosts_directory() {
    let Some(sshd) =
        Sshd::start("archives_land_file_by_file_and_nothing_leaves_the_hosts_directory")
    else {
        return;
    };
    let control = control_dir();
    let (fleet, _) = Fleet::connect(
        sshd.config(control.path()),
        targets(&["alpha"]),
        &NullReporter,
    )
    .await;
    let remote = sshd.remote_dir.join("logs");
    fs::create_dir_all(remote.join("nested")).unwrap();
    fs::write(remote.join("a.log"), "one\n").unwrap();
    fs::write(remote.join("nested/b.log"), content(300_000, 7)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", remote.join("link")).unwrap();
    let downloads = tempfile::tempdir().unwrap();
    // An earlier copy of a.log is replaced; a file the archive does not hold is kept.
    fs::create_dir_all(downloads.path().join("alpha/kept")).unwrap();
    fs::write(downloads.path().join("alpha/kept/old.log"), "old").unwrap();
    // The listed files, then a path that climbs out and a symbolic link: both skipped.
    let script = format!("cd {} && tar -c -f - --null -T - && true", remote.display());
    let command = enos_remote::HostCommand {
        host: "alpha".to_owned(),
        command: script,
        input: vec![bytes::Bytes::from_static(b"a.log\0nested/b.log\0link\0")],
    };
    let results = fleet
        .fetch_archives(vec![command], downloads.path(), TIMEOUT, &NullReporter)
        .await;
    let files = results[0].outcome.as_ref().unwrap();
    let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    assert_eq!(paths, [Path::new("a.log"), Path::new("nested/b.log")]);
    // Each with its size and SHA-256, as `sha256sum` says.
    assert_eq!(files[0].size, 4);
    assert_eq!(
        files[0].sha256,
        "2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806"
    );
    let sum = std::process::Command::new("sha256sum")
        .arg(remote.join("nested/b.log"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sum.stdout).starts_with(&files[1].sha256));
    assert_eq!(files[1].size, 300_000);
    // Readable by their owner only.
    assert_eq!(mode(&downloads.path().join("alpha/a.log")) & 0o077, 0);
    let alpha = downloads.path().join("alpha");
    assert_eq!(fs::read(alpha.join("a.log")).unwrap(), b"one\n");
    assert_eq!(
        fs::read(alpha.join("nested/b.log")).unwrap(),
        content(300_000, 7)
    );
    assert!(fs::symlink_metadata(alpha.join("link")).is_err());
    assert_eq!(fs::read(alpha.join("kept/old.log")).unwrap(), b"old");
    // No scratch directory is left behind.
    let names: Vec<String> = fs::read_dir(&alpha)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".enos-")), "{names:?}");

    // An archive whose entry climbs out of the directory lands nothing outside it.
    let evil = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"../escape.txt");
    header.set_cksum();
    builder.append(&header, &b"evil"[..]).unwrap();
    let archive = builder.into_inner().unwrap();
    let crafted = sshd.remote_dir.join("evil.tar");
    fs::write(&crafted, archive).unwrap();
    let command = enos_remote::HostCommand {
        host: "alpha".to_owned(),
        command: format!("cat {}", crafted.display()),
        input: Vec::new(),
    };
    let results = fleet
        .fetch_archives(vec![command], evil.path(), TIMEOUT, &NullReporter)
        .await;
    assert!(results[0].outcome.as_ref().unwrap().is_empty());
    let landed: Vec<_> = walk(evil.path());
    assert!(landed.is_empty(), "{landed:?}");
    enos_remote::close_all(control.path()).await.unwrap();
}

/// Every regular file under `root`.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(root).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
