//! The two loops that send requests, and what they share.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{self, Connection, Target};
use crate::schedule::{Schedule, Slot};
use crate::writer::{self, Start, StepLine};
use crate::{Config, Error, Load, Record, Step, Summary};

/// What every request task needs.
struct Shared {
    target: Target,
    timeout: Duration,
    start: Instant,
    records: mpsc::Sender<Record>,
    /// Raised when the writer failed: stop sending.
    failed: Arc<AtomicBool>,
}

impl Shared {
    fn offset(&self) -> Duration {
        self.start.elapsed()
    }

    fn stopped(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Sends one request intended at `intended`, records it, and gives back the connection
    /// when it can serve again.
    async fn request(
        &self,
        intended: Duration,
        warmup: bool,
        connection: Option<Connection>,
    ) -> Option<Connection> {
        let sent = self.offset();
        let outcome = http::request(&self.target, connection, self.timeout).await;
        let done = self.offset();
        let record = Record {
            intended_ns: nanos(intended),
            sent_ns: nanos(sent),
            latency_ns: nanos(done.saturating_sub(intended)),
            status: outcome.status,
            error: outcome.error,
            bytes: outcome.bytes,
            warmup,
        };
        if self.records.send(record).is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        outcome.connection
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn steps(config: &Config) -> Vec<Step> {
    match &config.load {
        Load::Rate(rate) => vec![Step {
            rate: *rate,
            duration: Duration::MAX,
        }],
        Load::Steps(steps) => steps.clone(),
        Load::Closed { .. } => Vec::new(),
    }
}

pub(crate) async fn run<W: Write + Send + 'static>(
    config: &Config,
    target: Target,
    sink: W,
) -> Result<Summary, Error> {
    let steps = steps(config);
    let start_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, nanos);
    let start = Instant::now();
    let open = !matches!(config.load, Load::Closed { .. });
    let header = Start {
        version: crate::FORMAT_VERSION,
        start_unix_ns,
        url: config.url.clone(),
        mode: if open { "open" } else { "closed" },
        steps: match &config.load {
            Load::Rate(rate) => vec![StepLine {
                rate: *rate,
                duration_s: config.duration.map_or(f64::INFINITY, |d| d.as_secs_f64()),
            }],
            _ => steps
                .iter()
                .map(|s| StepLine {
                    rate: s.rate,
                    duration_s: s.duration.as_secs_f64(),
                })
                .collect(),
        },
        connections: match config.load {
            Load::Closed { connections } => connections,
            _ => config.max_connections,
        },
        warmup_s: config.warmup.as_secs_f64(),
        duration_s: config.duration.map(|d| d.as_secs_f64()),
        requests: config.requests,
        timeout_s: config.timeout.as_secs_f64(),
    };
    let (records, received) = mpsc::channel();
    let failed = Arc::new(AtomicBool::new(false));
    let writer = {
        let failed = Arc::clone(&failed);
        tokio::task::spawn_blocking(move || writer::write(received, sink, &header, &failed))
    };
    let shared = Arc::new(Shared {
        target,
        timeout: config.timeout,
        start,
        records,
        failed,
    });
    match config.load {
        Load::Closed { connections } => closed_loop(shared, config, connections).await,
        _ => {
            let schedule = Schedule::new(&steps, config.warmup, config.duration, config.requests);
            open_loop(shared, schedule, config.max_connections).await;
        }
    }
    let summary = writer
        .await
        .map_err(|e| Error::Write(std::io::Error::other(e.to_string())))??;
    Ok(summary)
}

/// Sends each request of `schedule` at its time, on an idle connection or a new one (up to
/// `max` open), and waits for the last to end. The times come from a thread of their own
/// ([`pace`]): the runtime's timer has a resolution of a millisecond. Only this task touches
/// the pool; request tasks give their connection back (or say it is gone) through a channel.
async fn open_loop(shared: Arc<Shared>, schedule: Schedule, max: usize) {
    let (give_back, mut given_back) = tokio::sync::mpsc::unbounded_channel::<Option<Connection>>();
    let (slots_in, mut slots) = tokio::sync::mpsc::unbounded_channel::<Slot>();
    let pacer = {
        let (start, stop) = (shared.start, Arc::clone(&shared.failed));
        std::thread::Builder::new()
            .name("enos-load-pacer".into())
            .spawn(move || pace(schedule, start, &slots_in, &stop))
    };
    if pacer.is_err() {
        shared.failed.store(true, Ordering::SeqCst);
        return;
    }
    let mut idle: Vec<Connection> = Vec::new();
    let mut open = 0usize;
    // Requests whose time came while every connection was busy and the cap reached.
    let mut due: VecDeque<Slot> = VecDeque::new();
    let mut pacing = true;
    loop {
        while let Some(slot) = due.pop_front() {
            let connection = if let Some(connection) = idle.pop() {
                Some(connection)
            } else if open < max {
                open += 1;
                None
            } else {
                due.push_front(slot);
                break;
            };
            let shared = Arc::clone(&shared);
            let give_back = give_back.clone();
            tokio::spawn(async move {
                let connection = shared.request(slot.offset, slot.warmup, connection).await;
                let _ = give_back.send(connection);
            });
        }
        if shared.stopped() {
            due.clear();
        }
        if !pacing && due.is_empty() && idle.len() == open {
            return;
        }
        tokio::select! {
            biased;
            Some(connection) = given_back.recv() => match connection {
                Some(connection) => idle.push(connection),
                None => open -= 1,
            },
            slot = slots.recv(), if pacing => match slot {
                Some(slot) if !shared.stopped() => due.push_back(slot),
                Some(_) => {}
                None => pacing = false,
            },
        }
    }
}

/// The longest the pacer sleeps at once: it looks at `stop` at least this often.
const PACER_NAP: Duration = Duration::from_millis(100);

/// Hands each slot of `schedule` to `slots` at its intended time (from `start`), until the
/// schedule ends or `stop` is raised: it sleeps until the time, with a timer slack of 1 ns, so
/// a slot goes within the tens of microseconds a sleep ends late by. A slot whose time has
/// passed (the pacer was late, or slots are closer than a sleep's lateness) goes at once, with
/// the others due: at high rates the pacer wakes once for several slots rather than spinning.
fn pace(
    schedule: Schedule,
    start: Instant,
    slots: &tokio::sync::mpsc::UnboundedSender<Slot>,
    stop: &AtomicBool,
) {
    let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
    for slot in schedule {
        let deadline = start + slot.offset;
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(PACER_NAP));
        }
        if slots.send(slot).is_err() {
            return;
        }
    }
}

/// `connections` tasks, each sending its next request when the previous one answered, until
/// the duration is over or the requests are all sent.
async fn closed_loop(shared: Arc<Shared>, config: &Config, connections: usize) {
    let warmup = config.warmup;
    let end = config.duration.map(|d| warmup.saturating_add(d));
    let left = Arc::new(AtomicU64::new(config.requests.unwrap_or(u64::MAX)));
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let shared = Arc::clone(&shared);
            let left = Arc::clone(&left);
            tokio::spawn(async move {
                let mut connection = None;
                while !shared.stopped() {
                    let now = shared.offset();
                    let in_warmup = now < warmup;
                    if !in_warmup {
                        if end.is_some_and(|end| now >= end) {
                            break;
                        }
                        let claimed = left
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                        if claimed.is_err() {
                            break;
                        }
                    }
                    connection = shared.request(now, in_warmup, connection).await;
                }
            })
        })
        .collect();
    drop(shared);
    for task in tasks {
        let _ = task.await;
    }
}
