//! The hostile-input generator: writes one file per class of bad input a digitization batch can
//! carry, next to good files with awkward names, and says what each must become.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use caravan_testkit::corpus;
use caravan_testkit::images::png_header_bomb;

/// What a generated file must end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Processed: a good master, whatever its name.
    Done,
    /// Failed or rejected with this failure code (and a reason); never done.
    Refused(&'static str),
}

/// Pillow's regression files in the shared corpus, and the code each must end with.
const PILLOW: &[(&str, &str)] = &[
    ("broken.png", "undecodable_input"),
    ("broken_data_stream.png", "undecodable_input"),
    (
        "crash-0c7e0e8e11ce787078f00b5b0ca409a167f070e0.tif",
        "undecodable_input",
    ),
    ("crash-2020-10-test.tif", "limits_exceeded"),
    (
        "crash-4fb027452e6988530aa5dabee76eecacb3b79f8a.j2k",
        "undecodable_input",
    ),
];

/// Writes the hostile batch into `dir`; returns each file's name (relative) and expectation.
/// `canary` is a file whose content must never reach an output.
pub fn write_batch(dir: &Path, canary: &Path) -> Vec<(String, Expect)> {
    let mut files = Vec::new();
    let mut put = |name: &str, bytes: &[u8], expect| {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        files.push((name.to_owned(), expect));
    };
    let good_png = png_bytes(320, 200, 7);
    let good_jpeg = jpeg_bytes(320, 200, 9);

    // Header bombs: enormous declared dimensions, almost no data.
    put(
        "bombs/header-60000x60000.png",
        &png_header_bomb(60_000, 60_000),
        Expect::Refused("limits_exceeded"),
    );
    put(
        "bombs/header-65500x65500.jpg",
        &jpeg_with_size(&good_jpeg, 65_500, 65_500),
        Expect::Refused("limits_exceeded"),
    );
    put(
        "bombs/header-100000x100000.tif",
        &tiff_header_bomb(100_000, 100_000),
        Expect::Refused("limits_exceeded"),
    );
    // A compression bomb within the pixel limit: a small file that decodes to gigabytes.
    put(
        "bombs/zeros-20000x20000.png",
        &png_gray_zeros(20_000, 20_000),
        Expect::Refused("limits_exceeded"),
    );
    // Truncated at several lengths.
    for pct in [10, 50, 90] {
        put(
            &format!("truncated/png-{pct}.png"),
            &good_png[..good_png.len() * pct / 100],
            Expect::Refused("undecodable_input"),
        );
        put(
            &format!("truncated/jpeg-{pct}.jpg"),
            &good_jpeg[..good_jpeg.len() * pct / 100],
            Expect::Refused("undecodable_input"),
        );
    }
    // Wrong extensions and polyglots.
    put(
        "wrong/text-named.jpg",
        b"Bildnis einer Frau, 1890. Rights: CC BY 4.0",
        Expect::Refused("unsupported_format"),
    );
    let mut polyglot = good_jpeg[..20].to_vec();
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
    put(
        "wrong/jpeg-html-polyglot.jpg",
        &polyglot,
        Expect::Refused("undecodable_input"),
    );
    put("wrong/png-named.mkv", &good_png, Expect::Done);
    // Playlists that point at a local file: never opened.
    let canary_url = format!("file://{}", canary.display());
    put(
        "playlists/list.m3u8",
        format!("#EXTM3U\n#EXTINF:1,\n{canary_url}\n").as_bytes(),
        Expect::Refused("unsupported_format"),
    );
    let mut avi = b"RIFF\x00\x10\x00\x00AVI LIST".to_vec();
    avi.extend_from_slice(
        format!("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1,\n{canary_url}\n#EXT-X-ENDLIST\n")
            .as_bytes(),
    );
    put(
        "playlists/playlist-in.avi",
        &avi,
        Expect::Refused("no_video_stream"),
    );
    let mut mkv = vec![0x1A, 0x45, 0xDF, 0xA3];
    mkv.extend_from_slice(
        format!("ffconcat version 1.0\nfile '{}'\n", canary.display()).as_bytes(),
    );
    put(
        "playlists/concat-in.mkv",
        &mkv,
        Expect::Refused("undecodable_input"),
    );
    // Good masters with names that must never reach a key or a path.
    put(
        "names/%2e%2e%2f%2e%2e%2fetc%2fpasswd.png",
        &png_bytes(64, 64, 1),
        Expect::Done,
    );
    put("names/a..b..c.png", &png_bytes(64, 64, 6), Expect::Done);
    put(
        "names/-rf --no-preserve-root.png",
        &png_bytes(64, 64, 2),
        Expect::Done,
    );
    put(
        &format!("names/{}.png", "長".repeat(80)),
        &png_bytes(64, 64, 3),
        Expect::Done,
    );
    put("names/line\nbreak.png", &png_bytes(64, 64, 4), Expect::Done);
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"names/latin1-\xe9t\xe9.png");
        std::fs::write(dir.join(name), png_bytes(64, 64, 5)).unwrap();
        files.push((
            dir.join(name)
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            Expect::Done,
        ));
    }

    // Video classes, made with FFmpeg.
    let video = dir.join("video");
    std::fs::create_dir_all(&video).unwrap();
    let ff = |args: &[&str]| {
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "ffmpeg {args:?}");
    };
    let good_mkv = video.join("good.mkv");
    ff(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "4",
        "-c:v",
        "ffv1",
        good_mkv.to_str().unwrap(),
    ]);
    files.push(("video/good.mkv".into(), Expect::Done));
    let bytes = std::fs::read(&good_mkv).unwrap();
    std::fs::write(
        video.join("truncated-40.mkv"),
        &bytes[..bytes.len() * 40 / 100],
    )
    .unwrap();
    files.push((
        "video/truncated-40.mkv".into(),
        Expect::Refused("undecodable_input"),
    ));
    std::fs::write(video.join("empty.mkv"), b"").unwrap();
    files.push(("video/empty.mkv".into(), Expect::Refused("empty_file")));
    let mut maps = vec!["-f", "lavfi", "-i", "testsrc=size=32x32:rate=1", "-t", "1"];
    for _ in 0..200 {
        maps.extend(["-map", "0:v"]);
    }
    let streams = video.join("200-streams.mkv");
    maps.extend(["-c:v", "ffv1", streams.to_str().unwrap()]);
    ff(&maps);
    files.push((
        "video/200-streams.mkv".into(),
        Expect::Refused("limits_exceeded"),
    ));
    let long = video.join("absurd-duration.mkv");
    ff(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=32x32:rate=1",
        "-frames:v",
        "3",
        "-vf",
        "setpts=N*36000/TB",
        "-fps_mode",
        "passthrough",
        "-c:v",
        "ffv1",
        long.to_str().unwrap(),
    ]);
    files.push((
        "video/absurd-duration.mkv".into(),
        Expect::Refused("limits_exceeded"),
    ));
    let audio_only = video.join("audio-only.mkv");
    ff(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-t",
        "1",
        "-c:a",
        "pcm_s16le",
        audio_only.to_str().unwrap(),
    ]);
    files.push((
        "video/audio-only.mkv".into(),
        Expect::Refused("no_video_stream"),
    ));

    // Pillow's regression files from the shared corpus.
    if let Some(corpus) = corpus::dir("row8_hostile_corpus (Pillow's files)", "hostile") {
        for entry in std::fs::read_dir(&corpus).unwrap().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let (_, code) = PILLOW
                .iter()
                .find(|(known, _)| *known == file)
                .unwrap_or_else(|| {
                    panic!("add the corpus's hostile/{file} and its code to PILLOW")
                });
            let name = format!("pillow/{file}");
            std::fs::create_dir_all(dir.join("pillow")).unwrap();
            std::fs::copy(entry.path(), dir.join(&name)).unwrap();
            files.push((name, Expect::Refused(code)));
        }
    }
    files
}

pub fn png_bytes(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_mul(seed), y as u8, seed])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg_bytes(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8) ^ seed, (y as u8).wrapping_add(seed), 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn jpeg_with_size(jpeg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    let sof = out
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline JPEG has SOF0");
    out[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    out
}

/// A grey PNG of zeros: each row is a filter byte and `w` zeros, deflated with stored-length
/// runs of a real zlib encoder would be slow to write here, so the rows are compressed by the
/// `image` crate's encoder from one shared zero buffer.
fn png_gray_zeros(w: u32, h: u32) -> Vec<u8> {
    let zeros = vec![0u8; (w as usize) * (h as usize)];
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    );
    image::ImageEncoder::write_image(encoder, &zeros, w, h, image::ExtendedColorType::L8).unwrap();
    out
}

fn tiff_header_bomb(w: u32, h: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0x200),
        (277, 3, 1),
        (278, 4, h),
        (279, 4, 16),
    ];
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.resize(0x200 + 16, 0);
    out.flush().unwrap();
    out
}
