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
}
