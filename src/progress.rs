//! How far a run is, for people and for CI logs: a progress bar on a terminal (stderr), plain
//! lines at every tenth of the rows otherwise, nothing with `--verbose` (the steps show it).

use crate::results::Outcome;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

pub struct Progress {
    total: u64,
    started: Instant,
    bar: Option<indicatif::ProgressBar>,
    /// Rows done, rows failed or not verifiable, and the next tenth to print a line at.
    state: Mutex<(u64, u64, u64)>,
    plain: bool,
}

impl Progress {
    pub fn new(total: usize, verbose: bool) -> Progress {
        let total = total as u64;
        let terminal = !verbose && std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress { total, started: Instant::now(), bar, state: Mutex::new((0, 0, 1)), plain: !verbose && !terminal }
    }

    /// One row finished (run, or settled without running).
    pub fn row_done(&self, outcome: Outcome) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 += 1;
        if matches!(outcome, Outcome::Failed | Outcome::NotVerifiable) {
            s.1 += 1;
        }
        let (done, bad) = (s.0, s.1);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            if bad > 0 {
                bar.set_message(format!("({bad} failed or not verifiable)"));
            }
        }
        // A plain line each time another tenth of the rows is done.
        if self.plain && self.total > 0 && done * 10 >= s.2 * self.total {
            while s.2 <= 10 && done * 10 >= s.2 * self.total {
                s.2 += 1;
            }
            eprintln!("{}", line(done, self.total, bad, self.started.elapsed().as_secs_f64()));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn line(done: u64, total: u64, bad: u64, seconds: f64) -> String {
    format!(
        "progress: {done}/{total} rows ({}%), {bad} failed or not verifiable, {seconds:.1} s",
        done * 100 / total.max(1)
    )
}

/// Whether to colour the console: a terminal, and `NO_COLOR` unset or empty (no-color.org).
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_at_each_tenth_and_count_what_needs_a_look() {
        let p = Progress { total: 20, started: Instant::now(), bar: None, state: Mutex::new((0, 0, 1)), plain: true };
        for _ in 0..3 {
            p.row_done(Outcome::Passed);
        }
        p.row_done(Outcome::Failed);
        p.row_done(Outcome::NotVerifiable);
        // 5 of 20 rows: the lines for 10% and 20% are out, the next is at 30%.
        assert_eq!(*p.state.lock().unwrap(), (5, 2, 3));
        assert_eq!(line(5, 20, 2, 1.25), "progress: 5/20 rows (25%), 2 failed or not verifiable, 1.2 s");
    }
}
