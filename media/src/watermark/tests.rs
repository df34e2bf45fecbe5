//! Watermarks: shaping checked glyph for glyph against HarfBuzz's own `hb-shape`, rendering
//! against HarfBuzz + cairo's `hb-view` (Debian's libharfbuzz-bin), placement and opacity by
//! pixel values.

use std::path::Path;
use std::process::Command;

use caravan_proto::WatermarkProfile;
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use tiny_skia::{Color, FillRule, Paint, Pixmap, Transform};

use super::text::shape;
use super::Watermark;

const ARABIC: &str = "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf";
const THAI: &str = "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf";
const CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2";
const LATIN: &str = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf";

/// Texts an exhibition would put on its images, each with the font that draws it.
const SAMPLES: &[(&str, &str)] = &[
    ("متحف الشارقة للحضارة الإسلامية", ARABIC),
    ("หอศิลป์กรุงเทพฯ ภาพถ่ายเก่า", THAI),
    ("故宫博物院 文化遗产", CJK),
    ("Musée d’Orsay — © 2026 ffi", LATIN),
];

/// `path#index` → (path, index).
fn split_spec(spec: &str) -> (&str, u32) {
    match spec.split_once('#') {
        Some((path, index)) => (path, index.parse().unwrap()),
        None => (spec, 0),
    }
}

/// HarfBuzz's glyphs for `text` in `font`: (glyph id, x of the glyph in em units).
fn hb_shape(text: &str, spec: &str) -> Vec<(u16, f32)> {
    let (path, index) = split_spec(spec);
    let out = Command::new("hb-shape")
        .args(["--output-format=json", "--no-glyph-names"])
        .arg(format!("--face-index={index}"))
        .arg(path)
        .arg(text)
        .output()
        .expect("hb-shape is installed (libharfbuzz-bin, scripts/setup.sh --for-tests)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let glyphs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = std::fs::read(path).unwrap();
    let upem = rustybuzz::Face::from_slice(&data, index)
        .unwrap()
        .units_per_em() as f32;
    let mut pen = 0.0;
    glyphs
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let x = (pen + g["dx"].as_f64().unwrap() as f32) / upem;
            pen += g["ax"].as_f64().unwrap() as f32;
            (g["g"].as_u64().unwrap() as u16, x)
        })
        .collect()
}

fn assert_same_glyphs(ours: &[(u16, f32)], reference: &[(u16, f32)], what: &str) {
    let ids = |v: &[(u16, f32)]| v.iter().map(|g| g.0).collect::<Vec<_>>();
    assert_eq!(
        ids(ours),
        ids(reference),
        "{what}: glyphs differ from hb-shape"
    );
    for (a, b) in ours.iter().zip(reference) {
        assert!(
            (a.1 - b.1).abs() < 1e-3,
            "{what}: glyph {} at {} em, hb-shape {}",
            a.0,
            a.1,
            b.1
        );
    }
}

#[test]
fn shaping_matches_harfbuzz_in_arabic_thai_chinese_and_latin() {
    for &(text, font) in SAMPLES {
        let line = shape(text, &[font.to_owned()]).unwrap();
        assert!(
            line.glyphs.iter().all(|g| g.font == 0),
            "{text}: one font draws it all"
        );
        let ours: Vec<(u16, f32)> = line.glyphs.iter().map(|g| (g.glyph, g.x)).collect();
        assert_same_glyphs(&ours, &hb_shape(text, font), text);
    }
    // Arabic is joined: the shaped word uses other glyphs than its letters standing alone.
    let joined = shape("متحف", &[ARABIC.to_owned()]).unwrap();
    let alone: Vec<u16> = "فحتم"
        .chars()
        .flat_map(|c| shape(&c.to_string(), &[ARABIC.to_owned()]).unwrap().glyphs)
        .map(|g| g.glyph)
        .collect();
    let joined: Vec<u16> = joined.glyphs.iter().map(|g| g.glyph).collect();
    assert_eq!(joined.len(), alone.len());
    assert_ne!(joined, alone, "contextual forms were applied");
}

#[test]
fn mixed_scripts_fall_back_per_character_and_runs_read_in_their_own_direction() {
    // Latin, then an Arabic phrase (right to left), then Chinese, with the built-in fonts.
    let text = "Museum متحف الفن 博物馆";
    let line = shape(text, &[]).unwrap();
    let specs: Vec<&str> = line.fonts.iter().map(|f| f.spec.as_str()).collect();
    assert_eq!(
        specs,
        [LATIN, ARABIC, CJK],
        "fonts loaded as needed, in order"
    );
    // Visual order: the Latin word, then the Arabic run exactly as HarfBuzz shapes it alone
    // (its first logical letter rightmost), then the Chinese.
    let in_font = |f: usize| -> Vec<(u16, f32)> {
        let glyphs: Vec<_> = line.glyphs.iter().filter(|g| g.font == f).collect();
        let start = glyphs[0].x;
        glyphs.iter().map(|g| (g.glyph, g.x - start)).collect()
    };
    // The spaces around the Arabic phrase sit between a left-to-right word and it, so the
    // bidirectional algorithm gives them to the left-to-right runs; the one after it is still
    // drawn by the Arabic font (it keeps its word's font), to its right.
    let arabic = in_font(1);
    let (phrase, space) = arabic.split_at(arabic.len() - 1);
    assert_same_glyphs(
        phrase,
        &hb_shape("متحف الفن", ARABIC),
        "Arabic run inside Latin text",
    );
    let space_glyph = shape(" ", &[ARABIC.to_owned()]).unwrap().glyphs[0].glyph;
    assert_eq!(space[0].0, space_glyph);
    assert!(space[0].1 > phrase.iter().map(|g| g.1).fold(0.0, f32::max));
    let first_x = |f: usize| line.glyphs.iter().find(|g| g.font == f).unwrap().x;
    assert!(first_x(0) < first_x(1) && first_x(1) < first_x(2));
}

