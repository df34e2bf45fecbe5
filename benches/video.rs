//! Video pipeline speed against the `ffmpeg` CLI, in one run on this machine
//! (`cargo bench --bench video`, or `scripts/bench-video.sh`).
//!
//! Generates a 1080p 10-bit 4:2:2 FFV1 master with grain and an interlaced NTSC DV master (20 s
//! each; `CARAVAN_BENCH_SCALE=0.25` for 5 s), then times (P1) `caravan exec-job` making the
//! access MP4 against the `ffmpeg` CLI with the same x264 settings, filters and audio, each in its
//! own process (wall time and peak RSS from `wait4`). Ours also writes the poster and storyboard
//! and measures loudness; the CLI run does not.
//!
//! (P2) on the 1080p master: our 3-rung HLS ladder (1080/720/480, capped CRF, keyframes forced
//! every 6 s, CMAF segments, no access MP4, no stills) from one decode, against the `ffmpeg` CLI
//! making the same three rungs with `split` in one process, and against three separate CLI runs
//! (one decode each).

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

    let mut profile = Profile::default();
    profile.video.hls.enabled = false;
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
            ])
            .args(encoder_args(&profile))
            .args(["-movflags", "+faststart"])
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
    ladder(work.path(), &hd, &profile);
}

/// P2: the 3-rung ladder, ours against `split` in one CLI process and three CLI runs.
fn ladder(work: &Path, master: &Path, base: &Profile) {
    let mut profile = base.clone();
    let v = &mut profile.video;
    v.access_mp4 = false;
    v.poster = false;
    v.storyboard = false;
    v.hls.enabled = true;
    v.hls.segment_seconds = 6.0;
    v.hls.rungs = [(1080, 6000), (720, 3500), (480, 1500)]
        .map(|(height, max_kbps)| caravan_proto::HlsRung { height, max_kbps })
        .to_vec();
    let rungs = caravan_worker::pipeline::video::hls::plan(&v.hls, 1920, 1080, (1, 1));
    let out = fresh(work, "ladder-ours");
    let ours = measure(exec_job(JobKind::Video, master, &out, profile.clone()));
    assert!(
        out.join("hls/master.m3u8").is_file(),
        "our ladder was not written"
    );

    // One CLI process: one decode, split into the three scalers and encoders.
    let out = fresh(work, "ladder-split");
    let branches: String = (0..rungs.len()).map(|k| format!("[s{k}]")).collect();
    let mut graph = format!("[0:v]split={}{branches}", rungs.len());
    for (k, r) in rungs.iter().enumerate() {
        graph.push_str(&format!(";[s{k}]{}[v{k}]", scale_filter(r.width, r.height)));
    }
    let mut split = Command::new("ffmpeg");
    split
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(master)
        .args(["-filter_complex", &graph]);
    for (k, r) in rungs.iter().enumerate() {
        split.args(["-map", &format!("[v{k}]"), "-map", "0:a"]);
        split.args(rung_args(r, &profile, &out.join(r.name())));
    }
    let split = measure(split);

    // Three CLI processes, one decode each, one after another.
    let out = fresh(work, "ladder-runs");
    let mut runs = common::Measured::default();
    for r in &rungs {
        let mut run = Command::new("ffmpeg");
        run.args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(master)
            .args([
                "-vf",
                &scale_filter(r.width, r.height),
                "-map",
                "0:v",
                "-map",
                "0:a",
            ])
            .args(rung_args(r, &profile, &out.join(r.name())));
        runs = runs.then(measure(run));
    }

    println!(
        "\n| P2: 3-rung HLS ladder, 1080p FFV1 | wall s | peak RSS MiB | caravan ÷ this (time) |"
    );
    println!("|---|---|---|---|");
    println!(
        "| caravan (one decode) | {:.2} | {:.0} | — |",
        ours.wall.as_secs_f64(),
        ours.peak_rss_mib
    );
    for (label, m) in [
        ("ffmpeg CLI, `split`, one process", &split),
        ("ffmpeg CLI, three runs", &runs),
    ] {
        println!(
            "| {label} | {:.2} | {:.0} | {:.2} |",
            m.wall.as_secs_f64(),
            m.peak_rss_mib,
            ours.wall.as_secs_f64() / m.wall.as_secs_f64()
        );
    }
    println!(
        "P2: caravan ÷ split {:.2} (target ≤ 1.05); three runs ÷ caravan {:.2} (target ≥ 1.8)",
        ours.wall.as_secs_f64() / split.wall.as_secs_f64(),
        runs.wall.as_secs_f64() / ours.wall.as_secs_f64()
    );
}

fn scale_filter(width: u32, height: u32) -> String {
    format!("scale={width}:{height}:flags=bicubic:out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p")
}

/// The CLI's encoder and HLS muxer settings for one rung, as Caravan sets them.
fn rung_args(
    rung: &caravan_worker::pipeline::video::hls::Rung,
    profile: &Profile,
    folder: &Path,
) -> Vec<String> {
    std::fs::create_dir_all(folder).expect("a rung folder");
    let v = &profile.video;
    let seconds = v.hls.segment_seconds;
    let kbps = rung.max_kbps;
    let rung = [
        "-maxrate",
        &format!("{kbps}k"),
        "-bufsize",
        &format!("{}k", 2 * kbps),
        "-g",
        &format!("{}", (2.0 * seconds * 25.0).ceil()),
        "-x264-params",
        "scenecut=0",
        "-forced-idr",
        "1",
        "-force_key_frames",
        &format!("expr:gte(t,n_forced*{seconds})"),
        "-f",
        "hls",
        "-hls_time",
        &seconds.to_string(),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "fmp4",
        "-hls_fmp4_init_filename",
        "init.mp4",
        "-hls_segment_filename",
        &folder.join("seg_%05d.m4s").to_string_lossy(),
        &folder.join("index.m3u8").to_string_lossy(),
    ]
    .map(str::to_owned);
    let mut args = encoder_args(profile);
    args.extend(rung);
    args
}

/// x264 and AAC as Caravan sets them for every rendition: the profile's preset and CRF, High
/// profile, stereo AAC at the profile's bitrate and rate.
fn encoder_args(profile: &Profile) -> Vec<String> {
    let v = &profile.video;
    [
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
    ]
    .map(str::to_owned)
    .to_vec()
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
