use caravan_testkit::files::as_arg;
use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::tools;

use crate::image::test_support::access_of;

#[test]
fn the_srgb_profile_in_derivatives_is_valid_icc_and_the_same_in_every_run() {
    use crate::image::colour::{normalise_icc, srgb_icc};
    let icc = srgb_icc();
    let be32 = |at: usize| u32::from_be_bytes(icc[at..at + 4].try_into().unwrap());
    assert_eq!(be32(0) as usize, icc.len());
    assert_eq!(&icc[36..40], b"acsp");
    assert_eq!(&icc[16..20], b"RGB ");
    // The connection space's illuminant is D50 exactly (ICC.1 7.2.16).
    assert_eq!([be32(68), be32(72), be32(76)], [0xF6D6, 0x1_0000, 0xD32D]);
    // Every tag starts on a 4-byte boundary inside the profile (ICC.1 7.3.1).
    let count = be32(128) as usize;
    assert!(count >= 9);
    for k in 0..count {
        let (offset, size) = (be32(132 + 12 * k + 4), be32(132 + 12 * k + 8));
        assert_eq!(offset % 4, 0, "tag {k} at {offset}");
        assert!((offset + size) as usize <= icc.len());
    }
    // It still describes sRGB: converting through it changes no colour.
    let parsed = moxcms::ColorProfile::new_from_slice(icc).unwrap();
    let srgb = moxcms::ColorProfile::new_srgb();
    let transform = parsed
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &srgb,
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .unwrap();
    let colours = [12u8, 200, 90, 255, 0, 128, 77, 77, 77];
    let mut out = [0u8; 9];
    transform.transform(&colours, &mut out).unwrap();
    for (a, b) in colours.iter().zip(out) {
        assert!(a.abs_diff(b) <= 1, "{colours:?} became {out:?}");
    }
    // The encoder stamps the time; two profiles made a second apart are the same once
    // normalised, so a derivative's bytes do not depend on when it was made.
    let first = moxcms::ColorProfile::new_srgb().encode().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = moxcms::ColorProfile::new_srgb().encode().unwrap();
    assert_eq!(normalise_icc(first), normalise_icc(second));

    // A derivative carries exactly this profile (its APP2 ICC_PROFILE segment), and Little CMS,
    // which we did not write, reads it and converts through it.
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("grey.png");
    image::RgbImage::from_pixel(32, 32, image::Rgb([90, 120, 150]))
        .save(&master)
        .unwrap();
    let (_, jpeg, _) = access_of(&master);
    let at = jpeg
        .windows(12)
        .position(|w| w == b"ICC_PROFILE\0")
        .expect("an ICC_PROFILE segment");
    // Segment: FF E2, length (2 bytes, counting itself), "ICC_PROFILE\0", sequence, count, data.
    let length = usize::from(u16::from_be_bytes([jpeg[at - 2], jpeg[at - 1]]));
    let embedded = &jpeg[at + 14..at - 2 + length];
    assert_eq!(embedded, icc, "the derivative's profile");
    let file = dir.path().join("srgb.icc");
    std::fs::write(&file, icc).unwrap();
    tools::lcms("transicc", &["-i", as_arg(&file), "-o", "*sRGB", "-n"]);
}

