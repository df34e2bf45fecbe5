#[test]
fn the_catalogue_reads_spreadsheet_exports_and_names_what_is_wrong() {
    use super::Catalogue;
    // Excel-style: byte-order mark, semicolons, quoted cells with the separator, any script.
    let text = "\u{feff}File;Title;Creator;Rights;Rights_URI\r\n\
                ./reels\\kmv-001.mkv;\"Kuwait; 1962\";Studio;© SMA;http://rightsstatements.org/vocab/InC/1.0/\r\n\
                prints/hokusai.tif;神奈川沖浪裏;葛飾北斎;;\r\n";
    let catalogue = Catalogue::parse(text, None).unwrap();
    let reel = catalogue.get("reels/kmv-001.mkv");
    assert_eq!(reel.title.as_deref(), Some("Kuwait; 1962"));
    assert_eq!(
        reel.rights_uri.as_deref(),
        Some("http://rightsstatements.org/vocab/InC/1.0/")
    );
    let print = catalogue.get("prints/hokusai.tif");
    assert_eq!(print.creator.as_deref(), Some("葛飾北斎"));
    assert_eq!(print.rights, None, "empty cells are absent");
    assert!(catalogue.get("other.tif").is_empty());
    assert_eq!(
        catalogue.unmatched(&["prints/hokusai.tif"]),
        ["reels/kmv-001.mkv"]
    );

    let err = |text: &str| Catalogue::parse(text, None).unwrap_err();
    assert!(err("file,titel\na.tif,x\n").contains("unknown column \"titel\""));
    assert!(err("title\nx\n").contains("no \"file\" column"));
    assert!(err("file,title\na.tif,x\na.tif,y\n").contains("line 3"));
    assert!(err("file,rights_uri\na.tif,InC\n").contains("not a web address"));
    assert!(err("file,title\na.tif,x,extra\n").contains("line 2"));
}

#[test]
fn text_columns_come_in_every_language_and_script_with_checked_tags() {
    use super::{language_tag, Catalogue};
    use caravan_proto::metadata::TextField;
    let text = "file,title,title@th,Title@AR,description@fr,creator@ZH-hant,date,attribution,attribution@ar\n\
                silk.tif,Silk Threads,เส้นไหม,خيوط الحرير,Fils de soie,絲綢,c. 1830,Courtesy of SMA,بإذن من هيئة الشارقة للمتاحف\n\
                only-thai.tif,,เส้นไหม,,,,,,\n";
    let catalogue = Catalogue::parse(text, Some("en")).unwrap();
    let silk = catalogue.get("silk.tif");
    assert_eq!(silk.language.as_deref(), Some("en"));
    assert_eq!(silk.date.as_deref(), Some("c. 1830"));
    let titles = silk.in_languages(TextField::Title);
    assert_eq!(
        titles
            .iter()
            .map(|(l, t)| (l.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
        [
            ("ar", "خيوط الحرير"),
            ("en", "Silk Threads"),
            ("th", "เส้นไหม")
        ]
    );
    assert_eq!(
        silk.translations["zh-Hant"].creator.as_deref(),
        Some("絲綢"),
        "tags are written canonically"
    );
    assert_eq!(
        silk.translations["fr"].description.as_deref(),
        Some("Fils de soie")
    );
    assert_eq!(
        silk.in_languages(TextField::Attribution)["ar"],
        "بإذن من هيئة الشارقة للمتاحف"
    );
    // A row with texts in other languages only does not claim the submission's language.
    let thai = catalogue.get("only-thai.tif");
    assert_eq!(thai.language, None);
    assert_eq!(thai.in_languages(TextField::Title)["th"], "เส้นไหม");
    // Without a submission language, untagged text is of no stated language ("none" in IIIF).
    let untagged = Catalogue::parse("file,title\na.tif,Silk\n", None).unwrap();
    assert_eq!(
        untagged.get("a.tif").in_languages(TextField::Title)["none"],
        "Silk"
    );

    let err = |text: &str| Catalogue::parse(text, Some("en")).unwrap_err();
    assert!(
        err("file,title@xx-!!\n").contains("\"title@xx-!!\""),
        "the column is named"
    );
    assert!(err("file,title@und\n").contains("names no language"));
    assert!(err("file,date@fr\n").contains("only the text columns"));
    assert!(err("file,titel@th\n").contains("unknown column \"titel@th\""));
    assert!(err("file,title,title@en\na.tif,x,y\n").contains("comes twice"));
    assert!(err("file,title@th,title@TH\n").contains("comes twice"));

    assert_eq!(language_tag("ZH-hant").unwrap(), "zh-Hant");
    assert_eq!(language_tag(" fr-ca ").unwrap(), "fr-CA");
    assert!(language_tag("english please").is_err());
}
