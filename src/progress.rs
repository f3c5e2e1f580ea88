//! Progress on stderr: an indicatif bar only when stderr is a terminal and
//! `--quiet` is off. Workers call `inc`; nothing is printed otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress handle (a no-op when hidden).
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` items (blobs) if stderr is a terminal and not quiet;
    /// a spinner when the total is unknown.
    pub fn new(label: &str, total: Option<u64>, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} blobs  {msg}  {elapsed_precise} ETA {eta}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template(
                    "{prefix} {spinner} {pos} blobs  {msg}  {elapsed_precise}",
                )
                .expect("valid template"),
            ),
        };
        bar.set_prefix(label.to_string());
        Progress { bar: Some(bar) }
    }

    /// One item done, with its size (shown as MB and MB/s).
    pub fn inc(&self, bytes: u64, total_bytes: &std::sync::atomic::AtomicU64) {
        if let Some(b) = &self.bar {
            let done = total_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed) + bytes;
            b.inc(1);
            let secs = b.elapsed().as_secs_f64().max(1e-3);
            if b.position() % 64 == 0 {
                b.set_message(format!(
                    "{:.1} MB, {:.1} MB/s",
                    done as f64 / 1e6,
                    done as f64 / 1e6 / secs
                ));
            }
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
