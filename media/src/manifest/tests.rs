use std::collections::BTreeMap;

use caravan_proto::exec::{ExecOutput, ExecRequest};
use caravan_proto::metadata::Texts;
use caravan_proto::{AssetId, AssetMetadata, JobKind, OutputName, Profile, ProviderProfile};
use serde_json::{json, Value};

use super::{build, MANIFEST};
use crate::PipelineOutput;

const ASSET: &str = "aa00000000000000000000000000000000000000000000000000000000000000";

fn output(
    name: &str,
    media_type: &str,
    size: Option<(u32, u32)>,
    seconds: Option<f64>,
) -> ExecOutput {
    ExecOutput {
        name: OutputName::parse(name).unwrap(),
        media_type: media_type.into(),
        width: size.map(|s| s.0),
        height: size.map(|s| s.1),
        duration_seconds: seconds,
    }
}

fn request(kind: JobKind, metadata: AssetMetadata, profile: Profile, signed: bool) -> ExecRequest {
    ExecRequest {
        v: caravan_proto::PROTO_VERSION,
        kind,
        input: "/nonexistent/master".into(),
        out_dir: "/nonexistent/out".into(),
        asset_id: Some(AssetId::parse(ASSET).unwrap()),
        profile,
        metadata,
        signed,
        subtitles: Vec::new(),
    }
}

fn catalogue_row() -> AssetMetadata {
    let mut translations = BTreeMap::new();
    translations.insert(
        "th".to_owned(),
        Texts {
            title: Some("เส้นไหม".into()),
            attribution: Some("ได้รับความอนุเคราะห์จากพิพิธภัณฑ์".into()),
            ..Texts::default()
        },
    );
    translations.insert(
        "ar".to_owned(),
        Texts {
            title: Some("خيوط الحرير".into()),
            description: Some("نسيج من القرن التاسع عشر".into()),
            ..Texts::default()
        },
    );
    AssetMetadata {
        title: Some("Silk Threads".into()),
        creator: Some("Unknown weaver".into()),
        description: Some("A nineteenth-century textile".into()),
        date: Some("c. 1850".into()),
        attribution: Some("Courtesy of the museum".into()),
        rights: Some("In copyright".into()),
        rights_uri: Some("http://rightsstatements.org/vocab/InC/1.0/".into()),
        digital_source_type: Some("trainedAlgorithmicMedia".into()),
        language: Some("en".into()),
        translations,
    }
}

fn image_made() -> PipelineOutput {
    let mut master_info = BTreeMap::new();
    master_info.insert("width_displayed".to_owned(), json!(4000));
    master_info.insert("height_displayed".to_owned(), json!(3000));
    PipelineOutput {
        outputs: vec![
            output(
                "iiif/info.json",
                "application/ld+json",
                Some((4000, 3000)),
                None,
            ),
            output("access.jpg", "image/jpeg", Some((2048, 1536)), None),
            output("thumb.jpg", "image/jpeg", Some((256, 192)), None),
        ],
        tools: BTreeMap::new(),
        master_info,
    }
}

fn video_made(with_hls: bool) -> PipelineOutput {
    let mut outputs = vec![
        output("access.mp4", "video/mp4", Some((1280, 720)), Some(12.5)),
        output("poster.jpg", "image/jpeg", Some((1280, 720)), None),
    ];
    if with_hls {
        outputs.push(output(
            "hls/720p/index.m3u8",
            "application/vnd.apple.mpegurl",
            Some((1280, 720)),
            None,
        ));
        outputs.push(output(
            "hls/1080p/init.mp4",
            "video/mp4",
            Some((1920, 1080)),
            None,
        ));
        outputs.push(output(
            "hls/master.m3u8",
            "application/vnd.apple.mpegurl",
            None,
            None,
        ));
    }
    PipelineOutput {
        outputs,
        tools: BTreeMap::new(),
        master_info: BTreeMap::new(),
    }
}

fn base() -> String {
    format!("http://localhost:8080/derivatives/{ASSET}/default")
}

