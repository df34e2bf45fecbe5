//! Runs a pipeline where it cannot hurt the worker: a child process of the `caravan` binary
//! (`caravan exec-job`) with an address-space cap and a wall-clock limit.
//!
//! The request goes to the child's stdin as JSON; the child answers with JSON lines
//! ([`ExecMessage`]) on stdout and exits. A child that dies without a final message (a decoder
//! crash, an allocation beyond the cap) or outlives the timeout becomes a permanent
//! [`JobError`]; the worker carries on.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use caravan_proto::exec::{ExecMessage, ExecRequest};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::config::Isolation;
use crate::pipeline::{self, PipelineOutput};
use crate::JobError;

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
            let result = tokio::task::spawn_blocking(move || pipeline::run(&request, &mut |_| {}))
                .await
                .map_err(|e| JobError::Crashed {
                    detail: format!("pipeline panicked: {e}"),
                    memory_mib: 0,
                })?;
            result.map_err(|e| JobError::Pipeline {
                code: e.code().to_owned(),
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
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| JobError::Spawn {
            program: program.to_owned(),
            source,
        })?;
    let body = serde_json::to_vec(request).expect("requests always serialize");
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let stdout = child.stdout.take().expect("stdout was piped");

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
    let (last, status) = match tokio::time::timeout(timeout, conversation).await {
        Ok(done) => done,
        Err(_) => {
            // `kill_on_drop` ends the child when `child` goes out of scope with the future.
            return Err(JobError::Timeout {
                seconds: limits.timeout_seconds,
            });
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
        }) => Err(JobError::Pipeline {
            code,
            message,
            retryable,
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

/// The child's side: reads an [`ExecRequest`] from stdin, caps its own address space, runs the
/// pipeline and writes [`ExecMessage`] lines to stdout. Returns the process exit code.
pub fn exec_job_main() -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        eprintln!("exec-job: cannot read the request: {e}");
        return 2;
    }
    let request: ExecRequest = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("exec-job: the request does not parse: {e}; this subcommand is for the worker's use only");
            return 2;
        }
    };
    cap_address_space(request.profile.limits.memory_mib);

    let stdout = std::io::stdout();
    let emit = |message: &ExecMessage| {
        let mut out = stdout.lock();
        let _ = serde_json::to_writer(&mut out, message);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline::run(&request, &mut |percent| {
            emit(&ExecMessage::Progress { percent })
        })
    }));
    let message = match result {
        Ok(Ok(out)) => ExecMessage::Done {
            outputs: out.outputs,
            tools: out.tools,
            master_info: out.master_info,
        },
        Ok(Err(e)) => ExecMessage::Failed {
            code: e.code().to_owned(),
            message: e.to_string(),
            retryable: e.is_retryable(),
        },
        Err(panic) => ExecMessage::Failed {
            code: "pipeline_panicked".into(),
            message: format!(
                "the decoder panicked on this master ({}); it is probably damaged or hostile",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no message")
            ),
            retryable: false,
        },
    };
    emit(&message);
    0
}

fn cap_address_space(mib: u64) {
    if mib == 0 {
        return;
    }
    let bytes = mib.saturating_mul(1 << 20);
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct we pass; it affects this process alone.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    if rc != 0 {
        eprintln!(
            "exec-job: could not cap the address space at {mib} MiB; continuing without the cap"
        );
    }
}
