//! What both benchmarks share: running `caravan exec-job` on a request; repeated runs (one
//! warm-up, then `CARAVAN_BENCH_RUNS`, default 5) summarised by their median, minimum and maximum;
//! instruction counts under `valgrind --tool=callgrind`, a figure that does not move with the
//! machine's noise. Timing one process is `caravan_testkit::process::measure` (`wait4`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use caravan_proto::{JobKind, Profile};

pub mod garage;
pub use caravan_testkit::process::{measure, Measured};

/// `caravan exec-job` (the worker's pipeline child) on `input`, writing into `out`.
pub fn exec_job(kind: JobKind, input: &Path, out: &Path, profile: Profile) -> Command {
    let request = match kind {
        JobKind::Image => caravan_testkit::requests::image(input, out, profile),
        JobKind::Video => caravan_testkit::requests::video(input, out, profile),
    };
    caravan_testkit::requests::exec_job(Path::new(env!("CARGO_BIN_EXE_caravan")), &request)
}

/// An empty folder `dir/name`.
pub fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    path
}

/// `CARAVAN_BENCH_SCALE` (default 1): smaller inputs for a quick run.
pub fn scale() -> f64 {
    std::env::var("CARAVAN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// Timed runs per figure (`CARAVAN_BENCH_RUNS`, default 5), after one warm-up.
pub fn runs() -> usize {
    std::env::var("CARAVAN_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1)
}

/// Repeated runs of one piece of work.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub runs: Vec<Measured>,
    /// Instructions retired, under callgrind (one run), if counted.
    pub instructions: Option<u64>,
}

impl Series {
    fn walls(&self) -> Vec<f64> {
        let mut walls: Vec<f64> = self.runs.iter().map(|m| m.wall.as_secs_f64()).collect();
        walls.sort_by(f64::total_cmp);
        walls
    }

    pub fn median_wall(&self) -> f64 {
        median(&self.walls())
    }

    pub fn min_wall(&self) -> f64 {
        self.walls()[0]
    }

    pub fn max_wall(&self) -> f64 {
        *self.walls().last().unwrap()
    }

    pub fn median_rss(&self) -> f64 {
        let mut rss: Vec<f64> = self.runs.iter().map(|m| m.peak_rss_mib).collect();
        rss.sort_by(f64::total_cmp);
        median(&rss)
    }

    /// `median (min–max)` of the wall times, in seconds.
    pub fn wall_cell(&self) -> String {
        format!(
            "{:.2} ({:.2}–{:.2})",
            self.median_wall(),
            self.min_wall(),
            self.max_wall()
        )
    }

    /// Instructions in billions, or `—`.
    pub fn instructions_cell(&self) -> String {
        self.instructions
            .map_or_else(|| "—".into(), |n| format!("{:.2}", n as f64 / 1e9))
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// One warm-up and then [`runs`] timed runs of the work `make` describes (a sequence of
/// commands run one after another: their wall times add up, the peak is the largest); `before`
/// runs ahead of each (clearing output folders), untimed.
pub fn repeat(make: &impl Fn() -> Vec<Command>, before: &impl Fn()) -> Series {
    let once = || {
        before();
        make()
            .into_iter()
            .map(measure)
            .fold(None, |total: Option<Measured>, m| {
                Some(total.map_or(m.clone(), |t| t.then(m)))
            })
            .expect("some work")
    };
    let _warm_up = once();
    let runs = (0..runs()).map(|_| once()).collect();
    Series {
        runs,
        instructions: None,
    }
}

/// Instructions the work `make` describes retires, all threads and processes of it, counted by
/// callgrind; `None` when valgrind is missing or `CARAVAN_BENCH_CALLGRIND=0`.
pub fn instructions(make: &impl Fn() -> Vec<Command>, before: &impl Fn()) -> Option<u64> {
    if std::env::var("CARAVAN_BENCH_CALLGRIND").is_ok_and(|v| v == "0") {
        return None;
    }
    Command::new("valgrind").arg("--version").output().ok()?;
    before();
    let mut total = 0;
    for command in make() {
        let mut wrapped = Command::new("valgrind");
        wrapped
            .args([
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                "--trace-children=yes",
            ])
            .arg(command.get_program())
            .args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        let out = wrapped.output().ok()?;
        let log = String::from_utf8_lossy(&out.stderr);
        // `==pid== Collected : N` for each process callgrind followed.
        let counted: u64 = log
            .lines()
            .filter_map(|l| l.split("Collected :").nth(1))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .sum();
        if counted == 0 {
            eprintln!("callgrind counted nothing for {command:?}: {log}");
            return None;
        }
        total += counted;
    }
    Some(total)
}

/// A ratio of ours to a reference, two decimals.
pub fn ratio(ours: f64, reference: f64) -> String {
    format!("{:.2}", ours / reference)
}
