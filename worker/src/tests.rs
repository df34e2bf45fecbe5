use std::time::Duration;

use caravan_proto::{keys, AssetId, BatchId, Job, JobKind, MasterLocation, ProfileName, Receipt};
use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::pipeline::{image::fitted_size, video::output_size};
use crate::sniff::sniff;
use crate::{Isolation, ProfileSet, Worker, WorkerConfig};

fn job_for(path: &std::path::Path, kind: JobKind, media_type: &str) -> Job {
    let bytes = std::fs::read(path).unwrap();
    Job {
        v: caravan_proto::PROTO_VERSION,
        job_id: uuid_like(&bytes),
        batch_id: BatchId::parse("unit").unwrap(),
        asset_id: AssetId::parse(hex::encode(Sha256::digest(&bytes))).unwrap(),
        master: MasterLocation::LocalPath {
            path: path.to_owned(),
        },
        master_size: bytes.len() as u64,
        media_type: media_type.into(),
        kind,
        profile: ProfileName::default_profile(),
        attempt: 1,
        source_name: None,
        submitted_at: chrono::Utc::now(),
        metadata: Default::default(),
    }
}

fn uuid_like(bytes: &[u8]) -> uuid::Uuid {
    uuid::Uuid::from_slice(&Sha256::digest(bytes)[..16]).unwrap()
}

