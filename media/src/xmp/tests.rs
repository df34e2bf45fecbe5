use caravan_testkit::{ffmpeg, requests, tools};

#[test]
fn title_creator_and_rights_reach_every_public_derivative() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = caravan_proto::AssetMetadata {
        title: Some("全景 · بانوراما <Panorama & \"Co\">".into()),
        creator: Some("Katsushika Hokusai".into()),
        rights: Some("© Sharjah Museums Authority".into()),
        rights_uri: Some("http://rightsstatements.org/vocab/InC/1.0/".into()),
        digital_source_type: Some("trainedAlgorithmicMedia".into()),
        description: Some("浮世絵の風景".into()),
        language: Some("ja".into()),
        translations: [
            (
                "ar".to_owned(),
                caravan_proto::metadata::Texts {
                    title: Some("بانوراما".into()),
                    description: Some("منظر طبيعي".into()),
                    ..Default::default()
                },
            ),
            (
                "th".to_owned(),
                caravan_proto::metadata::Texts {
                    title: Some("ภาพพาโนรามา".into()),
                    ..Default::default()
                },
            ),
        ]
        .into(),
        ..Default::default()
    };
    let expect = |path: &std::path::Path| {
        let tags = tools::exiftool(path);
        let what = path.display();
        assert_eq!(
            tags["Title"], "全景 · بانوراما <Panorama & \"Co\">",
            "{what}: {tags}"
        );
        assert_eq!(tags["Creator"], "Katsushika Hokusai", "{what}");
        // Every language of the catalogue row, as XMP language alternatives.
        assert_eq!(
            tags["Title-ja"], "全景 · بانوراما <Panorama & \"Co\">",
            "{what}: {tags}"
        );
        assert_eq!(tags["Title-ar"], "بانوراما", "{what}");
        assert_eq!(tags["Title-th"], "ภาพพาโนรามา", "{what}");
        assert_eq!(tags["Description"], "浮世絵の風景", "{what}");
        assert_eq!(tags["Description-ar"], "منظر طبيعي", "{what}");
        assert_eq!(tags["Rights"], "© Sharjah Museums Authority", "{what}");
        assert_eq!(
            tags["WebStatement"], "http://rightsstatements.org/vocab/InC/1.0/",
            "{what}"
        );
        // Written out by hand from the IPTC vocabulary, not by the code under test.
        assert_eq!(
            tags["DigitalSourceType"],
            "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            "{what}"
        );
    };

    // Images: JPEG and WebP access copies and the thumbnail; info.json's `rights`.
    let master = dir.path().join("master.png");
    image::RgbImage::from_pixel(900, 600, image::Rgb([90, 120, 150]))
        .save(&master)
        .unwrap();
    let out = dir.path().join("image");
    std::fs::create_dir_all(&out).unwrap();
    let mut request = requests::image(&master, &out, caravan_proto::Profile::default());
    request.metadata = metadata.clone();
    crate::image::run(&request, &mut |_| {}).unwrap();
    for file in ["access.jpg", "access.webp", "thumb.jpg"] {
        expect(&out.join(file));
    }
    // The WebP is still a WebP every decoder reads.
    assert_eq!(image::open(out.join("access.webp")).unwrap().width(), 900);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("iiif/info.json")).unwrap()).unwrap();
    assert_eq!(info["rights"], "http://rightsstatements.org/vocab/InC/1.0/");

    // Video: MP4 tags, and XMP in the poster.
    let clip = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=320x240:r=25:d=1",
            "-c:v",
            "ffv1",
        ],
        &dir.path().join("clip.mkv"),
    );
    let out = dir.path().join("video");
    std::fs::create_dir_all(&out).unwrap();
    let profile = caravan_proto::Profile::default();
    crate::video::run(&clip, &out, &profile, &metadata, &mut |_| {}).unwrap();
    let tags = tools::exiftool(&out.join("access.mp4"));
    assert_eq!(
        tags["Title"], "全景 · بانوراما <Panorama & \"Co\">",
        "{tags}"
    );
    assert_eq!(tags["Artist"], "Katsushika Hokusai");
    assert_eq!(tags["Copyright"], "© Sharjah Museums Authority");
    expect(&out.join("poster.jpg"));
}
