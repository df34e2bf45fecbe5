//! The real `caravan` binary, run as a user or an operator runs it, each command with a
//! deadline so a hang fails the test instead of stalling CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `caravan` binary under test.
pub fn caravan_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_caravan"))
}

pub fn caravan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caravan"))
}

/// Runs `caravan` with `args` and `envs`, expecting success and a JSON summary on stdout.
pub fn run_json(args: &[&str], envs: &[(String, String)]) -> Value {
    let mut command = caravan();
    command.args(args).envs(envs.iter().map(|(k, v)| (k, v)));
    let output = output_within(command, COMMAND_DEADLINE);
    assert!(
        output.status.success(),
        "caravan {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Longest any one `caravan` command of a test may run (a whole batch with videos, waited for).
pub const COMMAND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `command` to completion like [`Command::output`], but kills it and fails the test, with
/// what it printed so far, if it outlives `limit`: a hang shows as a failure, not a stuck CI.
pub fn output_within(mut command: Command, limit: std::time::Duration) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {limit:?}; it printed:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits until the log file at `log` contains `needle`; fails with the log after `limit`.
pub fn wait_for_log(log: &Path, needle: &str, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in {} within {limit:?}: {}",
            log.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A name unique to this test run, for queues and buckets.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}
