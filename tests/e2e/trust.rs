//! Trust, end to end, on the sample batch processed by `caravan run --signing-dir`: every public
//! JPEG, WebP and MP4 carries content credentials that c2pa-python (the C2PA project's binding,
//! not our code) reads as valid — untrusted test CA, nothing else — and as broken after one
//! flipped byte; every receipt's signature verifies with `openssl pkeyutl` and fails after one
//! flipped byte; `caravan verify` passes the fresh folder and detects every kind of tampering,
//! each on a copy of its own, naming the object.

use std::path::{Path, PathBuf};

use caravan_proto::Receipt;
use caravan_testkit::files::files_below;
use serde_json::Value;

use crate::common::trust::{c2pa_read, flip_byte, generate_keys, openssl_verifies, verify};
use crate::common::*;

/// The signed outputs of the sample batch (made once per test binary), and the key folder.
fn signed_batch() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUN: std::sync::OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> =
        std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let keys = generate_keys(dir.path());
        let out = dir.path().join("out");
        let summary = run_json(
            &[
                "run",
                sample_batch().to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--signing-dir",
                keys.to_str().unwrap(),
                "--json",
            ],
            &[],
        );
        check_first_run(&summary);
        (dir, out, keys)
    })
}

fn receipts(out: &Path) -> Vec<(PathBuf, Receipt)> {
    files_below(&out.join("receipts"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let receipt = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p, receipt)
        })
        .collect()
}

#[test]
fn content_credentials_read_valid_in_c2pa_python_and_a_flipped_byte_breaks_them() {
    let (_dir, out, _keys) = signed_batch();
    let mut files = Vec::new();
    let mut sources = Vec::new();
    for (_, receipt) in receipts(out) {
        for output in &receipt.outputs {
            let public = ["image/jpeg", "image/webp", "video/mp4"]
                .contains(&output.media_type.as_str())
                && !output.name.as_str().contains('/');
            // Every public picture and access video carries credentials; tiles and segments do
            // not.
            assert_eq!(output.content_credentials, public, "{}", output.key);
            if public {
                assert_ne!(
                    output.content_sha256.as_deref(),
                    Some(output.sha256.as_str())
                );
                files.push((output.media_type.clone(), out.join(&output.key)));
                sources.push((
                    receipt.asset_id.to_string(),
                    receipt.metadata.digital_source_type.clone(),
                ));
            }
        }
    }
    // 20 images × 5 (two access sizes in JPEG and WebP, a thumbnail) + 2 videos × 3.
    assert_eq!(files.len(), GOOD_ASSETS * 5 - 2 * 5 + 2 * 3, "{files:?}");
    let read = c2pa_read(&files);
    for (found, (asset, _)) in read.iter().zip(&sources) {
        assert_eq!(found["state"], "Valid", "{found}");
        assert_eq!(
            found["failures"],
            serde_json::json!(["signingCredential.untrusted"]),
            "{found}"
        );
        assert_eq!(found["parent"], format!("sha256:{asset}"), "{found}");
        assert_eq!(found["actions"][0], "c2pa.opened", "{found}");
        assert!(
            found["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "c2pa.transcoded"),
            "{found}"
        );
    }

    // One byte of picture data flipped, in a copy of one file of each kind.
    let scratch = tempfile::tempdir().unwrap();
    let mut broken = Vec::new();
    for media_type in ["image/jpeg", "image/webp", "video/mp4"] {
        let (_, path) = files.iter().find(|(m, _)| m == media_type).unwrap();
        let copy = scratch.path().join(path.file_name().unwrap());
        std::fs::copy(path, &copy).unwrap();
        let bytes = std::fs::read(&copy).unwrap();
        let marker: &[u8] = match media_type {
            "image/jpeg" => &[0xFF, 0xDA],
            "image/webp" => b"VP8",
            _ => b"mdat",
        };
        let at = bytes
            .windows(marker.len())
            .rposition(|w| w == marker)
            .unwrap()
            + 64;
        flip_byte(&copy, at as i64);
        broken.push((media_type.to_owned(), copy));
    }
    for (found, (media_type, _)) in c2pa_read(&broken).iter().zip(&broken) {
        let expected = if media_type == "video/mp4" {
            "assertion.bmffHash.mismatch"
        } else {
            "assertion.dataHash.mismatch"
        };
        assert!(
            found["failures"]
                .as_array()
                .is_some_and(|f| f.iter().any(|c| c == expected)),
            "{media_type}: {found}"
        );
    }
}

#[test]
fn receipts_verify_with_openssl_and_a_flipped_byte_fails() {
    let (_dir, out, keys) = signed_batch();
    let key_id = std::fs::read_to_string(keys.join("key-id")).unwrap();
    // The key the store publishes is the generated one.
    let published = out.join(format!("keys/{}.pub", key_id.trim()));
    assert_eq!(
        std::fs::read(&published).unwrap(),
        std::fs::read(keys.join("signing.pem")).unwrap()
    );
    let all = receipts(out);
    assert_eq!(all.len(), GOOD_ASSETS);
    for (path, receipt) in &all {
        assert_eq!(receipt.signed_by.as_ref().unwrap().key_id, key_id.trim());
        let signature = PathBuf::from(format!("{}.sig", path.display()));
        assert!(
            openssl_verifies(&published, path, &signature),
            "{}",
            path.display()
        );
    }
    let scratch = tempfile::tempdir().unwrap();
    let (path, _) = &all[0];
    let copy = scratch.path().join("receipt.json");
    std::fs::copy(path, &copy).unwrap();
    flip_byte(&copy, 200);
    let signature = PathBuf::from(format!("{}.sig", path.display()));
    assert!(!openssl_verifies(&published, &copy, &signature));
}

/// A copy of the signed output folder, to tamper with.
fn copy_of(out: &Path, into: &Path) -> PathBuf {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(out)
        .arg(into)
        .status()
        .unwrap();
    assert!(status.success());
    into.to_owned()
}

fn failed_objects(report: &Value) -> Vec<String> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "failed")
        .map(|l| l["object"].as_str().unwrap().to_owned())
        .collect()
}

