use super::Exhibition;

const GOOD: &str = r#"
id = "silk-threads"
title = { en = "Silk Threads", zh = "丝之线", th = "เส้นไหม", ar = "خيوط الحرير", fr = "Fils de soie" }
organization = "Sharjah Museums Authority"
assets = { batches = ["7c9e6679-7425-40de-944b-e07fc1f90ae7"], files = ["prints/hokusai.tif"] }

[[sites]]
id = "bangkok"
languages = ["th", "en"]
profile = "exhibition-th"
base_url = "http://kiosk.local/bangkok"

[[sites]]
id = "paris"
languages = ["FR", "en"]
base_url = "https://expo.example.fr/fils/"
"#;

#[test]
fn an_exhibition_file_names_works_titles_and_sites() {
    let e = Exhibition::parse(GOOD).unwrap();
    assert_eq!(e.id, "silk-threads");
    assert_eq!(e.title["ar"], "خيوط الحرير");
    assert_eq!(e.title.len(), 5);
    assert_eq!(e.assets.batches.len(), 1);
    assert_eq!(e.assets.files, ["prints/hokusai.tif"]);
    let bangkok = &e.sites[0];
    assert_eq!(bangkok.profile.as_str(), "exhibition-th");
    // A base URL always ends with one slash.
    assert_eq!(bangkok.base_url, "http://kiosk.local/bangkok/");
    let paris = &e.sites[1];
    assert_eq!(paris.languages, ["fr", "en"], "tags in canonical form");
    assert_eq!(paris.profile.as_str(), "default");
    assert_eq!(paris.base_url, "https://expo.example.fr/fils/");
}

#[test]
fn mistakes_in_an_exhibition_file_are_named() {
    let broken = |from: &str, to: &str| Exhibition::parse(&GOOD.replacen(from, to, 1)).unwrap_err();
    assert!(broken("id = \"silk-threads\"", "id = \"../silk\"").contains("exhibition id"));
    assert!(broken("id = \"bangkok\"", "id = \"paris\"").contains("listed twice"));
    assert!(broken("[\"th\", \"en\"]", "[\"th\", \"xx-!!\"]").contains("BCP 47"));
    assert!(broken("[\"th\", \"en\"]", "[]").contains("languages is empty"));
    assert!(broken("http://kiosk.local/bangkok", "kiosk.local/bangkok").contains("base_url"));
    assert!(broken("organization", "organisation").contains("unknown field"));
    assert!(broken("7c9e6679-7425-40de-944b-e07fc1f90ae7", "../batch").contains("assets.batches"));
    let no_works = GOOD.replace(
        "assets = { batches = [\"7c9e6679-7425-40de-944b-e07fc1f90ae7\"], files = [\"prints/hokusai.tif\"] }",
        "",
    );
    assert!(Exhibition::parse(&no_works)
        .unwrap_err()
        .contains("names no works"));
    let no_sites = GOOD.split("[[sites]]").next().unwrap();
    assert!(Exhibition::parse(no_sites)
        .unwrap_err()
        .contains("at least one site"));
}