/// Black ink of an image (white background), as a mask cropped to its bounding box.
fn ink(width: u32, height: u32, dark: impl Fn(u32, u32) -> bool) -> (u32, u32, Vec<bool>) {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if dark(x, y) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    assert!(x0 <= x1, "no ink");
    let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
    let mask = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| dark(x0 + x, y0 + y))
        .collect();
    (w, h, mask)
}

#[test]
fn text_renders_like_harfbuzz_and_cairo_reference_renders() {
    let dir = tempfile::tempdir().unwrap();
    let size = 64.0;
    for (k, &(text, font)) in SAMPLES.iter().enumerate() {
        // The reference: hb-view, black on white, 64 px per em.
        let reference = dir.path().join(format!("ref-{k}.png"));
        let (path, index) = split_spec(font);
        let status = Command::new("hb-view")
            .args([
                "--font-size=64",
                "--margin=8",
                "--background=#FFFFFF",
                "--foreground=#000000",
            ])
            .arg(format!("--face-index={index}"))
            .args(["--output-format=png", "-o"])
            .arg(&reference)
            .arg(path)
            .arg(text)
            .status()
            .expect("hb-view is installed (libharfbuzz-bin)");
        assert!(status.success());
        let reference = image::open(&reference).unwrap().into_luma8();
        let theirs = ink(reference.width(), reference.height(), |x, y| {
            reference.get_pixel(x, y).0[0] < 128
        });

        // Ours: the same line, filled black on white.
        let line = shape(text, &[font.to_owned()]).unwrap();
        let (w, h) = (
            (line.advance * size) as u32 + 16,
            ((line.ascent - line.descent) * size) as u32 + 16,
        );
        let mut pixmap = Pixmap::new(w, h).unwrap();
        pixmap.fill(Color::WHITE);
        let path = line.outline(size, 8.0, 8.0).unwrap();
        let mut paint = Paint::default();
        paint.set_color(Color::BLACK);
        pixmap.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
        let ours = ink(w, h, |x, y| pixmap.pixel(x, y).unwrap().red() < 128);

        // Same ink box (±2 px) and the same strokes: intersection over union of the masks.
        assert!(
            ours.0.abs_diff(theirs.0) <= 2 && ours.1.abs_diff(theirs.1) <= 2,
            "{text}: ink {}×{} vs hb-view {}×{}",
            ours.0,
            ours.1,
            theirs.0,
            theirs.1
        );
        let (mut both, mut either) = (0u32, 0u32);
        for y in 0..ours.1.min(theirs.1) {
            for x in 0..ours.0.min(theirs.0) {
                let a = ours.2[(y * ours.0 + x) as usize];
                let b = theirs.2[(y * theirs.0 + x) as usize];
                both += u32::from(a && b);
                either += u32::from(a || b);
            }
        }
        let iou = f64::from(both) / f64::from(either);
        assert!(iou > 0.85, "{text}: ink overlaps hb-view's by {iou:.3}");
    }
}

fn grey(w: u32, h: u32) -> RgbImage {
    RgbImage::from_pixel(w, h, Rgb([128, 128, 128]))
}

fn solid_logo(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("logo.png");
    RgbaImage::from_pixel(40, 20, Rgba([255, 0, 0, 255]))
        .save(&path)
        .unwrap();
    path
}

#[test]
fn a_logo_goes_where_the_profile_says_at_its_opacity_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let profile = WatermarkProfile {
        enabled: true,
        logo: Some(solid_logo(dir.path())),
        position: "bottom-right".into(),
        margin: 0.05,
        opacity: 0.5,
        scale: 0.25,
        ..WatermarkProfile::default()
    };
    let mark = Watermark::prepare(&profile).unwrap().unwrap();
    let image = grey(400, 300);
    let marked = mark.apply(&image).unwrap();
    // 100×50 px logo (a quarter of the width); margin 15 px (5 % of 300); 2 px padding.
    let (x0, y0) = (400 - 15 - 104 + 2, 300 - 15 - 54 + 2);
    let mixed = marked.get_pixel(x0 + 50, y0 + 25).0;
    for (got, want) in mixed.iter().zip([192u8, 64, 64]) {
        assert!(
            got.abs_diff(want) <= 2,
            "half-opaque red over grey: {mixed:?}"
        );
    }
    for (x, y, px) in marked.enumerate_pixels() {
        let inside = (x0 - 2..x0 + 102).contains(&x) && (y0 - 2..y0 + 52).contains(&y);
        assert!(
            inside || px.0 == [128, 128, 128],
            "({x}, {y}) changed outside the mark"
        );
    }
    assert!(mark.described["logo_sha256"].as_str().unwrap().len() == 64);
}