fn problems_of(report: &Value, object: &str) -> String {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["object"] == object)
        .map(|l| l["problems"].to_string())
        .collect()
}

#[test]
fn verify_passes_a_fresh_folder_and_detects_every_kind_of_tampering() {
    let (_dir, out, keys) = signed_batch();
    let key = keys.join("signing.pem");
    let key_arg = ["--key", key.to_str().unwrap()];
    let (passed, report) = verify(out, &key_arg);
    assert!(passed, "{report:#}");
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["unsigned"], 0);
    let outputs: usize = receipts(out).iter().map(|(_, r)| r.outputs.len()).sum();
    // Every receipt and output has its line, and the log its own.
    assert_eq!(
        report["summary"]["objects"].as_u64().unwrap() as usize,
        outputs + GOOD_ASSETS + 1
    );
    // Offline with nothing but the public key, and also from a single derivative or receipt.
    // Two image receipts (a video master's asset id, and so its place in the listing, changes
    // from one generated batch to the next: the Matroska segment has a random UID).
    let all: Vec<_> = (receipts(out).into_iter())
        .filter(|(_, r)| r.kind == caravan_proto::JobKind::Image)
        .collect();
    let (receipt_path, receipt) = &all[0];
    let derivative = out.join(&receipt.outputs[0].key);
    for one in [derivative.as_path(), receipt_path.as_path()] {
        let (passed, report) = verify(one, &key_arg);
        assert!(passed, "{}: {report:#}", one.display());
    }
    // A tree head kept from today is still extended by the log.
    let heads = files_below(&out.join("log/tree-heads"));
    let latest = heads
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .max()
        .unwrap();
    let kept = tempfile::tempdir().unwrap();
    let kept_head = kept.path().join("head.json");
    std::fs::copy(latest, &kept_head).unwrap();
    std::fs::copy(
        format!("{}.sig", latest.display()),
        kept.path().join("head.json.sig"),
    )
    .unwrap();
    let (passed, report) = verify(
        out,
        &[&key_arg[..], &["--tree-head", kept_head.to_str().unwrap()]].concat(),
    );
    assert!(passed, "{report:#}");

    // Each tampering on its own copy: (what, object the report must name as failed, change).
    let (_, other) = &all[1];
    let jpeg = receipt
        .outputs
        .iter()
        .find(|o| o.name.as_str() == "access.jpg")
        .unwrap();
    let tile = receipt
        .outputs
        .iter()
        .find(|o| o.name.as_str().starts_with("iiif/") && o.media_type == "image/jpeg")
        .unwrap();
    let other_jpeg = other
        .outputs
        .iter()
        .find(|o| o.name.as_str() == "access.jpg")
        .unwrap();
    let receipt_key = format!("receipts/{}/default.json", receipt.asset_id);
    let other_key = format!("receipts/{}/default.json", other.asset_id);
    let entry = files_below(&out.join("log/entries"))
        .into_iter()
        .next()
        .unwrap()
        .strip_prefix(out)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let head = latest
        .strip_prefix(out)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    type Change = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, String, Change)> = vec![
        ("a byte of a derivative", jpeg.key.clone(), {
            let key = jpeg.key.clone();
            Box::new(move |root: &Path| flip_byte(&root.join(&key), -100))
        }),
        ("a byte of a IIIF tile", tile.key.clone(), {
            let key = tile.key.clone();
            Box::new(move |root: &Path| flip_byte(&root.join(&key), -50))
        }),
        ("a byte of a receipt", receipt_key.clone(), {
            let key = receipt_key.clone();
            Box::new(move |root: &Path| flip_byte(&root.join(&key), 300))
        }),
        ("a byte of a signature", receipt_key.clone(), {
            let key = format!("{receipt_key}.sig");
            Box::new(move |root: &Path| flip_byte(&root.join(&key), 5))
        }),
        ("a byte of a log entry", entry.clone(), {
            let key = entry.clone();
            Box::new(move |root: &Path| flip_byte(&root.join(&key), 60))
        }),
        ("a byte of the tree head", head.clone(), {
            let key = head.clone();
            Box::new(move |root: &Path| flip_byte(&root.join(&key), 40))
        }),
        ("a byte of an inclusion proof", receipt_key.clone(), {
            let key = receipt_key.replace("receipts/", "log/proofs/");
            Box::new(move |root: &Path| flip_byte(&root.join(&key), -20))
        }),
        ("a deleted receipt", receipt_key.clone(), {
            let key = receipt_key.clone();
            Box::new(move |root: &Path| std::fs::remove_file(root.join(&key)).unwrap())
        }),
        ("two receipts swapped", other_key.clone(), {
            let (a, b) = (receipt_key.clone(), other_key.clone());
            Box::new(move |root: &Path| {
                let (a, b) = (root.join(&a), root.join(&b));
                let swap = a.with_extension("swap");
                std::fs::rename(&a, &swap).unwrap();
                std::fs::rename(&b, &a).unwrap();
                std::fs::rename(&swap, &b).unwrap();
            })
        }),
        (
            "a derivative replaced by another asset's",
            jpeg.key.clone(),
            {
                let (key, from) = (jpeg.key.clone(), other_jpeg.key.clone());
                Box::new(move |root: &Path| {
                    std::fs::copy(root.join(&from), root.join(&key)).unwrap();
                })
            },
        ),
    ];
    let scratch = tempfile::tempdir().unwrap();
    let mut detected = 0;
    for (i, (what, object, change)) in cases.iter().enumerate() {
        let copy = copy_of(out, &scratch.path().join(format!("case-{i}")));
        change(&copy);
        let (passed, report) = verify(&copy, &key_arg);
        let failed = failed_objects(&report);
        assert!(!passed, "{what}: verify passed\n{report:#}");
        assert!(
            failed.contains(object),
            "{what}: no failed line names {object}; failed: {failed:?}"
        );
        println!(
            "{what}: detected — {object}: {}",
            problems_of(&report, object)
        );
        detected += 1;
        std::fs::remove_dir_all(&copy).unwrap();
    }
    assert_eq!(detected, cases.len());
}
