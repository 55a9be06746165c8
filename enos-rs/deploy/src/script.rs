//! The shell scripts that carry out a host's part of a step: one script per host and step, run
//! over SSH by `sh`, with file contents on standard input. Each script checks first whether
//! what it would do already holds, and says which it was on its last line of output.
//!
//! A script that succeeds ends with the line `::enos:: changed` or `::enos:: unchanged`; one
//! that fails exits non-zero with what went wrong on its outputs. Nothing here does I/O.

use std::fmt::Write as _;

use crate::plan::{Check, HostAction};

/// The prefix of a script's last line, which says whether it changed anything.
pub const STATUS_MARK: &str = "::enos:: ";

/// Where services keep their pid and definition files on a host.
pub const SERVICE_DIR: &str = "/run/enos/services";
/// Where services write their output on a host.
pub const SERVICE_LOG_DIR: &str = "/var/log/enos";

/// `text` quoted for a POSIX shell.
pub fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A host's part of a step: the command line to run and its standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The command line, for the remote user's shell (it runs `sh -c`).
    pub command: String,
    /// What to give it on standard input.
    pub input: Vec<u8>,
}

impl Script {
    fn new(body: &str, input: Vec<u8>) -> Script {
        Script {
            command: format!("sh -c {}", quote(body)),
            input,
        }
    }
}

/// What a script said on its last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// It changed something.
    Changed,
    /// What it would do held already.
    Unchanged,
}

/// Splits a script's standard output into what came before the status line and the status
/// (`None` when there is no status line: the script did not get to its end). Output that does
/// not end with a newline has the status at the end of its last line.
pub fn status_of(stdout: &[u8]) -> (&[u8], Option<Said>) {
    let text = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    for (word, said) in [("changed", Said::Changed), ("unchanged", Said::Unchanged)] {
        if let Some(before) = text.strip_suffix(format!("{STATUS_MARK}{word}").as_bytes()) {
            return (before, Some(said));
        }
    }
    (stdout, None)
}

const CHANGED: &str = "echo '::enos:: changed'";
const UNCHANGED: &str = "echo '::enos:: unchanged'";

/// The script of `action`; `restart` asks a service to restart even if it is unchanged (a step
/// it watches changed something); `timeout_secs` bounds readiness checks.
pub fn script(action: &HostAction, restart: bool, timeout_secs: u64) -> Script {
    match action {
        HostAction::Packages(names) => Script::new(&packages(names), Vec::new()),
        HostAction::Put {
            dest,
            content,
            mode,
            owner,
            group,
        } => Script::new(
            &put(dest, content, mode, owner.as_deref(), group.as_deref()),
            content.clone(),
        ),
        HostAction::PutDir {
            dest,
            archive,
            manifest,
            owner,
            group,
        } => Script::new(
            &put_dir(dest, manifest, owner.as_deref(), group.as_deref()),
            archive.clone(),
        ),
        HostAction::Run {
            command,
            creates,
            unless,
            chdir,
            env,
        } => {
            let mut body = String::from("set -u\n");
            if let Some(creates) = creates {
                let _ = writeln!(
                    body,
                    "if [ -e {} ]; then {UNCHANGED}; exit 0; fi",
                    quote(creates)
                );
            }
            if let Some(unless) = unless {
                let _ = writeln!(
                    body,
                    "if sh -c {} >/dev/null 2>&1 </dev/null; then {UNCHANGED}; exit 0; fi",
                    quote(unless)
                );
            }
            let _ = writeln!(
                body,
                "{}{}sh -c {} </dev/null || exit $?\n{CHANGED}",
                chdir_prefix(chdir.as_deref()),
                env_prefix(env),
                quote(command)
            );
            Script::new(&body, Vec::new())
        }
        HostAction::Service {
            name,
            command,
            chdir,
            env,
            user,
            ready,
            definition,
        } => Script::new(
            &service(
                name,
                command,
                chdir.as_deref(),
                env,
                user.as_deref(),
                ready.as_ref(),
                definition,
                restart,
                timeout_secs,
            ),
            Vec::new(),
        ),
        HostAction::Wait(check) => {
            let body = format!(
                "set -u\n{}\nif ! wait_ready {timeout_secs} ''; then\n  echo \"not ready after \
                 {timeout_secs}s: {}\" >&2; exit 1\nfi\n{UNCHANGED}\n",
                ready_functions(check),
                sh_text(&check.to_string()),
            );
            Script::new(&body, Vec::new())
        }
        HostAction::Fetch { src, .. } => Script::new(
            &format!(
                "if [ ! -f {0} ]; then echo {0}: no such file >&2; exit 3; fi\nexec cat {0}",
                quote(src)
            ),
            Vec::new(),
        ),
    }
}

