//! Helpers shared by the end-to-end tests: the real `caravan` binary, the sample batch, the
//! Garage and RabbitMQ the tests run against, and the checks every batch must pass.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use caravan_proto::{keys, AssetId, ProfileName, Receipt};
use caravan_store::Store;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn caravan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caravan"))
}

/// The generated sample batch: 19 images, 2 videos, 1 truncated JPEG and a catalogue (made once
/// per test binary).
pub fn sample_batch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(repo().join("scripts/make-sample-batch.sh"))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "scripts/make-sample-batch.sh failed (is ffmpeg installed?)"
        );
        dir
    })
    .path()
}

pub const GOOD_ASSETS: usize = 21;
pub const CORRUPT: &str = "damaged/truncated.jpg";

/// Runs `caravan` with `args` and `envs`, expecting success and a JSON summary on stdout.
pub fn run_json(args: &[&str], envs: &[(String, String)]) -> Value {
    let mut command = caravan();
    command.args(args).envs(envs.iter().map(|(k, v)| (k, v)));
    let output = output_within(command, COMMAND_DEADLINE);
    assert!(
        output.status.success(),
        "caravan {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Longest any one `caravan` command of a test may run (a whole batch with videos, waited for).
pub const COMMAND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `command` to completion like [`Command::output`], but kills it and fails the test, with
/// what it printed so far, if it outlives `limit`: a hang shows as a failure, not a stuck CI.
pub fn output_within(mut command: Command, limit: std::time::Duration) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {limit:?}; it printed:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Every file below `dir` (none if it does not exist).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Waits until the log file at `log` contains `needle`; fails with the log after `limit`.
pub fn wait_for_log(log: &Path, needle: &str, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in {} within {limit:?}: {}",
            log.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn names(summary: &Value, list: &str) -> Vec<String> {
    let mut names: Vec<String> = summary[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The first run of the sample batch: every good asset done, the corrupt one failed with a
/// reason, nothing else failed.
pub fn check_first_run(summary: &Value) {
    assert_eq!(names(summary, "done").len(), GOOD_ASSETS, "{summary:#}");
    assert_eq!(
        names(summary, "failed"),
        vec![CORRUPT.to_owned()],
        "{summary:#}"
    );
    let failure = &summary["failed"][0];
    assert_eq!(failure["code"], "undecodable_input", "{summary:#}");
    assert!(
        failure["message"].as_str().unwrap().contains("truncated"),
        "{summary:#}"
    );
    for list in ["rejected", "pending", "duplicates", "already_done"] {
        assert!(names(summary, list).is_empty(), "{list}: {summary:#}");
    }
}

/// Re-submitting the same folder publishes nothing: every asset is done or failed already.
pub fn check_second_run(summary: &Value) {
    assert!(names(summary, "done").is_empty(), "{summary:#}");
    assert_eq!(
        names(summary, "already_done").len(),
        GOOD_ASSETS,
        "{summary:#}"
    );
    assert_eq!(
        names(summary, "failed"),
        vec![CORRUPT.to_owned()],
        "{summary:#}"
    );
    assert!(names(summary, "pending").is_empty(), "{summary:#}");
}

/// Checks every receipt of `summary`'s done assets against the store: each listed object exists
/// with the listed size and SHA-256, and has the right dimensions. Returns the workers that made
/// them.
pub async fn check_receipts(store: &Store, summary: &Value) -> Vec<String> {
    let scratch = tempfile::tempdir().unwrap();
    let profile = ProfileName::default_profile();
    let mut workers = Vec::new();
    let catalogue = caravan_scheduler::metadata::Catalogue::parse(
        &std::fs::read_to_string(sample_batch().join(caravan_scheduler::metadata::METADATA_FILE))
            .unwrap(),
    )
    .unwrap();
    for item in summary["done"].as_array().unwrap() {
        let name = item["source_name"].as_str().unwrap();
        let asset = AssetId::parse(item["asset_id"].as_str().unwrap()).unwrap();
        let bytes = store
            .get_bytes(&keys::receipt(&asset, &profile))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no receipt for {name}"));
        let receipt: Receipt = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(receipt.asset_id, asset);
        assert!(receipt.tools.contains_key("caravan"));
        workers.push(receipt.worker.clone());
        let master_hash = hex::encode(Sha256::digest(
            std::fs::read(sample_batch().join(name)).unwrap(),
        ));
        assert_eq!(
            master_hash,
            asset.as_str(),
            "{name}: asset id is not the master's SHA-256"
        );

        let mut outputs = BTreeMap::new();
        for output in &receipt.outputs {
            // Laid out as in the store, so that relative references (HLS playlists) resolve.
            let local = scratch
                .path()
                .join(asset.as_str())
                .join(output.name.as_str());
            std::fs::create_dir_all(local.parent().unwrap()).unwrap();
            let got = store.get_to_file(&output.key, &local).await.unwrap();
            assert_eq!(got.size, output.size, "{name}/{}", output.name);
            assert_eq!(got.sha256, output.sha256, "{name}/{}", output.name);
            assert_eq!(
                hex::encode(Sha256::digest(std::fs::read(&local).unwrap())),
                output.sha256
            );
            outputs.insert(output.name.to_string(), (local, output.clone()));
        }
        // The catalogue's title, creator and rights reached the receipt and the derivatives.
        let metadata = catalogue.get(name);
        assert_eq!(
            receipt.metadata, metadata,
            "{name}: metadata in the receipt"
        );
        if let Some(title) = &metadata.title {
            let still = match receipt.kind {
                caravan_proto::JobKind::Image => "access.jpg",
                caravan_proto::JobKind::Video => "poster.jpg",
            };
            let bytes = std::fs::read(&outputs[still].0).unwrap();
            assert!(
                find(&bytes, title.as_bytes()).is_some() && find(&bytes, b"dc:title").is_some(),
                "{name}: {still} carries no XMP title"
            );
        }
        match receipt.kind {
            caravan_proto::JobKind::Image => {
                let (w, h) = (
                    receipt.master_info["width"].as_u64().unwrap() as u32,
                    receipt.master_info["height"].as_u64().unwrap() as u32,
                );
                let sizes = [
                    ("access.jpg", 2048),
                    ("access.webp", 2048),
                    ("access-1024.jpg", 1024),
                    ("access-1024.webp", 1024),
                    ("thumb.jpg", 256),
                ];
                for (file, long_edge) in sizes {
                    let (path, record) = &outputs[file];
                    let decoded = image::open(path).unwrap();
                    let expected = fitted(w, h, long_edge);
                    assert_eq!(
                        (decoded.width(), decoded.height()),
                        expected,
                        "{name}/{file}"
                    );
                    assert_eq!(
                        (record.width, record.height),
                        (Some(expected.0), Some(expected.1))
                    );
                }
            }
            caravan_proto::JobKind::Video => {
                let (path, record) = &outputs["access.mp4"];
                let probe = ffprobe(path);
                let stream = &probe["streams"][0];
                assert_eq!(stream["codec_name"], "h264", "{name}");
                assert_eq!(stream["pix_fmt"], "yuv420p", "{name}");
                let dims = (
                    stream["width"].as_u64().unwrap() as u32,
                    stream["height"].as_u64().unwrap() as u32,
                );
                assert_eq!((record.width, record.height), (Some(dims.0), Some(dims.1)));
                let expected = if name.ends_with("capture-ntsc.mkv") {
                    (648, 486)
                } else {
                    (640, 360)
                };
                assert_eq!(dims, expected, "{name}: square pixels, display aspect kept");
                let duration: f64 = probe["format"]["duration"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((duration - 2.0).abs() < 0.2, "{name}: duration {duration}");
                assert_eq!(probe["streams"][1]["channels"], 2, "{name}: stereo audio");
                // The index (moov) comes before the media data, for streaming.
                let head = std::fs::read(path).unwrap();
                let moov = find(&head, b"moov").expect("moov box");
                let mdat = find(&head, b"mdat").expect("mdat box");
                assert!(moov < mdat, "{name}: moov is not at the front");
                assert_eq!(
                    probe["format"]["tags"]["title"].as_str(),
                    metadata.title.as_deref(),
                    "{name}: MP4 title tag"
                );

                // The HLS ladder, as fetched from the store: ffprobe follows the master playlist
                // into every rung (rungs no taller than the source, the source's height first).
                let (master_playlist, _) = &outputs["hls/master.m3u8"];
                let ladder = ffprobe(master_playlist);
                let mut heights: Vec<u64> = ladder["streams"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["codec_name"] == "h264")
                    .map(|s| s["height"].as_u64().unwrap())
                    .collect();
                heights.dedup();
                let expected: &[u64] = if name.ends_with("capture-ntsc.mkv") {
                    &[480, 360]
                } else {
                    &[360]
                };
                assert_eq!(heights, expected, "{name}: HLS rungs");

                let (track, _) = &outputs["storyboard.vtt"];
                let track = std::fs::read_to_string(track).unwrap();
                assert!(
                    track.starts_with("WEBVTT") && track.contains("storyboard.jpg#xywh=0,0,"),
                    "{name}: {track}"
                );
                assert!(outputs.contains_key("storyboard.jpg"));

                // The poster is the access copy's frame at 10 % of the duration.
                let (poster_path, poster_record) = &outputs["poster.jpg"];
                let poster = image::open(poster_path).unwrap().into_rgb8();
                assert_eq!(poster.dimensions(), dims, "{name}: poster size");
                assert_eq!(
                    (poster_record.width, poster_record.height),
                    (Some(dims.0), Some(dims.1))
                );
                let near = [0.12, 0.2, 0.28]
                    .map(|t| mean_abs_diff(&poster, &frame_at(path, t, dims)))
                    .into_iter()
                    .fold(f64::MAX, f64::min);
                let far = mean_abs_diff(&poster, &frame_at(path, 1.6, dims));
                assert!(
                    near < 8.0 && near < far,
                    "{name}: poster differs from the frames near 10 % ({near:.1}) or is closer to a late frame ({far:.1})"
                );
            }
        }
    }
    workers
}

/// The frame of `video` at `seconds`, decoded by the FFmpeg CLI as 8-bit RGB.
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

pub fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let total: u64 = (a.as_raw().iter().zip(b.as_raw()))
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn fitted(w: u32, h: u32, long_edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= long_edge {
        return (w, h);
    }
    let scale = f64::from(long_edge) / f64::from(long);
    let fit = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, long_edge);
    if w >= h {
        (long_edge, fit(h))
    } else {
        (fit(w), long_edge)
    }
}

pub fn ffprobe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is installed with ffmpeg");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// S3 settings of the Garage the tests use: started by scripts/garage-dev.sh (once).
pub fn garage_env() -> &'static Vec<(String, String)> {
    static ENV: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ENV.get_or_init(|| garage_env_at(&[]))
}

/// Starts (or reuses) the Garage that `vars` (e.g. `CARAVAN_GARAGE_DIR`, `CARAVAN_GARAGE_PORT`)
/// select, and returns its `CARAVAN_S3_*` settings.
pub fn garage_env_at(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let out = Command::new(repo().join("scripts/garage-dev.sh"))
        .arg("start")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "could not start Garage (cargo install garage --locked): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Fails with what to do if RabbitMQ is not listening on 127.0.0.1:5672.
pub fn require_rabbitmq() {
    if std::net::TcpStream::connect("127.0.0.1:5672").is_err() {
        panic!(
            "RabbitMQ is not running on 127.0.0.1:5672; start it with `rabbitmq-server -detached`"
        );
    }
}

/// A name unique to this test run, for queues and buckets.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}
