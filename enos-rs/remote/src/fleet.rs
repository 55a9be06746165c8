//! A connected set of hosts, and the batch operations on it.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use enos_core::Reporter;
use openssh::{Session, Stdio};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::RemoteError;
use crate::master;
use crate::session::{HostCtx, Link, exit_of, read_all};
use crate::transfer;
use crate::types::{CommandOutput, HostCommand, HostFailure, HostResult, RemoteConfig, Target};

/// A set of hosts with a master connection each, to run commands and transfer files on.
///
/// Hosts that could not be connected stay in the fleet: every operation returns their connection
/// error again, so that results always list every target, in the order given to
/// [`Fleet::connect`]. Dropping a fleet leaves the masters running for later processes;
/// [`close_all`](crate::close_all) stops them. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Fleet {
    shared: Arc<Shared>,
    hosts: Arc<[Arc<Link>]>,
}

#[derive(Debug)]
struct Shared {
    config: RemoteConfig,
    limit: Arc<Semaphore>,
}

type Job<T> = Pin<Box<dyn Future<Output = Result<T, RemoteError>> + Send + 'static>>;

/// Where [`Fleet::run_streaming`] hands each line of standard output as it comes: the host's
/// name and the line (without its end).
pub type LineSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

impl Fleet {
    /// Connects to every target, reusing a running master when there is one.
    ///
    /// Returns the fleet (every target, connected or not) and the targets that could not be
    /// connected, in order. Problems with the control directory fail every host with
    /// [`RemoteError::ControlDir`].
    pub async fn connect(
        config: RemoteConfig,
        targets: Vec<Target>,
        reporter: &dyn Reporter,
    ) -> (Fleet, Vec<HostFailure>) {
        let mut config = config;
        config.parallelism = config.parallelism.max(1);
        let prepared = master::prepare_control_dir(&config.control_dir).and_then(|dir| {
            config.control_dir = dir;
            std::path::absolute(&config.ssh_config)
                .map(|file| config.ssh_config = file)
                .map_err(|e| RemoteError::ControlDir {
                    path: config.control_dir.clone(),
                    message: format!("cannot resolve {}: {e}", config.ssh_config.display()),
                })
        });
        let shared = Arc::new(Shared {
            limit: Arc::new(Semaphore::new(config.parallelism)),
            config,
        });

        let mut paths = Vec::with_capacity(targets.len());
        let mut jobs: Vec<(String, Job<()>)> = Vec::with_capacity(targets.len());
        for target in &targets {
            let host = target.name.clone();
            let found = match &prepared {
                Err(e) => Err(e.clone()),
                Ok(()) => master::master_paths(&shared.config.control_dir, &target.alias).map_err(
                    |message| RemoteError::Invalid {
                        host: host.clone(),
                        message,
                    },
                ),
            };
            let job: Job<()> = match &found {
                Err(e) => Box::pin(std::future::ready(Err(e.clone()))),
                Ok(p) => {
                    let (shared, target, p) = (shared.clone(), target.clone(), p.clone());
                    Box::pin(
                        async move { master::ensure_master(&shared.config, &target, &p).await },
                    )
                }
            };
            paths.push(found.ok());
            jobs.push((host, job));
        }
        let deadline = shared.config.connect_timeout.max(Duration::from_secs(1)) * 2;
        let outcomes = parallel(
            &shared.limit,
            reporter,
            "connect",
            "connect",
            deadline,
            jobs,
            |r| r.is_ok(),
        )
        .await;

        let mut failures = Vec::new();
        let mut hosts = Vec::with_capacity(targets.len());
        for ((target, paths), outcome) in targets.into_iter().zip(paths).zip(outcomes) {
            if let Err(error) = &outcome.outcome {
                failures.push(HostFailure {
                    host: outcome.host.clone(),
                    error: error.clone(),
                });
            }
            let session = paths
                .as_ref()
                .map(|p| Session::resume_mux(p.socket.clone().into_boxed_path(), None));
            hosts.push(Arc::new(Link::new(target, paths, session, outcome.outcome)));
        }
        (
            Fleet {
                shared,
                hosts: hosts.into(),
            },
            failures,
        )
    }