/// Runs an in-process worker over `jobs` until the queue is drained.
async fn run_jobs(store: &Store, jobs: &[Job]) -> MemoryQueue {
    let mq = MemoryQueue::new();
    let queue = Queue::Memory(mq.clone());
    for job in jobs {
        queue.publish_job(job).await.unwrap();
    }
    let scratch = tempfile::tempdir().unwrap();
    let mut config = WorkerConfig::new(Isolation::InProcess);
    config.slots = 2;
    config.scratch_dir = scratch.path().to_owned();
    config.retry_base_delay = Duration::from_millis(10);
    let worker = Worker::new(store.clone(), queue.clone(), config);
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(worker.run(cancel.clone()));
    // Every job ends with a receipt or a failure record.
    for _ in 0..600 {
        let mut done = 0;
        for job in jobs {
            let receipt = store
                .size_of(&keys::receipt(&job.asset_id, &job.profile))
                .await
                .unwrap();
            let failure = store
                .size_of(&keys::failure(&job.asset_id, &job.profile))
                .await
                .unwrap();
            if receipt.is_some() || failure.is_some() {
                done += 1;
            }
        }
        if done == jobs.len() && mq.ready_len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mq.close();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        std::fs::read_dir(scratch.path())
            .unwrap()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten())
            .count(),
        0,
        "scratch left behind"
    );
    mq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_job_stores_outputs_then_a_receipt_that_matches_them() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.png");
    image::RgbImage::from_fn(3000, 1500, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    })
    .save(&master)
    .unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let job = job_for(&master, JobKind::Image, "image/png");

    run_jobs(&store, std::slice::from_ref(&job)).await;

    let receipt: Receipt = serde_json::from_slice(
        &store
            .get_bytes(&keys::receipt(&job.asset_id, &job.profile))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(receipt.asset_id, job.asset_id);
    assert_eq!(receipt.tools["caravan"], env!("CARGO_PKG_VERSION"));
    let dims: Vec<_> = receipt
        .outputs
        .iter()
        .filter(|o| !o.name.as_str().starts_with("iiif/"))
        .map(|o| (o.name.as_str().to_owned(), o.width, o.height))
        .collect();
    assert!(
        receipt
            .outputs
            .iter()
            .any(|o| o.name.as_str() == "iiif/info.json"),
        "IIIF tiles are listed too"
    );
    assert_eq!(
        dims,
        vec![
            ("access.jpg".into(), Some(2048), Some(1024)),
            ("access.webp".into(), Some(2048), Some(1024)),
            ("access-1024.jpg".into(), Some(1024), Some(512)),
            ("access-1024.webp".into(), Some(1024), Some(512)),
            ("thumb.jpg".into(), Some(256), Some(128))
        ]
    );
    for output in &receipt.outputs {
        let path = match &store {
            Store::Local(s) => s.path_of(&output.key).unwrap(),
            Store::S3(_) => unreachable!(),
        };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, output.size);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), output.sha256);
        if !output.media_type.starts_with("image/") {
            continue;
        }
        let is_tile = output.name.as_str().starts_with("iiif/");
        if output.media_type == "image/jpeg" {
            // SOF2 is the progressive frame header: access copies load coarse-to-fine, tiles
            // are baseline (SOF0).
            let sof = if is_tile { 0xC0 } else { 0xC2 };
            assert_eq!(frame_marker(&bytes), sof, "{}", output.name);
            assert!(
                bytes.windows(12).any(|m| m == b"ICC_PROFILE\0"),
                "{} carries the sRGB profile",
                output.name
            );
        }
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (Some(decoded.width()), Some(decoded.height())),
            (output.width, output.height)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_master_fails_permanently_with_a_reason_and_others_still_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.jpg");
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    bytes.extend_from_slice(b"JFIF\0 this is not really a jpeg");
    std::fs::write(&corrupt, &bytes).unwrap();
    let good = dir.path().join("good.png");
    image::RgbImage::new(10, 20).save(&good).unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let bad_job = job_for(&corrupt, JobKind::Image, "image/jpeg");
    let good_job = job_for(&good, JobKind::Image, "image/png");

    let mq = run_jobs(&store, &[bad_job.clone(), good_job.clone()]).await;

    let failure: caravan_proto::FailureRecord = serde_json::from_slice(
        &store
            .get_bytes(&keys::failure(&bad_job.asset_id, &bad_job.profile))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(failure.code, "undecodable_input");
    assert!(failure.message.contains("corrupt"), "{}", failure.message);
    assert_eq!(mq.dead_letters().len(), 1);
    assert!(store
        .size_of(&keys::receipt(&good_job.asset_id, &good_job.profile))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_receipt_exists_is_acknowledged_without_work() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("m.png");
    image::RgbImage::new(8, 8).save(&master).unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let job = job_for(&master, JobKind::Image, "image/png");
    let key = keys::receipt(&job.asset_id, &job.profile);
    store
        .put_bytes(&key, b"{}".to_vec(), "application/json")
        .await
        .unwrap();
    run_jobs(&store, std::slice::from_ref(&job)).await;
    // Untouched: no pipeline ran, so no derivative exists and the receipt is as it was.
    assert_eq!(store.get_bytes(&key).await.unwrap().unwrap(), b"{}");
    let output = keys::derivative(
        &job.asset_id,
        &job.profile,
        &caravan_proto::OutputName::parse("access.jpg").unwrap(),
    );
    assert_eq!(store.size_of(&output).await.unwrap(), None);
}

#[test]
fn header_bombs_fail_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.png");
    // A valid PNG signature and IHDR declaring 60000×60000 pixels, and no image data.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&60000u32.to_be_bytes());
    ihdr.extend_from_slice(&60000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let idat = b"IDAT\x78\x9c\x03\x00".to_vec();
    png.extend_from_slice(&4u32.to_be_bytes());
    png.extend_from_slice(&idat);
    png.extend_from_slice(&crc32(&idat).to_be_bytes());
    std::fs::write(&path, &png).unwrap();
    let profile = caravan_proto::Profile::default();
    let err = crate::pipeline::image::run(&image_request(&path, dir.path(), profile), &mut |_| {})
        .unwrap_err();
    assert_eq!(err.code(), "limits_exceeded", "{err}");
    assert!(!err.is_retryable());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn sniffing_reads_content_not_names() {
    type Case<'a> = (&'a [u8], Option<(&'a str, JobKind)>);
    let cases: &[Case] = &[
        (
            b"\xFF\xD8\xFF\xE0rest",
            Some(("image/jpeg", JobKind::Image)),
        ),
        (
            b"\x89PNG\r\n\x1a\nrest",
            Some(("image/png", JobKind::Image)),
        ),
        (b"II*\0rest", Some(("image/tiff", JobKind::Image))),
        (b"MM\0+rest", Some(("image/tiff", JobKind::Image))),
        (
            b"RIFF\0\0\0\0WEBPVP8 ",
            Some(("image/webp", JobKind::Image)),
        ),
        (
            b"\0\0\0\x0cjP  \r\n\x87\n",
            Some(("image/jp2", JobKind::Image)),
        ),
        (
            b"\x1a\x45\xdf\xa3rest",
            Some(("video/x-matroska", JobKind::Video)),
        ),
        (
            b"\0\0\0\x14ftypqt  ",
            Some(("video/quicktime", JobKind::Video)),
        ),
        (b"\0\0\0\x18ftypisom", Some(("video/mp4", JobKind::Video))),
        (
            b"RIFF\0\0\0\0AVI LIST",
            Some(("video/x-msvideo", JobKind::Video)),
        ),
        (b"plain text, named .jpg", None),
        (b"", None),
    ];
    for (head, expected) in cases {
        let got = sniff(head).map(|s| (s.media_type, s.kind));
        assert_eq!(got, *expected, "{head:?}");
    }
}

#[test]
fn derivative_sizes_fit_the_long_edge_and_never_enlarge() {
    assert_eq!(fitted_size(4000, 3000, 2048), (2048, 1536));
    assert_eq!(fitted_size(3000, 4000, 2048), (1536, 2048));
    assert_eq!(fitted_size(100, 50, 2048), (100, 50));
    assert_eq!(fitted_size(10000, 1, 256), (256, 1));
}

#[test]
fn video_output_size_makes_pixels_square_and_caps_height() {
    // NYU's capture: 720×486 at SAR 9:10 shows as 4:3.
    assert_eq!(output_size(720, 486, (9, 10), 1080), (648, 486));
    // PAL DV 16:9: 720×576 at SAR 64:45.
    assert_eq!(output_size(720, 576, (64, 45), 1080), (1024, 576));
    assert_eq!(output_size(3840, 2160, (1, 1), 1080), (1920, 1080));
    assert_eq!(output_size(320, 240, (0, 1), 1080), (320, 240));
}

#[test]
fn profile_files_override_only_what_they_name_and_reject_typos() {
    let set =
        ProfileSet::parse("[profiles.exhibition]\nimage = { access_long_edge = 3000 }\n").unwrap();
    let p = set.get(&ProfileName::parse("exhibition").unwrap()).unwrap();
    assert_eq!(p.image.access_long_edge, 3000);
    assert_eq!(p.image.thumbnail_long_edge, 256);
    assert!(set.get(&ProfileName::default_profile()).is_some());
    assert!(ProfileSet::parse("[profiles.x]\nimage = { acess_long_edge = 3000 }\n").is_err());
    assert!(ProfileSet::parse("[profiles.x]\nimage = { access_quality = 0 }\n").is_err());
    assert!(ProfileSet::parse("[profiles.\"../x\"]\n").is_err());
    // Nested settings: known ones parse, typos at any depth are refused.
    let ladder = "[profiles.stream]\nvideo = { access_mp4 = false, hls = { segment_seconds = 4, rungs = [{ height = 720, max_kbps = 3000 }] } }\n";
    let set = ProfileSet::parse(ladder).unwrap();
    let p = set.get(&ProfileName::parse("stream").unwrap()).unwrap();
    assert_eq!(
        (p.video.hls.segment_seconds, p.video.hls.rungs.len()),
        (4.0, 1)
    );
    assert!(!p.video.access_mp4);
    let err =
        ProfileSet::parse("[profiles.x]\nvideo = { hls = { segmnt_seconds = 4 } }\n").unwrap_err();
    assert!(err.contains("video.hls.segmnt_seconds"), "{err}");
    assert!(ProfileSet::parse(
        "[profiles.x]\nvideo = { hls = { rungs = [{ height = 720, max_kbps = 3000, crf = 1 }] } }\n"
    )
    .is_err());
    assert!(ProfileSet::parse("[profiles.x]\nvideo = { hls = { rungs = [] } }\n").is_err());
    assert!(ProfileSet::parse(
        "[profiles.x]\nvideo = { access_mp4 = false, hls = { enabled = false } }\n"
    )
    .is_err());
}

#[test]
fn preservation_settings_are_checked_when_profiles_load() {
    let ok = "[profiles.a]\nvideo = { preservation = { enabled = true, audio = \"pcm\", slices = 24 } }\n";
    let set = ProfileSet::parse(ok).unwrap();
    let p = set.get(&ProfileName::parse("a").unwrap()).unwrap();
    assert!(p.video.preservation.enabled);
    assert_eq!(
        p.video.preservation.audio,
        caravan_proto::PreservationAudio::Pcm
    );
    // 7 slices cannot tile a frame (v × h with v ≤ h < 2v); unknown audio forms are refused.
    let err = ProfileSet::parse(
        "[profiles.a]\nvideo = { preservation = { enabled = true, slices = 7 } }\n",
    )
    .unwrap_err();
    assert!(err.contains("slices = 7"), "{err}");
    assert!(ProfileSet::parse(
        "[profiles.a]\nvideo = { preservation = { enabled = true, audio = \"mp3\" } }\n"
    )
    .is_err());
    let valid: Vec<u32> = (1..=30)
        .filter(|&n| caravan_proto::ffv1_slices_valid(n))
        .collect();
    assert_eq!(valid, [4, 6, 9, 12, 15, 16, 20, 24, 25, 28, 30]);
}

#[test]
fn the_deployment_example_profiles_load_as_they_are() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles.example.toml");
    let set = ProfileSet::load(&path).unwrap();
    let get = |name: &str| set.get(&ProfileName::parse(name).unwrap()).unwrap();
    assert!(get("archive").video.preservation.enabled);
    assert!(get("exhibition").image.watermark.enabled);
    assert!(!get("low-bandwidth").video.access_mp4);
    assert_eq!(get("large-masters").limits.max_pixels, 600_000_000);
}

#[test]
fn retry_delays_grow_and_are_capped() {
    let mut config = WorkerConfig::new(Isolation::InProcess);
    config.retry_base_delay = Duration::from_secs(1);
    let d1 = config.retry_delay(1);
    let d3 = config.retry_delay(3);
    assert!(d1 >= Duration::from_secs(1) && d1 <= Duration::from_millis(1250));
    assert!(d3 >= Duration::from_secs(4));
    assert!(config.retry_delay(30) <= Duration::from_secs(375));
}

/// `../shared/corpus/images`, or `None` (with a note) where the shared corpus is absent.
fn corpus() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/images");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; corpus checks skipped", dir.display());
        None
    }
}

