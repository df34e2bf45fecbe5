use caravan_testkit::files::{as_arg, files_below};
use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::{requests, tools};

use crate::image::test_support::iiif_card;

#[test]
fn iiif_tiles_promised_by_info_json_exist_decode_and_stitch_back() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.png");
    let full = iiif_card(2300, 1500);
    full.save(&master).unwrap();
    check_iiif(&master, &full, "decoded whole");
}

/// An image that fits one tile is asked for whole at full size: `full/max`, which a level 0
/// service must answer (OpenSeadragon asks for nothing else then).
#[test]
fn an_image_within_one_tile_answers_full_max() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("small.png");
    let full = iiif_card(300, 200);
    full.save(&master).unwrap();
    let out = tempfile::tempdir().unwrap();
    let made = crate::image::run(
        &requests::image(&master, out.path(), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap();
    assert!(made
        .outputs
        .iter()
        .any(|o| o.name.as_str() == "iiif/full/max/0/default.jpg"));
    let max = image::open(out.path().join("iiif/full/max/0/default.jpg")).unwrap();
    assert_eq!((max.width(), max.height()), (300, 200));
    let diff = mean_abs_diff(&max.into_rgb8(), &full);
    assert!(diff < 6.0, "full/max differs from the master by {diff:.2}");
}

/// TIFF masters are read band by band ([`crate::tiff_bands`]) into a pyramid made as
/// the rows arrive: the tiles are the same as from a master decoded whole, whatever the bands'
/// height (one-row and 16-row strips, 256 px tiles) and with odd sizes at every level.
#[test]
fn iiif_tiles_of_a_tiff_read_band_by_band_stitch_back_too() {
    let dir = tempfile::tempdir().unwrap();
    let full = iiif_card(2301, 1499);
    let (w, h) = full.dimensions();
    // 16-bit, one row per strip (the `tiff` crate's encoder): the 8-bit card widened exactly.
    let strips = dir.path().join("strips16.tif");
    let wide: Vec<u16> = full.as_raw().iter().map(|&v| u16::from(v) * 257).collect();
    tiff::encoder::TiffEncoder::new(std::fs::File::create(&strips).unwrap())
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB16>(w, h, &wide)
        .unwrap();
    let png = dir.path().join("card.png");
    full.save(&png).unwrap();
    let plain = dir.path().join("plain8.tif");
    tiff::encoder::TiffEncoder::new(std::fs::File::create(&plain).unwrap())
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB8>(w, h, full.as_raw())
        .unwrap();
    // LZW (decoded by `pipeline::lzw`) with horizontal differencing in 16-row strips, 16-bit
    // big-endian, in 256×256 tiles, plane by plane; Deflate tiles (the `tiff` crate's path).
    let variants: [(&str, &std::path::Path, &[&str]); 5] = [
        ("lzw-predictor.tif", &plain, &["-c", "lzw:2", "-r", "16"]),
        ("lzw16-be.tif", &strips, &["-B", "-c", "lzw:2", "-r", "8"]),
        (
            "lzw-tiles.tif",
            &plain,
            &["-c", "lzw", "-t", "-w", "256", "-l", "256"],
        ),
        (
            "lzw-planes.tif",
            &plain,
            &["-c", "lzw", "-p", "separate", "-r", "32"],
        ),
        (
            "zip-tiles.tif",
            &plain,
            &["-c", "zip", "-t", "-w", "256", "-l", "256"],
        ),
    ];
    let mut masters = vec![strips.clone()];
    for (name, from, args) in variants {
        let made = dir.path().join(name);
        let mut all = args.to_vec();
        all.extend([as_arg(from), as_arg(&made)]);
        tools::libtiff("tiffcp", &all);
        masters.push(made);
    }
    let whole = check_iiif(&png, &full, "decoded whole");
    for master in &masters {
        let banded = check_iiif(master, &full, "band by band");
        for entry in files_below(&whole.path().join("iiif")) {
            let relative = entry.strip_prefix(whole.path()).unwrap();
            assert_eq!(
                std::fs::read(&entry).unwrap(),
                std::fs::read(banded.path().join(relative)).unwrap(),
                "{}: {} differs from the one made from the master decoded whole",
                master.display(),
                relative.display()
            );
        }
    }
}

/// Makes the default profile's derivatives of `master` (whose pixels are `full`) and checks
/// its IIIF pyramid against `full`; `read` is how the receipt says the master was read.
fn check_iiif(master: &std::path::Path, full: &image::RgbImage, read: &str) -> tempfile::TempDir {
    let (w, h) = full.dimensions();
    let out = tempfile::tempdir().unwrap();
    let made = crate::image::run(
        &requests::image(master, out.path(), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        made.master_info
            .get("read")
            .and_then(|v| v.as_str())
            .unwrap_or("decoded whole"),
        read,
        "{}",
        master.display()
    );
    for output in &made.outputs {
        assert!(
            out.path().join(output.name.as_str()).is_file(),
            "{} listed but not written",
            output.name
        );
    }

    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("iiif/info.json")).unwrap()).unwrap();
    assert_eq!(info["@context"], "http://iiif.io/api/image/3/context.json");
    assert_eq!(info["type"], "ImageService3");
    assert_eq!(info["profile"], "level0");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(u64::from(w)), Some(u64::from(h)))
    );
    let tile = info["tiles"][0]["width"].as_u64().unwrap() as u32;
    let factors: Vec<u32> = info["tiles"][0]["scaleFactors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(
        factors,
        vec![1, 2, 4, 8],
        "down to the level that fits one {tile} px tile"
    );
    let tiles_listed = made
        .outputs
        .iter()
        .filter(|o| o.name.as_str().ends_with("/0/default.jpg"))
        .filter(|o| !o.name.as_str().starts_with("iiif/full/"))
        .count();
    let mut tiles_checked = 0;

    let tile_path = |tx: u32, ty: u32, rw: u32, rh: u32, sw: u32, sh: u32| {
        out.path()
            .join(format!("iiif/{tx},{ty},{rw},{rh}/{sw},{sh}/0/default.jpg"))
    };
    for s in factors {
        let (lw, lh) = (w.div_ceil(s), h.div_ceil(s));
        let mut canvas = image::RgbImage::new(lw, lh);
        for ty in (0..h).step_by((tile * s) as usize) {
            for tx in (0..w).step_by((tile * s) as usize) {
                let (rw, rh) = ((tile * s).min(w - tx), (tile * s).min(h - ty));
                let (sw, sh) = (rw.div_ceil(s), rh.div_ceil(s));
                let path = tile_path(tx, ty, rw, rh, sw, sh);
                let decoded = image::open(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .into_rgb8();
                assert_eq!(decoded.dimensions(), (sw, sh), "{}", path.display());
                tiles_checked += 1;
                image::imageops::replace(
                    &mut canvas,
                    &decoded,
                    i64::from(tx / s),
                    i64::from(ty / s),
                );
            }
        }
        let reference =
            image::imageops::resize(full, lw, lh, image::imageops::FilterType::Lanczos3);
        let diff = mean_abs_diff(&canvas, &reference);
        assert!(
            diff < 6.0,
            "scale factor {s}: stitched tiles differ from the downscaled image by {diff:.2}"
        );
    }
    for size in info["sizes"].as_array().unwrap() {
        let (sw, sh) = (
            size["width"].as_u64().unwrap() as u32,
            size["height"].as_u64().unwrap() as u32,
        );
        let decoded = image::open(
            out.path()
                .join(format!("iiif/full/{sw},{sh}/0/default.jpg")),
        )
        .unwrap();
        assert_eq!((decoded.width(), decoded.height()), (sw, sh));
    }
    assert_eq!(
        tiles_checked, tiles_listed,
        "every tile written is one info.json promises"
    );
    out
}
