//! Two snapshots of this machine's /proc while a thread of this process and a child process
//! spin.

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use enos_system::{Sources, cpu_count, rates, snapshot};

/// A busy-looping shell, killed (by its own pid) and reaped when dropped.
struct Spinner(Child);

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn this_machine_shows_the_spinning_child_in_processes_and_the_spinning_thread_as_the_agent() {
    let mut sources = Sources::live();
    sources.self_pid = Some(std::process::id());
    let cores = cpu_count(&sources).unwrap();
    assert!(cores >= 1);

    let child = Spinner(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let thread = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let first = snapshot(&sources).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let second = snapshot(&sources).unwrap();
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    drop(child);

    let sample = rates(&first, &second);
    // Tick-granular per-process times and the time /proc takes to list can overshoot a little.
    let most = cores as f64 * 1.1;
    assert!(sample.interval_s >= 0.2, "{}", sample.interval_s);
    assert_eq!(sample.cpu.cores.len(), cores);
    assert!(
        sample.cpu.busy > 0.0 && sample.cpu.busy <= 1.0,
        "{:?}",
        sample.cpu
    );
    assert!(sample.processes.count >= 1, "{:?}", sample.processes);
    let processes = sample.processes.cpu_cores;
    assert!(
        processes > 0.0 && processes <= most,
        "{processes} cores of {cores}"
    );
    assert!(sample.processes.rss_bytes > 0);
    let agent = sample.agent.expect("the agent's own process is readable");
    assert!(
        agent.cpu_cores > 0.0 && agent.cpu_cores <= most,
        "{agent:?}"
    );
    assert!(agent.rss_bytes > 0, "{agent:?}");
    let memory = sample.memory.expect("/proc/meminfo is readable");
    assert!(
        memory.total_bytes > 0 && memory.used_bytes <= memory.total_bytes,
        "{memory:?}"
    );
}
