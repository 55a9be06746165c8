//! The shell scripts that carry out a host's part of a step: one script per host and step, run
//! over SSH by `sh`. Each script checks first whether what it would do already holds, and says
//! which it was on its last line of output.
//!
//! A script that succeeds ends with the line `::enos:: changed` or `::enos:: unchanged`; one
//! that fails exits non-zero with what went wrong on its outputs. Nothing here does I/O.
//!
//! No value of a step is ever on a command line, where every user of the host (and of the
//! machine, for hosts that share its kernel) reads it in `/proc/*/cmdline`: the command line
//! sent over SSH is a fixed bootstrap that names only the script's length; the script travels
//! on standard input, ahead of the step's own input (file contents), and is run from a file
//! only root can read. Commands of the step (`run`, `unless`, readiness checks, services) reach
//! their `sh` in its environment, which only their user can read, never as arguments.
//!
//! Scripts expect root. On a host whose login is not root and whose testbed says how it
//! becomes root ([`enos_core::Host::become_root`]), the bootstrap runs under `sudo -n`
//! ([`Script::become_root`]): non-interactive, never a password, the script still on standard
//! input.
//!
//! A file or directory of more than [`CHECK_ABOVE`] bytes goes in two round trips
//! ([`check_first`]): first a check without the content asks the host whether it holds it
//! already (by its SHA-256, or the directory's manifest) and, when it does, finishes the step
//! there, mode and owner included; only a host that answers [`lacks_content`] is then sent the
//! content, with a script that writes it. The check applies the rules of the single
//! [`script`]: the step says `changed` or `unchanged` on the same grounds.

use std::fmt::Write as _;

use bytes::Bytes;
use enos_core::Become;

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
    /// The command line, for the remote user's shell: a bootstrap that reads the script from
    /// standard input into a file only its owner can read, and runs it with `sh`. It names
    /// nothing but the script's length.
    pub command: String,
    /// What to give it on standard input, in this order: the script, then the step's own input
    /// (a file's content, a directory's archive), which is the plan's own buffer, shared with
    /// every other host's script and never copied.
    pub input: Vec<Bytes>,
}

impl Script {
    fn new(body: String, data: Option<&Bytes>) -> Script {
        let length = body.len();
        // `dd bs=1` reads the script byte by byte, so that not one byte of the step's own input
        // is taken with it (a pipe gives no other way to stop at an exact length). The umask is
        // the file's only: the script runs with the login's own.
        let bootstrap = format!(
            "f=$(umask 077 && mktemp) || exit 70; trap 'rm -f \"$f\"' EXIT; \
             dd bs=1 count={length} of=\"$f\" 2>/dev/null; \
             if [ \"$(wc -c < \"$f\")\" -ne {length} ]; then \
             echo 'enos: the step script did not arrive whole' >&2; exit 70; fi; sh \"$f\""
        );
        let mut input = vec![Bytes::from(body)];
        input.extend(data.filter(|d| !d.is_empty()).cloned());
        Script {
            command: format!("sh -c {}", quote(&bootstrap)),
            input,
        }
    }

    /// How many bytes it sends on standard input.
    pub fn input_len(&self) -> usize {
        self.input.iter().map(Bytes::len).sum()
    }
}

impl Script {
    /// The script run as root through `how` when the host's login is not root: the command
    /// line becomes `sudo -n sh -c '<bootstrap>'`, which fails at once rather than ask for a
    /// password; the script and the step's input still travel on standard input, so nothing
    /// more shows in an argument list (nor in sudo's log) than the script's length.
    pub fn become_root(mut self, how: Option<Become>) -> Script {
        if let Some(how) = how {
            self.command = format!("{}{}", how.prefix(), self.command);
        }
        self
    }
}

/// The name of the environment variable that carries a command to [`FRESH_SHELL`].
const COMMAND_VARIABLE: &str = "ENOS_COMMAND";

/// A `sh` that runs the command in `$ENOS_COMMAND` (and removes it from the environment
/// first, so that the command's own processes do not inherit it).
const FRESH_SHELL: &str = r#"sh -c 'c=$ENOS_COMMAND; unset ENOS_COMMAND; eval "$c"'"#;