    /// The names of the fleet's hosts, in order.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(|link| link.host())
    }

    /// How many hosts the fleet has (connected or not).
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether the fleet has no host.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The hosts that could not be connected, with why.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &RemoteError)> {
        self.hosts
            .iter()
            .filter_map(|link| link.connected.as_ref().err().map(|e| (link.host(), e)))
    }

    /// The control socket of `host`'s master, if the host is in the fleet.
    pub fn control_socket(&self, host: &str) -> Option<&Path> {
        self.hosts
            .iter()
            .find(|link| link.host() == host)
            .and_then(|link| link.paths.as_ref())
            .map(|p| p.socket.as_path())
    }

    /// The fleet restricted to the hosts named in `names` (in the fleet's order), sharing its
    /// connections and its parallelism limit. Unknown names are ignored.
    pub fn subset<S: AsRef<str>>(&self, names: &[S]) -> Fleet {
        let hosts: Vec<Arc<Link>> = self
            .hosts
            .iter()
            .filter(|link| names.iter().any(|n| n.as_ref() == link.host()))
            .cloned()
            .collect();
        Fleet {
            shared: self.shared.clone(),
            hosts: hosts.into(),
        }
    }

    /// Runs the shell command line `command` on every host, with `timeout` per host (zero: no
    /// limit).
    ///
    /// The command is run by the remote user's login shell (like `ssh host 'command'`), with
    /// standard input empty. Its output is kept whole in memory. On timeout, the remote command
    /// is not killed (OpenSSH's multiplexing cannot signal it): it loses its output pipes and
    /// goes on until it exits or writes to them.
    pub async fn run(
        &self,
        command: &str,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<CommandOutput>> {
        let command: Arc<str> = Arc::from(command);
        self.each_host(
            "run",
            "run",
            timeout,
            reporter,
            |r| r.as_ref().is_ok_and(|o| o.success()),
            {
                move |shared, link| {
                    let command = command.clone();
                    Box::pin(async move { run_one(&shared, &link, &command, &[], None).await })
                }
            },
        )
        .await
    }

    /// Runs each host's own command line: `commands` pairs a host name with its command; hosts
    /// of the fleet without one are left alone. Otherwise as [`Fleet::run`].
    pub async fn run_each(
        &self,
        commands: &[(String, String)],
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<CommandOutput>> {
        self.run_commands("run", without_input(commands), timeout, reporter)
            .await
    }

    /// Runs each host's own command line with its own standard input, as one progress task
    /// titled `title`; hosts of the fleet without a command are left alone. The input is written
    /// while the output is read, so neither side waits on the other, straight from its parts
    /// (shared parts are never copied per host); empty input is an empty standard input.
    /// Otherwise as [`Fleet::run`].
    pub async fn run_commands(
        &self,
        title: &str,
        commands: Vec<HostCommand>,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<CommandOutput>> {
        self.run_host_commands(title, commands, timeout, reporter, None)
            .await
    }

    /// Runs each host's own command line as [`Fleet::run_each`] does, but hands its standard
    /// output to `lines` line by line as it comes instead of keeping it (the outputs' `stdout`
    /// are empty): for commands that write records for as long as they run.
    pub async fn run_streaming(
        &self,
        commands: &[(String, String)],
        timeout: Duration,
        reporter: &dyn Reporter,
        lines: LineSink,
    ) -> Vec<HostResult<CommandOutput>> {
        self.run_host_commands(
            "run",
            without_input(commands),
            timeout,
            reporter,
            Some(lines),
        )
        .await
    }

    /// The hosts of `commands` as a fleet, and each host's command.
    fn by_host(
        &self,
        commands: Vec<HostCommand>,
    ) -> (Fleet, Arc<HashMap<String, Arc<HostCommand>>>) {
        let names: Vec<&str> = commands.iter().map(|c| c.host.as_str()).collect();
        let fleet = self.subset(&names);
        let by_host = commands
            .into_iter()
            .map(|c| (c.host.clone(), Arc::new(c)))
            .collect();
        (fleet, Arc::new(by_host))
    }

    /// [`Fleet::run_commands`], standard output kept or handed to `lines`.
    async fn run_host_commands(
        &self,
        title: &str,
        commands: Vec<HostCommand>,
        timeout: Duration,
        reporter: &dyn Reporter,
        lines: Option<LineSink>,
    ) -> Vec<HostResult<CommandOutput>> {
        let (fleet, by_host) = self.by_host(commands);
        fleet
            .each_host(
                title,
                "run",
                timeout,
                reporter,
                |r: &Result<CommandOutput, RemoteError>| r.as_ref().is_ok_and(|o| o.success()),
                move |shared, link| {
                    let command = by_host.get(link.host()).cloned();
                    let lines = lines.clone();
                    Box::pin(async move {
                        match command {
                            Some(c) => run_one(&shared, &link, &c.command, &c.input, lines).await,
                            None => Err(RemoteError::Invalid {
                                host: link.host().to_owned(),
                                message: "no command for this host".to_owned(),
                            }),
                        }
                    })
                },
            )
            .await
    }

    /// Copies the local file or directory `local` to the path `remote` on every host, with
    /// `timeout` per host (zero: no limit).
    ///
    /// `remote` names the copy itself; when it ends with `/`, the copy goes into that directory
    /// under `local`'s name. Missing parent directories are created. A file keeps its
    /// permission bits and replaces the target atomically (written to a temporary name, then
    /// renamed); an existing remote directory is not a valid target for a file. A directory is
    /// streamed as a tar archive and merged into the target directory (existing files are
    /// overwritten, others kept), keeping modes, times and symbolic links. Relative remote
    /// paths start at the remote user's home directory. Needs `sh`, `cat`, `wc`, `mkdir`,
    /// `chmod`, `mv` and, for directories, `tar` on the host.
    pub async fn upload(
        &self,
        local: &Path,
        remote: &str,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<()>> {
        let plan = transfer::plan_upload(local, remote).map(Arc::new);
        self.each_host(
            "upload",
            "upload",
            timeout,
            reporter,
            succeeded,
            move |shared, link| {
                let plan = plan.clone();
                Box::pin(async move {
                    let plan = plan.map_err(|e| e.for_host(link.host()))?;
                    transfer::upload_one(&HostCtx::new(&shared.config, &link), &plan).await
                })
            },
        )
        .await
    }

    /// Copies the remote file or directory `remote` from every host to
    /// `local_dir/<host>/<name of remote>`, with `timeout` per host (zero: no limit); returns
    /// the local paths.
    ///
    /// The copy is streamed as a tar archive (modes, times and symbolic links kept; a symbolic
    /// link named by `remote` itself is followed), unpacked in a temporary directory beside the
    /// destination and then moved over it: the destination is replaced whole, and left as it
    /// was when the download fails. Needs `sh` and `tar` on the host.
    pub async fn download(
        &self,
        remote: &str,
        local_dir: &Path,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<PathBuf>> {
        let plan = transfer::plan_download(remote, local_dir).map(Arc::new);
        self.each_host(
            "download",
            "download",
            timeout,
            reporter,
            succeeded,
            move |shared, link| {
                let plan = plan.clone();
                Box::pin(async move {
                    let plan = plan.map_err(|e| e.for_host(link.host()))?;
                    transfer::download_one(&HostCtx::new(&shared.config, &link), &plan).await
                })
            },
        )
        .await
    }

    /// Runs each host's own command with its own standard input (`commands`; hosts without
    /// one are left alone); each command writes a tar archive of regular files on its standard
    /// output, unpacked into `local_dir/<host>/` file by file (each file renamed into place
    /// whole, readable by its owner only, hashed as it is written). Returns the files placed
    /// per host, relative to its directory, with their sizes and SHA-256. Entries that are
    /// not regular files or whose paths leave the directory are skipped. GNU tar's exit status
    /// 1 (a file changed while read) is not an error.
    pub async fn fetch_archives(
        &self,
        commands: Vec<HostCommand>,
        local_dir: &Path,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<Vec<crate::FetchedFile>>> {
        let (fleet, by_host) = self.by_host(commands);
        let local_dir: Arc<Path> = Arc::from(local_dir);
        fleet
            .each_host(
                "fetch",
                "fetch",
                timeout,
                reporter,
                succeeded,
                move |shared, link| {
                    let command = by_host.get(link.host()).cloned();
                    let local_dir = local_dir.clone();
                    Box::pin(async move {
                        let Some(c) = command else {
                            return Err(RemoteError::Invalid {
                                host: link.host().to_owned(),
                                message: "no command for this host".to_owned(),
                            });
                        };
                        let input: Vec<u8> =
                            c.input.iter().flat_map(|b| b.iter().copied()).collect();
                        transfer::fetch_archive_one(
                            &HostCtx::new(&shared.config, &link),
                            &c.command,
                            &input,
                            &local_dir,
                        )
                        .await
                    })
                },
            )
            .await
    }

    /// Runs `job` on every connected host (and gives the others their connection error).
    async fn each_host<T, F>(
        &self,
        title: &str,
        operation: &'static str,
        timeout: Duration,
        reporter: &dyn Reporter,
        success: fn(&Result<T, RemoteError>) -> bool,
        job: F,
    ) -> Vec<HostResult<T>>
    where
        T: Send + 'static,
        F: Fn(Arc<Shared>, Arc<Link>) -> Job<T>,
    {
        let jobs = self
            .hosts
            .iter()
            .map(|link| {
                let job = match &link.connected {
                    Err(e) => Box::pin(std::future::ready(Err(e.clone()))),
                    Ok(()) => job(self.shared.clone(), link.clone()),
                };
                (link.host().to_owned(), job)
            })
            .collect();
        parallel(
            &self.shared.limit,
            reporter,
            title,
            operation,
            timeout,
            jobs,
            success,
        )
        .await
    }
}

fn succeeded<T>(outcome: &Result<T, RemoteError>) -> bool {
    outcome.is_ok()
}

/// `(host, command)` pairs as commands without standard input.
fn without_input(commands: &[(String, String)]) -> Vec<HostCommand> {
    commands
        .iter()
        .map(|(host, command)| HostCommand {
            host: host.clone(),
            command: command.clone(),
            input: Vec::new(),
        })
        .collect()
}

async fn run_one(
    shared: &Shared,
    link: &Link,
    command: &str,
    input: &[Bytes],
    lines: Option<LineSink>,
) -> Result<CommandOutput, RemoteError> {
    use tokio::io::AsyncWriteExt as _;
    let ctx = HostCtx::new(&shared.config, link);
    let start = Instant::now();
    let mut child = {
        let mut cmd = ctx.session()?.raw_command(command);
        cmd.stdin(if input.iter().all(Bytes::is_empty) {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        ctx.spawn(&mut cmd).await?
    };
    let stdin = child.stdin().take();
    let write = async move {
        // A command that exits without reading all of its input is not an error of ours: its
        // exit status says how it went.
        if let Some(mut stdin) = stdin {
            for part in input {
                if stdin.write_all(part).await.is_err() {
                    break;
                }
            }
            let _ = stdin.shutdown().await;
        }
    };
    let stdout = child.stdout().take();
    let host = ctx.host().to_owned();
    let read_stdout = async move {
        match lines {
            None => read_all(stdout).await,
            Some(sink) => {
                use tokio::io::AsyncBufReadExt as _;
                if let Some(stdout) = stdout {
                    let mut reader = tokio::io::BufReader::new(stdout).lines();
                    while let Some(line) = reader.next_line().await? {
                        sink(&host, &line);
                    }
                }
                Ok(Vec::new())
            }
        }
    };
    let ((), stdout, stderr) = tokio::join!(write, read_stdout, read_all(child.stderr().take()));
    let exit = exit_of(ctx.host(), child.wait().await)?;
    let io_error = |e: std::io::Error| RemoteError::Ssh {
        host: ctx.host().to_owned(),
        message: format!("reading the command's output: {e}"),
    };
    Ok(CommandOutput {
        exit,
        stdout: stdout.map_err(io_error)?,
        stderr: stderr.map_err(io_error)?,
        duration: start.elapsed(),
    })
}

/// Runs `jobs` (one per host, in order) with at most `limit` at once and a time limit each
/// (counted once the job may start; zero: none), reporting each end to `reporter`.
async fn parallel<T: Send + 'static>(
    limit: &Arc<Semaphore>,
    reporter: &dyn Reporter,
    title: &str,
    operation: &'static str,
    timeout: Duration,
    jobs: Vec<(String, Job<T>)>,
    success: fn(&Result<T, RemoteError>) -> bool,
) -> Vec<HostResult<T>> {
    let task = reporter.start(title, jobs.len() as u64);
    let hosts: Vec<String> = jobs.iter().map(|(host, _)| host.clone()).collect();
    let mut outcomes: Vec<Option<Result<T, RemoteError>>> = hosts.iter().map(|_| None).collect();
    let mut running = JoinSet::new();
    let mut index_of = HashMap::new();
    for (index, (host, job)) in jobs.into_iter().enumerate() {
        let limit = limit.clone();
        let handle = running.spawn(async move {
            // The semaphore is never closed; without a permit, run anyway.
            let _permit = limit.acquire_owned().await.ok();
            if timeout.is_zero() {
                return job.await;
            }
            match tokio::time::timeout(timeout, job).await {
                Ok(outcome) => outcome,
                Err(_) => Err(RemoteError::Timeout {
                    host,
                    operation,
                    after: timeout,
                }),
            }
        });
        index_of.insert(handle.id(), index);
    }
    while let Some(joined) = running.join_next_with_id().await {
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, outcome),
            Err(e) => {
                let message = if e.is_panic() {
                    "internal error (panic)"
                } else {
                    "cancelled"
                };
                let id = e.id();
                let host = index_of
                    .get(&id)
                    .map(|i| hosts[*i].clone())
                    .unwrap_or_default();
                (
                    id,
                    Err(RemoteError::Ssh {
                        host,
                        message: message.to_owned(),
                    }),
                )
            }
        };
        if let Some(&index) = index_of.get(&id) {
            reporter.advance(task, &hosts[index], success(&outcome));
            outcomes[index] = Some(outcome);
        }
    }
    reporter.finish(task);
    hosts
        .into_iter()
        .zip(outcomes)
        .map(|(host, outcome)| {
            let outcome = outcome.unwrap_or_else(|| {
                Err(RemoteError::Ssh {
                    host: host.clone(),
                    message: "no outcome".to_owned(),
                })
            });
            HostResult { host, outcome }
        })
        .collect()
}
