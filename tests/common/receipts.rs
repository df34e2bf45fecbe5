//! Every receipt of a batch checked against the store and against tools this project did not
//! write (ffprobe, the FFmpeg CLI, the `image` crate's decoders).

use std::collections::BTreeMap;

use caravan_proto::{keys, AssetId, ProfileName, Receipt};
use caravan_store::Store;
use caravan_testkit::ffmpeg::{frame_at, probe_json, scaled_rgb};
use caravan_testkit::files::sha256_file;
use caravan_testkit::images::mean_abs_diff;
use serde_json::Value;

use super::batch::{expected_image_sizes, sample_batch, UPRIGHT_TWINS};

/// Mean difference (levels of 255) an access copy may have from FFmpeg's rendering of its
/// master: JPEG coding and another Lanczos implementation, not another picture.
const ACCESS_PIXEL_TOLERANCE: f64 = 6.0;

/// Checks every receipt of `summary`'s done assets against the store: each listed object exists
/// with the listed size and SHA-256, and has the right dimensions. Returns the workers that made
/// them.
pub async fn check_receipts(store: &Store, summary: &Value) -> Vec<String> {
    let scratch = tempfile::tempdir().unwrap();
    let profile = ProfileName::default_profile();
    let mut workers = Vec::new();
    let mut manifests = Vec::new();
    let catalogue = caravan_scheduler::metadata::Catalogue::parse(
        &std::fs::read_to_string(sample_batch().join(caravan_scheduler::metadata::METADATA_FILE))
            .unwrap(),
        None,
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
        let master_hash = sha256_file(&sample_batch().join(name));
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
            assert_eq!(sha256_file(&local), output.sha256);
            outputs.insert(output.name.to_string(), (local, output.clone()));
        }
        // The catalogue's title, creator and rights reached the receipt and the derivatives.
        let metadata = catalogue.get(name);
        manifests.push(manifest_check(
            &outputs,
            &scratch.path().join(asset.as_str()),
            &receipt,
            &metadata,
        ));
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
            // And the title in each other language of the row, as a language alternative.
            for (language, texts) in &metadata.translations {
                let Some(title) = &texts.title else { continue };
                let item = format!("<rdf:li xml:lang=\"{language}\">{title}</rdf:li>");
                assert!(
                    find(&bytes, item.as_bytes()).is_some(),
                    "{name}: {still} lacks its {language} title"
                );
            }
        }
        match receipt.kind {
            caravan_proto::JobKind::Image => {
                let sizes = expected_image_sizes(name);
                for (file, expected) in [
                    ("access.jpg", sizes.access),
                    ("access.webp", sizes.access),
                    ("access-1024.jpg", sizes.access_1024),
                    ("access-1024.webp", sizes.access_1024),
                    ("thumb.jpg", sizes.thumb),
                ] {
                    let (path, record) = &outputs[file];
                    let decoded = image::open(path).unwrap();
                    assert_eq!(
                        (decoded.width(), decoded.height()),
                        expected,
                        "{name}/{file}"
                    );
                    assert_eq!(
                        (record.width, record.height),
                        (Some(expected.0), Some(expected.1)),
                        "{name}/{file} in the receipt"
                    );
                }
                // Pixels, end to end: the access copy shows what FFmpeg's own decoder and scaler
                // make of the (upright) master — colour, orientation and content.
                let upright = UPRIGHT_TWINS
                    .iter()
                    .find(|(turned, _)| *turned == name)
                    .map_or(name, |(_, twin)| *twin);
                let access = image::open(&outputs["access.jpg"].0).unwrap().into_rgb8();
                let reference = scaled_rgb(&sample_batch().join(upright), sizes.access);
                let diff = mean_abs_diff(&access, &reference);
                assert!(
                    diff < ACCESS_PIXEL_TOLERANCE,
                    "{name}: access.jpg differs from FFmpeg's rendering of {upright} by {diff:.2} levels"
                );
            }
            caravan_proto::JobKind::Video => {
                let (path, record) = &outputs["access.mp4"];
                let probe = probe_json(path);
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
                let ladder = probe_json(master_playlist);
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
    check_manifests(&manifests);
    workers
}

/// What `tests/verifiers/iiif_check.py` checks of one asset's `manifest.json`: the languages
/// its label and summary must carry are those the catalogue row gives a title and a description
/// in (the untagged column under the row's language, or IIIF's `none`).
fn manifest_check(
    outputs: &BTreeMap<String, (std::path::PathBuf, caravan_proto::OutputRecord)>,
    root: &std::path::Path,
    receipt: &Receipt,
    metadata: &caravan_proto::AssetMetadata,
) -> Value {
    let (path, record) = outputs
        .get("manifest.json")
        .unwrap_or_else(|| panic!("{}: no manifest.json among the outputs", receipt.asset_id));
    assert!(record.media_type.starts_with("application/ld+json"));
    let untagged = metadata
        .language
        .clone()
        .unwrap_or_else(|| "none".to_owned());
    let languages = |untagged_text: &Option<String>,
                     tagged: &dyn Fn(&caravan_proto::metadata::Texts) -> bool| {
        let mut all: Vec<String> = (metadata.translations.iter())
            .filter(|(_, texts)| tagged(texts))
            .map(|(language, _)| language.clone())
            .collect();
        if untagged_text.is_some() {
            all.push(untagged.clone());
        }
        all
    };
    let mut label = languages(&metadata.title, &|t| t.title.is_some());
    if label.is_empty() {
        label.push("none".to_owned());
    }
    let summary = languages(&metadata.description, &|t| t.description.is_some());
    let base = format!(
        "{}/{}/{}",
        receipt.parameters.image.iiif.base_url.trim_end_matches('/'),
        receipt.asset_id,
        receipt.profile
    );
    serde_json::json!({
        "path": path,
        "root": root,
        "base": base,
        "languages": { "label": label, "summary": summary },
    })
}

/// Runs IIIF's own models (iiif-prezi3) over IIIF documents (`tests/verifiers/iiif_check.py`
/// says what each entry holds).
pub fn check_manifests(manifests: &[Value]) {
    use std::io::Write;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verifiers/iiif_check.py");
    let mut child = std::process::Command::new(caravan_testkit::tools::venv_python())
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the virtualenv's Python (scripts/python-tools.sh) runs");
    let input = serde_json::to_vec(manifests).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "IIIF manifests: {report}");
    assert!(
        report.contains(&format!(
            "{} documents checked, 0 problems",
            manifests.len()
        )),
        "{report}"
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
