//! Video pipeline speed against the `ffmpeg` CLI, in one run on this machine
//! (`cargo bench --bench video`, or `scripts/bench-video.sh`).
//!
//! Generates a 1080p 10-bit 4:2:2 FFV1 master with grain and an interlaced NTSC DV master (10 s
//! each; `CARAVAN_BENCH_SCALE=0.5` for 5 s), then times, one warm-up and then five runs each
//! (median, min–max; `CARAVAN_BENCH_RUNS`), wall time and peak RSS from `wait4`:
//!
//! (P1) `caravan exec-job` making the access MP4 (no poster, no storyboard) against the `ffmpeg`
//! CLI with the same x264 settings, filters and AAC stereo. Ours also meters the mix's loudness
//! (EBU R128); the CLI run does not — listed under the table.
//!
//! (P2) on the 1080p master without its sound (so neither side encodes audio, which the CLI
//! would encode once per rung): our 3-rung HLS ladder (1080/720/480, capped CRF, keyframes forced
//! every 6 s, CMAF segments, no access MP4, no stills) from one decode, against the `ffmpeg` CLI
//! making the same three rungs with `split` in one process, and against three separate CLI runs
//! (one decode each).

mod common;

use std::path::Path;
use std::process::Command;

use caravan_proto::{JobKind, Profile};
use common::{exec_job, fresh, ratio, repeat, scale};

fn main() {
    let seconds = format!("{:.2}", 10.0 * scale());
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

    // P2's master: the same pictures, no sound.
    let silent = work.path().join("master-1080p-ffv1-silent.mkv");
    ffmpeg_generate(
        &["-i", hd.to_str().unwrap(), "-an", "-c:v", "copy"],
        &silent,
    );

    let mut profile = Profile::default();
    profile.video.hls.enabled = false;
    profile.video.poster = false;
    profile.video.storyboard = false;
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
            caravan_media::video::target::output_size(720, 480, (8, 9), v.max_height),
            "yadif=mode=send_frame:parity=bff:deint=all,",
            "bt601",
        ),
    ];
    let mut table = vec![
        "\n| P1: access MP4 | tool | wall s, median (min–max) | peak RSS MiB | caravan ÷ ffmpeg CLI (time) | (RSS) |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    for (label, master, (w, h), deinterlace, matrix) in masters {
        let out = work.path().join("ours");
        let ours = repeat(
            &|| vec![exec_job(JobKind::Video, master, &out, profile.clone())],
            &|| drop(fresh(work.path(), "ours")),
        );
        let cli_out = work.path().join("cli").join("access.mp4");
        let cli = || {
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
            vec![cli]
        };
        let reference = repeat(&cli, &|| drop(fresh(work.path(), "cli")));
        table.push(format!(
            "| {label} | caravan | {} | {:.0} | {} | {} |",
            ours.wall_cell(),
            ours.median_rss(),
            ratio(ours.median_wall(), reference.median_wall()),
            ratio(ours.median_rss(), reference.median_rss())
        ));
        table.push(format!(
            "| {label} | ffmpeg CLI | {} | {:.0} | — | — |",
            reference.wall_cell(),
            reference.median_rss()
        ));
    }
    table.push(format!(
        "{} timed runs per figure after one warm-up; ratios of medians. Ours also meters the access mix's loudness (EBU R128); the CLI does not.",
        common::runs()
    ));
    let p2 = ladder(work.path(), &silent, &profile);
    println!("{}", table.join("\n"));
    println!("{p2}");
}

/// P2: the 3-rung ladder, ours against `split` in one CLI process and three CLI runs.
fn ladder(work: &Path, master: &Path, base: &Profile) -> String {
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
    let rungs = caravan_media::video::hls::plan(&v.hls, 1920, 1080, (1, 1));
    let out = work.join("ladder-ours");
    let ours = repeat(
        &|| vec![exec_job(JobKind::Video, master, &out, profile.clone())],
        &|| drop(fresh(work, "ladder-ours")),
    );
    assert!(
        out.join("hls/master.m3u8").is_file(),
        "our ladder was not written"
    );

    // One CLI process: one decode, split into the three scalers and encoders.
    let out = work.join("ladder-split");
    let branches: String = (0..rungs.len()).map(|k| format!("[s{k}]")).collect();
    let mut graph = format!("[0:v]split={}{branches}", rungs.len());
    for (k, r) in rungs.iter().enumerate() {
        graph.push_str(&format!(";[s{k}]{}[v{k}]", scale_filter(r.width, r.height)));
    }
    let split_run = || {
        let mut split = Command::new("ffmpeg");
        split
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(master)
            .args(["-filter_complex", &graph]);
        for (k, r) in rungs.iter().enumerate() {
            split.args(["-map", &format!("[v{k}]")]);
            split.args(rung_args(r, &profile, &out.join(r.name())));
        }
        vec![split]
    };
    let split = repeat(&split_run, &|| drop(fresh(work, "ladder-split")));

    // Three CLI processes, one decode each, one after another.
    let out = work.join("ladder-runs");
    let three_runs = || {
        (rungs.iter())
            .map(|r| {
                let mut run = Command::new("ffmpeg");
                run.args(["-nostdin", "-v", "error", "-y", "-i"])
                    .arg(master)
                    .args(["-vf", &scale_filter(r.width, r.height), "-map", "0:v"])
                    .args(rung_args(r, &profile, &out.join(r.name())));
                run
            })
            .collect()
    };
    let runs = repeat(&three_runs, &|| drop(fresh(work, "ladder-runs")));

    let mut table = vec![
        "\n| P2: 3-rung HLS ladder, 1080p FFV1, no sound | wall s, median (min–max) | peak RSS MiB | caravan ÷ this (time) |".to_owned(),
        "|---|---|---|---|".to_owned(),
        format!(
            "| caravan (one decode) | {} | {:.0} | — |",
            ours.wall_cell(),
            ours.median_rss()
        ),
    ];
    for (label, m) in [
        ("ffmpeg CLI, `split`, one process", &split),
        ("ffmpeg CLI, three runs", &runs),
    ] {
        table.push(format!(
            "| {label} | {} | {:.0} | {} |",
            m.wall_cell(),
            m.median_rss(),
            ratio(ours.median_wall(), m.median_wall())
        ));
    }
    table.push(format!(
        "P2: caravan ÷ split {} (target ≤ 1.05); three runs ÷ caravan {} (target ≥ 1.8)",
        ratio(ours.median_wall(), split.median_wall()),
        ratio(runs.median_wall(), ours.median_wall())
    ));
    table.join("\n")
}

fn scale_filter(width: u32, height: u32) -> String {
    format!("scale={width}:{height}:flags=bicubic:out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p")
}

/// The CLI's encoder and HLS muxer settings for one rung, as Caravan sets them.
fn rung_args(
    rung: &caravan_media::video::hls::Rung,
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
    caravan_testkit::ffmpeg::make(args, out);
}
