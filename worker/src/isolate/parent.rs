//! The worker's side: starts `caravan exec-job`, sends the request, reads progress and the
//! result, and turns a child that dies without a final message (a decoder crash, an allocation
//! beyond the cap) or outlives the timeout into a permanent [`JobError`].

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use caravan_proto::exec::{ExecMessage, ExecRequest};
use caravan_proto::FailureCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::config::Isolation;
use crate::JobError;
use caravan_media::PipelineOutput;

/// The hidden subcommand of the `caravan` binary that runs one pipeline.
pub const EXEC_SUBCOMMAND: &str = "exec-job";

/// Runs `request` as `isolation` says, reporting progress percentages to `on_progress`.
/// If `abort` fires, the child is killed and [`JobError::Aborted`] returned.
pub async fn run(
    isolation: &Isolation,
    request: &ExecRequest,
    on_progress: &mut (dyn FnMut(f32) + Send),
    abort: &tokio_util::sync::CancellationToken,
) -> Result<PipelineOutput, JobError> {
    match isolation {
        Isolation::ChildProcess { program } => tokio::select! {
            // Dropping the child's future kills the child (`kill_on_drop`).
            r = run_child(program, request, on_progress) => r,
            _ = abort.cancelled() => Err(JobError::Aborted),
        },
        Isolation::InProcess => {
            let request = request.clone();
            let result =
                tokio::task::spawn_blocking(move || caravan_media::run(&request, &mut |_| {}))
                    .await
                    .map_err(|e| JobError::Crashed {
                        detail: format!("pipeline panicked: {e}"),
                        memory_mib: 0,
                    })?;
            result.map_err(|e| JobError::Pipeline {
                code: e.code(),
                message: e.to_string(),
                retryable: e.is_retryable(),
            })
        }
    }
}

async fn run_child(
    program: &Path,
    request: &ExecRequest,
    on_progress: &mut (dyn FnMut(f32) + Send),
) -> Result<PipelineOutput, JobError> {
    let limits = &request.profile.limits;
    let mut command = Command::new(program);
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL this child when
    // the worker dies, so a killed worker never leaves a decoder running.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command
        .arg(EXEC_SUBCOMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| JobError::Spawn {
            program: program.to_owned(),
            source,
        })?;
    let body = serde_json::to_vec(request).expect("requests always serialize");
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let stdout = child.stdout.take().expect("stdout was piped");
    let stderr = child.stderr.take().expect("stderr was piped");
    let pid = child.id();
    // Whatever the child (or a library in it) writes to stderr becomes a structured log record.
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::warn!(line, "The pipeline process wrote to stderr");
        }
    });

    let conversation = async {
        // A child that dies before reading its request closes the pipe; its exit status says why.
        let _ = stdin.write_all(&body).await;
        drop(stdin);
        let mut lines = BufReader::new(stdout).lines();
        let mut last = None;
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<ExecMessage>(&line) {
                Ok(ExecMessage::Progress { percent }) => on_progress(percent),
                Ok(message) => last = Some(message),
                Err(_) => tracing::debug!(line, "Ignoring a non-protocol line from the pipeline"),
            }
        }
        let status = child.wait().await;
        (last, status)
    };
    let timeout = Duration::from_secs(limits.timeout_seconds.max(1));
    // Dropping `conversation` drops `child`, and `kill_on_drop` ends the process.
    let (last, status) = tokio::select! {
        done = tokio::time::timeout(timeout, conversation) => match done {
            Ok(done) => done,
            Err(_) => {
                return Err(JobError::Timeout {
                    seconds: limits.timeout_seconds,
                })
            }
        },
        used = watch_memory(pid, limits.memory_mib) => {
            return Err(JobError::MemoryExceeded {
                used_mib: used >> 20,
                limit_mib: limits.memory_mib,
            })
        }
    };
    match last {
        Some(ExecMessage::Done {
            outputs,
            tools,
            master_info,
        }) => Ok(PipelineOutput {
            outputs,
            tools,
            master_info,
        }),
        Some(ExecMessage::Failed {
            code,
            message,
            retryable,
        }) => Err(match FailureCode::parse(&code) {
            Some(code) => JobError::Pipeline {
                code,
                message,
                retryable,
            },
            // The child is this binary: a code it does not know means a mismatched install.
            None => JobError::Pipeline {
                code: FailureCode::PipelineCrashed,
                message: format!("the pipeline reported a failure this worker does not know ({code}: {message}); deploy one version of caravan everywhere"),
                retryable: false,
            },
        }),
        Some(ExecMessage::Progress { .. }) | None => Err(JobError::Crashed {
            detail: match status {
                Ok(status) => describe_exit(status),
                Err(e) => format!("its exit status could not be read: {e}"),
            },
            memory_mib: limits.memory_mib,
        }),
    }
}

/// How often the child's resident memory is read.
const MEMORY_WATCH_EVERY: Duration = Duration::from_millis(100);

/// Returns (with the bytes it holds) once the process `pid` holds more resident memory than
/// `limit_mib`; never while it stays below, or when there is no limit.
async fn watch_memory(pid: Option<u32>, limit_mib: u64) -> u64 {
    let (Some(pid), true) = (pid, limit_mib > 0) else {
        return std::future::pending().await;
    };
    let limit = limit_mib.saturating_mul(1 << 20);
    loop {
        tokio::time::sleep(MEMORY_WATCH_EVERY).await;
        if let Some(held) = caravan_media::memory::status_bytes(Some(pid), "VmRSS") {
            if held > limit {
                return held;
            }
        }
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(libc::SIGABRT)) => {
            "killed by SIGABRT, typically an allocation refused by the memory cap".into()
        }
        (_, Some(libc::SIGSEGV)) => "killed by SIGSEGV, a decoder crash".into(),
        (_, Some(libc::SIGKILL)) => {
            "killed by SIGKILL, possibly the kernel's out-of-memory killer".into()
        }
        (_, Some(signal)) => format!("killed by signal {signal}"),
        (Some(code), None) => format!("exit code {code}"),
        (None, None) => "unknown exit status".into(),
    }
}

#[cfg(test)]
mod tests;
