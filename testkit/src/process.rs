//! Running a process to completion and reading what it cost: wall time and peak resident memory
//! from `wait4` (the kernel's own account, so a test or a benchmark never trusts the program's
//! estimate of itself).

use std::process::Command;
use std::time::{Duration, Instant};

/// What one run of a process cost, and what it printed.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub wall: Duration,
    /// Peak resident set of the process (`ru_maxrss`), in MiB: the largest of the process and
    /// the children it waited for.
    pub peak_rss_mib: f64,
    /// CPU time (user and system) of the process and the children it waited for.
    pub cpu: Duration,
    /// Its standard output.
    pub stdout: Vec<u8>,
}

impl Measured {
    /// This run followed by `next`: wall times add up, the peak is the larger one.
    pub fn then(self, next: Measured) -> Measured {
        Measured {
            wall: self.wall + next.wall,
            peak_rss_mib: self.peak_rss_mib.max(next.peak_rss_mib),
            cpu: self.cpu + next.cpu,
            stdout: [self.stdout, next.stdout].concat(),
        }
    }
}

/// Runs `command` to completion and measures it; fails (with what it wrote to stderr) unless it
/// exits 0.
// The child is reaped by `wait4`, which `Child` does not know about.
#[allow(clippy::zombie_processes)]
pub fn measure(mut command: Command) -> Measured {
    let stdout = tempfile::NamedTempFile::new().unwrap();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let started = Instant::now();
    let child = command
        .stdout(stdout.reopen().unwrap())
        .stderr(stderr.reopen().unwrap())
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
        std::fs::read_to_string(stderr.path()).unwrap_or_default()
    );
    Measured {
        wall,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        stdout: std::fs::read(stdout.path()).unwrap(),
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}
