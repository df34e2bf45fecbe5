//! What both benchmarks share: running `caravan exec-job` on a request, and timing a process
//! (wall time and peak RSS from `wait4`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use caravan_proto::exec::ExecRequest;
use caravan_proto::{JobKind, Profile};

/// `caravan exec-job` (the worker's pipeline child) on `input`, writing into `out`.
pub fn exec_job(kind: JobKind, input: &Path, out: &Path, profile: Profile) -> Command {
    let request = ExecRequest {
        v: caravan_proto::PROTO_VERSION,
        kind,
        input: input.to_owned(),
        out_dir: out.to_owned(),
        asset_id: None,
        profile,
        metadata: Default::default(),
    };
    let file = out.with_extension("request.json");
    std::fs::write(&file, serde_json::to_vec(&request).unwrap()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_caravan"));
    command
        .arg("exec-job")
        .stdin(std::fs::File::open(&file).unwrap());
    command
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub wall: Duration,
    pub peak_rss_mib: f64,
}

impl Measured {
    /// This run followed by `next`: wall times add up, the peak is the larger one.
    pub fn then(self, next: Measured) -> Measured {
        Measured {
            wall: self.wall + next.wall,
            peak_rss_mib: self.peak_rss_mib.max(next.peak_rss_mib),
        }
    }
}

/// Runs `command` to completion; its wall time and peak resident set (from `wait4`).
// The child is reaped by `wait4`, which `Child` does not know about.
#[allow(clippy::zombie_processes)]
pub fn measure(mut command: Command) -> Measured {
    let log = tempfile::NamedTempFile::new().unwrap();
    let started = Instant::now();
    let child = command
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; the pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed: {}",
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
    Measured {
        wall,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    }
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
