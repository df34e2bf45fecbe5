//! Fixtures made by the FFmpeg CLI, and what the CLI reads back from outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes `path` with the FFmpeg CLI from `args` (inputs, filters, codecs).
pub fn make(args: &[&str], path: &Path) -> PathBuf {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(path)
        .status()
        .expect("ffmpeg is installed");
    assert!(status.success(), "ffmpeg could not make {}", path.display());
    path.to_owned()
}

/// What `ffprobe -v error <args> <path>` prints.
pub fn probe(args: &[&str], path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `ffprobe`'s format and streams of `path`, as JSON.
pub fn probe_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&probe(
        &["-print_format", "json", "-show_format", "-show_streams"],
        path,
    ))
    .unwrap()
}

/// What the FFmpeg CLI prints when it writes `input` through `args` to standard output.
pub fn print(input: &Path, args: &[&str]) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args(args)
        .arg("-")
        .output()
        .expect("ffmpeg is installed");
    assert!(
        out.status.success(),
        "ffmpeg {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The frame of `video` at `seconds`, decoded by the FFmpeg CLI as 8-bit RGB of size `w`×`h`.
pub fn frame_at(video: &Path, seconds: f64, (w, h): (u32, u32)) -> image::RgbImage {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &seconds.to_string(), "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg is installed");
    assert!(out.status.success(), "ffmpeg could not decode {video:?}");
    image::RgbImage::from_raw(w, h, out.stdout).expect("one whole frame")
}

/// The picture of `input` as the FFmpeg CLI decodes it and scales it (Lanczos) to `w`×`h`, as
/// 8-bit RGB: an independent reference for access copies.
pub fn scaled_rgb(input: &Path, (w, h): (u32, u32)) -> image::RgbImage {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("scale={w}:{h}:flags=lanczos+accurate_rnd+full_chroma_int"),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg is installed");
    assert!(out.status.success(), "ffmpeg could not scale {input:?}");
    image::RgbImage::from_raw(w, h, out.stdout).expect("one whole picture")
}

/// Integrated loudness of a file's audio as FFmpeg's own `ebur128` filter measures it.
pub fn integrated_lufs(path: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = &log[log.rfind("Summary:").expect("an ebur128 summary")..];
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("I:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What FFmpeg's `idet` filter counts over the whole video of `path` (multi-frame detection):
/// frames it read as top field first, bottom field first, progressive, undetermined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idet {
    pub tff: u32,
    pub bff: u32,
    pub progressive: u32,
    pub undetermined: u32,
}

pub fn idet(path: &Path) -> Idet {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(path)
        .args(["-vf", "idet", "-an", "-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .find(|l| l.contains("Multi frame detection"))
        .unwrap_or_else(|| panic!("no idet summary for {}: {log}", path.display()));
    let count = |label: &str| -> u32 {
        let rest = &line[line.find(label).expect("an idet count") + label.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    Idet {
        tff: count("TFF:"),
        bff: count("BFF:"),
        progressive: count("Progressive:"),
        undetermined: count("Undetermined:"),
    }
}
