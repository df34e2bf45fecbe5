use serde_json::json;

use super::{collection, keep_languages, Rebase};

#[test]
fn addresses_under_a_prefix_move_and_others_stay() {
    let rebase = Rebase::new(vec![
        (
            "http://localhost:8080/derivatives/aa/default".into(),
            "http://kiosk/derivatives/aa/default".into(),
        ),
        (
            "http://localhost:8080/receipts/aa/default.json".into(),
            "http://kiosk/receipts/aa/default.json".into(),
        ),
    ]);
    let mut doc = json!({
        "id": "http://localhost:8080/derivatives/aa/default/manifest.json",
        "items": [{ "body": { "id": "http://localhost:8080/derivatives/aa/default/access.jpg" } }],
        "seeAlso": [
            { "id": "http://localhost:8080/receipts/aa/default.json" },
            { "id": "http://localhost:8080/receipts/aa/default.json.sig" }
        ],
        "rights": "http://rightsstatements.org/vocab/InC/1.0/",
        "width": 10,
    });
    rebase.apply(&mut doc);
    assert_eq!(
        doc["id"],
        "http://kiosk/derivatives/aa/default/manifest.json"
    );
    assert_eq!(
        doc["items"][0]["body"]["id"],
        "http://kiosk/derivatives/aa/default/access.jpg"
    );
    assert_eq!(
        doc["seeAlso"][1]["id"],
        "http://kiosk/receipts/aa/default.json.sig"
    );
    assert_eq!(doc["rights"], "http://rightsstatements.org/vocab/InC/1.0/");
    assert_eq!(doc["width"], 10);
}

#[test]
fn language_maps_keep_the_sites_languages_and_text_in_no_language() {
    let mut doc = json!({
        "label": { "en": ["Silk"], "th": ["เส้นไหม"], "ar": ["خيوط"] },
        "summary": { "fr": ["Soie"] },
        "metadata": [{ "label": { "en": ["Date"] }, "value": { "none": ["1850"], "ar": ["١٨٥٠"] } }],
        "items": [{ "id": "x", "type": "Canvas" }],
    });
    keep_languages(&mut doc, &["th".to_owned(), "en".to_owned()]);
    assert_eq!(doc["label"], json!({ "en": ["Silk"], "th": ["เส้นไหม"] }));
    // Nothing in the site's languages: kept whole rather than lost.
    assert_eq!(doc["summary"], json!({ "fr": ["Soie"] }));
    assert_eq!(doc["metadata"][0]["value"], json!({ "none": ["1850"] }));
    assert_eq!(doc["items"][0], json!({ "id": "x", "type": "Canvas" }));
}

#[test]
fn the_collection_lists_every_manifest_with_its_label() {
    let title = [
        ("en".to_owned(), "Silk Threads".to_owned()),
        ("ar".to_owned(), "خيوط الحرير".to_owned()),
    ]
    .into();
    let items = vec![
        (
            "http://kiosk/derivatives/aa/default/manifest.json".to_owned(),
            json!({ "en": ["One"] }),
            None,
        ),
        (
            "http://kiosk/derivatives/bb/default/manifest.json".to_owned(),
            json!({ "none": ["Two"] }),
            Some(json!([{ "id": "t" }])),
        ),
    ];
    let c = collection(
        "http://kiosk/collection.json",
        &title,
        "silk",
        &items,
        &["ar".to_owned()],
    );
    assert_eq!(c["type"], "Collection");
    assert_eq!(c["label"], json!({ "ar": ["خيوط الحرير"] }));
    assert_eq!(c["items"].as_array().unwrap().len(), 2);
    assert_eq!(c["items"][1]["type"], "Manifest");
    assert_eq!(c["items"][1]["thumbnail"], json!([{ "id": "t" }]));
    let untitled = collection(
        "http://kiosk/collection.json",
        &Default::default(),
        "silk",
        &items,
        &[],
    );
    assert_eq!(untitled["label"], json!({ "none": ["silk"] }));
}

const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:7\n\
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"ar\",LANGUAGE=\"ar\",DEFAULT=NO,AUTOSELECT=YES,URI=\"subtitles-ar.m3u8\"\n\
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"th\",LANGUAGE=\"th\",DEFAULT=NO,AUTOSELECT=YES,URI=\"subtitles-th.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=1000,SUBTITLES=\"subs\"\n480p/index.m3u8\n";

#[test]
fn a_sites_playlist_lists_only_its_subtitles_and_none_when_it_has_none() {
    let thai = crate::rebase::keep_playlist_subtitles(MASTER, &["th".into(), "en".into()]);
    assert!(
        thai.contains("LANGUAGE=\"th\"") && !thai.contains("LANGUAGE=\"ar\""),
        "{thai}"
    );
    assert!(thai.contains("SUBTITLES=\"subs\""));
    let french = crate::rebase::keep_playlist_subtitles(MASTER, &["fr".into()]);
    assert!(!french.contains("SUBTITLES"), "{french}");
    assert!(french.contains("#EXT-X-STREAM-INF:BANDWIDTH=1000\n480p/index.m3u8\n"));
}

#[test]
fn a_sites_manifest_keeps_only_its_subtitle_annotations() {
    let caption = |language: &str| json!({ "motivation": "supplementing", "body": { "language": language, "format": "text/vtt" } });
    let mut manifest =
        json!({ "items": [{ "annotations": [{ "items": [caption("ar"), caption("zh-Hant")] }] }] });
    crate::rebase::keep_subtitles(&mut manifest, &["zh".into()]);
    assert_eq!(
        manifest["items"][0]["annotations"][0]["items"],
        json!([caption("zh-Hant")])
    );
    crate::rebase::keep_subtitles(&mut manifest, &["fr".into()]);
    assert!(
        manifest["items"][0].get("annotations").is_none(),
        "{manifest}"
    );
}
