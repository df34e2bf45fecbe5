//! The memory limit as a worker applies it: `caravan exec-job` (the pipeline child) with
//! `limits.memory_mib`, its peak resident memory measured by the kernel (`wait4`).

use std::path::Path;

use caravan_proto::exec::ExecMessage;
use caravan_proto::Profile;
use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::process::measure;
use caravan_testkit::{ffmpeg, requests};

use crate::common::caravan_binary;

/// Runs the image pipeline child on `master` with a memory limit of `limit_mib`: what it
/// answered, and its peak resident memory in MiB.
fn exec_image(master: &Path, out: &Path, limit_mib: u64) -> (ExecMessage, f64) {
    std::fs::create_dir_all(out).unwrap();
    let mut profile = Profile::default();
    profile.limits.memory_mib = limit_mib;
    let request = requests::image(master, out, profile);
    let run = measure(requests::exec_job(&caravan_binary(), &request));
    let last = String::from_utf8(run.stdout).unwrap();
    let last = last.lines().last().expect("the child answered");
    (serde_json::from_str(last).unwrap(), run.peak_rss_mib)
}

/// A 24 MP 16-bit TIFF (144 MB of pixels) is made band by band in a child limited to 192 MiB,
/// and that child's peak resident memory (its libraries included) stays under the limit. The
/// same pixels as a PNG, which is decoded whole, are refused under that limit before decoding.
#[test]
fn a_tiff_too_large_to_decode_whole_within_the_memory_limit_is_made_band_by_band_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (6000, 4000);
    let tiff = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={w}x{h}"),
            "-frames:v",
            "1",
            "-pix_fmt",
            "rgb48le",
        ],
        &dir.path().join("master16.tif"),
    );
    let png = ffmpeg::make(
        &["-i", tiff.to_str().unwrap(), "-pix_fmt", "rgb48be"],
        &dir.path().join("master16.png"),
    );
    let limit = 192;

    let (made, peak) = exec_image(&tiff, &dir.path().join("out-tiff"), limit);
    let ExecMessage::Done { master_info, .. } = made else {
        panic!("the TIFF was not made: {made:?}");
    };
    assert_eq!(master_info["read"], "band by band");
    assert!(
        peak < limit as f64,
        "the pipeline child peaked at {peak:.0} MiB, over its limit of {limit} MiB"
    );
    // Its access copy shows the master (2048 px wide, FFmpeg's Lanczos of the same pixels).
    let access = image::open(dir.path().join("out-tiff/access.jpg"))
        .unwrap()
        .into_rgb8();
    assert_eq!(access.dimensions(), (2048, 1365));
    let reference = ffmpeg::scaled_rgb(&png, (2048, 1365));
    let diff = mean_abs_diff(&access, &reference);
    assert!(
        diff < 6.0,
        "the access copy differs from the master by {diff:.2}"
    );

    let (refused, _) = exec_image(&png, &dir.path().join("out-png"), limit);
    let ExecMessage::Failed { code, message, .. } = refused else {
        panic!("the PNG should be refused: {refused:?}");
    };
    assert_eq!(code, "limits_exceeded", "{message}");
    assert!(message.contains("memory limit"), "{message}");
}
