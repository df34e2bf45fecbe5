//! `caravan exhibition build` on what `caravan run` made: one pack per site, checked by the
//! Library of Congress's `bagit.py` and IIIF's own models (iiif-prezi3).

use caravan_testkit::tools::bagit_validate;
use serde_json::Value;

use crate::common::*;

const LANDSCAPE: &str = "images/landscape-3000.png";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packs_for_two_sites_validate_and_carry_each_sites_languages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = run_json(
        &[
            "run",
            sample_batch().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    let batch_id = first["batch_id"].as_str().unwrap();
    let file = dir.path().join("silk.toml");
    std::fs::write(&file, exhibition(batch_id, "default")).unwrap();
    let packs = dir.path().join("packs");
    let built = run_json(
        &[
            "exhibition",
            "build",
            file.to_str().unwrap(),
            "--store-dir",
            out.to_str().unwrap(),
            "--out",
            packs.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(built["exhibition"], "silk-threads");
    let summaries = built["packs"].as_array().unwrap();
    assert_eq!(summaries.len(), 2, "{built:#}");
    for summary in summaries {
        assert_eq!(summary["works"], GOOD_ASSETS, "{summary:#}");
        // The master that failed is left out, and said to be.
        let left: Vec<&str> = (summary["left_out"].as_array().unwrap().iter())
            .map(|l| l["work"].as_str().unwrap())
            .collect();
        assert_eq!(left, [CORRUPT], "{summary:#}");
    }

    let asset_of = |name: &str| {
        (first["done"].as_array().unwrap().iter())
            .find(|d| d["source_name"] == name)
            .map(|d| d["asset_id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let landscape = asset_of(LANDSCAPE);
    // (site, base URL, the collection's languages, the landscape's label and summary
    // languages): the catalogue gives its title untagged and in Arabic, its description in
    // French only — a text in none of the site's languages is kept rather than lost.
    for (site, base, collection_languages, label_languages, summary_languages) in [
        (
            "abu-dhabi",
            "http://kiosk.local/abu-dhabi/",
            vec!["ar", "en"],
            vec!["ar", "none"],
            vec!["fr"],
        ),
        (
            "paris",
            "http://kiosk.local/paris/",
            vec!["en"],
            vec!["none"],
            vec!["fr"],
        ),
    ] {
        let root = packs.join(site);
        bagit_validate(&root).unwrap_or_else(|e| panic!("{site}: bagit.py refuses the pack: {e}"));
        let data = root.join("data");
        // The collection and every manifest load in iiif-prezi3 and point into the pack.
        let mut documents = vec![serde_json::json!({
            "path": data.join("collection.json"),
            "root": data,
            "base": base,
            "languages": { "label": collection_languages },
            "collection": true,
        })];
        let collection: Value =
            serde_json::from_slice(&std::fs::read(data.join("collection.json")).unwrap()).unwrap();
        let listed = collection["items"].as_array().unwrap();
        assert_eq!(
            listed.len(),
            GOOD_ASSETS,
            "{site}: every work in the collection"
        );
        for manifest in listed {
            let id = manifest["id"].as_str().unwrap();
            let relative = id.strip_prefix(base).unwrap();
            let folder = relative.strip_suffix("/manifest.json").unwrap();
            let mut languages = serde_json::json!({});
            if folder.contains(&landscape) {
                languages = serde_json::json!({
                    "label": label_languages,
                    "summary": summary_languages,
                });
            }
            documents.push(serde_json::json!({
                "path": data.join(relative),
                "root": data.join(folder),
                "base": format!("{base}{folder}"),
                "languages": languages,
            }));
        }
        check_manifests(&documents);
        // Nothing in the pack still points at the store's own address.
        for path in caravan_testkit::files::files_below(&data) {
            if path.extension().is_some_and(|e| e == "json")
                && !path.starts_with(data.join("receipts"))
            {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("localhost:8080"),
                    "{}: still names the store's address",
                    path.display()
                );
            }
        }
        // The deep-zoom service answers at the site's address, and receipts travel along.
        let info = data.join(format!("derivatives/{landscape}/default/iiif/info.json"));
        let info: Value = serde_json::from_slice(&std::fs::read(info).unwrap()).unwrap();
        assert_eq!(
            info["id"],
            format!("{base}derivatives/{landscape}/default/iiif")
        );
        assert!(data
            .join(format!("receipts/{landscape}/default.json"))
            .is_file());
        assert!(!caravan_testkit::files::files_below(&data)
            .iter()
            .any(|p| p.ends_with("preservation.mkv")));
    }

    // One changed byte in a payload file and bagit.py refuses the bag.
    let root = packs.join("paris");
    let victim = root.join(format!("data/derivatives/{landscape}/default/access.jpg"));
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&victim, bytes).unwrap();
    assert!(
        bagit_validate(&root).is_err(),
        "bagit.py accepts a changed byte"
    );

    // Without --out, the packs go into the store under packs/<exhibition>/<site>/; building
    // again replaces the pack there, leaving nothing of the earlier one behind.
    let in_store = out.join("packs/silk-threads/abu-dhabi");
    let store_build = [
        "exhibition",
        "build",
        file.to_str().unwrap(),
        "--store-dir",
        out.to_str().unwrap(),
        "--json",
    ];
    run_json(&store_build, &[]);
    bagit_validate(&in_store).unwrap();
    let stale = in_store.join("data/derivatives/stale.jpg");
    std::fs::write(&stale, b"from an earlier pack").unwrap();
    assert!(
        bagit_validate(&in_store).is_err(),
        "bagit.py accepts a file the manifest lacks"
    );
    run_json(&store_build, &[]);
    assert!(!stale.exists(), "the earlier pack's file is still there");
    bagit_validate(&in_store).unwrap();

    // A site whose profile nothing was processed with stops the build, saying what to run.
    std::fs::write(&file, exhibition(batch_id, "exhibition-th")).unwrap();
    let mut command = caravan();
    command.args([
        "exhibition",
        "build",
        file.to_str().unwrap(),
        "--store-dir",
        out.to_str().unwrap(),
    ]);
    let failed = output_within(command, COMMAND_DEADLINE);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains("works have no receipt for profile exhibition-th")
            && stderr.contains(CORRUPT)
            && stderr.contains("--profile exhibition-th"),
        "{stderr}"
    );
}

/// The exhibition file of the test: the sample batch, shown in Abu Dhabi (with `profile`) and
/// Paris.
fn exhibition(batch_id: &str, abu_dhabi_profile: &str) -> String {
    format!(
        r#"id = "silk-threads"
title = {{ en = "Silk Threads", ar = "خيوط الحرير", th = "เส้นไหม" }}
organization = "Caravan test museum"
assets = {{ batches = ["{batch_id}"] }}

[[sites]]
id = "abu-dhabi"
languages = ["ar", "en"]
profile = "{abu_dhabi_profile}"
base_url = "http://kiosk.local/abu-dhabi"

[[sites]]
id = "paris"
languages = ["fr", "en"]
base_url = "http://kiosk.local/paris/"
"#
    )
}
