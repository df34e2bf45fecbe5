//! `caravan exhibition share` on Garage: the one link a site is given pulls its whole pack
//! with no credentials, opens nothing else of the bucket, and stops working when it expires;
//! with credentials, `caravan pull s3://…` reads the pack from the bucket itself.

use std::time::Duration;

use caravan_testkit::files::files_below;
use caravan_testkit::tools::bagit_validate;

use crate::common::*;
use crate::pull::{make_pack, pull};

const EXHIBITION: &str = r#"id = "silk-threads"
title = { en = "Silk Threads", th = "เส้นไหม" }
assets = { asset_ids = ["0000000000000000000000000000000000000000000000000000000000000000"] }

[[sites]]
id = "bangkok"
languages = ["th", "en"]
base_url = "http://kiosk.local/bangkok/"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_expiring_link_pulls_a_sites_pack_and_nothing_else() {
    let cluster = Cluster::new("e2e-share", garage_env().clone(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silk.toml");
    std::fs::write(&file, EXHIBITION).unwrap();
    let file = file.to_str().unwrap();
    let share = |expires: &str| {
        let mut command = caravan();
        command
            .args([
                "exhibition",
                "share",
                file,
                "bangkok",
                "--expires",
                expires,
                "--json",
            ])
            .envs(cluster.envs.iter().map(|(k, v)| (k, v)));
        output_within(command, COMMAND_DEADLINE)
    };

    // No pack in the store yet: said, with what to do.
    let early = share("1h");
    assert!(!early.status.success());
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert!(stderr.contains("build it first"), "{stderr}");

    // The site's pack as `exhibition build` stores it, beside a master the site must not see.
    let pack = make_pack();
    for path in files_below(pack.path()) {
        let relative = path.strip_prefix(pack.path()).unwrap().to_str().unwrap();
        let key = format!("packs/silk-threads/bangkok/{relative}");
        (cluster
            .store
            .put_file(&key, &path, "application/octet-stream", &Default::default()))
        .await
        .unwrap();
    }
    let secret = "masters/".to_owned() + &"ab".repeat(32);
    (cluster
        .store
        .put_bytes(&secret, b"the archive's master".to_vec(), "image/tiff"))
    .await
    .unwrap();

    let shared = share("1h");
    assert!(
        shared.status.success(),
        "{}",
        String::from_utf8_lossy(&shared.stderr)
    );
    let shared: serde_json::Value = serde_json::from_slice(&shared.stdout).unwrap();
    let url = shared["url"].as_str().unwrap();
    assert_eq!(
        shared["files"],
        files_below(pack.path()).len(),
        "{shared:#}"
    );

    // The kiosk has no credentials: `caravan pull` with the link alone.
    let kiosk = dir.path().join("kiosk");
    let (code, summary, stderr) = pull(url, &kiosk, &[]);
    assert_eq!(code, 0, "{summary:#} {stderr}");
    assert_eq!(summary["complete"], true);
    bagit_validate(&kiosk).unwrap_or_else(|e| panic!("bagit.py refuses the pulled pack: {e}"));
    assert!(
        !stderr.contains("X-Amz-Signature"),
        "a signature in the logs: {stderr}"
    );
    // Running it again downloads nothing.
    let (code, again, _) = pull(url, &kiosk, &[]);
    assert_eq!(
        (code, again["downloaded"].as_u64()),
        (0, Some(0)),
        "{again:#}"
    );

    // The link's signature opens its own object only: the master next to it stays shut.
    let (path, query) = url.split_once('?').unwrap();
    let bucket_root = &path[..path.find("/shares/").unwrap()];
    let elsewhere = format!("{bucket_root}/{secret}?{query}");
    assert_eq!(http_status(url), 200);
    assert_eq!(http_status(&elsewhere), 403, "{elsewhere}");

    // With credentials (the archive's own machine), the same pack straight from the bucket.
    let direct = dir.path().join("direct");
    let address = format!("s3://{}/packs/silk-threads/bangkok", cluster.prefix);
    let mut command = caravan();
    command
        .args(["pull", &address])
        .arg(&direct)
        .arg("--json")
        .envs(cluster.envs.iter().map(|(k, v)| (k, v)));
    let out = output_within(command, COMMAND_DEADLINE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["complete"], true, "{summary:#}");
    bagit_validate(&direct).unwrap_or_else(|e| panic!("bagit.py refuses the s3:// pull: {e}"));

    // Longer than S3 allows: refused, saying why.
    let long = share("14d");
    assert!(!long.status.success());
    let stderr = String::from_utf8_lossy(&long.stderr);
    assert!(stderr.contains("7 days at most"), "{stderr}");

    // Past its expiry every link fails, and pull says so in words.
    let brief = share("2s");
    let brief: serde_json::Value = serde_json::from_slice(&brief.stdout).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let late = dir.path().join("late");
    let (code, summary, stderr) = pull(brief["url"].as_str().unwrap(), &late, &[]);
    assert_eq!(code, 4, "{summary:#} {stderr}");
    assert!(stderr.contains("the link has expired"), "{stderr}");
}

/// The status code of a plain GET of `url` (curl, no credentials).
fn http_status(url: &str) -> u16 {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            url,
        ])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