#[test]
fn an_image_manifest_paints_the_access_copy_with_the_level0_service_and_every_language() {
    let manifest = build(
        &request(JobKind::Image, catalogue_row(), Profile::default(), false),
        &image_made(),
    );
    assert_eq!(
        manifest["@context"],
        "http://iiif.io/api/presentation/3/context.json"
    );
    assert_eq!(manifest["type"], "Manifest");
    assert_eq!(manifest["id"], format!("{}/{MANIFEST}", base()));
    assert_eq!(
        manifest["label"],
        json!({ "en": ["Silk Threads"], "th": ["เส้นไหม"], "ar": ["خيوط الحرير"] })
    );
    assert_eq!(
        manifest["summary"],
        json!({ "en": ["A nineteenth-century textile"], "ar": ["نسيج من القرن التاسع عشر"] })
    );
    assert_eq!(
        manifest["rights"],
        "http://rightsstatements.org/vocab/InC/1.0/"
    );
    assert_eq!(
        manifest["requiredStatement"]["value"],
        json!({ "en": ["Courtesy of the museum"], "th": ["ได้รับความอนุเคราะห์จากพิพิธภัณฑ์"] })
    );
    let labels: Vec<&Value> = manifest["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["label"]["en"][0])
        .collect();
    assert_eq!(labels, ["Creator", "Date", "Rights", "How it was made"]);
    assert!(manifest["metadata"][3]["value"]["en"][0]
        .as_str()
        .unwrap()
        .contains("generative AI"));

    let canvas = &manifest["items"][0];
    assert_eq!(
        (
            canvas["type"].as_str(),
            canvas["width"].as_u64(),
            canvas["height"].as_u64()
        ),
        (Some("Canvas"), Some(4000), Some(3000))
    );
    let annotation = &canvas["items"][0]["items"][0];
    assert_eq!(annotation["motivation"], "painting");
    assert_eq!(annotation["target"], canvas["id"]);
    let body = &annotation["body"];
    assert_eq!(body["id"], format!("{}/access.jpg", base()));
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(2048), Some(1536))
    );
    assert_eq!(
        body["service"],
        json!([{ "id": format!("{}/iiif", base()), "type": "ImageService3", "profile": "level0" }])
    );
    assert_eq!(
        manifest["thumbnail"][0]["id"],
        format!("{}/thumb.jpg", base())
    );
    assert_eq!(
        manifest["seeAlso"],
        json!([{
            "id": format!("http://localhost:8080/receipts/{ASSET}/default.json"),
            "type": "Dataset",
            "label": { "en": ["Receipt: master SHA-256, parameters and tool versions"] },
            "format": "application/json",
        }])
    );
}

#[test]
fn a_video_manifest_offers_hls_and_mp4_as_a_choice_with_the_poster_as_placeholder() {
    let made = video_made(true);
    let manifest = build(
        &request(
            JobKind::Video,
            AssetMetadata::default(),
            Profile::default(),
            true,
        ),
        &made,
    );
    // No title: the asset id names the work, under IIIF's "none" language.
    assert_eq!(manifest["label"], json!({ "none": [ASSET] }));
    for absent in [
        "summary",
        "metadata",
        "rights",
        "requiredStatement",
        "provider",
    ] {
        assert!(
            manifest.get(absent).is_none(),
            "{absent} without a catalogue row"
        );
    }
    let canvas = &manifest["items"][0];
    assert_eq!(canvas["duration"], 12.5);
    // The largest picture made: the 1080p rung.
    assert_eq!(
        (canvas["width"].as_u64(), canvas["height"].as_u64()),
        (Some(1920), Some(1080))
    );
    let body = &canvas["items"][0]["items"][0]["body"];
    assert_eq!(body["type"], "Choice");
    let formats: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["application/vnd.apple.mpegurl", "video/mp4"]);
    assert_eq!(
        body["items"][0]["id"],
        format!("{}/hls/master.m3u8", base())
    );
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["duration"] == 12.5 && i["type"] == "Video"));
    let placeholder = &canvas["placeholderCanvas"];
    assert_eq!(
        placeholder["items"][0]["items"][0]["body"]["id"],
        format!("{}/poster.jpg", base())
    );
    assert_eq!(
        manifest["thumbnail"][0]["id"],
        format!("{}/poster.jpg", base())
    );
    let see_also: Vec<&str> = manifest["seeAlso"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let receipt = format!("http://localhost:8080/receipts/{ASSET}/default.json");
    assert_eq!(see_also, [receipt.clone(), format!("{receipt}.sig")]);
}

#[test]
fn a_video_without_a_ladder_is_painted_with_the_mp4_alone() {
    let manifest = build(
        &request(
            JobKind::Video,
            AssetMetadata::default(),
            Profile::default(),
            false,
        ),
        &video_made(false),
    );
    let body = &manifest["items"][0]["items"][0]["items"][0]["body"];
    assert_eq!(
        (body["type"].as_str(), body["format"].as_str()),
        (Some("Video"), Some("video/mp4"))
    );
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(1280), Some(720))
    );
}

#[test]
fn the_profile_names_the_provider_and_where_receipts_are_served() {
    let mut profile = Profile::default();
    profile.image.iiif.base_url = "https://media.example.org/d/".into();
    profile.manifest.receipts_base_url = Some("https://trust.example.org/r/".into());
    profile.manifest.provider = Some(ProviderProfile {
        homepage: "https://museum.example.org/".into(),
        label: [
            ("en".to_owned(), "The Museum".to_owned()),
            ("ar".to_owned(), "المتحف".to_owned()),
        ]
        .into(),
    });
    let manifest = build(
        &request(JobKind::Image, AssetMetadata::default(), profile, false),
        &image_made(),
    );
    assert_eq!(
        manifest["id"],
        format!("https://media.example.org/d/{ASSET}/default/manifest.json")
    );
    assert_eq!(
        manifest["seeAlso"][0]["id"],
        format!("https://trust.example.org/r/{ASSET}/default.json")
    );
    let provider = &manifest["provider"][0];
    assert_eq!(provider["type"], "Agent");
    assert_eq!(
        provider["label"],
        json!({ "ar": ["المتحف"], "en": ["The Museum"] })
    );
    assert_eq!(provider["homepage"][0]["id"], "https://museum.example.org/");
}
