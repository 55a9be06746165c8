//! The generator as a daemon: `enos daemon http-load --url URL (--rate R | --steps R:D,… |
//! --connections N) [--duration D] [--requests N] [--warmup D] [--timeout D] [--out FILE]`,
//! run on a testbed host. With `--rate` or `--steps` it runs an open loop and `--connections`
//! caps its pool; without, a closed loop over `--connections` connections. Durations are
//! `500ms`, `10s`, `2m`, or a number of seconds. Records go to `--out` (standard output when
//! absent or `-`), in the format the crate's documentation describes.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::{Config, DEFAULT_MAX_CONNECTIONS, Load, Step};

/// The daemon's name on the command line.
pub const NAME: &str = "http-load";

/// The daemon's arguments.
#[derive(Debug, Parser)]
#[command(name = "http-load", no_binary_name = true)]
struct Args {
    /// The target (`http://host[:port]/path`).
    #[arg(long)]
    url: String,
    /// Open loop at this many requests per second.
    #[arg(long, conflicts_with = "steps")]
    rate: Option<f64>,
    /// Open loop at stepped rates: `RATE:DURATION,…` (e.g. `100:10s,200:10s`).
    #[arg(long, value_parser = parse_steps)]
    steps: Option<Steps>,
    /// Open loop: the most connections open at once (default 1000); closed loop (no rate nor
    /// steps): the number of connections.
    #[arg(long)]
    connections: Option<usize>,
    /// How long the measured part lasts (default with --steps: their total).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// How many requests the measured part holds.
    #[arg(long)]
    requests: Option<u64>,
    /// A warm-up before the measured part, its records marked `warmup`.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    warmup: Duration,
    /// How long a request may take from its send.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
    /// Where to write the records (`-`: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The steps of `--steps`, wrapped so that clap keeps them whole.
#[derive(Debug, Clone)]
struct Steps(Vec<Step>);

/// Parses `500ms`, `10s`, `2m`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 500ms, 10s, 2m)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1e3,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

fn parse_steps(text: &str) -> Result<Steps, String> {
    text.split(',')
        .map(|step| {
            let (rate, duration) = step
                .split_once(':')
                .ok_or_else(|| format!("{step:?}: a step is RATE:DURATION"))?;
            let rate: f64 = rate
                .trim()
                .parse()
                .map_err(|_| format!("{step:?}: {rate:?} is not a rate"))?;
            Ok(Step {
                rate,
                duration: parse_duration(duration)?,
            })
        })
        .collect::<Result<_, String>>()
        .map(Steps)
}

fn config(args: &Args) -> Result<Config, String> {
    let load = match (args.rate, &args.steps, args.connections) {
        (Some(rate), _, _) => Load::Rate(rate),
        (None, Some(Steps(steps)), _) => Load::Steps(steps.clone()),
        (None, None, Some(connections)) => Load::Closed { connections },
        (None, None, None) => {
            return Err("give --rate or --steps (open loop) or --connections (closed loop)".into());
        }
    };
    let open = !matches!(load, Load::Closed { .. });
    Ok(Config {
        url: args.url.clone(),
        load,
        max_connections: if open {
            args.connections.unwrap_or(DEFAULT_MAX_CONNECTIONS)
        } else {
            DEFAULT_MAX_CONNECTIONS
        },
        duration: args.duration,
        requests: args.requests,
        warmup: args.warmup,
        timeout: args.timeout,
    })
}

/// Runs the load to its end; the arguments are those after the daemon's name.
pub fn main(args: Vec<OsString>) -> Result<(), String> {
    let args = Args::try_parse_from(args).map_err(|e| e.to_string())?;
    let config = config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = match args.out.as_deref() {
        Some(path) if path.as_os_str() != "-" => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            runtime.block_on(crate::run(&config, file))
        }
        _ => runtime.block_on(crate::run(&config, std::io::stdout())),
    };
    result.map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_steps_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3d").is_err());
        let Steps(steps) = parse_steps("100:10s,250.5:500ms").expect("steps");
        assert_eq!(
            steps,
            [
                Step {
                    rate: 100.0,
                    duration: Duration::from_secs(10)
                },
                Step {
                    rate: 250.5,
                    duration: Duration::from_millis(500)
                }
            ]
        );
        assert!(parse_steps("100").is_err());
    }

    #[test]
    fn the_loop_follows_the_arguments() {
        let parse = |line: &str| {
            let args = Args::try_parse_from(line.split(' ')).expect("arguments");
            config(&args)
        };
        let open = parse("--url http://h/ --rate 50 --connections 8 --duration 3s").expect("open");
        assert_eq!(open.load, Load::Rate(50.0));
        assert_eq!(open.max_connections, 8);
        let closed = parse("--url http://h/ --connections 4 --requests 10").expect("closed");
        assert_eq!(closed.load, Load::Closed { connections: 4 });
        assert!(parse("--url http://h/ --duration 1s").is_err());
        assert!(Args::try_parse_from("--url u --rate 1 --steps 1:1s".split(' ')).is_err());
    }
}
