use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::{corpus, ffmpeg, requests};

use crate::image::test_support::access_jpeg;

/// A JP2 box: length, type, contents.
fn jp2_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

#[test]
fn jpeg2000_headers_are_read_before_decoding_and_truncation_is_caught() {
    use super::header;
    // SOC, SIZ (Lsiz 41, Rsiz, 640×480 from 0,0, one tile, 3 components), …, EOC.
    let mut codestream = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
    for v in [640u32, 480, 0, 0, 640, 480, 0, 0] {
        codestream.extend_from_slice(&v.to_be_bytes());
    }
    codestream.extend_from_slice(&[0, 3, 7, 1, 1, 7, 1, 1, 7, 1, 1, 0xFF, 0xD9]);
    let j2k = header(&codestream).unwrap();
    assert_eq!(
        (j2k.width, j2k.height, j2k.components, j2k.container),
        (640, 480, 3, "j2k")
    );

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&480u32.to_be_bytes());
    ihdr.extend_from_slice(&640u32.to_be_bytes());
    ihdr.extend_from_slice(&[0, 3, 7, 7, 0, 0]);
    let icc = b"an ICC profile".to_vec();
    let colr = [&[2u8, 0, 0][..], &icc].concat();
    let jp2h = [jp2_box(b"ihdr", &ihdr), jp2_box(b"colr", &colr)].concat();
    let file = [
        vec![
            0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ],
        jp2_box(b"jp2h", &jp2h),
        jp2_box(b"jp2c", &codestream),
    ]
    .concat();
    let jp2 = header(&file).unwrap();
    assert_eq!((jp2.width, jp2.height, jp2.container), (640, 480, "jp2"));
    assert_eq!(
        jp2.icc.as_deref(),
        Some(&icc[..]),
        "the colr box's ICC profile"
    );

    // Cut anywhere in the codestream: truncated, before any decoding.
    for cut in [file.len() - 1, file.len() - 20, 40] {
        let err = header(&file[..cut]).unwrap_err();
        assert_eq!(err.code().as_str(), "undecodable_input");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}

#[test]
fn jpeg2000_masters_make_the_same_derivatives_as_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.png");
    image::RgbImage::from_fn(600, 400, |x, y| {
        image::Rgb([
            (x * 255 / 600) as u8,
            (y * 255 / 400) as u8,
            ((x + y) % 256) as u8,
        ])
    })
    .save(&source)
    .unwrap();
    let reference = access_jpeg(&source, &dir.path().join("ref"));
    let src = source.to_string_lossy().into_owned();
    // Lossless 5/3 wavelet: 8-bit JP2, 16-bit JP2, and a bare 8-bit codestream.
    let variants = [
        ("rgb8.jp2", vec!["-pix_fmt", "rgb24", "-format", "jp2"]),
        ("rgb16.jp2", vec!["-pix_fmt", "rgb48le", "-format", "jp2"]),
        ("rgb8.j2k", vec!["-pix_fmt", "rgb24", "-format", "j2k"]),
    ];
    for (name, args) in variants {
        let mut all = vec!["-i", src.as_str(), "-c:v", "jpeg2000", "-pred", "dwt53"];
        all.extend(args);
        let master = ffmpeg::make(&all, &dir.path().join(name));
        let ours = access_jpeg(&master, &dir.path().join(format!("out-{name}")));
        assert_eq!(ours.dimensions(), reference.dimensions(), "{name}");
        // FFmpeg's own encoder is not lossless at 16 bits: the reference for the decode is the
        // FFmpeg CLI's decode of the same file, as a 16-bit PNG.
        let decoded = ffmpeg::make(
            &["-i", &master.to_string_lossy(), "-pix_fmt", "rgb48be"],
            &dir.path().join(format!("{name}.png")),
        );
        let cli = access_jpeg(&decoded, &dir.path().join(format!("cli-{name}")));
        let diff = mean_abs_diff(&ours, &cli);
        assert!(
            diff < 1.5,
            "{name}: differs from the FFmpeg CLI's decode by {diff:.2}"
        );
        if name.starts_with("rgb8") {
            let diff = mean_abs_diff(&ours, &reference);
            assert!(
                diff < 1.5,
                "{name}: differs from the source's derivative by {diff:.2}"
            );
        }
    }

    // A truncated JP2 fails cleanly, as does the corpus's truncated balloon.
    let whole = std::fs::read(dir.path().join("rgb8.jp2")).unwrap();
    let cut = dir.path().join("cut.jp2");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let mut masters = vec![cut];
    masters.extend(
        corpus::dir(
            "jpeg2000_masters_make_the_same_derivatives_as_their_source",
            "images",
        )
        .map(|c| c.join("balloon_eciRGBv2_aware.jp2")),
    );
    for master in masters {
        let out = dir.path().join("out-bad");
        std::fs::create_dir_all(&out).unwrap();
        let err = crate::image::run(
            &requests::image(&master, &out, caravan_proto::Profile::default()),
            &mut |_| {},
        )
        .unwrap_err();
        assert_eq!(
            err.code().as_str(),
            "undecodable_input",
            "{}: {err}",
            master.display()
        );
    }

    // A header that declares a giant image is refused before anything is decoded.
    let mut bomb = whole.clone();
    let at = bomb.windows(4).position(|w| w == b"ihdr").unwrap() + 4;
    bomb[at..at + 8].copy_from_slice(&[0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60]);
    let master = dir.path().join("bomb.jp2");
    std::fs::write(&master, bomb).unwrap();
    let err = crate::image::run(
        &requests::image(&master, dir.path(), caravan_proto::Profile::default()),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code().as_str(), "limits_exceeded", "{err}");
}
