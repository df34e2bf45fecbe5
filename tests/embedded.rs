//! `caravan run` as a new user runs it: the real binary, no broker, no S3.

mod common;

use caravan_store::{LocalStore, Store};
use common::*;

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
        .join(format!("batches/{batch_id}.json"))
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
    // process at another time, give byte-identical outputs (every SHA-256 in the receipts).
    let again = tempfile::tempdir().unwrap();
    let third = run_json(
        &[
            "run",
            batch,
            "--out",
            again.path().to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(names(&third, "done"), names(&first, "done"));
    let (made, remade) = (output_hashes(out.path()), output_hashes(again.path()));
    assert!(made.len() > 500, "{} outputs", made.len());
    let differ: Vec<_> = made
        .iter()
        .filter(|(key, hash)| remade.get(*key) != Some(*hash))
        .map(|(key, _)| key)
        .collect();
    assert!(differ.is_empty(), "outputs differ between runs: {differ:?}");
}

/// Every output's SHA-256 in the receipts below `root`, by asset and output name.
fn output_hashes(root: &std::path::Path) -> std::collections::BTreeMap<(String, String), String> {
    let mut hashes = std::collections::BTreeMap::new();
    for receipt in files_below(&root.join("receipts")) {
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
            hashes.insert(
                (asset.clone(), output["name"].as_str().unwrap().to_owned()),
                output["sha256"].as_str().unwrap().to_owned(),
            );
        }
    }
    hashes
}
