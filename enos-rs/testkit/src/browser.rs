//! A page opened in a real headless browser (Debian's `chromium`), for the tests of reports.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a headless Chromium made of a page: the DOM once its scripts ran, and the console
/// messages it logged (Chromium writes each as a line holding `CONSOLE` on standard error).
#[derive(Debug, Clone)]
pub struct BrowserView {
    /// The serialised DOM.
    pub dom: String,
    /// The console's messages.
    pub console: Vec<String>,
}

/// Opens `page` in a headless Chromium with a profile of its own; an error past two minutes, or
/// when Chromium fails.
pub fn open_in_chromium(page: &Path) -> Result<BrowserView, String> {
    let profile = std::env::temp_dir().join(format!(
        "enos-chromium-{}-{}",
        std::process::id(),
        now_nanos()
    ));
    std::fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
    let result = run(page, &profile);
    let _ = std::fs::remove_dir_all(&profile);
    result
}

/// The time, in nanoseconds: differs from call to call, for the profile's name.
fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

fn run(page: &Path, profile: &Path) -> Result<BrowserView, String> {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("chromium does not start: {e}"))?;
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("chromium did not finish within two minutes".to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("chromium: {status}\n{stderr}"));
    }
    Ok(BrowserView {
        dom,
        console: stderr
            .lines()
            .filter(|l| l.contains("CONSOLE"))
            .map(str::to_owned)
            .collect(),
    })
}

/// The `<svg` elements inside each `<figure>` of a serialised DOM, and whether each figure
/// has its caption.
pub fn svgs_per_figure(dom: &str) -> Vec<(usize, bool)> {
    dom.split("<figure")
        .skip(1)
        .map(|rest| {
            let figure = rest.split("</figure>").next().unwrap_or_default();
            (
                figure.matches("<svg").count(),
                figure.contains("<figcaption>"),
            )
        })
        .collect()
}
