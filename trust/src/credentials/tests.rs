//! Content credentials embedded in files FFmpeg made, read back by the `c2pa` crate's reader
//! (the third-party reader, c2pa-python, reads them in the end-to-end tests).

use std::path::{Path, PathBuf};

use caravan_proto::AssetMetadata;
use caravan_testkit::ffmpeg;

use super::{master_instance_id, read_file, ContentCredentials, Facts};
use crate::keys::{generate, SigningKeys};

const MASTER: &str = "5337cae8deb3d662d71e1655bdb3636f90a9c42a7b70982b3efbf041dde3d382";

fn credentials(dir: &Path) -> ContentCredentials {
    let keys_dir = dir.join("keys");
    generate(&keys_dir).unwrap();
    ContentCredentials::new(&SigningKeys::load_dir(&keys_dir).unwrap()).unwrap()
}

fn metadata() -> AssetMetadata {
    AssetMetadata {
        title: Some("ภาพวาด · لوحة".into()),
        creator: Some("An AI model, prompted by the curators".into()),
        rights: Some("© Bangkok Art and Culture Centre".into()),
        rights_uri: Some("http://rightsstatements.org/vocab/InC/1.0/".into()),
        digital_source_type: Some("trainedAlgorithmicMedia".into()),
        ..Default::default()
    }
}

fn samples(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let picture = ["-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1"];
    let jpeg = ffmpeg::make(&picture, &dir.join("access.jpg"));
    let webp = ffmpeg::make(
        &[&picture[..], &["-c:v", "libwebp"]].concat(),
        &dir.join("access.webp"),
    );
    let mp4 = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        &dir.join("access.mp4"),
    );
    vec![
        (jpeg, "image/jpeg"),
        (webp, "image/webp"),
        (mp4, "video/mp4"),
    ]
}

/// Flips one byte of the picture data: after the JPEG's start of scan, inside the WebP's
/// `VP8 ` chunk, inside the MP4's `mdat`.
fn flip_picture_byte(path: &Path, media_type: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let marker: &[u8] = match media_type {
        "image/jpeg" => &[0xFF, 0xDA],
        "image/webp" => b"VP8",
        _ => b"mdat",
    };
    let at = bytes
        .windows(marker.len())
        .rposition(|w| w == marker)
        .unwrap()
        + 100;
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn embedded_credentials_read_back_valid_with_master_rights_and_source_type_and_a_flipped_byte_breaks_the_binding(
) {
    let dir = tempfile::tempdir().unwrap();
    let signer = credentials(dir.path());
    let meta = metadata();
    for (path, media_type) in samples(dir.path()) {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let unsigned = std::fs::read(&path).unwrap();
        let facts = Facts {
            title: &name,
            media_type,
            master_sha256: MASTER,
            master_media_type: "image/tiff",
            actions: &["c2pa.transcoded", "c2pa.resized"],
            metadata: &meta,
        };
        signer.embed(&path, &facts).unwrap();
        let signed = std::fs::read(&path).unwrap();
        assert!(
            signed.len() > unsigned.len(),
            "{name}: a manifest was added"
        );

        let found = read_file(&path, media_type).unwrap();
        assert!(found.problems.is_empty(), "{name}: {:?}", found.problems);
        assert!(
            !found.trusted,
            "{name}: the development CA is not a trusted root"
        );
        assert_eq!(
            found.master.as_deref(),
            Some(master_instance_id(MASTER).as_str())
        );
        assert_eq!(found.rights, meta.rights);
        assert_eq!(
            found.digital_source_type.as_deref(),
            Some("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
        );

        flip_picture_byte(&path, media_type);
        let broken = read_file(&path, media_type);
        let problems = match broken {
            Ok(found) => found.problems,
            Err(e) => vec![e],
        };
        let expected = if media_type == "video/mp4" {
            "assertion.bmffHash.mismatch"
        } else {
            "assertion.dataHash.mismatch"
        };
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{name}: {problems:?}"
        );
    }
}

#[test]
fn a_file_without_credentials_reads_as_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ffmpeg::make(
        &["-f", "lavfi", "-i", "testsrc2=s=64x64", "-frames:v", "1"],
        &dir.path().join("plain.jpg"),
    );
    assert!(read_file(&plain, "image/jpeg").is_err());
}