/// Writes `pixels` with `encoder`, tagged with a Display P3 profile.
fn write_display_p3(mut encoder: impl image::ImageEncoder, pixels: &image::RgbImage) {
    encoder
        .set_icc_profile(moxcms::ColorProfile::new_display_p3().encode().unwrap())
        .unwrap();
    let (w, h) = pixels.dimensions();
    encoder
        .write_image(pixels.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
}

#[test]
fn embedded_icc_profiles_are_converted_to_srgb() {
    // A Display P3 master: its colours are more saturated than the same numbers in sRGB.
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("p3.png");
    let (r, g, b) = (200u8, 100u8, 50u8);
    let pixels = image::RgbImage::from_pixel(64, 64, image::Rgb([r, g, b]));
    let mut file = std::fs::File::create(&master).unwrap();
    write_display_p3(image::codecs::png::PngEncoder::new(&mut file), &pixels);
    drop(file);

    let (access, _, made) = access_of(&master);
    assert_converted(&made);
    // Independent reference: decode the sRGB curve (shared by P3), apply the P3→sRGB matrix,
    // encode again.
    let lin = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let enc = |c: f64| {
        let c = c.clamp(0.0, 1.0);
        let v = if c <= 0.003_130_8 {
            c * 12.92
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        };
        (v * 255.0).round()
    };
    let (lr, lg, lb) = (lin(r), lin(g), lin(b));
    let expected = [
        enc(1.224_940 * lr - 0.224_940 * lg),
        enc(-0.042_057 * lr + 1.042_057 * lg),
        enc(-0.019_638 * lr - 0.078_636 * lg + 1.098_274 * lb),
    ];
    let got = access.get_pixel(32, 32).0;
    for c in 0..3 {
        assert!(
            (f64::from(got[c]) - expected[c]).abs() <= 3.0,
            "channel {c}: got {got:?}, expected {expected:?}"
        );
    }
    assert!(
        got[0] > r + 5,
        "P3 red should be more saturated in sRGB numbers: {got:?}"
    );

    // The same master as a TIFF: its profile is honoured too (the `image` crate's TIFF reader
    // loses it once decoding limits are set, so it is read from the TIFF's own tag).
    let tiff = dir.path().join("p3.tif");
    let mut file = std::fs::File::create(&tiff).unwrap();
    write_display_p3(image::codecs::tiff::TiffEncoder::new(&mut file), &pixels);
    drop(file);
    let (from_tiff, _, made) = access_of(&tiff);
    assert_converted(&made);
    assert_eq!(from_tiff.get_pixel(32, 32), access.get_pixel(32, 32));
}

/// The receipt says the master's embedded profile was converted to sRGB.
fn assert_converted(made: &crate::output::PipelineOutput) {
    let colour = made.master_info["colour"].as_str().unwrap();
    assert!(colour.starts_with("converted"), "{:?}", made.master_info);
}

#[test]
fn cmyk_masters_are_converted_through_their_cmyk_profile_as_little_cms_does() {
    // Ghostscript's SWOP press profile (Debian libgs-common), embedded by Little CMS's tools,
    // which also make the reference: relative colorimetric, as we convert.
    let press = "/usr/share/color/icc/ghostscript/default_cmyk.icc";
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let picture = image::RgbImage::from_fn(320, 200, |x, y| {
        let patch = [
            [230, 30, 40],
            [20, 160, 60],
            [30, 60, 200],
            [250, 220, 30],
            [15, 15, 15],
        ];
        if y < 60 {
            image::Rgb(patch[(x / 64) as usize])
        } else {
            image::Rgb([(x * 255 / 320) as u8, (y * 255 / 200) as u8, 140])
        }
    });
    let close = |ours: &image::RgbImage, reference: &std::path::Path, limit: f64| {
        let reference = image::open(reference).unwrap().into_rgb8();
        let diff = mean_abs_diff(ours, &reference);
        assert!(diff < limit, "differs from Little CMS by {diff:.2}");
    };

    // JPEG: Adobe CMYK behind a YCCK transform, stored inverted, with the profile embedded.
    picture.save(path("rgb.jpg")).unwrap();
    let cmyk_jpeg = path("cmyk.jpg");
    tools::lcms(
        "jpgicc",
        &[
            &format!("-o{press}"),
            "-e",
            "-q95",
            as_arg(&path("rgb.jpg")),
            as_arg(&cmyk_jpeg),
        ],
    );
    tools::lcms(
        "jpgicc",
        &[
            "-t1",
            "-q100",
            as_arg(&cmyk_jpeg),
            as_arg(&path("reference.jpg")),
        ],
    );
    let (access, _, made) = access_of(&cmyk_jpeg);
    let colour = made.master_info["colour"].as_str().unwrap();
    assert!(
        colour.contains("converted") && colour.contains("SWOP"),
        "{colour}"
    );
    close(&access, &path("reference.jpg"), 2.5);

    // TIFF: separated 8-bit samples with the profile in its ICC tag.
    picture.save(path("rgb.tif")).unwrap();
    let cmyk_tiff = path("cmyk.tif");
    tools::lcms(
        "tificc",
        &[
            &format!("-o{press}"),
            "-e",
            as_arg(&path("rgb.tif")),
            as_arg(&cmyk_tiff),
        ],
    );
    tools::lcms(
        "tificc",
        &["-t1", as_arg(&cmyk_tiff), as_arg(&path("reference.tif"))],
    );
    let (access, _, made) = access_of(&cmyk_tiff);
    let colour = made.master_info["colour"].as_str().unwrap();
    assert!(
        colour.contains("converted") && colour.contains("SWOP"),
        "{colour}"
    );
    close(&access, &path("reference.tif"), 2.0);
}

/// CMYK masters that embed no profile (as ImageMagick, older scanners and DAM exports write them)
/// are read as press software reads them: through an assumed press profile, Ghostscript's by
/// default. The reference is Little CMS told to assume the same profile (`-i`), relative
/// colorimetric; TIFF in 8 and 16 bits, JPEG (Adobe YCCK). The naive formula stays available
/// by name, and differs visibly.
#[test]
fn cmyk_masters_without_a_profile_are_converted_through_the_assumed_press_profile() {
    let press = caravan_proto::DEFAULT_CMYK_PROFILE;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let picture = image::RgbImage::from_fn(320, 200, |x, y| {
        let patch = [[230, 30, 40], [20, 160, 60], [30, 60, 200], [250, 220, 30]];
        if y < 50 {
            image::Rgb(patch[(x / 80) as usize])
        } else {
            image::Rgb([(x * 255 / 320) as u8, (y * 255 / 200) as u8, 140])
        }
    });
    picture.save(path("rgb.tif")).unwrap();
    picture.save(path("rgb.jpg")).unwrap();
    let assumed = format!("-i{press}");
    let made_by = |bits: &str| {
        let cmyk = path(&format!("cmyk{bits}.tif"));
        let reference = path(&format!("reference{bits}.tif"));
        tools::lcms(
            "tificc",
            &[
                &format!("-o{press}"),
                &format!("-w{bits}"),
                as_arg(&path("rgb.tif")),
                as_arg(&cmyk),
            ],
        );
        tools::lcms(
            "tificc",
            &[&assumed, "-t1", "-w8", as_arg(&cmyk), as_arg(&reference)],
        );
        (cmyk, reference)
    };
    let (tiff8, reference8) = made_by("8");
    let (tiff16, reference16) = made_by("16");
    let jpeg = path("cmyk.jpg");
    tools::lcms(
        "jpgicc",
        &[
            &format!("-o{press}"),
            "-q95",
            as_arg(&path("rgb.jpg")),
            as_arg(&jpeg),
        ],
    );
    let reference_jpeg = path("reference.jpg");
    tools::lcms(
        "jpgicc",
        &[
            &assumed,
            "-t1",
            "-q100",
            as_arg(&jpeg),
            as_arg(&reference_jpeg),
        ],
    );

    for (master, reference, limit) in [
        (&tiff8, &reference8, 2.55),
        (&tiff16, &reference16, 2.55),
        (&jpeg, &reference_jpeg, 2.55),
    ] {
        let (access, _, made) = access_of(master);
        let colour = made.master_info["colour"].as_str().unwrap();
        assert!(
            colour.contains("no embedded profile; assumed") && colour.contains(press),
            "{}: {colour}",
            master.display()
        );
        let reference = image::open(reference).unwrap().into_rgb8();
        let diff = mean_abs_diff(&access, &reference);
        assert!(
            diff < limit,
            "{}: differs from Little CMS by {diff:.2} (1 % is 2.55)",
            master.display()
        );
    }

    // `naive` asks for the textbook formula: said so in the receipt, and far from the press.
    let mut profile = caravan_proto::Profile::default();
    profile.image.cmyk_default_profile = caravan_proto::NAIVE_CMYK.into();
    let out = tempfile::tempdir().unwrap();
    let made = crate::image::run(
        &caravan_testkit::requests::image(&tiff8, out.path(), profile.clone()),
        &mut |_| {},
    )
    .unwrap();
    assert!(
        made.master_info["colour"]
            .as_str()
            .unwrap()
            .contains("naive formula"),
        "{}",
        made.master_info["colour"]
    );
    let naive = image::open(out.path().join("access.jpg"))
        .unwrap()
        .into_rgb8();
    let diff = mean_abs_diff(&naive, &image::open(&reference8).unwrap().into_rgb8());
    assert!(
        diff > 5.0,
        "the naive formula should differ visibly ({diff:.2})"
    );

    // A profile named but missing is a clear error, not the formula in disguise.
    profile.image.cmyk_default_profile = "/nonexistent/press.icc".into();
    let err = crate::image::run(
        &caravan_testkit::requests::image(&tiff8, out.path(), profile),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code().as_str(), "profile_file_unreadable", "{err}");
    assert!(err.to_string().contains("libgs-common"), "{err}");
}
