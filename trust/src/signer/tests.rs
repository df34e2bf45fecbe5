use std::collections::BTreeMap;

use caravan_proto::{JobKind, Profile};
use serde_json::json;

use super::{actions, wants_credentials};

fn info(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn public_pictures_and_the_access_video_get_credentials_tiles_and_segments_do_not() {
    assert!(wants_credentials("access.jpg", "image/jpeg"));
    assert!(wants_credentials("access-1024.webp", "image/webp"));
    assert!(wants_credentials("thumb.jpg", "image/jpeg"));
    assert!(wants_credentials("poster.jpg", "image/jpeg"));
    assert!(wants_credentials("access.mp4", "video/mp4"));
    assert!(!wants_credentials(
        "iiif/0,0,512,512/512,/0/default.jpg",
        "image/jpeg"
    ));
    assert!(!wants_credentials("hls/720p/init.mp4", "video/mp4"));
    assert!(!wants_credentials("storyboard.vtt", "text/vtt"));
    assert!(!wants_credentials("iiif/info.json", "application/ld+json"));
}

#[test]
fn actions_follow_what_was_done_to_the_master() {
    let mut profile = Profile::default();
    let master = info(&[
        ("width_displayed", json!(4000)),
        ("height_displayed", json!(3000)),
        ("colour_converted", json!(false)),
    ]);
    // Same size: only transcoded; smaller: resized too.
    assert_eq!(
        actions(
            JobKind::Image,
            &profile,
            &master,
            "access.jpg",
            (Some(4000), Some(3000))
        ),
        vec!["c2pa.transcoded"]
    );
    assert_eq!(
        actions(
            JobKind::Image,
            &profile,
            &master,
            "thumb.jpg",
            (Some(256), Some(192))
        ),
        vec!["c2pa.transcoded", "c2pa.resized"]
    );
    // A converted profile and a watermark on the access copies, not on the thumbnail.
    let converted = info(&[
        ("width_displayed", json!(4000)),
        ("height_displayed", json!(3000)),
        ("colour_converted", json!(true)),
    ]);
    profile.image.watermark.enabled = true;
    assert_eq!(
        actions(
            JobKind::Image,
            &profile,
            &converted,
            "access-1024.webp",
            (Some(1024), Some(768))
        ),
        vec![
            "c2pa.transcoded",
            "c2pa.resized",
            "c2pa.color_adjustments",
            "c2pa.watermarked"
        ]
    );
    assert_eq!(
        actions(
            JobKind::Image,
            &profile,
            &converted,
            "thumb.jpg",
            (Some(256), Some(192))
        ),
        vec!["c2pa.transcoded", "c2pa.resized", "c2pa.color_adjustments"]
    );
    // Video compares with the coded size.
    let video = info(&[("width", json!(1920)), ("height", json!(1080))]);
    assert_eq!(
        actions(
            JobKind::Video,
            &Profile::default(),
            &video,
            "access.mp4",
            (Some(1920), Some(1080))
        ),
        vec!["c2pa.transcoded"]
    );
}