/// Runs `command` in a fresh `sh`, with `env` set, in `chdir`: the command and the variables
/// go in the environment of that `sh` (only its user reads it), never in an argument list.
fn fresh_shell(
    command: &str,
    chdir: Option<&str>,
    env: &indexmap::IndexMap<String, String>,
) -> String {
    format!(
        "{}{}{COMMAND_VARIABLE}={} {FRESH_SHELL}",
        chdir_prefix(chdir),
        assignments(env),
        quote(command)
    )
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
/// What a [`CheckFirst::check`] says when its host lacks the content.
const LACKS: &str = "::enos:: lacks";

/// Files and directory archives of more than this many bytes are sent only to hosts that lack
/// them, after a check ([`check_first`]); smaller ones go with the step's script at once.
pub const CHECK_ABOVE: usize = 64 * 1024;

/// A step's two round trips, for a file or directory of more than [`CHECK_ABOVE`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFirst {
    /// Asks the host, without sending it the content, whether it holds it. A host that holds
    /// it gets the step done there (a file's mode and owner set right) and says
    /// [`Said::Changed`] or [`Said::Unchanged`] as the step's [`script`] would; one that lacks
    /// it says so ([`lacks_content`]).
    pub check: Script,
    /// What a host that lacks the content is sent: the content, with the script that writes
    /// it (or unpacks it) and says [`Said::Changed`].
    pub send: Script,
}

/// The two round trips of `action` when it writes more than [`CHECK_ABOVE`] bytes (`None`
/// otherwise, and for actions without content: their [`script`] goes at once).
pub fn check_first(action: &HostAction) -> Option<CheckFirst> {
    match action {
        HostAction::Put {
            dest,
            content,
            mode,
            owner,
            group,
        } if content.len() > CHECK_ABOVE => {
            let file = PutFile::new(dest, content.sha256(), content.len(), mode, owner, group);
            Some(CheckFirst {
                check: Script::new(file.check(), None),
                send: Script::new(file.send(), Some(content.bytes())),
            })
        }
        HostAction::PutDir {
            dest,
            archive,
            manifest,
            owner,
            group,
        } if archive.len() > CHECK_ABOVE => {
            let dir = PutDir::new(dest, manifest, owner, group);
            Some(CheckFirst {
                check: Script::new(dir.check(), None),
                send: Script::new(dir.send(), Some(archive)),
            })
        }
        _ => None,
    }
}

/// The last line of a check whose host lacks the content.
fn lacks() -> String {
    format!("echo '{LACKS}'\n")
}

/// Whether the output of a [`CheckFirst::check`] says that its host lacks the content.
pub fn lacks_content(stdout: &[u8]) -> bool {
    let text = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    text.strip_suffix(LACKS.as_bytes())
        .is_some_and(|before| before.is_empty() || before.ends_with(b"\n"))
}