/// Runs the image pipeline on `master` and decodes its access JPEG.
fn access_of(
    master: &std::path::Path,
) -> (image::RgbImage, Vec<u8>, crate::pipeline::PipelineOutput) {
    let out = tempfile::tempdir().unwrap();
    let made = crate::pipeline::image::run(
        &image_request(master, out.path(), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap();
    let bytes = std::fs::read(out.path().join("access.jpg")).unwrap();
    (
        image::load_from_memory(&bytes).unwrap().into_rgb8(),
        bytes,
        made,
    )
}

/// The JPEG's start-of-frame marker (C0 baseline, C2 progressive), found by walking the
/// segments from SOI.
fn frame_marker(jpeg: &[u8]) -> u8 {
    let mut at = 2;
    loop {
        assert_eq!(jpeg[at], 0xFF, "segment marker expected at {at}");
        let marker = jpeg[at + 1];
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            return marker;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

#[test]
fn every_exif_orientation_gives_the_upright_image() {
    let Some(dir) = corpus() else { return };
    let (upright, _, _) = access_of(&dir.join("hopper.jpg"));
    for n in [2, 3, 5, 6, 8] {
        let (oriented, _, made) = access_of(&dir.join(format!("hopper_orientation_{n}.jpg")));
        let diff = mean_abs_diff(&upright, &oriented);
        assert!(
            diff < 6.0,
            "orientation {n}: mean difference {diff:.2} from hopper.jpg ({:?})",
            made.master_info.get("orientation")
        );
    }
}

#[test]
fn public_derivatives_carry_no_gps_or_camera_metadata_only_an_srgb_profile() {
    let Some(dir) = corpus() else { return };
    let master = std::fs::read(dir.join("exif_gps.jpg")).unwrap();
    assert!(
        master.windows(6).any(|w| w == b"Exif\0\0"),
        "the corpus file should carry EXIF"
    );
    let (_, access, _) = access_of(&dir.join("exif_gps.jpg"));
    assert!(
        !access.windows(6).any(|w| w == b"Exif\0\0"),
        "EXIF reached a derivative"
    );
    assert!(
        !access.windows(3).any(|w| w == b"GPS"),
        "GPS reached a derivative"
    );
    assert!(
        access.windows(12).any(|w| w == b"ICC_PROFILE\0"),
        "the derivative is not tagged sRGB"
    );
}

#[test]
fn the_srgb_profile_in_derivatives_is_valid_icc_and_the_same_in_every_run() {
    use crate::pipeline::colour::{normalise_icc, srgb_icc};
    let icc = srgb_icc();
    let be32 = |at: usize| u32::from_be_bytes(icc[at..at + 4].try_into().unwrap());
    assert_eq!(be32(0) as usize, icc.len());
    assert_eq!(&icc[36..40], b"acsp");
    assert_eq!(&icc[16..20], b"RGB ");
    // The connection space's illuminant is D50 exactly (ICC.1 7.2.16).
    assert_eq!([be32(68), be32(72), be32(76)], [0xF6D6, 0x1_0000, 0xD32D]);
    // Every tag starts on a 4-byte boundary inside the profile (ICC.1 7.3.1).
    let count = be32(128) as usize;
    assert!(count >= 9);
    for k in 0..count {
        let (offset, size) = (be32(132 + 12 * k + 4), be32(132 + 12 * k + 8));
        assert_eq!(offset % 4, 0, "tag {k} at {offset}");
        assert!((offset + size) as usize <= icc.len());
    }
    // It still describes sRGB: converting through it changes no colour.
    let parsed = moxcms::ColorProfile::new_from_slice(icc).unwrap();
    let srgb = moxcms::ColorProfile::new_srgb();
    let transform = parsed
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &srgb,
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .unwrap();
    let colours = [12u8, 200, 90, 255, 0, 128, 77, 77, 77];
    let mut out = [0u8; 9];
    transform.transform(&colours, &mut out).unwrap();
    for (a, b) in colours.iter().zip(out) {
        assert!(a.abs_diff(b) <= 1, "{colours:?} became {out:?}");
    }
    // The encoder stamps the time; two profiles made a second apart are the same once
    // normalised, so a derivative's bytes do not depend on when it was made.
    let first = moxcms::ColorProfile::new_srgb().encode().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = moxcms::ColorProfile::new_srgb().encode().unwrap();
    assert_eq!(normalise_icc(first), normalise_icc(second));
    assert_eq!(
        icc,
        normalise_icc(moxcms::ColorProfile::new_srgb().encode().unwrap())
    );
}

/// Writes `pixels` with `encoder`, tagged with a Display P3 profile.
fn write_display_p3(mut encoder: impl image::ImageEncoder, pixels: &image::RgbImage) {
    encoder
        .set_icc_profile(moxcms::ColorProfile::new_display_p3().encode().unwrap())
        .unwrap();
    let (w, h) = pixels.dimensions();
    encoder
        .write_image(pixels.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
}

#[test]
fn embedded_icc_profiles_are_converted_to_srgb() {
    // A Display P3 master: its colours are more saturated than the same numbers in sRGB.
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("p3.png");
    let (r, g, b) = (200u8, 100u8, 50u8);
    let pixels = image::RgbImage::from_pixel(64, 64, image::Rgb([r, g, b]));
    let mut file = std::fs::File::create(&master).unwrap();
    write_display_p3(image::codecs::png::PngEncoder::new(&mut file), &pixels);
    drop(file);

    let (access, _, made) = access_of(&master);
    assert_converted(&made);
    // Independent reference: decode the sRGB curve (shared by P3), apply the P3→sRGB matrix,
    // encode again.
    let lin = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let enc = |c: f64| {
        let c = c.clamp(0.0, 1.0);
        let v = if c <= 0.003_130_8 {
            c * 12.92
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        };
        (v * 255.0).round()
    };
    let (lr, lg, lb) = (lin(r), lin(g), lin(b));
    let expected = [
        enc(1.224_940 * lr - 0.224_940 * lg),
        enc(-0.042_057 * lr + 1.042_057 * lg),
        enc(-0.019_638 * lr - 0.078_636 * lg + 1.098_274 * lb),
    ];
    let got = access.get_pixel(32, 32).0;
    for c in 0..3 {
        assert!(
            (f64::from(got[c]) - expected[c]).abs() <= 3.0,
            "channel {c}: got {got:?}, expected {expected:?}"
        );
    }
    assert!(
        got[0] > r + 5,
        "P3 red should be more saturated in sRGB numbers: {got:?}"
    );

    // The same master as a TIFF: its profile is honoured too (the `image` crate's TIFF reader
    // loses it once decoding limits are set, so it is read from the TIFF's own tag).
    let tiff = dir.path().join("p3.tif");
    let mut file = std::fs::File::create(&tiff).unwrap();
    write_display_p3(image::codecs::tiff::TiffEncoder::new(&mut file), &pixels);
    drop(file);
    let (from_tiff, _, made) = access_of(&tiff);
    assert_converted(&made);
    assert_eq!(from_tiff.get_pixel(32, 32), access.get_pixel(32, 32));
}

/// The receipt says the master's embedded profile was converted to sRGB.
fn assert_converted(made: &crate::pipeline::PipelineOutput) {
    let colour = made.master_info["colour"].as_str().unwrap();
    assert!(colour.starts_with("converted"), "{:?}", made.master_info);
}

pub(crate) fn image_request(
    input: &std::path::Path,
    out_dir: &std::path::Path,
    profile: caravan_proto::Profile,
) -> caravan_proto::exec::ExecRequest {
    caravan_proto::exec::ExecRequest {
        v: caravan_proto::PROTO_VERSION,
        kind: JobKind::Image,
        input: input.to_owned(),
        out_dir: out_dir.to_owned(),
        asset_id: None,
        profile,
        metadata: Default::default(),
    }
}

/// A test card with sharp-edged blocks over gradients, `w`×`h`.
fn iiif_card(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let band = if (x / 97 + y / 61) % 2 == 0 { 40 } else { 0 };
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 120 + band])
    })
}

#[test]
fn iiif_tiles_promised_by_info_json_exist_decode_and_stitch_back() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.png");
    let full = iiif_card(2300, 1500);
    full.save(&master).unwrap();
    check_iiif(&master, &full, "decoded whole");
}