/// Text to show inside a double-quoted `echo` without expansion.
fn sh_text(text: &str) -> String {
    text.replace(['"', '`', '$', '\\'], "'")
}

fn chdir_prefix(chdir: Option<&str>) -> String {
    chdir
        .map(|d| format!("cd {} && ", quote(d)))
        .unwrap_or_default()
}

fn env_prefix(env: &indexmap::IndexMap<String, String>) -> String {
    if env.is_empty() {
        return String::new();
    }
    let mut text = String::from("env ");
    for (k, v) in env {
        let _ = write!(text, "{k}={} ", quote(v));
    }
    text
}

/// Installs the packages that are not installed yet (with apt); `name=version` asks for a
/// version. Package lists are updated when there are none, or when a package is not found.
fn packages(names: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
    format!(
        r#"set -u
export DEBIAN_FRONTEND=noninteractive
if ! command -v apt-get >/dev/null 2>&1; then
  echo "packages: this host has no apt-get (Debian and Ubuntu hosts are supported)" >&2; exit 1
fi
missing=""
for p in {list}; do
  name=${{p%%=*}}
  want=${{p#*=}}
  have=$(dpkg-query -W -f '${{db:Status-Abbrev}}${{Version}}' "$name" 2>/dev/null || true)
  case "$have" in
    "ii "*) if [ "$want" != "$p" ] && [ "${{have#ii }}" != "$want" ]; then missing="$missing $p"; fi ;;
    *) missing="$missing $p" ;;
  esac
done
if [ -z "$missing" ]; then {UNCHANGED}; exit 0; fi
install() {{ apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing </dev/null; }}
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get update -q </dev/null || exit $?; fi
if ! install; then
  apt-get update -q </dev/null || exit $?
  install || exit $?
fi
{CHANGED}
"#,
        list = list.join(" ")
    )
}

/// The `chown` argument (quoted) of an owner and a group.
fn ownership(owner: Option<&str>, group: Option<&str>) -> String {
    let owner = owner.unwrap_or("root");
    let spec = match group {
        Some(group) => format!("{owner}:{group}"),
        None => format!("{owner}:"),
    };
    quote(&spec)
}

/// The `stat` format and the output it gives for a file of `mode` owned by `owner` (and
/// `group`), quoted: names are compared as names, numeric ids as ids.
fn stat_check(mode: &str, owner: Option<&str>, group: Option<&str>) -> (String, String) {
    let numeric = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
    let owner = owner.unwrap_or("root");
    let mut format = String::from(if numeric(owner) { "%a %u" } else { "%a %U" });
    let mut expected = format!("{mode} {owner}");
    if let Some(group) = group {
        format.push_str(if numeric(group) { " %g" } else { " %G" });
        expected.push(' ');
        expected.push_str(group);
    }
    (quote(&format), quote(&expected))
}