#[test]
fn a_tiled_text_mark_covers_the_whole_image() {
    let profile = WatermarkProfile {
        enabled: true,
        text: Some("© متحف · Museum".into()),
        position: "tiled".into(),
        scale: 0.2,
        ..WatermarkProfile::default()
    };
    let mark = Watermark::prepare(&profile).unwrap().unwrap();
    let marked = mark.apply(&grey(600, 400)).unwrap();
    for (qx, qy) in [(0, 0), (300, 0), (0, 200), (300, 200)] {
        let changed = (qy..qy + 200)
            .flat_map(|y| (qx..qx + 300).map(move |x| (x, y)))
            .filter(|&(x, y)| marked.get_pixel(x, y).0 != [128, 128, 128])
            .count();
        assert!(
            changed > 300 * 200 / 50,
            "quadrant at ({qx}, {qy}): {changed} pixels marked"
        );
    }
    let fonts = mark.described["fonts"].as_array().unwrap();
    assert_eq!(fonts.len(), 2, "Latin and Arabic fonts: {fonts:?}");
}

#[test]
fn bad_watermark_settings_are_refused_with_what_to_do() {
    let base = WatermarkProfile {
        enabled: true,
        text: Some("x".into()),
        ..WatermarkProfile::default()
    };
    let err = |p: WatermarkProfile| Watermark::prepare(&p).unwrap_err().to_string();
    assert!(err(WatermarkProfile {
        position: "middle".into(),
        ..base.clone()
    })
    .contains("position"));
    assert!(err(WatermarkProfile {
        text: None,
        ..base.clone()
    })
    .contains("neither a logo nor text"));
    assert!(err(WatermarkProfile {
        logo: Some("/nonexistent/logo.png".into()),
        ..base.clone()
    })
    .contains("PNG on every worker"));
    assert!(err(WatermarkProfile {
        fonts: vec!["/nonexistent.ttf".into()],
        ..base.clone()
    })
    .contains("install it on every worker"));
    assert!(err(WatermarkProfile {
        text_colour: "white".into(),
        ..base
    })
    .contains("#rrggbb"));
}

#[test]
fn the_image_pipeline_marks_access_copies_but_not_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.png");
    RgbImage::from_fn(1200, 800, |x, y| Rgb([(x / 5) as u8, (y / 4) as u8, 90]))
        .save(&master)
        .unwrap();
    let run = |watermark: WatermarkProfile| {
        let out = dir.path().join(format!("out-{}", watermark.enabled));
        std::fs::create_dir_all(&out).unwrap();
        let mut profile = caravan_proto::Profile::default();
        profile.image.iiif.enabled = false;
        profile.image.watermark = watermark;
        let made = crate::image::run(
            &caravan_testkit::requests::image(&master, &out, profile),
            &mut |_| {},
        )
        .unwrap();
        (out, made)
    };
    let (plain, _) = run(WatermarkProfile::default());
    let (marked, made) = run(WatermarkProfile {
        enabled: true,
        text: Some("متحف الشارقة · Sharjah".into()),
        position: "bottom-left".into(),
        opacity: 0.8,
        ..WatermarkProfile::default()
    });
    let region_diff = |file: &str, x0: u32, y0: u32, w: u32, h: u32| {
        let a = image::open(plain.join(file)).unwrap().into_rgb8();
        let b = image::open(marked.join(file)).unwrap().into_rgb8();
        let sum: u64 = (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
            .map(|(x, y)| {
                let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
                (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>()
            })
            .sum();
        sum as f64 / f64::from(w * h * 3)
    };
    // The access copies (1200×800, its extra 1024 px size, JPEG and WebP): marked at the bottom
    // left, untouched at the top right.
    for (file, w, h) in [
        ("access.jpg", 1200, 800),
        ("access.webp", 1200, 800),
        ("access-1024.jpg", 1024, 683),
    ] {
        // The mark: a quarter of the width, 3 % of the height from the bottom-left corner.
        let corner = region_diff(file, w * 3 / 100, h * 17 / 20, w / 4, h / 10);
        let elsewhere = region_diff(file, w / 2, 0, w / 2, h / 2);
        assert!(
            corner > 5.0 && elsewhere < 1.0,
            "{file}: {corner:.1} marked, {elsewhere:.1} elsewhere"
        );
    }
    assert_eq!(
        std::fs::read(plain.join("thumb.jpg")).unwrap(),
        std::fs::read(marked.join("thumb.jpg")).unwrap(),
        "thumbnails are not marked"
    );
    let fonts = made.master_info["watermark"]["fonts"].as_array().unwrap();
    assert_eq!(fonts.len(), 2, "Arabic and Latin fonts recorded: {fonts:?}");
}
