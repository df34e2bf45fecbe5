use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use caravan_proto::{FailureCode, Profile};
use tokio_util::sync::CancellationToken;

use super::run;
use crate::config::Isolation;
use crate::error::JobError;

/// A stand-in for `caravan exec-job`: a script that ignores its request and runs `body`.
fn fake_pipeline(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-exec-job");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn run_with(program: PathBuf, profile: Profile) -> (Result<(), JobError>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let request = caravan_testkit::requests::image(Path::new("/nonexistent"), dir.path(), profile);
    let started = Instant::now();
    let result = run(
        &Isolation::ChildProcess { program },
        &request,
        &mut |_| {},
        &CancellationToken::new(),
    )
    .await
    .map(|_| ());
    (result, started.elapsed())
}

#[tokio::test]
async fn a_pipeline_that_grows_past_its_memory_limit_is_stopped_as_limits_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    // 300 MiB touched (resident), then a long wait: the watchdog must not wait for it.
    let hog = fake_pipeline(
        dir.path(),
        "exec python3 -c 'import time; x = bytearray(300 << 20); time.sleep(60)'",
    );
    let mut profile = Profile::default();
    profile.limits.memory_mib = 128;
    let (result, took) = run_with(hog, profile).await;
    let error = result.expect_err("the pipeline must be stopped");
    assert_eq!(error.code(), FailureCode::LimitsExceeded, "{error}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("limits.memory_mib"), "{error}");
    assert!(
        took < Duration::from_secs(30),
        "stopped only after {took:?}"
    );
}

#[tokio::test]
async fn a_pipeline_that_dies_without_answering_is_reported_as_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let crash = fake_pipeline(dir.path(), "echo 'decoder: bad table' >&2; kill -SEGV $$");
    let (result, _) = run_with(crash, Profile::default()).await;
    let error = result.expect_err("a crash is an error");
    assert_eq!(error.code(), FailureCode::PipelineCrashed, "{error}");
    assert!(error.to_string().contains("SIGSEGV"), "{error}");
}