/// Writes standard input to `dest` unless it holds that content with that mode and owner.
fn put(dest: &str, content: &[u8], mode: &str, owner: Option<&str>, group: Option<&str>) -> String {
    use sha2::Digest as _;
    let digest = crate::plan::hex(&sha2::Sha256::digest(content));
    let chown = ownership(owner, group);
    let mode = mode.trim_start_matches('0');
    let mode = if mode.is_empty() { "0" } else { mode };
    let (stat_format, expected) = stat_check(mode, owner, group);
    format!(
        r#"set -u
d={dest}
if [ -f "$d" ] && [ "$(sha256sum < "$d" | cut -d' ' -f1)" = {digest} ]; then
  cat >/dev/null
  if [ "$(stat -c {stat_format} "$d")" = {expected} ]; then {UNCHANGED}; exit 0; fi
  chown {chown} "$d" && chmod {mode} "$d" || exit $?
  {CHANGED}; exit 0
fi
mkdir -p "$(dirname "$d")" || exit $?
t="$d.enos-tmp.$$"
trap 'rm -f "$t"' EXIT
cat > "$t" || exit $?
if [ "$(sha256sum < "$t" | cut -d' ' -f1)" != {digest} ]; then echo "$d: incomplete upload" >&2; exit 1; fi
chown {chown} "$t" && chmod {mode} "$t" && mv -f "$t" "$d" || exit $?
trap - EXIT
{CHANGED}
"#,
        dest = quote(dest),
    )
}

/// Unpacks the tar archive on standard input into `dest` unless every file of the manifest is
/// there already with that content.
fn put_dir(dest: &str, manifest: &str, owner: Option<&str>, group: Option<&str>) -> String {
    let chown = ownership(owner, group);
    let chown_line = if owner.is_some() || group.is_some() {
        format!("chown -R {chown} \"$d\" || exit $?\n")
    } else {
        String::new()
    };
    format!(
        r#"set -u
d={dest}
if [ -d "$d" ] && (cd "$d" && sha256sum -c --status) <<'ENOS_MANIFEST'
{manifest}ENOS_MANIFEST
then
  cat >/dev/null; {UNCHANGED}; exit 0
fi
mkdir -p "$d" && tar -x -o -f - -C "$d" || exit $?
{chown_line}{CHANGED}
"#,
        dest = quote(dest),
    )
}

/// A shell function printing the time in hundredths of a second (from `/proc/uptime`, whose
/// two decimals Linux always prints; whole seconds from `date` elsewhere).
const NOW: &str = "now() {\n  if read -r up _ 2>/dev/null </proc/uptime; then echo \"${up%.*}${up#*.}\"; \
                   else echo $(( $(date +%s) * 100 )); fi\n}";

