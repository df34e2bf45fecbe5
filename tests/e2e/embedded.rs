//! `caravan run` as a new user runs it: the real binary, no broker, no S3.

use caravan_store::{LocalStore, Store};
use caravan_testkit::files::files_below;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_run_makes_verified_derivatives_and_a_rerun_does_no_work() {
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_str().unwrap();
    let batch = sample_batch().to_str().unwrap();

    let first = run_json(&["run", batch, "--out", out_path, "--json"], &[]);
    check_first_run(&first);
    let store = Store::Local(LocalStore::new(out.path()));
    let workers = check_receipts(&store, &first).await;
    assert_eq!(workers.len(), GOOD_ASSETS);

    // The batch index is in the store and `status` reads it back.
    let batch_id = first["batch_id"].as_str().unwrap();
    assert!(out
        .path()
        .join(format!("batches/{batch_id}/index.json"))
        .is_file());
    let status = run_json(
        &["status", batch_id, "--store-dir", out_path, "--json"],
        &[],
    );
    assert_eq!(names(&status, "done"), names(&first, "done"));
    assert_eq!(names(&status, "failed"), vec![CORRUPT.to_owned()]);

    let second = run_json(&["run", batch, "--out", out_path, "--json"], &[]);
    check_second_run(&second);

    // Reproducible: the same masters and profile, processed again from scratch by another
    // process at another time — this time signing, so the public files carry content
    // credentials (new signatures and ids each run) — give the same content: every output's
    // content hash (its SHA-256 before credentials) is the first run's SHA-256.
    let again = tempfile::tempdir().unwrap();
    let keys = crate::common::trust::generate_keys(again.path());
    let signed_out = again.path().join("out");
    let third = run_json(
        &[
            "run",
            batch,
            "--out",
            signed_out.to_str().unwrap(),
            "--signing-dir",
            keys.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(names(&third, "done"), names(&first, "done"));
    let (made, remade) = (output_hashes(out.path()), output_hashes(&signed_out));
    assert!(made.len() > 500, "{} outputs", made.len());
    let differ: Vec<_> = made
        .iter()
        .filter(|(key, _)| key.1 != "manifest.json")
        .filter(|(key, (sha256, _))| remade.get(*key).map(|(_, content)| content) != Some(sha256))
        .map(|(key, _)| key)
        .collect();
    assert!(differ.is_empty(), "outputs differ between runs: {differ:?}");
    // The IIIF manifests are the same but for the signed run's link to each receipt's signature.
    let manifest = |root: &std::path::Path, asset: &str| -> serde_json::Value {
        let path = root.join(format!("derivatives/{asset}/default/manifest.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let assets: std::collections::BTreeSet<_> = made.keys().map(|(asset, _)| asset).collect();
    for asset in assets {
        let mut signed_manifest = manifest(&signed_out, asset);
        let signature = signed_manifest["seeAlso"]
            .as_array_mut()
            .unwrap()
            .pop()
            .unwrap();
        let receipt = format!("receipts/{asset}/default.json.sig");
        assert!(
            signature["id"].as_str().unwrap().ends_with(&receipt),
            "{asset}: {signature}"
        );
        assert!(signed_out.join(&receipt).is_file(), "{receipt}");
        assert_eq!(manifest(out.path(), asset), signed_manifest, "{asset}");
    }
    let signed = remade
        .values()
        .filter(|(sha256, content)| sha256 != content)
        .count();
    assert!(
        signed > 100,
        "only {signed} outputs carry content credentials"
    );
}

/// Every output's SHA-256 and content hash (its SHA-256 before content credentials, the
/// SHA-256 itself for a file without) in the receipts below `root`, by asset and output name.
fn output_hashes(
    root: &std::path::Path,
) -> std::collections::BTreeMap<(String, String), (String, String)> {
    let mut hashes = std::collections::BTreeMap::new();
    for receipt in files_below(&root.join("receipts")) {
        if receipt.extension().is_some_and(|e| e == "sig") {
            continue;
        }
        let asset = receipt
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&receipt).unwrap()).unwrap();
        for output in json["outputs"].as_array().unwrap() {
            let sha256 = output["sha256"].as_str().unwrap().to_owned();
            let content = output["content_sha256"]
                .as_str()
                .map_or_else(|| sha256.clone(), str::to_owned);
            hashes.insert(
                (asset.clone(), output["name"].as_str().unwrap().to_owned()),
                (sha256, content),
            );
        }
    }
    hashes
}
