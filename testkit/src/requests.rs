//! Pipeline requests as a worker sends them to `caravan exec-job`.

use std::path::Path;
use std::process::Command;

use caravan_proto::exec::ExecRequest;
use caravan_proto::{JobKind, Profile};

/// A request to make `profile`'s derivatives of the still `input` into `out_dir`.
pub fn image(input: &Path, out_dir: &Path, profile: Profile) -> ExecRequest {
    request(JobKind::Image, input, out_dir, profile)
}

/// A request to make `profile`'s renditions of the video `input` into `out_dir`.
pub fn video(input: &Path, out_dir: &Path, profile: Profile) -> ExecRequest {
    request(JobKind::Video, input, out_dir, profile)
}

/// `<caravan> exec-job <request file>` (the worker's pipeline child) for `request`, its file
/// kept beside the output folder.
pub fn exec_job(caravan: &Path, request: &ExecRequest) -> Command {
    let file = request.out_dir.with_extension("request.json");
    std::fs::write(&file, serde_json::to_vec(request).unwrap()).unwrap();
    let mut command = Command::new(caravan);
    command.arg("exec-job").arg(file);
    command
}

fn request(kind: JobKind, input: &Path, out_dir: &Path, profile: Profile) -> ExecRequest {
    ExecRequest {
        v: caravan_proto::PROTO_VERSION,
        kind,
        input: input.to_owned(),
        out_dir: out_dir.to_owned(),
        asset_id: None,
        profile,
        metadata: Default::default(),
        signed: false,
        subtitles: Vec::new(),
    }
}