/// TIFF masters are read band by band ([`crate::pipeline::tiff_bands`]) into a pyramid made as
/// the rows arrive: the tiles are the same as from a master decoded whole, whatever the bands'
/// height (one-row and 16-row strips, 256 px tiles) and with odd sizes at every level.
#[test]
fn iiif_tiles_of_a_tiff_read_band_by_band_stitch_back_too() {
    let dir = tempfile::tempdir().unwrap();
    let full = iiif_card(2301, 1499);
    let (w, h) = full.dimensions();
    // 16-bit, one row per strip (the `tiff` crate's encoder): the 8-bit card widened exactly.
    let strips = dir.path().join("strips16.tif");
    let wide: Vec<u16> = full.as_raw().iter().map(|&v| u16::from(v) * 257).collect();
    tiff::encoder::TiffEncoder::new(std::fs::File::create(&strips).unwrap())
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB16>(w, h, &wide)
        .unwrap();
    let png = dir.path().join("card.png");
    full.save(&png).unwrap();
    let plain = dir.path().join("plain8.tif");
    tiff::encoder::TiffEncoder::new(std::fs::File::create(&plain).unwrap())
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB8>(w, h, full.as_raw())
        .unwrap();
    // LZW (decoded by `pipeline::lzw`) with horizontal differencing in 16-row strips, 16-bit
    // big-endian, in 256×256 tiles, plane by plane; Deflate tiles (the `tiff` crate's path).
    let variants: [(&str, &std::path::Path, &[&str]); 5] = [
        ("lzw-predictor.tif", &plain, &["-c", "lzw:2", "-r", "16"]),
        ("lzw16-be.tif", &strips, &["-B", "-c", "lzw:2", "-r", "8"]),
        (
            "lzw-tiles.tif",
            &plain,
            &["-c", "lzw", "-t", "-w", "256", "-l", "256"],
        ),
        (
            "lzw-planes.tif",
            &plain,
            &["-c", "lzw", "-p", "separate", "-r", "32"],
        ),
        (
            "zip-tiles.tif",
            &plain,
            &["-c", "zip", "-t", "-w", "256", "-l", "256"],
        ),
    ];
    let mut masters = vec![strips.clone()];
    for (name, from, args) in variants {
        let made = dir.path().join(name);
        let mut all = args.to_vec();
        all.extend([as_arg(from), as_arg(&made)]);
        libtiff("tiffcp", &all);
        masters.push(made);
    }
    let whole = check_iiif(&png, &full, "decoded whole");
    for master in &masters {
        let banded = check_iiif(master, &full, "band by band");
        for entry in walkdir(&whole.path().join("iiif")) {
            let relative = entry.strip_prefix(whole.path()).unwrap();
            assert_eq!(
                std::fs::read(&entry).unwrap(),
                std::fs::read(banded.path().join(relative)).unwrap(),
                "{}: {} differs from the one made from the master decoded whole",
                master.display(),
                relative.display()
            );
        }
    }
}

/// A TIFF master too large to decode whole within the worker's memory limit is still made,
/// band by band: only a band, a row of tiles per level and the level the access copies come
/// from are held. The same pixels as a PNG (decoded whole) are refused under that limit.
#[test]
fn a_tiff_too_large_to_decode_whole_within_the_memory_limit_is_made_band_by_band() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (4000u32, 3000u32);
    let card = iiif_card(w, h);
    let master = dir.path().join("master16.tif");
    let wide: Vec<u16> = card.as_raw().iter().map(|&v| u16::from(v) * 257).collect();
    tiff::encoder::TiffEncoder::new(std::fs::File::create(&master).unwrap())
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB16>(w, h, &wide)
        .unwrap();
    let png = dir.path().join("master16.png");
    image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(w, h, wide)
        .unwrap()
        .save(&png)
        .unwrap();
    let mut profile = caravan_proto::Profile::default();
    // 16-bit RGB decoded whole plus its 8-bit copy: 108 MB; band by band, under 60 MB.
    profile.limits.memory_mib = 100;
    let out = tempfile::tempdir().unwrap();
    let made = crate::pipeline::image::run(
        &image_request(&master, out.path(), profile.clone()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(made.master_info["read"], "band by band");
    let access = image::open(out.path().join("access.jpg"))
        .unwrap()
        .into_rgb8();
    let (aw, ah) = crate::pipeline::image::fitted_size(w, h, profile.image.access_long_edge);
    assert_eq!(access.dimensions(), (aw, ah));
    let reference = image::imageops::resize(&card, aw, ah, image::imageops::FilterType::Lanczos3);
    let diff = mean_abs_diff(&access, &reference);
    assert!(
        diff < 6.0,
        "the access copy differs from the master by {diff:.2}"
    );

    let refused = crate::pipeline::image::run(
        &image_request(&png, tempfile::tempdir().unwrap().path(), profile),
        &mut |_| {},
    );
    assert!(
        matches!(
            refused,
            Err(crate::pipeline::PipelineError::LimitsExceeded(_))
        ),
        "{refused:?}"
    );
}

/// Every file below `dir`.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `path` as a command-line argument.
fn as_arg(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

/// Makes the default profile's derivatives of `master` (whose pixels are `full`) and checks
/// its IIIF pyramid against `full`; `read` is how the receipt says the master was read.
fn check_iiif(master: &std::path::Path, full: &image::RgbImage, read: &str) -> tempfile::TempDir {
    let (w, h) = full.dimensions();
    let out = tempfile::tempdir().unwrap();
    let made = crate::pipeline::image::run(
        &image_request(master, out.path(), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        made.master_info
            .get("read")
            .and_then(|v| v.as_str())
            .unwrap_or("decoded whole"),
        read,
        "{}",
        master.display()
    );
    for output in &made.outputs {
        assert!(
            out.path().join(output.name.as_str()).is_file(),
            "{} listed but not written",
            output.name
        );
    }

    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("iiif/info.json")).unwrap()).unwrap();
    assert_eq!(info["@context"], "http://iiif.io/api/image/3/context.json");
    assert_eq!(info["type"], "ImageService3");
    assert_eq!(info["profile"], "level0");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(u64::from(w)), Some(u64::from(h)))
    );
    let tile = info["tiles"][0]["width"].as_u64().unwrap() as u32;
    let factors: Vec<u32> = info["tiles"][0]["scaleFactors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(
        factors,
        vec![1, 2, 4, 8],
        "down to the level that fits one {tile} px tile"
    );
    let tiles_listed = made
        .outputs
        .iter()
        .filter(|o| o.name.as_str().ends_with("/0/default.jpg"))
        .filter(|o| !o.name.as_str().starts_with("iiif/full/"))
        .count();
    let mut tiles_checked = 0;

    let tile_path = |tx: u32, ty: u32, rw: u32, rh: u32, sw: u32, sh: u32| {
        out.path()
            .join(format!("iiif/{tx},{ty},{rw},{rh}/{sw},{sh}/0/default.jpg"))
    };
    for s in factors {
        let (lw, lh) = (w.div_ceil(s), h.div_ceil(s));
        let mut canvas = image::RgbImage::new(lw, lh);
        for ty in (0..h).step_by((tile * s) as usize) {
            for tx in (0..w).step_by((tile * s) as usize) {
                let (rw, rh) = ((tile * s).min(w - tx), (tile * s).min(h - ty));
                let (sw, sh) = (rw.div_ceil(s), rh.div_ceil(s));
                let path = tile_path(tx, ty, rw, rh, sw, sh);
                let decoded = image::open(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .into_rgb8();
                assert_eq!(decoded.dimensions(), (sw, sh), "{}", path.display());
                tiles_checked += 1;
                image::imageops::replace(
                    &mut canvas,
                    &decoded,
                    i64::from(tx / s),
                    i64::from(ty / s),
                );
            }
        }
        let reference =
            image::imageops::resize(full, lw, lh, image::imageops::FilterType::Lanczos3);
        let diff = mean_abs_diff(&canvas, &reference);
        assert!(
            diff < 6.0,
            "scale factor {s}: stitched tiles differ from the downscaled image by {diff:.2}"
        );
    }
    for size in info["sizes"].as_array().unwrap() {
        let (sw, sh) = (
            size["width"].as_u64().unwrap() as u32,
            size["height"].as_u64().unwrap() as u32,
        );
        let decoded = image::open(
            out.path()
                .join(format!("iiif/full/{sw},{sh}/0/default.jpg")),
        )
        .unwrap();
        assert_eq!((decoded.width(), decoded.height()), (sw, sh));
    }
    assert_eq!(
        tiles_checked, tiles_listed,
        "every tile written is one info.json promises"
    );
    out
}

