//! The per-service progress timeline shown on long steps (indicatif on a terminal, plain lines
//! otherwise).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use supalove_core::provisioner::{Progress, Stage};

/// Renders progress reports, one line per service.
pub struct Timeline {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    quiet: bool,
}

impl Timeline {
    /// A timeline on stderr; `quiet` shows nothing (for `--json`).
    pub fn new(quiet: bool) -> Self {
        let multi = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Timeline {
            multi,
            bars: Mutex::new(HashMap::new()),
            quiet,
        }
    }

    /// Shows one report.
    pub fn report(&self, p: Progress) {
        if self.quiet {
            return;
        }
        let label = stage_label(p.stage);
        let Some(multi) = &self.multi else {
            match (p.current, p.total) {
                (Some(c), Some(t)) if t > 0 => {
                    eprintln!("[{}] {label}: {} ({}%)", p.service, p.detail, c * 100 / t)
                }
                _ => eprintln!("[{}] {label}: {}", p.service, p.detail),
            }
            return;
        };
        let mut bars = self.bars.lock().expect("timeline lock");
        let bar = bars.entry(p.service.clone()).or_insert_with(|| {
            let b = multi.add(ProgressBar::new_spinner());
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        match (p.current, p.total) {
            (Some(c), Some(t)) if t > 0 => {
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>10.bold} {bar:30} {bytes}/{total_bytes} {msg}",
                    )
                    .expect("template"),
                );
                bar.set_length(t);
                bar.set_position(c);
            }
            _ => bar.set_style(
                ProgressStyle::with_template("{prefix:>10.bold} {spinner} {msg}")
                    .expect("template"),
            ),
        }
        bar.set_prefix(p.service.clone());
        bar.set_message(format!("{label}: {}", p.detail));
        if matches!(
            p.stage,
            Stage::Ready | Stage::Stopped | Stage::Removed | Stage::Failed
        ) {
            let mark = if p.stage == Stage::Failed {
                "✗"
            } else {
                "✓"
            };
            bar.set_style(
                ProgressStyle::with_template("{prefix:>10.bold} {msg}").expect("template"),
            );
            bar.finish_with_message(format!("{mark} {label}: {}", p.detail));
        }
    }

    /// Clears the live area before the result is printed.
    pub fn finish(&self) {
        if let Some(multi) = &self.multi {
            for bar in self.bars.lock().expect("timeline lock").values() {
                if !bar.is_finished() {
                    bar.finish();
                }
            }
            let _ = multi.clear();
        }
    }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Pulling => "pulling",
        Stage::Creating => "creating",
        Stage::Starting => "starting",
        Stage::WaitingReady => "waiting",
        Stage::Ready => "ready",
        Stage::Stopping => "stopping",
        Stage::Stopped => "stopped",
        Stage::Removing => "removing",
        Stage::Removed => "removed",
        Stage::Failed => "failed",
    }
}
