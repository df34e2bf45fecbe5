//! The child's side (`caravan exec-job`): reads an [`ExecRequest`] from stdin, caps its own
//! address space, runs the pipeline and writes [`ExecMessage`] lines to stdout. A panic becomes
//! a `pipeline_panicked` failure; a crash simply ends the process, which the parent reports.

use std::io::Write;

use caravan_proto::exec::{ExecMessage, ExecRequest};
use caravan_proto::FailureCode;

/// The child's side: reads an [`ExecRequest`] from stdin (or from the file `request`), caps
/// its own address space, runs the pipeline and writes [`ExecMessage`] lines to stdout. Returns
/// the process exit code.
pub fn exec_job_main(request: Option<&std::path::Path>) -> i32 {
    let read = match request {
        Some(path) => std::fs::read_to_string(path),
        None => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input).map(|_| input)
        }
    };
    let input = match read {
        Ok(input) => input,
        Err(e) => {
            eprintln!("exec-job: cannot read the request: {e}");
            return 2;
        }
    };
    let request: ExecRequest = match serde_json::from_str(&input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("exec-job: the request does not parse: {e}; this subcommand is for the worker's use only");
            return 2;
        }
    };
    cap_address_space(request.profile.limits.memory_mib);
    // A panic is reported in the failure message; the default hook would also print it.
    std::panic::set_hook(Box::new(|_| {}));

    let stdout = std::io::stdout();
    let emit = |message: &ExecMessage| {
        let mut out = stdout.lock();
        let _ = serde_json::to_writer(&mut out, message);
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        caravan_media::run(&request, &mut |percent| {
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
            code: e.code().as_str().to_owned(),
            message: e.to_string(),
            retryable: e.is_retryable(),
        },
        Err(panic) => ExecMessage::Failed {
            code: FailureCode::PipelinePanicked.as_str().to_owned(),
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

/// Caps the address space so a runaway allocation (a decoder asked for gigabytes at once) fails
/// at once: what the process maps at start (libraries, about 300 MiB), twice the memory limit,
/// and room for thread stacks and allocator arenas, which reserve much more address space than
/// they use. Resident memory itself is watched by the worker ([`super::parent`]).
fn cap_address_space(mib: u64) {
    if mib == 0 {
        return;
    }
    const THREADS_AND_ARENAS: u64 = 1 << 30;
    let mapped = caravan_media::memory::status_bytes(None, "VmSize").unwrap_or(0);
    let bytes = mapped
        .saturating_add(mib.saturating_mul(2 << 20))
        .saturating_add(THREADS_AND_ARENAS);
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct we pass; it affects this process alone.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    if rc != 0 {
        eprintln!(
            "exec-job: could not cap the address space at {} MiB; continuing without the cap",
            bytes >> 20
        );
    }
}