/// Shell functions `check` (one readiness check) and `wait_ready SECONDS PID` (checks until
/// ready, the deadline passes, or — when PID is not empty — that process is gone).
fn ready_functions(check: &Check) -> String {
    let check_body = match check {
        // The address and port are arguments of the check, never part of its code.
        Check::Tcp { address, port } => format!(
            "if command -v bash >/dev/null 2>&1; then\n    timeout 2 bash -c {} _ {address} {port} \
             2>/dev/null\n  else\n    python3 -c {} {address} {port} 2>/dev/null\n  fi",
            quote(r#": </dev/tcp/"$1"/"$2""#),
            quote(
                "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)"
            ),
            address = quote(address),
        ),
        Check::Http { url, status } => format!(
            "if command -v curl >/dev/null 2>&1; then\n    code=$(curl -s -o /dev/null -m 2 -w \
             '%{{http_code}}' {url})\n  else\n    code=$(python3 -c {py} {url} 2>/dev/null)\n  \
             fi\n  [ \"$code\" = {status} ]",
            url = quote(url),
            py = quote(
                "import sys, urllib.request, urllib.error\n\
                 try:\n    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)\n\
                 except urllib.error.HTTPError as e:\n    print(e.code)\n\
                 except Exception:\n    print(0)"
            ),
        ),
        Check::Command(command) => {
            format!("sh -c {} >/dev/null 2>&1 </dev/null", quote(command))
        }
    };
    format!(
        "check() {{\n  {check_body}\n}}\n\
         {NOW}\n\
         wait_ready() {{\n  end=$(( $(now) + $1 * 100 ))\n  while ! check; do\n    \
         if [ -n \"$2\" ] && ! kill -0 \"$2\" 2>/dev/null; then return 2; fi\n    \
         if [ \"$(now)\" -ge \"$end\" ]; then return 1; fi\n    sleep 0.2\n  done\n}}"
    )
}

/// Starts a service unless it runs already with the same definition, then waits until it is
/// ready. The process runs in a session of its own (`setsid`), with its pid and definition in
/// [`SERVICE_DIR`] and its output in [`SERVICE_LOG_DIR`]`/<name>.log`.
#[allow(clippy::too_many_arguments)]
fn service(
    name: &str,
    command: &str,
    chdir: Option<&str>,
    env: &indexmap::IndexMap<String, String>,
    user: Option<&str>,
    ready: Option<&Check>,
    definition: &str,
    restart: bool,
    timeout_secs: u64,
) -> String {
    let as_user = match user {
        Some(user) => format!(
            "setpriv --reuid={u} --regid=$(id -g {u}) --init-groups ",
            u = quote(user)
        ),
        None => String::new(),
    };
    let check = match ready {
        Some(check) => ready_functions(check),
        // Without a check, a service is ready when it is still running a second after its
        // start: a command that fails at once is reported as such.
        None => "wait_ready() {\n  sleep 1\n  kill -0 \"$2\" 2>/dev/null || return 2\n}".to_owned(),
    };
    let shown = ready.map(|c| sh_text(&c.to_string())).unwrap_or_default();
    format!(
        r#"set -u
name={name}
pidf={SERVICE_DIR}/$name.pid
deff={SERVICE_DIR}/$name.definition
log={SERVICE_LOG_DIR}/$name.log
mkdir -p {SERVICE_DIR} {SERVICE_LOG_DIR} || exit $?
{check}
pid=$(cat "$pidf" 2>/dev/null || true)
running=0
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then running=1; fi
status=unchanged
if [ $running = 0 ] || [ "$(cat "$deff" 2>/dev/null)" != {definition} ] || [ {restart} = 1 ]; then
  if [ $running = 1 ]; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    n=0
    while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  echo "== $(date -u +%FT%TZ) starting $name" >> "$log"
  ({chdir}exec {env}setsid {as_user}sh -c {command}) </dev/null >>"$log" 2>&1 &
  pid=$!
  echo $pid > "$pidf"
  echo {definition} > "$deff"
  status=changed
fi
wait_ready {timeout_secs} "$pid"
case $? in
  0) echo "::enos:: $status" ;;
  2) echo "service $name exited; the end of $log:" >&2; tail -n 20 "$log" >&2; exit 1 ;;
  *) echo "service $name not ready after {timeout_secs}s ({shown}); the end of $log:" >&2
     tail -n 20 "$log" >&2; exit 1 ;;
esac
"#,
        name = quote(name),
        definition = quote(definition),
        restart = u8::from(restart),
        chdir = chdir_prefix(chdir),
        env = env_prefix(env),
        command = quote(command),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_escapes_the_rest() {
        assert_eq!(quote("/etc/app.conf"), "/etc/app.conf");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn the_status_line_is_read_and_cut_off() {
        let (before, said) = status_of(b"output\n::enos:: changed\n");
        assert_eq!((before, said), (&b"output\n"[..], Some(Said::Changed)));
        let (before, said) = status_of(b"::enos:: unchanged");
        assert_eq!((before, said), (&b""[..], Some(Said::Unchanged)));
        assert_eq!(status_of(b"no status\n").1, None);
        let (before, said) = status_of(b"no newline::enos:: changed\n");
        assert_eq!((before, said), (&b"no newline"[..], Some(Said::Changed)));
        assert_eq!(status_of(b"").1, None);
    }
}