/// The script of `action`; `restart` asks a service to restart even if it is unchanged (a step
/// it watches changed something); `timeout_secs` bounds readiness checks.
pub fn script(action: &HostAction, restart: bool, timeout_secs: u64) -> Script {
    match action {
        HostAction::Packages(names) => Script::new(packages(names), None),
        HostAction::Put {
            dest,
            content,
            mode,
            owner,
            group,
        } => Script::new(
            PutFile::new(dest, content.sha256(), content.len(), mode, owner, group).put(),
            Some(content.bytes()),
        ),
        HostAction::PutDir {
            dest,
            archive,
            manifest,
            owner,
            group,
        } => Script::new(
            PutDir::new(dest, manifest, owner, group).put(),
            Some(archive),
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
                    "if {} >/dev/null 2>&1 </dev/null; then {UNCHANGED}; exit 0; fi",
                    fresh_shell(unless, None, &indexmap::IndexMap::new())
                );
            }
            let _ = writeln!(
                body,
                "({}) </dev/null || exit $?\n{CHANGED}",
                fresh_shell(command, chdir.as_deref(), env)
            );
            Script::new(body, None)
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
            service(
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
            None,
        ),
        HostAction::Wait(check) => {
            let body = format!(
                "set -u\n{}\nif ! wait_ready {timeout_secs} ''; then\n  echo \"not ready after \
                 {timeout_secs}s: {}\" >&2; exit 1\nfi\n{UNCHANGED}\n",
                ready_functions(check),
                sh_text(&check.to_string()),
            );
            Script::new(body, None)
        }
        HostAction::Fetch { src, .. } => Script::new(
            format!(
                "if [ ! -f {0} ]; then echo {0}: no such file >&2; exit 3; fi\n\
                 stat -L -c %a {0} || exit $?\nexec cat {0}",
                quote(src)
            ),
            None,
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

/// `NAME=value ` assignments, for the environment of the command they precede (names are
/// checked when the scenario is read: letters, digits and `_`).
fn assignments(env: &indexmap::IndexMap<String, String>) -> String {
    let mut text = String::new();
    for (k, v) in env {
        let _ = write!(text, "{k}={} ", quote(v));
    }
    text
}

/// Splits what a fetch's script printed into the file's permission bits on the host (its
/// first line, in octal) and its content.
pub fn fetched(stdout: &[u8]) -> Option<(u32, &[u8])> {
    let end = stdout.iter().position(|&b| b == b'\n')?;
    let mode = std::str::from_utf8(&stdout[..end]).ok()?;
    let mode = u32::from_str_radix(mode.trim(), 8).ok()?;
    Some((mode & 0o7777, &stdout[end + 1..]))
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

/// A file or directory to put on a host, with the content on standard input. Its scripts are
/// made of three parts: the start (`d`, the destination), [`held`](Self::held) (which ends the
/// script when the destination holds the content) and [`act`](Self::act) (which writes it).
trait Put {
    /// The destination, quoted for the shell.
    fn dest(&self) -> &str;

    /// Ends the script when the destination holds the content already (setting a file's mode
    /// and owner right). `drain`: the content follows on standard input, to be read and
    /// dropped.
    fn held(&self, drain: bool) -> String;

    /// Writes the content on standard input to the destination.
    fn act(&self) -> String;

    fn start(&self) -> String {
        format!("set -u\nd={}\n", self.dest())
    }

    /// Writes the content unless the destination holds it already.
    fn put(&self) -> String {
        format!("{}{}{}", self.start(), self.held(true), self.act())
    }

    /// Says whether the destination holds the content, without it: see [`check_first`].
    fn check(&self) -> String {
        format!("{}{}{}", self.start(), self.held(false), lacks())
    }

    /// Writes the content to a destination a check found lacking it.
    fn send(&self) -> String {
        format!("{}{}", self.start(), self.act())
    }
}

impl Put for PutFile {
    fn dest(&self) -> &str {
        &self.dest
    }

    fn held(&self, drain: bool) -> String {
        self.held_file(drain)
    }

    fn act(&self) -> String {
        self.write()
    }
}

impl Put for PutDir<'_> {
    fn dest(&self) -> &str {
        &self.dest
    }

    fn held(&self, drain: bool) -> String {
        self.held_dir(drain)
    }

    fn act(&self) -> String {
        self.unpack()
    }
}

/// A file to write, its values quoted for the shell; its scripts are made as a [`Put`]'s.
struct PutFile {
    dest: String,
    digest: String,
    size: usize,
    chown: String,
    mode: String,
    stat_format: String,
    expected: String,
}

impl PutFile {
    fn new(
        dest: &str,
        digest: &str,
        size: usize,
        mode: &str,
        owner: &Option<String>,
        group: &Option<String>,
    ) -> PutFile {
        let (owner, group) = (owner.as_deref(), group.as_deref());
        let mode = mode.trim_start_matches('0');
        let mode = if mode.is_empty() { "0" } else { mode };
        let (stat_format, expected) = stat_check(mode, owner, group);
        PutFile {
            dest: quote(dest),
            digest: quote(digest),
            size,
            chown: ownership(owner, group),
            mode: mode.to_owned(),
            stat_format,
            expected,
        }
    }

    /// When the file holds the content already, its mode and owner are set right and the
    /// script ends there, saying whether it changed them. `drain`: the content follows on
    /// standard input, to be read and dropped.
    fn held_file(&self, drain: bool) -> String {
        let PutFile {
            digest,
            chown,
            mode,
            stat_format,
            expected,
            ..
        } = self;
        let drain = if drain { "  cat >/dev/null\n" } else { "" };
        format!(
            r#"if [ -f "$d" ] && [ "$(sha256sum < "$d" | cut -d' ' -f1)" = {digest} ]; then
{drain}  if [ "$(stat -c {stat_format} "$d")" = {expected} ]; then {UNCHANGED}; exit 0; fi
  chown {chown} "$d" && chmod {mode} "$d" || exit $?
  {CHANGED}; exit 0
fi
"#
        )
    }

    /// Writes standard input to a temporary file beside the file, checks that all of it came
    /// (its size: SSH already guarantees that what came is what was sent, so hashing it again
    /// would only cost the host a pass over the file) and puts it in the file's place, with its
    /// mode and owner.
    fn write(&self) -> String {
        let PutFile {
            size, chown, mode, ..
        } = self;
        format!(
            r#"mkdir -p "$(dirname "$d")" || exit $?
t="$d.enos-tmp.$$"
trap 'rm -f "$t"' EXIT
cat > "$t" || exit $?
if [ "$(wc -c < "$t")" -ne {size} ]; then echo "$d: incomplete upload" >&2; exit 1; fi
chown {chown} "$t" && chmod {mode} "$t" && mv -f "$t" "$d" || exit $?
trap - EXIT
{CHANGED}
"#
        )
    }
}

/// A directory to unpack, its values quoted for the shell; its scripts are made as a [`Put`]'s.
struct PutDir<'a> {
    dest: String,
    manifest: &'a str,
    chown: Option<String>,
}

impl PutDir<'_> {
    fn new<'a>(
        dest: &str,
        manifest: &'a str,
        owner: &Option<String>,
        group: &Option<String>,
    ) -> PutDir<'a> {
        PutDir {
            dest: quote(dest),
            manifest,
            chown: (owner.is_some() || group.is_some())
                .then(|| ownership(owner.as_deref(), group.as_deref())),
        }
    }

    /// When every file of the manifest is in the directory with that content, the script ends
    /// there, unchanged. `drain`: the archive follows on standard input, to be read and dropped.
    fn held_dir(&self, drain: bool) -> String {
        let drain = if drain { "cat >/dev/null; " } else { "" };
        format!(
            r#"if [ -d "$d" ] && (cd "$d" && sha256sum -c --status) <<'ENOS_MANIFEST'
{manifest}ENOS_MANIFEST
then
  {drain}{UNCHANGED}; exit 0
fi
"#,
            manifest = self.manifest,
        )
    }

    fn unpack(&self) -> String {
        let chown_line = match &self.chown {
            Some(chown) => format!("chown -R {chown} \"$d\" || exit $?\n"),
            None => String::new(),
        };
        format!("mkdir -p \"$d\" && tar -x -o -f - -C \"$d\" || exit $?\n{chown_line}{CHANGED}\n")
    }
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
            format!(
                "{} >/dev/null 2>&1 </dev/null",
                fresh_shell(command, None, &indexmap::IndexMap::new())
            )
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
/// [`SERVICE_DIR`] and its output in [`SERVICE_LOG_DIR`]`/<name>.log`. `<name>.start` in
/// [`SERVICE_DIR`] (root's only) starts it again the same way, without waiting.
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
    let launch = format!(
        "({chdir}export {env}{COMMAND_VARIABLE}={command} && exec setsid {as_user}{FRESH_SHELL}) </dev/null >>\"$log\" 2>&1 &",
        chdir = chdir_prefix(chdir),
        env = assignments(env),
        command = quote(command),
    );
    // What starts it again without a deploy (a bench's `start` event): the same launch.
    let start_file = format!(
        "name={name}\nlog={SERVICE_LOG_DIR}/$name.log\n\
         echo \"== $(date -u +%FT%TZ) starting $name again\" >> \"$log\"\n\
         {launch}\necho $! > {SERVICE_DIR}/$name.pid\n",
        name = quote(name),
    );
    format!(
        r#"set -u
name={name}
pidf={SERVICE_DIR}/$name.pid
deff={SERVICE_DIR}/$name.definition
log={SERVICE_LOG_DIR}/$name.log
mkdir -p {SERVICE_DIR} {SERVICE_LOG_DIR} || exit $?
# Its environment may hold secrets: only root reads the start file.
(umask 077 && printf '%s' {start_file} > {SERVICE_DIR}/$name.start) || exit $?
{check}
pid=$(cat "$pidf" 2>/dev/null || true)
running=0
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then running=1; fi
status=unchanged
if [ $running = 0 ] || [ "$(cat "$deff" 2>/dev/null)" != {definition} ] || [ {restart} = 1 ]; then
  if [ $running = 1 ]; then
    kill -s TERM -- "-$pid" 2>/dev/null || kill -s TERM "$pid" 2>/dev/null
    n=0
    while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    kill -s KILL -- "-$pid" 2>/dev/null || true
  fi
  echo "== $(date -u +%FT%TZ) starting $name" >> "$log"
  {launch}
  pid=$!
  echo $pid > "$pidf"
  echo {definition} > "$deff"
  status=changed
fi
wait_ready {timeout_secs} "$pid"
# 10 lines of the log: with the reason above them, within what a step's report keeps.
case $? in
  0) echo "::enos:: $status" ;;
  2) echo "service $name exited; the end of $log:" >&2; tail -n 10 "$log" >&2; exit 1 ;;
  *) echo "service $name not ready after {timeout_secs}s ({shown}); the end of $log:" >&2
     tail -n 10 "$log" >&2; exit 1 ;;