/// Makes `path` with the FFmpeg CLI from `args` (inputs, filters, codecs).
pub(crate) fn ffmpeg_make(args: &[&str], path: &std::path::Path) -> std::path::PathBuf {
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(path)
        .status()
        .expect("ffmpeg is installed");
    assert!(status.success(), "ffmpeg could not make {}", path.display());
    path.to_owned()
}

/// A clip that opens on black (a leader) then shows a test pattern, made by the FFmpeg CLI.
fn leader_then_pattern(dir: &std::path::Path) -> std::path::PathBuf {
    ffmpeg_make(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x240:r=25:d=1.2",
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=320x240:r=25:d=0.8",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
        &dir.join("leader.mkv"),
    )
}

#[test]
fn the_poster_skips_a_black_leader_and_the_storyboard_covers_the_clip() {
    let dir = tempfile::tempdir().unwrap();
    let master = leader_then_pattern(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut profile = caravan_proto::Profile::default();
    profile.video.storyboard_interval_seconds = 0.5;
    let made =
        crate::pipeline::video::run(&master, &out, &profile, &Default::default(), &mut |_| {})
            .unwrap();
    let names: Vec<_> = made
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .filter(|n| !n.starts_with("hls/"))
        .collect();
    assert_eq!(
        names,
        [
            "access.mp4",
            "poster.jpg",
            "storyboard.jpg",
            "storyboard.vtt"
        ]
    );

    // 10 % of 2 s is inside the leader: the poster is the first real picture after it.
    let poster = image::open(out.join("poster.jpg")).unwrap().into_rgb8();
    assert_eq!(poster.dimensions(), (320, 240));
    let mean =
        poster.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / poster.as_raw().len() as f64;
    assert!(mean > 60.0, "poster is dark (mean {mean:.0})");

    // Cues every 0.5 s from 0 to the end, each pointing at one tile inside the sheet.
    let sheet = image::open(out.join("storyboard.jpg")).unwrap().into_rgb8();
    let track = std::fs::read_to_string(out.join("storyboard.vtt")).unwrap();
    assert!(track.starts_with("WEBVTT\n"));
    let cues: Vec<(String, String, [u32; 4])> = track
        .split("\n\n")
        .skip(1)
        .map(|cue| {
            let mut lines = cue.lines();
            let (start, end) = lines.next().unwrap().split_once(" --> ").unwrap();
            let (file, xywh) = lines.next().unwrap().split_once("#xywh=").unwrap();
            assert_eq!(file, "storyboard.jpg");
            let v: Vec<u32> = xywh.split(',').map(|n| n.parse().unwrap()).collect();
            (start.to_owned(), end.to_owned(), [v[0], v[1], v[2], v[3]])
        })
        .collect();
    assert_eq!(cues.len(), 4, "{track}");
    assert_eq!(cues[0].0, "00:00:00.000");
    assert_eq!(cues[3].1, "00:00:02.000");
    for pair in cues.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "cues are contiguous");
    }
    let tile_mean = |[x, y, w, h]: [u32; 4]| {
        assert!(x + w <= sheet.width() && y + h <= sheet.height());
        assert_eq!((w, h), (160, 120));
        let tile = image::imageops::crop_imm(&sheet, x, y, w, h).to_image();
        tile.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / tile.as_raw().len() as f64
    };
    assert!(
        tile_mean(cues[0].2) < 20.0,
        "the first tile shows the leader"
    );
    assert!(
        tile_mean(cues[3].2) > 60.0,
        "the last tile shows the pattern"
    );
}

/// 2 s of moving test pattern, 720×480 at 29.97, FFV1 in AVI (which has no field-order flags),
/// woven from 59.94 fields per second (interlaced, top field first) or not. (`testsrc`, not
/// `testsrc2`: the latter's line patterns read as combing to `idet` even when progressive.)
fn unflagged_clip(dir: &std::path::Path, interlaced: bool) -> std::path::PathBuf {
    let path = dir.join(format!("unflagged-{interlaced}.avi"));
    let filter = if interlaced {
        "testsrc=s=720x480:r=60000/1001:d=2,tinterlace=interleave_top,setfield=prog"
    } else {
        "testsrc=s=720x480:r=30000/1001:d=2,setfield=prog"
    };
    ffmpeg_make(
        &[
            "-f", "lavfi", "-i", filter, "-c:v", "ffv1", "-pix_fmt", "yuv422p",
        ],
        &path,
    )
}

