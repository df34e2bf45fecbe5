use caravan_testkit::files::as_arg;
use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::{corpus, ffmpeg, requests, tools};

use crate::image::test_support::access_jpeg;

/// A tiled TIFF stored plane by plane (PlanarConfiguration 2), uncompressed, 16-bit RGB, written
/// by hand: `image` has no writer for it.
fn planar_tiled_tiff(
    path: &std::path::Path,
    picture: &image::ImageBuffer<image::Rgb<u16>, Vec<u16>>,
) {
    let (w, h) = picture.dimensions();
    let tile = 32u32;
    let (across, down) = (w.div_ceil(tile), h.div_ceil(tile));
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for plane in 0..3 {
        for ty in 0..down {
            for tx in 0..across {
                offsets.push(8 + data.len() as u32);
                // Tiles are stored whole; past the image's edge they are padding.
                for y in 0..tile {
                    for x in 0..tile {
                        let (px, py) = (tx * tile + x, ty * tile + y);
                        let v = if px < w && py < h {
                            picture.get_pixel(px, py).0[plane]
                        } else {
                            0
                        };
                        data.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
    }
    let count = offsets.len() as u32;
    let tile_bytes = tile * tile * 2;
    let bits_at = 8 + data.len() as u32;
    let offsets_at = bits_at + 6;
    let counts_at = offsets_at + 4 * count;
    let ifd_at = counts_at + 4 * count;
    let mut file = b"II*\0".to_vec();
    file.extend_from_slice(&ifd_at.to_le_bytes());
    file.extend_from_slice(&data);
    for _ in 0..3 {
        file.extend_from_slice(&16u16.to_le_bytes());
    }
    for o in &offsets {
        file.extend_from_slice(&o.to_le_bytes());
    }
    for _ in 0..count {
        file.extend_from_slice(&tile_bytes.to_le_bytes());
    }
    // (tag, type (3 short, 4 long), count, value or offset)
    let entries: [(u16, u16, u32, u32); 11] = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 3, bits_at),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (277, 3, 1, 3),
        (284, 3, 1, 2),
        (322, 4, 1, tile),
        (323, 4, 1, tile),
        (324, 4, count, offsets_at),
        (325, 4, count, counts_at),
    ];
    file.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, n, value) in entries {
        file.extend_from_slice(&tag.to_le_bytes());
        file.extend_from_slice(&kind.to_le_bytes());
        file.extend_from_slice(&n.to_le_bytes());
        file.extend_from_slice(&value.to_le_bytes());
    }
    file.extend_from_slice(&0u32.to_le_bytes());
    std::fs::write(path, file).unwrap();
}

#[test]
fn tiffs_stored_plane_by_plane_are_assembled() {
    let dir = tempfile::tempdir().unwrap();
    // 16-bit RGB, 100×70: tiles of 32 leave partial tiles on the right and bottom edges.
    let picture = image::ImageBuffer::from_fn(100, 70, |x, y| {
        image::Rgb([(x * 650) as u16, (y * 930) as u16, ((x + y) * 380) as u16])
    });
    let planar = dir.path().join("planar.tif");
    planar_tiled_tiff(&planar, &picture);
    let contiguous = dir.path().join("contiguous.png");
    image::DynamicImage::ImageRgb16(picture)
        .save(&contiguous)
        .unwrap();
    let ours = access_jpeg(&planar, &dir.path().join("planar"));
    let reference = access_jpeg(&contiguous, &dir.path().join("contiguous"));
    assert_eq!(ours.dimensions(), (100, 70));
    let diff = mean_abs_diff(&ours, &reference);
    assert!(
        diff < 0.5,
        "planar and contiguous masters differ by {diff:.2}"
    );

    // The corpus's tiled, planar, LZW TIFF (a photo beside a screenshot; black bar top left).
    let Some(corpus) = corpus::dir("tiffs_stored_plane_by_plane_are_assembled", "images") else {
        return;
    };
    let access = access_jpeg(
        &corpus.join("tiff_tiled_planar_lzw.tiff"),
        &dir.path().join("corpus"),
    );
    assert_eq!(access.dimensions(), (278, 374));
    assert!(
        access.get_pixel(10, 10).0.iter().all(|&c| c < 40),
        "black bar"
    );
    let sky = access.get_pixel(40, 100).0;
    assert!(sky.iter().all(|&c| c > 60), "sky, not black: {sky:?}");
    let ui = access.get_pixel(250, 160).0;
    assert!(
        ui.iter().all(|&c| c > 200),
        "white spreadsheet cells: {ui:?}"
    );
}

#[test]
fn tiff_variants_the_image_crate_cannot_read_make_the_same_derivatives() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    // A picture with smooth gradients and hard edges, stored uncompressed.
    let picture = image::RgbImage::from_fn(320, 200, |x, y| {
        let edge = if (x / 40 + y / 40) % 2 == 0 { 60 } else { 0 };
        image::Rgb([(x * 255 / 320) as u8, (y * 255 / 200) as u8, 120 + edge])
    });
    let plain = path("plain.tif");
    picture.save(&plain).unwrap();
    let reference = access_jpeg(&plain, &path("plain"));
    // Which decoder read `master`, as its receipt says.
    let decoded_by = |master: &std::path::Path| {
        let out = tempfile::tempdir().unwrap();
        let mut profile = caravan_proto::Profile::default();
        profile.image.iiif.enabled = false;
        let made =
            crate::image::run(&requests::image(master, out.path(), profile), &mut |_| {}).unwrap();
        made.master_info["decoder"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    // JPEG-compressed YCbCr (4:2:0, shared JPEG tables): the `image` crate refuses its colour
    // type; the `tiff` crate decodes it and we convert to RGB.
    let jpeg = path("jpeg.tif");
    tools::libtiff(
        "tiffcp",
        &["-c", "jpeg:95", "-r", "16", as_arg(&plain), as_arg(&jpeg)],
    );
    assert!(decoded_by(&jpeg).starts_with("the tiff crate (JPEG-compressed YCbCr)"));
    let ours = access_jpeg(&jpeg, &path("jpeg"));
    let diff = mean_abs_diff(&ours, &reference);
    assert!(
        diff < 3.0,
        "JPEG-in-TIFF differs from its source by {diff:.2}"
    );
    // Its Orientation tag is honoured (6: rotate 90° clockwise to view).
    tools::libtiff("tiffset", &["-s", "274", "6", as_arg(&jpeg)]);
    let turned = access_jpeg(&jpeg, &path("jpeg-turned"));
    assert_eq!(turned.dimensions(), (200, 320));
    let top_left = turned.get_pixel(5, 5).0;
    // The source's bottom-left corner (red 0, green high) is now top left.
    assert!(top_left[0] < 40 && top_left[1] > 200, "{top_left:?}");

    // Palette colour, written by the FFmpeg CLI: the same derivative as its colours spelt out.
    let palette = ffmpeg::make(
        &["-i", as_arg(&plain), "-pix_fmt", "pal8"],
        &path("palette.tif"),
    );
    assert!(decoded_by(&palette).starts_with("FFmpeg's TIFF decoder"));
    let spelt_out = ffmpeg::make(
        &["-i", as_arg(&palette), "-pix_fmt", "rgb24"],
        &path("palette.png"),
    );
    let diff = mean_abs_diff(
        &access_jpeg(&palette, &path("palette")),
        &access_jpeg(&spelt_out, &path("spelt-out")),
    );
    assert!(diff < 0.5, "palette TIFF differs by {diff:.2}");

    // A bitonal scan, CCITT Group 3: the same pixels as the uncompressed 1-bit TIFF.
    let bitonal = ffmpeg::make(
        &["-i", as_arg(&plain), "-pix_fmt", "monob"],
        &path("bitonal.tif"),
    );
    let fax = path("fax.tif");
    tools::libtiff("tiffcp", &["-c", "g3", as_arg(&bitonal), as_arg(&fax)]);
    assert!(decoded_by(&fax).starts_with("FFmpeg's TIFF decoder"));
    let diff = mean_abs_diff(
        &access_jpeg(&fax, &path("fax")),
        &access_jpeg(&bitonal, &path("bitonal")),
    );
    assert!(diff < 0.5, "Group 3 TIFF differs by {diff:.2}");

    // Cut short, a JPEG-compressed TIFF is a clean failure, not half a picture.
    let bytes = std::fs::read(&jpeg).unwrap();
    let cut = path("cut.tif");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    std::fs::create_dir_all(path("cut")).unwrap();
    let err = crate::image::run(
        &requests::image(&cut, &path("cut"), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code().as_str(), "undecodable_input", "{err}");
}

/// What README promises of TIFF masters beyond the common ones, each made by libtiff's own tools:
/// BigTIFF, PackBits and CCITT Group 4 give the same derivative as the plain file; CIE L*a*b*
/// and old-style (pre-TIFF 6) LZW are refused as unsupported, not decoded into wrong pixels.
#[test]
fn bigtiff_packbits_and_group_4_are_read_and_lab_and_old_lzw_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let picture = image::RgbImage::from_fn(300, 180, |x, y| {
        let edge = if (x / 30 + y / 30) % 2 == 0 { 70 } else { 0 };
        image::Rgb([(x * 255 / 300) as u8, (y * 255 / 180) as u8, 100 + edge])
    });
    let plain = path("plain.tif");
    picture.save(&plain).unwrap();
    let reference = access_jpeg(&plain, &path("plain"));
    let same = |master: &std::path::Path, reference: &image::RgbImage, what: &str| {
        let ours = access_jpeg(master, &path(&format!("{what}-out")));
        let diff = mean_abs_diff(&ours, reference);
        assert!(
            diff < 0.5,
            "{what} differs from its plain form by {diff:.2}"
        );
    };

    let big = path("big.tif");
    tools::libtiff("tiffcp", &["-8", as_arg(&plain), as_arg(&big)]);
    assert_eq!(
        &std::fs::read(&big).unwrap()[..4],
        b"II+\0",
        "a BigTIFF header"
    );
    same(&big, &reference, "BigTIFF");

    let packbits = path("packbits.tif");
    tools::libtiff(
        "tiffcp",
        &["-c", "packbits", as_arg(&plain), as_arg(&packbits)],
    );
    same(&packbits, &reference, "PackBits");

    let bitonal = ffmpeg::make(
        &["-i", as_arg(&plain), "-pix_fmt", "monob"],
        &path("bitonal.tif"),
    );
    let g4 = path("g4.tif");
    tools::libtiff("tiffcp", &["-c", "g4", as_arg(&bitonal), as_arg(&g4)]);
    same(
        &g4,
        &access_jpeg(&bitonal, &path("bitonal")),
        "CCITT Group 4",
    );

    let refused = |master: &std::path::Path| {
        let out = tempfile::tempdir().unwrap();
        crate::image::run(
            &requests::image(master, out.path(), caravan_proto::Profile::default()),
            &mut |_| {},
        )
        .unwrap_err()
    };
    // The same samples, declared CIE L*a*b* (PhotometricInterpretation 8).
    let lab = path("lab.tif");
    std::fs::copy(&plain, &lab).unwrap();
    tools::libtiff("tiffset", &["-s", "262", "8", as_arg(&lab)]);
    let err = refused(&lab);
    assert_eq!(err.code().as_str(), "unsupported_format", "{err}");

    // LZW strips that open as old-style streams do (a clear code, least significant bit first).
    let lzw = path("old-lzw.tif");
    tools::libtiff(
        "tiffcp",
        &["-c", "lzw", "-r", "30", as_arg(&plain), as_arg(&lzw)],
    );
    let offsets = {
        let mut decoder = tiff::decoder::Decoder::new(std::fs::File::open(&lzw).unwrap()).unwrap();
        decoder
            .get_tag_u64_vec(tiff::tags::Tag::StripOffsets)
            .unwrap()
    };
    let mut bytes = std::fs::read(&lzw).unwrap();
    for offset in offsets {
        bytes[offset as usize..offset as usize + 2].copy_from_slice(&[0x00, 0x01]);
    }
    std::fs::write(&lzw, bytes).unwrap();
    let err = refused(&lzw);
    assert_eq!(err.code().as_str(), "unsupported_format", "{err}");
    assert!(err.to_string().contains("old-style LZW"), "{err}");
}