esac
"#,
        name = quote(name),
        definition = quote(definition),
        restart = u8::from(restart),
        start_file = quote(&start_file),
    )
}

/// Whether `name` can be a service's name: `[a-z0-9_.-]`, not starting with a dot (what a
/// scenario allows; a name read back from a report may have been edited).
pub fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}

/// Stops the services `names` (each of [`is_service_name`]) and removes their pid,
/// definition and start files, so that nothing of them is left but their logs: the whole process group
/// of each gets SIGTERM, then, ten seconds later, SIGKILL. A pid file whose process is gone, or
/// is no longer the leader of its own process group (its pid was taken by another process),
/// has only its files removed. Says `changed` when it stopped or removed anything; fails when
/// a service survives SIGKILL.
pub fn stop_script(names: &[String]) -> Script {
    let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let body = format!(
        r#"set -u
dir={SERVICE_DIR}
status=unchanged
# Whether process $1 runs (is not a zombie) and leads its own process group, as a service
# started by enos does. (`kill -s SIG -- -PGID` is the form every sh reads as a group.)
ours() {{
  f=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  state=${{f%% *}}; f=${{f#* }}; f=${{f#* }}; group=${{f%% *}}
  [ -n "$state" ] && [ "$state" != Z ] && [ "$group" = "$1" ]
}}
# Waits up to $1 tenths of a second until no process of $pids runs.
settle() {{
  n=0
  while [ "$n" -lt "$1" ]; do
    left=""
    for p in $pids; do if ours "$p"; then left="$left $p"; fi; done
    [ -z "$left" ] && return 0
    sleep 0.1; n=$((n + 1))
  done
  return 1
}}
pids=""
for name in {list}; do
  pid=$(cat "$dir/$name.pid" 2>/dev/null || true)
  case "$pid" in ''|*[!0-9]*) continue ;; esac
  if ours "$pid"; then
    echo "stopping $name (pid $pid)"
    kill -s TERM -- "-$pid" 2>/dev/null || true
    pids="$pids $pid"
  fi
done
if [ -n "$pids" ]; then
  status=changed
  settle 100 || true
  # The rest of each group (children that outlived their leader, or ignored SIGTERM).
  for p in $pids; do kill -s KILL -- "-$p" 2>/dev/null || true; done
  if ! settle 50; then echo "services do not stop: pid$left" >&2; exit 1; fi
fi
for name in {list}; do
  for f in "$dir/$name.pid" "$dir/$name.definition" "$dir/$name.start"; do
    if [ -e "$f" ]; then rm -f "$f" || exit $?; status=changed; fi
  done
done
rmdir "$dir" 2>/dev/null || true
echo "::enos:: $status"
"#,
        list = list.join(" "),
    );
    Script::new(body, None)
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
    fn a_script_becomes_root_through_sudo_with_its_input_still_on_standard_input() {
        let action = HostAction::Run {
            command: "echo enos-secret".into(),
            creates: None,
            unless: None,
            chdir: None,
            env: indexmap::IndexMap::new(),
        };
        let plain = script(&action, false, 10);
        assert_eq!(script(&action, false, 10).become_root(None), plain);
        let root = script(&action, false, 10).become_root(Some(Become::Sudo));
        assert_eq!(root.command, format!("sudo -n {}", plain.command));
        assert!(
            root.command.starts_with("sudo -n sh -c '"),
            "{}",
            root.command
        );
        assert!(!root.command.contains("enos-secret"));
        assert_eq!(root.input, plain.input);
    }

    #[test]
    fn a_host_lacks_the_content_only_when_its_last_line_says_so() {
        assert!(lacks_content(b"::enos:: lacks\n"));
        assert!(lacks_content(b"a warning\n::enos:: lacks"));
        assert!(!lacks_content(b"no status\n"));
        assert!(!lacks_content(b"::enos:: unchanged\n"));
        assert!(!lacks_content(b"echo ::enos:: lacks\n"));
        assert!(!lacks_content(b"::enos:: lacks\nmore\n"));
        assert_eq!(status_of(b"::enos:: lacks\n").1, None);
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
