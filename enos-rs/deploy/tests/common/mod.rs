//! Helpers shared by the deploy engine's tests.

use std::io::Write as _;
use std::process::{Command, Stdio};

use enos_deploy::script::{Said, Script, status_of};

/// What a script did when run here, as a host's login shell would run it.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub said: Option<Said>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `script` with `sh` on this machine, its input on standard input.
pub fn run(script: &Script) -> Ran {
    run_with_env(script, &[])
}

/// Runs `script` as [`run`] does, with the environment variables `vars` set.
pub fn run_with_env(script: &Script, vars: &[(&str, String)]) -> Ran {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script.command)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = script.input.clone();
    let writer = std::thread::spawn(move || {
        for part in input {
            if stdin.write_all(&part).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let (before, said) = status_of(&out.stdout);
    Ran {
        code: out.status.code().unwrap_or(-1),
        said,
        stdout: String::from_utf8_lossy(before).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
