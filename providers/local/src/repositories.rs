//! The package repositories this machine's own apt and pip name: the egress proxy forwards to
//! them (and to the scenario's `egress_allow`), and nowhere else.
//!
//! Repositories are judged by host name, not by address: on some machines the mirrors' names
//! resolve to reserved or private addresses.
//!
//! * apt: `/etc/apt/sources.list` and, in `/etc/apt/sources.list.d/`, the `*.list` files
//!   (one-line format) and the `*.sources` files (deb822, `Enabled: no` paragraphs skipped) —
//!   exactly the files apt reads; others, such as `x.list.disabled`, are not sources. The
//!   `http://` and `https://` URIs count; other schemes (`file:`, `cdrom:`, `mirror+…`) are
//!   ignored.
//! * pip: `index-url`, `extra-index-url` and `find-links` of every section of pip's
//!   configuration files (`/etc/xdg/pip/pip.conf` per `XDG_CONFIG_DIRS`, `/etc/pip.conf`,
//!   `~/.pip/pip.conf`, `$XDG_CONFIG_HOME/pip/pip.conf` or `~/.config/pip/pip.conf`,
//!   `$VIRTUAL_ENV/pip.conf`, `$PIP_CONFIG_FILE`) and of `PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`
//!   and `PIP_FIND_LINKS`. When no `index-url` is set anywhere, pip uses PyPI, so `pypi.org`
//!   and `files.pythonhosted.org` (where PyPI's files are) are added.
//!
//! Each URL gives its host (ports 80 and 443) and, when it names another port, `host:port`.

use std::path::{Path, PathBuf};

/// PyPI's hosts, which pip uses when no index is configured.
pub const PYPI_HOSTS: [&str; 2] = ["pypi.org", "files.pythonhosted.org"];

/// Where this machine's package tools keep their configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageConfig {
    /// apt's configuration directory (`/etc/apt`).
    pub apt_dir: PathBuf,
    /// pip's configuration files, in pip's order (missing ones are skipped).
    pub pip_files: Vec<PathBuf>,
    /// `PIP_INDEX_URL`.
    pub pip_index_url: Option<String>,
    /// `PIP_EXTRA_INDEX_URL` (URLs separated by white space).
    pub pip_extra_index_url: Option<String>,
    /// `PIP_FIND_LINKS` (URLs or paths separated by white space).
    pub pip_find_links: Option<String>,
}

impl PackageConfig {
    /// The configuration of this machine, with environment variables read through `env`
    /// (`HOME`, `XDG_CONFIG_HOME`, `XDG_CONFIG_DIRS`, `VIRTUAL_ENV`, `PIP_*`).
    pub fn of_this_machine(env: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        let home = PathBuf::from(set("HOME").unwrap_or_else(|| "/root".to_owned()));
        let mut pip_files: Vec<PathBuf> = set("XDG_CONFIG_DIRS")
            .unwrap_or_else(|| "/etc/xdg".to_owned())
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join("pip/pip.conf"))
            .collect();
        pip_files.push("/etc/pip.conf".into());
        pip_files.push(home.join(".pip/pip.conf"));
        pip_files.push(
            set("XDG_CONFIG_HOME")
                .map_or_else(|| home.join(".config"), PathBuf::from)
                .join("pip/pip.conf"),
        );
        if let Some(venv) = set("VIRTUAL_ENV") {
            pip_files.push(Path::new(&venv).join("pip.conf"));
        }
        if let Some(file) = set("PIP_CONFIG_FILE") {
            pip_files.push(file.into());
        }
        Self {
            apt_dir: "/etc/apt".into(),
            pip_files,
            pip_index_url: set("PIP_INDEX_URL"),
            pip_extra_index_url: set("PIP_EXTRA_INDEX_URL"),
            pip_find_links: set("PIP_FIND_LINKS"),
        }
    }
}

