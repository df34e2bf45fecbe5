use crate::file::Exhibition;
use crate::viewer::{files, right_to_left};

const FILE: &str = r#"
id = "silk-threads"
title = { en = "Silk Threads", ar = "خيوط الحرير", th = "เส้นไหม" }
assets = { asset_ids = ["0000000000000000000000000000000000000000000000000000000000000000"] }

[[sites]]
id = "abu-dhabi"
languages = ["ar", "en"]
base_url = "http://kiosk.local/abu-dhabi/"

[[sites]]
id = "bangkok"
languages = ["th", "en"]
base_url = "http://kiosk.local/bangkok/"
"#;

fn page(exhibition: &Exhibition, site: usize) -> String {
    let (name, bytes) = files(exhibition, &exhibition.sites[site]).remove(0);
    assert_eq!(name, "index.html");
    String::from_utf8(bytes).unwrap()
}

#[test]
fn the_page_is_in_the_sites_first_language_and_its_direction() {
    let exhibition = Exhibition::parse(FILE).unwrap();
    let arabic = page(&exhibition, 0);
    assert!(arabic.contains(r#"<html lang="ar" dir="rtl">"#), "{arabic}");
    assert!(arabic.contains("<title>خيوط الحرير</title>"));
    assert!(arabic.contains(r#""collection":"http://kiosk.local/abu-dhabi/collection.json""#));
    let thai = page(&exhibition, 1);
    assert!(thai.contains(r#"<html lang="th" dir="ltr">"#));
    assert!(thai.contains("<title>เส้นไหม</title>"));
    assert!(!thai.contains("{{"), "every placeholder filled");
}

#[test]
fn a_title_cannot_break_out_of_the_page() {
    let hostile = FILE.replace("Silk Threads", "</script><script>alert(1)</script>");
    let mut exhibition = Exhibition::parse(&hostile).unwrap();
    exhibition.sites[0].languages = vec!["en".into()];
    let page = page(&exhibition, 0);
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)"));
}

#[test]
fn the_libraries_travel_with_their_licences() {
    let exhibition = Exhibition::parse(FILE).unwrap();
    let all = files(&exhibition, &exhibition.sites[0]);
    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    for name in [
        "viewer/openseadragon.min.js",
        "viewer/hls.min.js",
        "viewer/viewer.js",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let licences = &all
        .iter()
        .find(|(n, _)| *n == "viewer/LICENSES.txt")
        .unwrap()
        .1;
    let licences = String::from_utf8_lossy(licences);
    assert!(licences.contains("Apache License"), "hls.js is Apache-2.0");
    assert!(
        licences.contains("Redistribution and use"),
        "OpenSeadragon is BSD"
    );
}

#[test]
fn right_to_left_languages_are_told_by_their_primary_subtag() {
    assert!(right_to_left("ar"));
    assert!(right_to_left("fa-IR"));
    assert!(right_to_left("HE"));
    assert!(!right_to_left("th"));
    assert!(!right_to_left("zh-Hant"));
}
