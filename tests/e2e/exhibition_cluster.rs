//! `caravan exhibition build` in a cluster (RabbitMQ, Garage, a worker process): a site whose
//! profile the works were never processed with has them processed through the broker — and
//! only those — before both sites' packs are written and checked by `bagit.py`.

use caravan_testkit::tools::bagit_validate;
use serde_json::Value;

use crate::common::*;
use crate::exhibition::THAI_PROFILES;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_processes_only_the_thai_sites_profile_again_and_packs_both_sites() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(&profiles, THAI_PROFILES).unwrap();
    let profiles_env = profiles.to_str().unwrap();
    let mut cluster = Cluster::new(
        "e2e-exhibition",
        garage_env().clone(),
        &[("CARAVAN_PROFILES", profiles_env)],
    )
    .await;
    cluster.start_worker(&[]);
    let masters = dir.path().join("masters");
    std::fs::create_dir_all(&masters).unwrap();
    for (name, seed) in [("elephant.png", 3u8), ("loom.png", 7)] {
        std::fs::write(masters.join(name), hostile::png_bytes(900, 600, seed)).unwrap();
    }
    // A film with Thai subtitles beside it: uploaded with it, and found again in the store
    // when the Thai profile is applied.
    caravan_testkit::ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-t",
            "2",
        ],
        &masters.join("weaving.mp4"),
    );
    std::fs::write(
        masters.join("weaving.th.srt"),
        "1\n00:00:00,300 --> 00:00:01,500\nการทอผ้าไหม\n",
    )
    .unwrap();
    std::fs::write(
        masters.join("caravan-metadata.csv"),
        "file,title,title@th,rights_uri\n\
         elephant.png,Elephant,ช้าง,http://rightsstatements.org/vocab/InC/1.0/\n\
         loom.png,Loom,กี่ทอผ้า,http://rightsstatements.org/vocab/InC/1.0/\n",
    )
    .unwrap();
    let first = cluster.submit(&masters, &[]);
    assert_eq!(names(&first, "done").len(), 3, "{first:#}");
    assert_eq!(names(&first, "rejected").len(), 0, "{first:#}");
    let batch_id = first["batch_id"].as_str().unwrap();
    let receipts: Vec<(String, String)> = (first["done"].as_array().unwrap().iter())
        .map(|d| {
            let key = d["receipt_key"].as_str().unwrap().to_owned();
            (key.clone(), d["asset_id"].as_str().unwrap().to_owned())
        })
        .collect();
    let mut before = Vec::new();
    for (key, _) in &receipts {
        before.push(cluster.store.get_bytes(key).await.unwrap().unwrap());
    }

    let file = dir.path().join("silk.toml");
    std::fs::write(
        &file,
        format!(
            r#"id = "silk-threads"
title = {{ en = "Silk Threads", th = "เส้นไหม" }}
assets = {{ batches = ["{batch_id}"] }}

[[sites]]
id = "bangkok"
languages = ["th", "en"]
profile = "exhibition-th"
base_url = "http://kiosk.local/bangkok/"

[[sites]]
id = "paris"
languages = ["fr", "en"]
base_url = "http://kiosk.local/paris/"
"#
        ),
    )
    .unwrap();
    let packs = dir.path().join("packs");
    let build = [
        "exhibition",
        "build",
        file.to_str().unwrap(),
        "--out",
        packs.to_str().unwrap(),
        "--json",
    ];
    let built = cluster.run_json(&build);
    // Only the Thai site's profile was applied, to both works, by the cluster's worker.
    let processed = built["processed"].as_array().unwrap();
    assert_eq!(processed.len(), 1, "{built:#}");
    assert_eq!(processed[0]["profile"], "exhibition-th");
    assert_eq!(names(&processed[0], "done").len(), 3, "{built:#}");
    assert_eq!(cluster.log_lines("Receipt committed"), 6);
    for ((key, _), earlier) in receipts.iter().zip(&before) {
        let now = cluster.store.get_bytes(key).await.unwrap().unwrap();
        assert_eq!(&now, earlier, "{key}: the default receipt was made again");
    }
    for site in ["bangkok", "paris"] {
        let root = packs.join(site);
        bagit_validate(&root).unwrap_or_else(|e| panic!("{site}: bagit.py refuses the pack: {e}"));
    }
    let film = (first["done"].as_array().unwrap().iter())
        .find(|d| d["source_name"] == "weaving.mp4")
        .map(|d| d["asset_id"].as_str().unwrap().to_owned())
        .unwrap();
    for (site, carried) in [("bangkok", true), ("paris", false)] {
        let profile = if carried { "exhibition-th" } else { "default" };
        let vtt = packs.join(format!(
            "{site}/data/derivatives/{film}/{profile}/subtitles/th.vtt"
        ));
        assert_eq!(vtt.is_file(), carried, "{}", vtt.display());
    }
    let vtt = packs.join(format!(
        "bangkok/data/derivatives/{film}/exhibition-th/subtitles/th.vtt"
    ));
    let vtt = std::fs::read_to_string(vtt).unwrap();
    assert!(
        vtt.contains("00:00:00.300 --> 00:00:01.500\nการทอผ้าไหม"),
        "{vtt}"
    );
    for (_, asset) in &receipts {
        if asset == &film {
            continue;
        }
        let receipt = |site: &str, profile: &str| -> Value {
            let path = packs.join(format!("{site}/data/receipts/{asset}/{profile}.json"));
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
        };
        let thai = receipt("bangkok", "exhibition-th");
        assert_eq!(
            thai["parameters"]["image"]["watermark"]["text"],
            "นิทรรศการเส้นไหม · กรุงเทพฯ"
        );
        let paris = receipt("paris", "default");
        assert_eq!(paris["parameters"]["image"]["watermark"]["enabled"], false);
        // The catalogue's text travels to the new profile's job: the same as the first run's.
        assert_eq!(thai["metadata"], paris["metadata"]);
        let title = thai["metadata"]["translations"]["th"]["title"].as_str();
        assert!(
            ["ช้าง", "กี่ทอผ้า"].contains(&title.unwrap_or_default()),
            "{thai:#}"
        );
        let access = |site: &str, profile: &str| {
            std::fs::read(packs.join(format!(
                "{site}/data/derivatives/{asset}/{profile}/access.jpg"
            )))
            .unwrap()
        };
        assert_ne!(
            access("bangkok", "exhibition-th"),
            access("paris", "default"),
            "the Thai site's copy carries its watermark"
        );
    }

    // Built again: nothing left to process.
    let again = cluster.run_json(&build);
    assert_eq!(again["processed"], serde_json::json!([]), "{again:#}");
    assert_eq!(cluster.log_lines("Receipt committed"), 6);
}