/// The hosts (`host` or `host:port`) of the repositories that `config` names, sorted, each once.
/// Unreadable files are skipped.
pub fn repository_hosts(config: &PackageConfig) -> Vec<String> {
    let mut urls = Vec::new();
    for (file, deb822) in apt_source_files(&config.apt_dir) {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if deb822 {
                urls.extend(deb822_uris(&text));
            } else {
                urls.extend(one_line_uris(&text));
            }
        }
    }
    let mut index_set = false;
    for file in &config.pip_files {
        if let Ok(text) = std::fs::read_to_string(file) {
            let pip = pip_urls(&text);
            index_set |= pip.index_set;
            urls.extend(pip.urls);
        }
    }
    if let Some(index) = &config.pip_index_url {
        index_set = true;
        urls.push(index.clone());
    }
    for list in [&config.pip_extra_index_url, &config.pip_find_links]
        .into_iter()
        .flatten()
    {
        urls.extend(list.split_whitespace().map(str::to_owned));
    }
    let mut hosts: Vec<String> = urls.iter().flat_map(|u| url_hosts(u)).collect();
    if !index_set {
        hosts.extend(PYPI_HOSTS.iter().map(|h| (*h).to_owned()));
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// apt's source files in `apt_dir`, with whether each is deb822 (`*.sources`).
fn apt_source_files(apt_dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut files = vec![(apt_dir.join("sources.list"), false)];
    let mut listed: Vec<(PathBuf, bool)> = std::fs::read_dir(apt_dir.join("sources.list.d"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter_map(|p| {
                    let name = p.file_name()?.to_str()?.to_owned();
                    if name.ends_with(".list") {
                        Some((p, false))
                    } else if name.ends_with(".sources") {
                        Some((p, true))
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    listed.sort();
    files.extend(listed);
    files
}

/// The URIs of one-line sources (`deb [options] URI suite [components]`).
fn one_line_uris(text: &str) -> Vec<String> {
    let mut uris = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line
            .strip_prefix("deb-src")
            .or_else(|| line.strip_prefix("deb"))
            .filter(|r| r.starts_with([' ', '\t']))
        else {
            continue;
        };
        let mut rest = rest.trim_start();
        if let Some(options) = rest.strip_prefix('[') {
            match options.split_once(']') {
                Some((_, after)) => rest = after.trim_start(),
                None => continue,
            }
        }
        if let Some(uri) = rest.split_whitespace().next() {
            uris.push(uri.to_owned());
        }
    }
    uris
}

/// The `URIs:` of deb822 sources, skipping paragraphs with `Enabled: no`.
fn deb822_uris(text: &str) -> Vec<String> {
    let mut uris = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in paragraph.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        if field("enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
            continue;
        }
        if let Some(list) = field("uris") {
            uris.extend(list.split_whitespace().map(str::to_owned));
        }
    }
    uris
}

/// What one pip configuration file names.
struct PipUrls {
    urls: Vec<String>,
    /// Whether it sets `index-url` (which replaces PyPI).
    index_set: bool,
}

/// The index and link URLs of a pip configuration file (INI, any section; values may continue
/// on indented lines).
fn pip_urls(text: &str) -> PipUrls {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) || trimmed.starts_with('[') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = entries.last_mut() {
                value.push(' ');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some((key, value)) = trimmed.split_once(['=', ':']) {
            let key = key.trim().to_ascii_lowercase().replace('_', "-");
            entries.push((key, value.trim().to_owned()));
        }
    }
    let mut found = PipUrls {
        urls: Vec::new(),
        index_set: false,
    };
    for (key, value) in entries {
        match key.as_str() {
            "index-url" | "index" => {
                found.index_set = true;
                found
                    .urls
                    .extend(value.split_whitespace().map(str::to_owned));
            }
            "extra-index-url" | "find-links" => {
                found
                    .urls
                    .extend(value.split_whitespace().map(str::to_owned));
            }
            _ => {}
        }
    }
    found
}

/// The allow-list entries of an `http://` or `https://` URL: its host, and `host:port` when
/// it names a port; nothing for other schemes or a URL without a host.
fn url_hosts(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Vec::new();
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((address, after)) => (format!("[{address}]"), after.strip_prefix(':')),
            None => return Vec::new(),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (host_port.to_owned(), None),
        }
    };
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host == "[]" {
        return Vec::new();
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host)
        .to_owned();
    let mut hosts = vec![bare];
    if let Some(port) = port.filter(|p| !p.is_empty() && *p != "80" && *p != "443") {
        hosts.push(format!("{host}:{port}"));
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_sources() {
        let text = "# comment\n\
                    deb http://deb.debian.org/debian bookworm main\n\
                    deb-src https://deb.debian.org/debian bookworm main # source\n\
                    deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] https://Download.Docker.com/linux/debian bookworm stable\n\
                    deb [ trusted=yes ] http://mirror.lan:8080/debian bookworm main\n\
                    # deb http://commented.example.org/debian bookworm main\n\
                    debx http://not-a-source.example.org/ x\n\
                    deb cdrom:[Debian 12]/ bookworm main\n";
        let uris = one_line_uris(text);
        assert_eq!(
            uris,
            [
                "http://deb.debian.org/debian",
                "https://deb.debian.org/debian",
                "https://Download.Docker.com/linux/debian",
                "http://mirror.lan:8080/debian",
                "cdrom:[Debian"
            ]
        );
        let hosts: Vec<String> = uris.iter().flat_map(|u| url_hosts(u)).collect();
        assert_eq!(
            hosts,
            [
                "deb.debian.org",
                "deb.debian.org",
                "download.docker.com",
                "mirror.lan",
                "mirror.lan:8080"
            ]
        );
    }

    #[test]
    fn deb822_sources() {
        let text = "Types: deb\n\
                    # http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
                    URIs: http://deb.debian.org/debian\n\
                    Suites: bookworm bookworm-updates\n\
                    Components: main\n\
                    \n\
                    Types: deb\n\
                    URIs: https://a.example.org/debian\n \
                    https://b.example.org/debian\n\
                    Suites: stable\n\
                    \n\
                    Types: deb\n\
                    Enabled: no\n\
                    URIs: https://disabled.example.org/debian\n";
        assert_eq!(
            deb822_uris(text),
            [
                "http://deb.debian.org/debian",
                "https://a.example.org/debian",
                "https://b.example.org/debian"
            ]
        );
    }

    #[test]
    fn pip_configuration() {
        let text = "[global]\n\
                    cert = /etc/ssl/certs/ca-certificates.crt\n\
                    index-url = https://pypi.mirror.lan/simple\n\
                    extra_index_url =\n    https://user:secret@extra.example.org:8443/simple\n    \
                    https://other.example.org/simple\n\
                    ; comment\n\
                    [install]\n\
                    find-links: http://wheels.lan/ /opt/wheels\n";
        let pip = pip_urls(text);
        assert!(pip.index_set);
        let hosts: Vec<String> = pip.urls.iter().flat_map(|u| url_hosts(u)).collect();
        assert_eq!(
            hosts,
            [
                "pypi.mirror.lan",
                "extra.example.org",
                "extra.example.org:8443",
                "other.example.org",
                "wheels.lan"
            ]
        );
        assert!(!pip_urls("[global]\ncert = /x\n").index_set);
    }

    #[test]
    fn urls_give_hosts_and_named_ports() {
        for (url, hosts) in [
            ("http://deb.debian.org/debian", vec!["deb.debian.org"]),
            ("https://deb.debian.org:443/debian", vec!["deb.debian.org"]),
            (
                "http://[2001:db8::7]:8080/x",
                vec!["2001:db8::7", "[2001:db8::7]:8080"],
            ),
            ("http://192.0.2.7/debian", vec!["192.0.2.7"]),
            ("HTTPS://PyPI.org/simple", vec!["pypi.org"]),
            ("file:/srv/mirror", vec![]),
            ("mirror+http://mirrors.lan/list.txt", vec![]),
            ("/opt/wheels", vec![]),
            ("http:///nohost", vec![]),
        ] {
            assert_eq!(url_hosts(url), hosts, "{url}");
        }
    }

    /// A machine's configuration in a scratch directory.
    fn machine(files: &[(&str, &str)]) -> (tempfile::TempDir, PackageConfig) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let config = PackageConfig {
            apt_dir: dir.path().join("etc/apt"),
            pip_files: vec![
                dir.path().join("etc/pip.conf"),
                dir.path().join("home/.config/pip/pip.conf"),
            ],
            ..PackageConfig::default()
        };
        (dir, config)
    }

    #[test]
    fn a_machine_with_apt_sources_and_no_pip_index_gets_pypi() {
        let (_dir, config) = machine(&[
            (
                "etc/apt/sources.list.d/debian.sources",
                "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\n\
                 Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n",
            ),
            (
                "etc/apt/sources.list.d/google-cloud-sdk.list.disabled-by-admin",
                "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n",
            ),
            (
                "etc/apt/sources.list.d/nodesource.sources.disabled",
                "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n",
            ),
            (
                "etc/pip.conf",
                "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n",
            ),
        ]);
        assert_eq!(
            repository_hosts(&config),
            ["deb.debian.org", "files.pythonhosted.org", "pypi.org"]
        );
    }

    #[test]
    fn a_configured_pip_index_replaces_pypi() {
        let (_dir, mut config) = machine(&[
            (
                "etc/apt/sources.list",
                "deb http://ftp.fr.debian.org/debian bookworm main\n",
            ),
            (
                "home/.config/pip/pip.conf",
                "[global]\nindex-url = https://devpi.lan:3141/root/pypi/+simple/\n",
            ),
        ]);
        assert_eq!(
            repository_hosts(&config),
            ["devpi.lan", "devpi.lan:3141", "ftp.fr.debian.org"]
        );
        // The environment counts too; an extra index keeps PyPI.
        config.pip_files.clear();
        config.pip_extra_index_url = Some("https://extra.lan/simple https://more.lan/".into());
        assert_eq!(
            repository_hosts(&config),
            [
                "extra.lan",
                "files.pythonhosted.org",
                "ftp.fr.debian.org",
                "more.lan",
                "pypi.org"
            ]
        );
        config.pip_index_url = Some("http://index.lan/simple".into());
        assert_eq!(
            repository_hosts(&config),
            ["extra.lan", "ftp.fr.debian.org", "index.lan", "more.lan"]
        );
    }

    #[test]
    fn the_environment_locates_pip_files() {
        let env = |name: &str| match name {
            "HOME" => Some("/home/u".to_owned()),
            "XDG_CONFIG_HOME" => Some("/cfg".to_owned()),
            "PIP_CONFIG_FILE" => Some("/opt/pip.conf".to_owned()),
            "PIP_INDEX_URL" => Some(String::new()),
            _ => None,
        };
        let config = PackageConfig::of_this_machine(env);
        assert_eq!(config.apt_dir, Path::new("/etc/apt"));
        assert_eq!(
            config.pip_files,
            [
                "/etc/xdg/pip/pip.conf",
                "/etc/pip.conf",
                "/home/u/.pip/pip.conf",
                "/cfg/pip/pip.conf",
                "/opt/pip.conf"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(config.pip_index_url, None);
    }
}
