//! Video pipeline speed against the `ffmpeg` CLI, in one run on this machine
//! (`cargo bench --bench video`, or `scripts/bench-video.sh`).
//!
//! Generates a 1080p 10-bit 4:2:2 FFV1 master with grain and an interlaced NTSC DV master (20 s
//! each; `CARAVAN_BENCH_SCALE=0.25` for 5 s), then times (P1) `caravan exec-job` making the
//! access MP4 against the `ffmpeg` CLI with the same x264 settings, filters and audio, each in its
//! own process (wall time and peak RSS from `wait4`). Ours also writes the poster and storyboard
//! and measures loudness; the CLI run does not.
//!
//! (P2, the HLS ladder, is not implemented yet, so it is not timed.)

mod common;

use std::path::Path;
use std::process::Command;

use caravan_proto::{JobKind, Profile};
use common::{exec_job, fresh, measure, scale};

fn main() {
    let seconds = format!("{:.2}", 20.0 * scale());
    let work = tempfile::tempdir().expect("a temporary folder");
    let hd = work.path().join("master-1080p-ffv1.mkv");
    ffmpeg_generate(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s=1920x1080:r=25:d={seconds}"),
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=48000:d={seconds}"),
            "-vf",
            "noise=alls=12:allf=t,format=yuv422p10le",
            "-c:v",
            "ffv1",
            "-level",
            "3",
            "-slices",
            "4",
            "-field_order",
            "progressive",
            "-ac",
            "2",
            "-c:a",
            "pcm_s24le",
        ],
        &hd,
    );
    let dv = work.path().join("master-ntsc.dv");
    ffmpeg_generate(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc=s=720x480:r=30000/1001:d={seconds}"),
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=48000:d={seconds}"),
            "-target",
            "ntsc-dv",
        ],
        &dv,
    );

    let profile = Profile::default();
    let v = &profile.video;
    let masters = [
        (
            "1080p 10-bit 4:2:2 FFV1, grain",
            &hd,
            (1920, 1080),
            "",
            "bt709",
        ),
        (
            "NTSC DV, interlaced BFF, 4:3",
            &dv,
            caravan_worker::pipeline::video::output_size(720, 480, (8, 9), v.max_height),
            "yadif=mode=send_frame:parity=bff:deint=all,",
            "bt601",
        ),
    ];
    println!("\n| master | tool | wall s | peak RSS MiB | caravan ÷ ffmpeg CLI (time) | (RSS) |");
    println!("|---|---|---|---|---|---|");
    for (label, master, (w, h), deinterlace, matrix) in masters {
        let out = fresh(work.path(), "ours");
        let ours = measure(exec_job(JobKind::Video, master, &out, profile.clone()));
        let cli_out = fresh(work.path(), "cli").join("access.mp4");
        let mut cli = Command::new("ffmpeg");
        cli.args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(master)
            .args([
                "-vf",
                &format!(
                    "{deinterlace}scale={w}:{h}:flags=bicubic:out_color_matrix={matrix}:out_range=tv,setsar=1,format=yuv420p"
                ),
                "-c:v",
                "libx264",
                "-preset",
                &v.preset,
                "-crf",
                &v.crf.to_string(),
                "-profile:v",
                "high",
                "-c:a",
                "aac",
                "-b:a",
                &v.audio_bitrate.to_string(),
                "-ac",
                "2",
                "-ar",
                &v.audio_sample_rate.to_string(),
                "-movflags",
                "+faststart",
            ])
            .arg(&cli_out);
        let reference = measure(cli);
        println!(
            "| {label} | caravan | {:.2} | {:.0} | {:.2} | {:.2} |",
            ours.wall.as_secs_f64(),
            ours.peak_rss_mib,
            ours.wall.as_secs_f64() / reference.wall.as_secs_f64(),
            ours.peak_rss_mib / reference.peak_rss_mib
        );
        println!(
            "| {label} | ffmpeg CLI | {:.2} | {:.0} | — | — |",
            reference.wall.as_secs_f64(),
            reference.peak_rss_mib
        );
    }
    println!("P2 (HLS ladder from one decode): not implemented yet, not timed.");
}

fn ffmpeg_generate(args: &[&str], out: &Path) {
    eprintln!("generating {}", out.display());
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(status.success(), "generating {} failed", out.display());
}
