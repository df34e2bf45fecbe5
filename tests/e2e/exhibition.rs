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
    assert_eq!(summaries.len(), 3, "{built:#}");
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
    let film = asset_of(FILM);
    check_subtitles(&out.join(format!("derivatives/{film}/default")));
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
        // The film's subtitles in the site's languages only: Arabic in Abu Dhabi, none in
        // Paris (French and English); its master playlist lists just those.
        let film_dir = data.join(format!("derivatives/{film}/default"));
        let carried: Vec<String> = caravan_testkit::files::files_below(&film_dir.join("subtitles"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let master = std::fs::read_to_string(film_dir.join("hls/master.m3u8")).unwrap();
        let manifest = std::fs::read_to_string(film_dir.join("manifest.json")).unwrap();
        if site == "abu-dhabi" {
            assert_eq!(carried, ["ar.vtt"]);
            let bangkok = packs.join(format!("bangkok/data/derivatives/{film}/default/subtitles"));
            let thai: Vec<_> = caravan_testkit::files::files_below(&bangkok);
            assert_eq!(
                thai,
                [bangkok.join("th.vtt")],
                "the Bangkok pack carries the Thai ones"
            );
            assert!(master.contains("LANGUAGE=\"ar\"") && !master.contains("LANGUAGE=\"th\""));
            assert!(
                manifest.contains("subtitles/ar.vtt") && !manifest.contains("subtitles/th.vtt")
            );
        } else {
            assert!(carried.is_empty(), "{carried:?}");
            assert!(!master.contains("SUBTITLES"), "{master}");
            assert!(!manifest.contains("supplementing"));
        }
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

    // The site pulls its pack and shows it offline in a browser.
    let pulled = dir.path().join("kiosk");
    let pull = run_json(
        &[
            "pull",
            in_store.to_str().unwrap(),
            pulled.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(pull["complete"], true, "{pull:#}");
    check_viewer(&pulled);
    // Bangkok's viewer shows the film with its Thai subtitles.
    bagit_validate(&packs.join("bangkok")).unwrap();
    let seen = viewer::view_pack(&packs.join("bangkok"), "bangkok");
    let film = (seen["videos"].as_array().unwrap().iter())
        .find(|v| v["title"] == "Home movie, reel 1 (1962)")
        .unwrap_or_else(|| panic!("{seen:#}"));
    assert_eq!(film["subtitles"][0]["language"], "th", "{seen:#}");
    assert_eq!(film["subtitles"][0]["mode"], "showing", "{seen:#}");
    assert_eq!(
        film["subtitles"][0]["shown"],
        serde_json::json!(["ภาพยนตร์บ้าน ม้วนที่หนึ่ง"]),
        "{seen:#}"
    );
    assert_eq!(seen["title"]["direction"], "ltr", "{seen:#}");

    // With --no-process, a site whose profile nothing was processed with stops the build,
    // saying what to run.
    std::fs::write(&file, exhibition(batch_id, "exhibition-th")).unwrap();
    let mut command = caravan();
    command.args([
        "exhibition",
        "build",
        file.to_str().unwrap(),
        "--store-dir",
        out.to_str().unwrap(),
        "--no-process",
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

    // Without it, the works are processed with the site's profile in this process first
    // (masters read where `caravan run` found them), and only those.
    let one_work = exhibition(batch_id, "exhibition-th").replace(
        &format!("assets = {{ batches = [\"{batch_id}\"] }}"),
        &format!("assets = {{ files = [\"{LANDSCAPE}\"] }}"),
    );
    std::fs::write(&file, one_work).unwrap();
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(&profiles, THAI_PROFILES).unwrap();
    let thai = dir.path().join("thai-packs");
    let built = run_json(
        &[
            "exhibition",
            "build",
            file.to_str().unwrap(),
            "--store-dir",
            out.to_str().unwrap(),
            "--profiles",
            profiles.to_str().unwrap(),
            "--out",
            thai.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    let processed = built["processed"].as_array().unwrap();
    assert_eq!(processed.len(), 1, "{built:#}");
    assert_eq!(processed[0]["profile"], "exhibition-th");
    assert_eq!(names(&processed[0], "done"), [LANDSCAPE], "{built:#}");
    bagit_validate(&thai.join("abu-dhabi")).unwrap();
    let receipt = thai.join(format!(
        "abu-dhabi/data/receipts/{landscape}/exhibition-th.json"
    ));
    let receipt: Value = serde_json::from_slice(&std::fs::read(receipt).unwrap()).unwrap();
    assert_eq!(receipt["parameters"]["image"]["watermark"]["enabled"], true);
}

/// The film, with its Thai WebVTT and Arabic SubRip files beside it in the sample batch.
const FILM: &str = "video/capture-ntsc.mkv";

/// The film's derivatives in `dir`: its master playlist lists a subtitle rendition per
/// sidecar, which FFmpeg reads through HLS as WebVTT with the cue's timing; the IIIF
/// manifest has a `supplementing` annotation per language.
fn check_subtitles(dir: &std::path::Path) {
    let master = std::fs::read_to_string(dir.join("hls/master.m3u8")).unwrap();
    let renditions: Vec<(&str, &str)> = (master.lines())
        .filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES"))
        .map(|l| {
            let attribute = |name: &str| {
                let start = l.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                &l[start..start + l[start..].find('"').unwrap()]
            };
            (attribute("LANGUAGE"), attribute("URI"))
        })
        .collect();
    let languages: Vec<&str> = renditions.iter().map(|r| r.0).collect();
    assert_eq!(languages, ["ar", "th"], "{master}");
    assert_eq!(
        master.matches("SUBTITLES=\"subs\"").count(),
        master.matches("#EXT-X-STREAM-INF").count()
    );
    for (language, uri) in renditions {
        let probed = caravan_testkit::ffmpeg::probe(
            &[
                "-show_entries",
                "stream=codec_name,codec_type:packet=pts_time,duration_time",
                "-of",
                "compact",
            ],
            &dir.join("hls").join(uri),
        );
        assert!(
            probed.contains("codec_name=webvtt|codec_type=subtitle")
                && probed.contains("pts_time=0.200000|duration_time=1.700000"),
            "{language}: {probed}"
        );
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let captions = manifest["items"][0]["annotations"][0]["items"]
        .as_array()
        .unwrap();
    let languages: Vec<&str> = (captions.iter())
        .map(|a| {
            assert_eq!(a["motivation"], "supplementing");
            assert_eq!(a["body"]["format"], "text/vtt");
            a["body"]["language"].as_str().unwrap()
        })
        .collect();
    assert_eq!(languages, ["ar", "th"]);
}

/// The Abu Dhabi pack at `root`, in Chromium: every work listed, the Arabic titles laid out
/// right to left, a deep-zoom image drawn from its tiles, a video playing, rights under each
/// work, and nothing asked of any server but the pack's own.
fn check_viewer(root: &std::path::Path) {
    let seen = viewer::view_pack(root, "abu-dhabi");
    let report = || format!("{seen:#}");
    assert_eq!(seen["works"], GOOD_ASSETS, "{}", report());
    assert_eq!(seen["page"]["lang"], "ar", "{}", report());
    assert_eq!(seen["page"]["direction"], "rtl", "{}", report());
    assert_eq!(seen["title"]["text"], "خيوط الحرير", "{}", report());
    assert_eq!(seen["title"]["direction"], "rtl", "{}", report());
    let labels = seen["labels"].as_array().unwrap();
    let landscape = labels.iter().find(|l| l["text"] == "منظر طبيعي");
    let landscape = landscape.unwrap_or_else(|| panic!("no Arabic label: {}", report()));
    assert_eq!(landscape["lang"], "ar");
    assert_eq!(landscape["direction"], "rtl");

    let image = &seen["image"];
    assert!(image["drawn"].as_u64().unwrap_or(0) > 0, "{}", report());
    assert!(
        image["distinct_colours"].as_u64().unwrap_or(0) > 16,
        "the zoom canvas is blank: {}",
        report()
    );
    let tiles = seen["tiles"].as_array().unwrap();
    assert!(!tiles.is_empty(), "{}", report());
    assert!(
        tiles.iter().all(|t| t["status"] == 200),
        "a tile request failed: {}",
        report()
    );
    let videos = seen["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 2, "{}", report());
    for video in videos {
        assert!(
            video["current_time"].as_f64().unwrap_or(0.0) > 1.0,
            "the video did not play: {}",
            report()
        );
        assert_eq!(video["source"], "hls.js", "{}", report());
    }
    // The film's Arabic subtitles (its Thai ones are not in the Abu Dhabi pack) are shown.
    let film = videos
        .iter()
        .find(|v| v["title"] == "Home movie, reel 1 (1962)");
    let film = film.unwrap_or_else(|| panic!("the film did not play: {}", report()));
    assert_eq!(
        film["subtitles"],
        serde_json::json!([{
            "language": "ar",
            "mode": "showing",
            "cues": 1,
            "shown": ["فيلم منزلي، البكرة الأولى"],
        }]),
        "{}",
        report()
    );
    // Every work opens: 20 images in deep zoom, 2 videos; the catalogue's rights under each
    // work it names, the title in the site's language where the catalogue has one.
    let opened = seen["opened"].as_array().unwrap();
    assert_eq!(opened.len(), GOOD_ASSETS, "{}", report());
    let kinds = |kind: &str| opened.iter().filter(|o| o["kind"] == kind).count();
    assert_eq!(
        (kinds("div"), kinds("video")),
        (GOOD_ASSETS - 2, 2),
        "{}",
        report()
    );
    for (title, rights) in [
        ("منظر طبيعي", "http://rightsstatements.org/vocab/InC/1.0/"),
        ("بانوراما", "https://creativecommons.org/licenses/by/4.0/"),
        (
            "Bildnis einer Frau",
            "http://creativecommons.org/publicdomain/mark/1.0/",
        ),
        (
            "Home movie, reel 1 (1962)",
            "http://rightsstatements.org/vocab/InC/1.0/",
        ),
    ] {
        let work = opened.iter().find(|o| o["title"] == title);
        let work = work.unwrap_or_else(|| panic!("{title} not opened: {}", report()));
        assert_eq!(work["rights"], serde_json::json!([rights]), "{}", report());
    }
    assert_eq!(seen["outside"], serde_json::json!([]), "{}", report());
    assert_eq!(
        seen["console_errors"],
        serde_json::json!([]),
        "{}",
        report()
    );
    assert!(viewer::artefacts().join("abu-dhabi/image.png").is_file());
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

[[sites]]
id = "bangkok"
languages = ["th", "en"]
base_url = "http://kiosk.local/bangkok/"
"#
    )
}

/// The Thai site's profile: a watermark in Thai script on every access copy.
pub(crate) const THAI_PROFILES: &str = r#"
[profiles.exhibition-th.image.watermark]
enabled = true
text = "นิทรรศการเส้นไหม · กรุงเทพฯ"
position = "bottom"
"#;