#[test]
fn interlacing_is_detected_when_the_stream_does_not_say() {
    let dir = tempfile::tempdir().unwrap();
    let profile = caravan_proto::Profile::default();
    let scan = |interlaced: bool| {
        let master = unflagged_clip(dir.path(), interlaced);
        let out = dir.path().join(format!("out-{interlaced}"));
        std::fs::create_dir_all(&out).unwrap();
        let made =
            crate::pipeline::video::run(&master, &out, &profile, &Default::default(), &mut |_| {})
                .unwrap();
        made.master_info["scan"].clone()
    };
    let woven = scan(true);
    assert_eq!(woven["scan"], "interlaced, top field first", "{woven}");
    assert!(woven["basis"].as_str().unwrap().starts_with("detected"));
    // The access copy was deinterlaced: FFmpeg's own idet finds no combing left in it.
    let idet = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(dir.path().join("out-true/access.mp4"))
        .args(["-vf", "idet", "-an", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&idet.stderr);
    let line = log
        .lines()
        .find(|l| l.contains("Multi frame detection"))
        .unwrap();
    let count = |label: &str| -> u32 {
        let rest = &line[line.find(label).unwrap() + label.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(
        count("Progressive:") > 4 * (count("TFF:") + count("BFF:")),
        "{line}"
    );
    let progressive = scan(false);
    assert_eq!(progressive["scan"], "progressive", "{progressive}");
    assert!(progressive["basis"]
        .as_str()
        .unwrap()
        .starts_with("detected"));
}

#[test]
fn an_unflagged_sd_capture_idet_cannot_read_is_taken_as_interlaced() {
    let Some(corpus) = corpus() else { return };
    let master = corpus
        .parent()
        .unwrap()
        .join("video/NYULibraries_KMVFFV1.mkv");
    let dir = tempfile::tempdir().unwrap();
    let profile = caravan_proto::Profile::default();
    let made = crate::pipeline::video::run(
        &master,
        dir.path(),
        &profile,
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    let scan = &made.master_info["scan"];
    assert_eq!(scan["scan"], "interlaced, bottom field first", "{scan}");
    assert!(scan["basis"]
        .as_str()
        .unwrap()
        .contains("SD broadcast raster"));
}

/// Integrated loudness of a file's audio as FFmpeg's own `ebur128` filter measures it.
fn ffmpeg_integrated_lufs(path: &std::path::Path) -> f64 {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = &log[log.rfind("Summary:").expect("an ebur128 summary")..];
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("I:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn audio_loudness_is_measured_and_optionally_normalised_to_ebu_r128() {
    let dir = tempfile::tempdir().unwrap();
    let master = ffmpeg_make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=160x120:r=25:d=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:d=6",
            "-af",
            "volume=8dB",
            "-ac",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "pcm_s16le",
        ],
        &dir.path().join("tone.mkv"),
    );
    let run = |normalise: bool| {
        let mut profile = caravan_proto::Profile::default();
        profile.video.loudness_normalise = normalise;
        let out = dir.path().join(format!("out-{normalise}"));
        std::fs::create_dir_all(&out).unwrap();
        let made =
            crate::pipeline::video::run(&master, &out, &profile, &Default::default(), &mut |_| {})
                .unwrap();
        let ours = made.master_info["access_audio_loudness"]["integrated_lufs"]
            .as_f64()
            .unwrap();
        (ours, ffmpeg_integrated_lufs(&out.join("access.mp4")))
    };
    // As is: our meter agrees with FFmpeg's on the encoded result.
    let (ours, theirs) = run(false);
    assert!(
        (ours - theirs).abs() < 0.5,
        "ours {ours} vs ffmpeg {theirs}"
    );
    assert!(ours > -16.0, "the tone is well above the target: {ours}");
    // Normalised: at the target, as FFmpeg measures it.
    let (ours, theirs) = run(true);
    assert!((theirs + 23.0).abs() < 1.0, "normalised to {theirs} LUFS");
    assert!(
        (ours - theirs).abs() < 0.5,
        "ours {ours} vs ffmpeg {theirs}"
    );
}

/// A JP2 box: length, type, contents.
fn jp2_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

#[test]
fn jpeg2000_headers_are_read_before_decoding_and_truncation_is_caught() {
    use crate::pipeline::jp2::header;
    // SOC, SIZ (Lsiz 41, Rsiz, 640×480 from 0,0, one tile, 3 components), …, EOC.
    let mut codestream = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
    for v in [640u32, 480, 0, 0, 640, 480, 0, 0] {
        codestream.extend_from_slice(&v.to_be_bytes());
    }
    codestream.extend_from_slice(&[0, 3, 7, 1, 1, 7, 1, 1, 7, 1, 1, 0xFF, 0xD9]);
    let j2k = header(&codestream).unwrap();
    assert_eq!(
        (j2k.width, j2k.height, j2k.components, j2k.container),
        (640, 480, 3, "j2k")
    );

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&480u32.to_be_bytes());
    ihdr.extend_from_slice(&640u32.to_be_bytes());
    ihdr.extend_from_slice(&[0, 3, 7, 7, 0, 0]);
    let icc = b"an ICC profile".to_vec();
    let colr = [&[2u8, 0, 0][..], &icc].concat();
    let jp2h = [jp2_box(b"ihdr", &ihdr), jp2_box(b"colr", &colr)].concat();
    let file = [
        vec![
            0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ],
        jp2_box(b"jp2h", &jp2h),
        jp2_box(b"jp2c", &codestream),
    ]
    .concat();
    let jp2 = header(&file).unwrap();
    assert_eq!((jp2.width, jp2.height, jp2.container), (640, 480, "jp2"));
    assert_eq!(
        jp2.icc.as_deref(),
        Some(&icc[..]),
        "the colr box's ICC profile"
    );

    // Cut anywhere in the codestream: truncated, before any decoding.
    for cut in [file.len() - 1, file.len() - 20, 40] {
        let err = header(&file[..cut]).unwrap_err();
        assert_eq!(err.code(), "undecodable_input");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}

/// Runs the image pipeline with the default profile (no IIIF) and decodes its access JPEG.
fn access_jpeg(master: &std::path::Path, out: &std::path::Path) -> image::RgbImage {
    std::fs::create_dir_all(out).unwrap();
    let mut profile = caravan_proto::Profile::default();
    profile.image.iiif.enabled = false;
    crate::pipeline::image::run(&image_request(master, out, profile), &mut |_| {}).unwrap();
    image::open(out.join("access.jpg")).unwrap().into_rgb8()
}

#[test]
fn jpeg2000_masters_make_the_same_derivatives_as_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.png");
    image::RgbImage::from_fn(600, 400, |x, y| {
        image::Rgb([
            (x * 255 / 600) as u8,
            (y * 255 / 400) as u8,
            ((x + y) % 256) as u8,
        ])
    })
    .save(&source)
    .unwrap();
    let reference = access_jpeg(&source, &dir.path().join("ref"));
    let src = source.to_string_lossy().into_owned();
    // Lossless 5/3 wavelet: 8-bit JP2, 16-bit JP2, and a bare 8-bit codestream.
    let variants = [
        ("rgb8.jp2", vec!["-pix_fmt", "rgb24", "-format", "jp2"]),
        ("rgb16.jp2", vec!["-pix_fmt", "rgb48le", "-format", "jp2"]),
        ("rgb8.j2k", vec!["-pix_fmt", "rgb24", "-format", "j2k"]),
    ];
    for (name, args) in variants {
        let mut all = vec!["-i", src.as_str(), "-c:v", "jpeg2000", "-pred", "dwt53"];
        all.extend(args);
        let master = ffmpeg_make(&all, &dir.path().join(name));
        let ours = access_jpeg(&master, &dir.path().join(format!("out-{name}")));
        assert_eq!(ours.dimensions(), reference.dimensions(), "{name}");
        // FFmpeg's own encoder is not lossless at 16 bits: the reference for the decode is the
        // FFmpeg CLI's decode of the same file, as a 16-bit PNG.
        let decoded = ffmpeg_make(
            &["-i", &master.to_string_lossy(), "-pix_fmt", "rgb48be"],
            &dir.path().join(format!("{name}.png")),
        );
        let cli = access_jpeg(&decoded, &dir.path().join(format!("cli-{name}")));
        let diff = mean_abs_diff(&ours, &cli);
        assert!(
            diff < 1.5,
            "{name}: differs from the FFmpeg CLI's decode by {diff:.2}"
        );
        if name.starts_with("rgb8") {
            let diff = mean_abs_diff(&ours, &reference);
            assert!(
                diff < 1.5,
                "{name}: differs from the source's derivative by {diff:.2}"
            );
        }
    }

    // A truncated JP2 fails cleanly, as does the corpus's truncated balloon.
    let whole = std::fs::read(dir.path().join("rgb8.jp2")).unwrap();
    let cut = dir.path().join("cut.jp2");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let mut masters = vec![cut];
    masters.extend(corpus().map(|c| c.join("balloon_eciRGBv2_aware.jp2")));
    for master in masters {
        let out = dir.path().join("out-bad");
        std::fs::create_dir_all(&out).unwrap();
        let err = crate::pipeline::image::run(
            &image_request(&master, &out, caravan_proto::Profile::default()),
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(
            err.code(),
            "undecodable_input",
            "{}: {err}",
            master.display()
        );
    }

    // A header that declares a giant image is refused before anything is decoded.
    let mut bomb = whole.clone();
    let at = bomb.windows(4).position(|w| w == b"ihdr").unwrap() + 4;
    bomb[at..at + 8].copy_from_slice(&[0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60]);
    let master = dir.path().join("bomb.jp2");
    std::fs::write(&master, bomb).unwrap();
    let err = crate::pipeline::image::run(
        &image_request(&master, dir.path(), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code(), "limits_exceeded", "{err}");
}

/// What exiftool reads from `path` (the XMP and QuickTime tags, by name).
fn exiftool(path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new("exiftool")
        .args([
            "-json",
            "-charset",
            "utf8",
            "-XMP-dc:all",
            "-XMP-xmpRights:all",
            "-QuickTime:Title",
            "-QuickTime:Artist",
            "-QuickTime:Copyright",
        ])
        .arg(path)
        .output()
        .expect("exiftool is installed (libimage-exiftool-perl, scripts/setup.sh --for-tests)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

#[test]
fn title_creator_and_rights_reach_every_public_derivative() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = caravan_proto::AssetMetadata {
        title: Some("全景 · بانوراما <Panorama & \"Co\">".into()),
        creator: Some("Katsushika Hokusai".into()),
        rights: Some("© Sharjah Museums Authority".into()),
        rights_uri: Some("http://rightsstatements.org/vocab/InC/1.0/".into()),
    };
    let expect = |path: &std::path::Path| {
        let tags = exiftool(path);
        let what = path.display();
        assert_eq!(
            tags["Title"], "全景 · بانوراما <Panorama & \"Co\">",
            "{what}: {tags}"
        );
        assert_eq!(tags["Creator"], "Katsushika Hokusai", "{what}");
        assert_eq!(tags["Rights"], "© Sharjah Museums Authority", "{what}");
        assert_eq!(
            tags["WebStatement"], "http://rightsstatements.org/vocab/InC/1.0/",
            "{what}"
        );
    };

    // Images: JPEG and WebP access copies and the thumbnail; info.json's `rights`.
    let master = dir.path().join("master.png");
    image::RgbImage::from_pixel(900, 600, image::Rgb([90, 120, 150]))
        .save(&master)
        .unwrap();
    let out = dir.path().join("image");
    std::fs::create_dir_all(&out).unwrap();
    let mut request = image_request(&master, &out, caravan_proto::Profile::default());
    request.metadata = metadata.clone();
    crate::pipeline::image::run(&request, &mut |_| {}).unwrap();
    for file in ["access.jpg", "access.webp", "thumb.jpg"] {
        expect(&out.join(file));
    }
    // The WebP is still a WebP every decoder reads.
    assert_eq!(image::open(out.join("access.webp")).unwrap().width(), 900);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("iiif/info.json")).unwrap()).unwrap();
    assert_eq!(info["rights"], "http://rightsstatements.org/vocab/InC/1.0/");

    // Video: MP4 tags, and XMP in the poster.
    let clip = ffmpeg_make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=320x240:r=25:d=1",
            "-c:v",
            "ffv1",
        ],
        &dir.path().join("clip.mkv"),
    );
    let out = dir.path().join("video");
    std::fs::create_dir_all(&out).unwrap();
    let profile = caravan_proto::Profile::default();
    crate::pipeline::video::run(&clip, &out, &profile, &metadata, &mut |_| {}).unwrap();
    let tags = exiftool(&out.join("access.mp4"));
    assert_eq!(
        tags["Title"], "全景 · بانوراما <Panorama & \"Co\">",
        "{tags}"
    );
    assert_eq!(tags["Artist"], "Katsushika Hokusai");
    assert_eq!(tags["Copyright"], "© Sharjah Museums Authority");
    expect(&out.join("poster.jpg"));
}

/// A tiled TIFF stored plane by plane (PlanarConfiguration 2), uncompressed, 16-bit RGB, written
/// by hand: `image` has no writer for it.
fn planar_tiled_tiff(
    path: &std::path::Path,
    picture: &image::ImageBuffer<image::Rgb<u16>, Vec<u16>>,
) {
    let (w, h) = picture.dimensions();
    let tile = 32u32;
    let (across, down) = (w.div_ceil(tile), h.div_ceil(tile));
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for plane in 0..3 {
        for ty in 0..down {
            for tx in 0..across {
                offsets.push(8 + data.len() as u32);
                // Tiles are stored whole; past the image's edge they are padding.
                for y in 0..tile {
                    for x in 0..tile {
                        let (px, py) = (tx * tile + x, ty * tile + y);
                        let v = if px < w && py < h {
                            picture.get_pixel(px, py).0[plane]
                        } else {
                            0
                        };
                        data.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
    }
    let count = offsets.len() as u32;
    let tile_bytes = tile * tile * 2;
    let bits_at = 8 + data.len() as u32;
    let offsets_at = bits_at + 6;
    let counts_at = offsets_at + 4 * count;
    let ifd_at = counts_at + 4 * count;
    let mut file = b"II*\0".to_vec();
    file.extend_from_slice(&ifd_at.to_le_bytes());
    file.extend_from_slice(&data);
    for _ in 0..3 {
        file.extend_from_slice(&16u16.to_le_bytes());
    }
    for o in &offsets {
        file.extend_from_slice(&o.to_le_bytes());
    }
    for _ in 0..count {
        file.extend_from_slice(&tile_bytes.to_le_bytes());
    }
    // (tag, type (3 short, 4 long), count, value or offset)
    let entries: [(u16, u16, u32, u32); 11] = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 3, bits_at),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (277, 3, 1, 3),
        (284, 3, 1, 2),
        (322, 4, 1, tile),
        (323, 4, 1, tile),
        (324, 4, count, offsets_at),
        (325, 4, count, counts_at),
    ];
    file.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, n, value) in entries {
        file.extend_from_slice(&tag.to_le_bytes());
        file.extend_from_slice(&kind.to_le_bytes());
        file.extend_from_slice(&n.to_le_bytes());
        file.extend_from_slice(&value.to_le_bytes());
    }
    file.extend_from_slice(&0u32.to_le_bytes());
    std::fs::write(path, file).unwrap();
}

#[test]
fn tiffs_stored_plane_by_plane_are_assembled() {
    let dir = tempfile::tempdir().unwrap();
    // 16-bit RGB, 100×70: tiles of 32 leave partial tiles on the right and bottom edges.
    let picture = image::ImageBuffer::from_fn(100, 70, |x, y| {
        image::Rgb([(x * 650) as u16, (y * 930) as u16, ((x + y) * 380) as u16])
    });
    let planar = dir.path().join("planar.tif");
    planar_tiled_tiff(&planar, &picture);
    let contiguous = dir.path().join("contiguous.png");
    image::DynamicImage::ImageRgb16(picture)
        .save(&contiguous)
        .unwrap();
    let ours = access_jpeg(&planar, &dir.path().join("planar"));
    let reference = access_jpeg(&contiguous, &dir.path().join("contiguous"));
    assert_eq!(ours.dimensions(), (100, 70));
    let diff = mean_abs_diff(&ours, &reference);
    assert!(
        diff < 0.5,
        "planar and contiguous masters differ by {diff:.2}"
    );

    // The corpus's tiled, planar, LZW TIFF (a photo beside a screenshot; black bar top left).
    let Some(corpus) = corpus() else { return };
    let access = access_jpeg(
        &corpus.join("tiff_tiled_planar_lzw.tiff"),
        &dir.path().join("corpus"),
    );
    assert_eq!(access.dimensions(), (278, 374));
    assert!(
        access.get_pixel(10, 10).0.iter().all(|&c| c < 40),
        "black bar"
    );
    let sky = access.get_pixel(40, 100).0;
    assert!(sky.iter().all(|&c| c > 60), "sky, not black: {sky:?}");
    let ui = access.get_pixel(250, 160).0;
    assert!(
        ui.iter().all(|&c| c > 200),
        "white spreadsheet cells: {ui:?}"
    );
}

/// Runs libtiff's `tiffcp` (or `tiffset`) with `args`.
fn libtiff(tool: &str, args: &[&str]) {
    let status = std::process::Command::new(tool)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{tool} (Debian libtiff-tools) is installed: {e}"));
    assert!(status.success(), "{tool} {args:?}");
}

#[test]
fn tiff_variants_the_image_crate_cannot_read_make_the_same_derivatives() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    // A picture with smooth gradients and hard edges, stored uncompressed.
    let picture = image::RgbImage::from_fn(320, 200, |x, y| {
        let edge = if (x / 40 + y / 40) % 2 == 0 { 60 } else { 0 };
        image::Rgb([(x * 255 / 320) as u8, (y * 255 / 200) as u8, 120 + edge])
    });
    let plain = path("plain.tif");
    picture.save(&plain).unwrap();
    let reference = access_jpeg(&plain, &path("plain"));
    // Which decoder read `master`, as its receipt says.
    let decoded_by = |master: &std::path::Path| {
        let out = tempfile::tempdir().unwrap();
        let mut profile = caravan_proto::Profile::default();
        profile.image.iiif.enabled = false;
        let made =
            crate::pipeline::image::run(&image_request(master, out.path(), profile), &mut |_| {})
                .unwrap();
        made.master_info["decoder"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    // JPEG-compressed YCbCr (4:2:0, shared JPEG tables): the `image` crate refuses its colour
    // type; the `tiff` crate decodes it and we convert to RGB.
    let jpeg = path("jpeg.tif");
    libtiff(
        "tiffcp",
        &["-c", "jpeg:95", "-r", "16", as_arg(&plain), as_arg(&jpeg)],
    );
    assert!(decoded_by(&jpeg).starts_with("the tiff crate (JPEG-compressed YCbCr)"));
    let ours = access_jpeg(&jpeg, &path("jpeg"));
    let diff = mean_abs_diff(&ours, &reference);
    assert!(
        diff < 3.0,
        "JPEG-in-TIFF differs from its source by {diff:.2}"
    );
    // Its Orientation tag is honoured (6: rotate 90° clockwise to view).
    libtiff("tiffset", &["-s", "274", "6", as_arg(&jpeg)]);
    let turned = access_jpeg(&jpeg, &path("jpeg-turned"));
    assert_eq!(turned.dimensions(), (200, 320));
    let top_left = turned.get_pixel(5, 5).0;
    // The source's bottom-left corner (red 0, green high) is now top left.
    assert!(top_left[0] < 40 && top_left[1] > 200, "{top_left:?}");

    // Palette colour, written by the FFmpeg CLI: the same derivative as its colours spelt out.
    let palette = ffmpeg_make(
        &["-i", as_arg(&plain), "-pix_fmt", "pal8"],
        &path("palette.tif"),
    );
    assert!(decoded_by(&palette).starts_with("FFmpeg's TIFF decoder"));
    let spelt_out = ffmpeg_make(
        &["-i", as_arg(&palette), "-pix_fmt", "rgb24"],
        &path("palette.png"),
    );
    let diff = mean_abs_diff(
        &access_jpeg(&palette, &path("palette")),
        &access_jpeg(&spelt_out, &path("spelt-out")),
    );
    assert!(diff < 0.5, "palette TIFF differs by {diff:.2}");

    // A bitonal scan, CCITT Group 3: the same pixels as the uncompressed 1-bit TIFF.
    let bitonal = ffmpeg_make(
        &["-i", as_arg(&plain), "-pix_fmt", "monob"],
        &path("bitonal.tif"),
    );
    let fax = path("fax.tif");
    libtiff("tiffcp", &["-c", "g3", as_arg(&bitonal), as_arg(&fax)]);
    assert!(decoded_by(&fax).starts_with("FFmpeg's TIFF decoder"));
    let diff = mean_abs_diff(
        &access_jpeg(&fax, &path("fax")),
        &access_jpeg(&bitonal, &path("bitonal")),
    );
    assert!(diff < 0.5, "Group 3 TIFF differs by {diff:.2}");

    // Cut short, a JPEG-compressed TIFF is a clean failure, not half a picture.
    let bytes = std::fs::read(&jpeg).unwrap();
    let cut = path("cut.tif");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    std::fs::create_dir_all(path("cut")).unwrap();
    let err = crate::pipeline::image::run(
        &image_request(&cut, &path("cut"), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code(), "undecodable_input", "{err}");
}

/// Runs Little CMS's `jpgicc` or `tificc` (Debian liblcms2-utils) with `args`.
fn lcms(tool: &str, args: &[&str]) {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian liblcms2-utils) is installed: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cmyk_masters_are_converted_through_their_cmyk_profile_as_little_cms_does() {
    // Ghostscript's SWOP press profile (Debian libgs-common), embedded by Little CMS's tools,
    // which also make the reference: relative colorimetric, as we convert.
    let press = "/usr/share/color/icc/ghostscript/default_cmyk.icc";
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let picture = image::RgbImage::from_fn(320, 200, |x, y| {
        let patch = [
            [230, 30, 40],
            [20, 160, 60],
            [30, 60, 200],
            [250, 220, 30],
            [15, 15, 15],
        ];
        if y < 60 {
            image::Rgb(patch[(x / 64) as usize])
        } else {
            image::Rgb([(x * 255 / 320) as u8, (y * 255 / 200) as u8, 140])
        }
    });
    let close = |ours: &image::RgbImage, reference: &std::path::Path, limit: f64| {
        let reference = image::open(reference).unwrap().into_rgb8();
        let diff = mean_abs_diff(ours, &reference);
        assert!(diff < limit, "differs from Little CMS by {diff:.2}");
    };

    // JPEG: Adobe CMYK behind a YCCK transform, stored inverted, with the profile embedded.
    picture.save(path("rgb.jpg")).unwrap();
    let cmyk_jpeg = path("cmyk.jpg");
    lcms(
        "jpgicc",
        &[
            &format!("-o{press}"),
            "-e",
            "-q95",
            as_arg(&path("rgb.jpg")),
            as_arg(&cmyk_jpeg),
        ],
    );
    lcms(
        "jpgicc",
        &[
            "-t1",
            "-q100",
            as_arg(&cmyk_jpeg),
            as_arg(&path("reference.jpg")),
        ],
    );
    let (access, _, made) = access_of(&cmyk_jpeg);
    let colour = made.master_info["colour"].as_str().unwrap();
    assert!(
        colour.contains("converted") && colour.contains("SWOP"),
        "{colour}"
    );
    close(&access, &path("reference.jpg"), 2.5);

    // TIFF: separated 8-bit samples with the profile in its ICC tag.
    picture.save(path("rgb.tif")).unwrap();
    let cmyk_tiff = path("cmyk.tif");
    lcms(
        "tificc",
        &[
            &format!("-o{press}"),
            "-e",
            as_arg(&path("rgb.tif")),
            as_arg(&cmyk_tiff),
        ],
    );
    lcms(
        "tificc",
        &["-t1", as_arg(&cmyk_tiff), as_arg(&path("reference.tif"))],
    );
    let (access, _, made) = access_of(&cmyk_tiff);
    let colour = made.master_info["colour"].as_str().unwrap();
    assert!(
        colour.contains("converted") && colour.contains("SWOP"),
        "{colour}"
    );
    close(&access, &path("reference.tif"), 2.0);
}
