use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::{corpus, ffmpeg, tools};

use crate::image::test_support::{access_of, access_with};

#[test]
fn every_exif_orientation_gives_the_upright_image() {
    let Some(dir) = corpus::dir("every_exif_orientation_gives_the_upright_image", "images") else {
        return;
    };
    let (upright, _, _) = access_of(&dir.join("hopper.jpg"));
    for n in [2, 3, 5, 6, 8] {
        let (oriented, _, made) = access_of(&dir.join(format!("hopper_orientation_{n}.jpg")));
        let diff = mean_abs_diff(&upright, &oriented);
        assert!(
            diff < 6.0,
            "orientation {n}: mean difference {diff:.2} from hopper.jpg ({:?})",
            made.master_info.get("orientation")
        );
    }
}

/// Every EXIF orientation, 1 to 8, made by tools this project did not write: FFmpeg turns an
/// asymmetric picture so that the orientation's transform makes it upright again (EXIF/TIFF 6.0:
/// 5 is the transpose, 7 the transverse), exiftool writes the tag. Each access copy must equal
/// the upright picture's.
#[test]
fn every_exif_orientation_one_to_eight_gives_the_upright_image() {
    let dir = tempfile::tempdir().unwrap();
    let upright = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=480x320",
            "-frames:v",
            "1",
        ],
        &dir.path().join("upright.png"),
    );
    let turns = [
        (1, "null"),
        (2, "hflip"),
        (3, "hflip,vflip"),
        (4, "vflip"),
        (5, "transpose=cclock_flip"),
        (6, "transpose=cclock"),
        (7, "transpose=clock_flip"),
        (8, "transpose=clock"),
    ];
    for (n, stored_as) in turns {
        let master = ffmpeg::make(
            &[
                "-i",
                upright.to_str().unwrap(),
                "-vf",
                stored_as,
                "-q:v",
                "2",
            ],
            &dir.path().join(format!("orientation-{n}.jpg")),
        );
        tools::set_exif_orientation(&master, n);
        // With tiles (every pixel decoded) and without (decoded at a reduced scale).
        let mut reduced = caravan_proto::Profile::default();
        reduced.image.iiif.enabled = false;
        reduced.image.access_long_edge = 200;
        reduced.image.access_extra_sizes.clear();
        reduced.image.thumbnail_long_edge = 100;
        for (profile, what) in [
            (caravan_proto::Profile::default(), "full"),
            (reduced, "reduced"),
        ] {
            let reference = access_with(&upright, profile.clone()).0;
            let (oriented, _, made) = access_with(&master, profile);
            assert_eq!(
                oriented.dimensions(),
                reference.dimensions(),
                "orientation {n}, {what}"
            );
            if what == "reduced" {
                assert!(
                    made.master_info["read"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("scaled by 4/8")),
                    "{:?}",
                    made.master_info["read"]
                );
            }
            let diff = mean_abs_diff(&reference, &oriented);
            assert!(
                diff < 4.0,
                "orientation {n}, {what}: mean difference {diff:.2} from the upright picture ({:?}, {:?})",
                made.master_info.get("orientation"),
                made.master_info.get("read"),
            );
        }
    }
}
