//! The cluster: `caravan worker` processes of the real binary on RabbitMQ and Garage, fed by
//! `caravan submit`. Each test uses its own queue prefix and bucket.

use caravan_testkit::files::files_below;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_process_a_batch_through_rabbitmq_and_s3() {
    let mut cluster = Cluster::new("e2e", garage_env().clone(), &[]).await;
    cluster.start_worker(&[]);
    cluster.start_worker(&[]);
    let store = cluster.store.clone();

    let first = cluster.submit(sample_batch(), &[]);
    check_first_run(&first);
    let mut made_by = check_receipts(&store, &first).await;
    made_by.sort();
    made_by.dedup();
    assert_eq!(
        made_by.len(),
        2,
        "both workers should have taken jobs: {made_by:?}"
    );

    // Masters were uploaded under their hash; the batch index and failure record are stored.
    for item in first["done"].as_array().unwrap() {
        let asset = caravan_proto::AssetId::parse(item["asset_id"].as_str().unwrap()).unwrap();
        assert!(store
            .size_of(&caravan_proto::keys::master(&asset))
            .await
            .unwrap()
            .is_some());
    }
    let batch_id = caravan_proto::BatchId::parse(first["batch_id"].as_str().unwrap()).unwrap();
    assert!(store
        .size_of(&caravan_proto::keys::batch_header(&batch_id))
        .await
        .unwrap()
        .is_some());

    let status = cluster.run_json(&["status", batch_id.as_str(), "--json"]);
    assert_eq!(names(&status, "done").len(), GOOD_ASSETS);
    assert_eq!(status["failed"][0]["code"], "undecodable_input");

    let second = cluster.submit(sample_batch(), &[]);
    check_second_run(&second);

    cluster.stop_workers();

    // The cluster's queues leave the shared broker with it, as RabbitMQ itself lists them.
    let prefix = format!("{}.", cluster.prefix);
    let before = broker_queues();
    assert!(
        before.iter().filter(|q| q.starts_with(&prefix)).count() >= 5,
        "the job, dead-letter and log queues of {prefix}* should exist: {before:?}"
    );
    drop(cluster);
    let after = broker_queues();
    let left: Vec<_> = after.iter().filter(|q| q.starts_with(&prefix)).collect();
    assert!(left.is_empty(), "left on the broker: {left:?}");
}

/// Every queue's name, as `rabbitmqctl list_queues` reports it.
fn broker_queues() -> Vec<String> {
    let listed = std::process::Command::new("rabbitmqctl")
        .args(["list_queues", "-q", "--no-table-headers", "name"])
        .output()
        .expect("rabbitmqctl runs");
    assert!(listed.status.success(), "{listed:?}");
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_already_uploaded_under_a_bucket_prefix_can_be_submitted() {
    let mut cluster = Cluster::new("e2e-prefix", garage_env().clone(), &[]).await;
    let store = cluster.store.clone();
    // A digitization station uploaded its masters straight into the bucket.
    for entry in files_below(sample_batch()) {
        let relative = entry
            .strip_prefix(sample_batch())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        store
            .put_file(
                &format!("incoming/{relative}"),
                &entry,
                "application/octet-stream",
                &Default::default(),
            )
            .await
            .unwrap();
    }

    cluster.start_worker(&[]);
    let source = format!("s3://{}/incoming/", cluster.prefix);
    let mut submit = caravan();
    submit
        .args(["submit", &source, "--json"])
        .envs(cluster.envs.iter().map(|(k, v)| (k, v)))
        .env("CARAVAN_LOG_FORMAT", "json");
    let out = output_within(submit, std::time::Duration::from_secs(600));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    check_first_run(&first);
    // The masters were copied on the server, not fetched and uploaded again: only subtitle
    // files (kept to travel with their video's job) went up from this machine.
    let published: serde_json::Value = (stderr.lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "Batch published")
        .unwrap_or_else(|| panic!("no \"Batch published\" record: {stderr}"));
    let subtitle_bytes: u64 = (files_below(sample_batch()).iter())
        .filter(|f| f.extension().is_some_and(|e| e == "vtt" || e == "srt"))
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let fields = &published["fields"];
    assert!(fields["copied_bytes"].as_u64().unwrap() > 0, "{published}");
    assert!(
        fields["uploaded_bytes"].as_u64().unwrap() <= subtitle_bytes,
        "{published}: more than the {subtitle_bytes} bytes of subtitle files uploaded"
    );
    check_receipts(&store, &first).await;
    // The film's subtitle files, uploaded beside it, travelled with its job.
    let film = (first["done"].as_array().unwrap().iter())
        .find(|d| d["source_name"] == "video/capture-ntsc.mkv")
        .unwrap();
    let receipt = store
        .get_bytes(film["receipt_key"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let receipt: serde_json::Value = serde_json::from_slice(&receipt).unwrap();
    let languages: Vec<&str> = (receipt["master_info"]["subtitles"]
        .as_array()
        .unwrap()
        .iter())
    .map(|s| s["language"].as_str().unwrap())
    .collect();
    assert_eq!(languages, ["ar", "th"], "{receipt:#}");
    let second = cluster.run_json(&["submit", &source, "--json"]);
    check_second_run(&second);
    cluster.stop_workers();
}
