//! The generated sample batch (`scripts/make-sample-batch.sh`) and what every run of it must
//! report.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::binary::repo;

/// The generated sample batch: 20 images, 2 videos, 1 truncated JPEG and a catalogue (made once
/// per test binary).
pub fn sample_batch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(repo().join("scripts/make-sample-batch.sh"))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "scripts/make-sample-batch.sh failed (is ffmpeg installed?)"
        );
        dir
    })
    .path()
}

pub const GOOD_ASSETS: usize = 22;

pub const CORRUPT: &str = "damaged/truncated.jpg";

pub fn names(summary: &Value, list: &str) -> Vec<String> {
    let mut names: Vec<String> = summary[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The first run of the sample batch: every good asset done, the corrupt one failed with a
/// reason, nothing else failed.
pub fn check_first_run(summary: &Value) {
    assert_eq!(names(summary, "done").len(), GOOD_ASSETS, "{summary:#}");
    assert_eq!(
        names(summary, "failed"),
        vec![CORRUPT.to_owned()],
        "{summary:#}"
    );
    let failure = &summary["failed"][0];
    assert_eq!(failure["code"], "undecodable_input", "{summary:#}");
    assert!(
        failure["message"].as_str().unwrap().contains("truncated"),
        "{summary:#}"
    );
    for list in ["rejected", "pending", "duplicates", "already_done"] {
        assert!(names(summary, list).is_empty(), "{list}: {summary:#}");
    }
}

/// Re-submitting the same folder publishes nothing: every asset is done or failed already.
pub fn check_second_run(summary: &Value) {
    assert!(names(summary, "done").is_empty(), "{summary:#}");
    assert_eq!(
        names(summary, "already_done").len(),
        GOOD_ASSETS,
        "{summary:#}"
    );
    assert_eq!(
        names(summary, "failed"),
        vec![CORRUPT.to_owned()],
        "{summary:#}"
    );
    assert!(names(summary, "pending").is_empty(), "{summary:#}");
}

/// What the access copies of one sample image must measure.
#[derive(Debug, Clone, Copy)]
pub struct ImageSizes {
    /// The master as `scripts/make-sample-batch.sh` makes it.
    pub master: (u32, u32),
    /// `access.jpg`/`.webp` (2048 px long edge, never enlarged).
    pub access: (u32, u32),
    /// `access-1024.jpg`/`.webp`.
    pub access_1024: (u32, u32),
    /// `thumb.jpg` (256 px).
    pub thumb: (u32, u32),
}

/// Every sample image, its size as the script makes it, and its derivatives' sizes worked out
/// by hand (long edge scaled to the target, the other side rounded to the nearest pixel; a
/// master smaller than a target is kept at its size). Written out, not computed, so a bug in
/// the pipeline's own fitting cannot hide in the expectation.
pub const SAMPLE_IMAGES: &[(&str, ImageSizes)] = &[
    (
        "images/landscape-3000.png",
        sizes((3000, 2000), (2048, 1365), (1024, 683), (256, 171)),
    ),
    (
        "images/portrait-1200.png",
        sizes((1200, 1800), (1200, 1800), (683, 1024), (171, 256)),
    ),
    (
        "images/Bildnis einer Frau.jpg",
        sizes((2400, 1600), (2048, 1365), (1024, 683), (256, 171)),
    ),
    (
        "images/small-640.jpg",
        sizes((640, 480), (640, 480), (640, 480), (256, 192)),
    ),
    (
        "images/rgb-2560.jpg",
        sizes((2560, 1440), (2048, 1152), (1024, 576), (256, 144)),
    ),
    (
        "images/square-2200.webp",
        sizes((2200, 2200), (2048, 2048), (1024, 1024), (256, 256)),
    ),
    (
        "images/hd-bars.webp",
        sizes((1920, 1080), (1920, 1080), (1024, 576), (256, 144)),
    ),
    (
        "images/tiff/master-16bit.tif",
        sizes((2600, 1800), (2048, 1418), (1024, 709), (256, 177)),
    ),
    (
        "images/tiff/master-16bit-portrait.tif",
        sizes((1800, 2600), (1418, 2048), (709, 1024), (177, 256)),
    ),
    (
        "images/tiff/master-gray16.tif",
        sizes((2100, 1400), (2048, 1365), (1024, 683), (256, 171)),
    ),
    (
        "images/deep-16bit.png",
        sizes((1600, 1200), (1600, 1200), (1024, 768), (256, 192)),
    ),
    (
        "images/tiff/master-8bit.tif",
        sizes((3200, 1800), (2048, 1152), (1024, 576), (256, 144)),
    ),
    (
        "images/tiny-500.gif",
        sizes((500, 300), (500, 300), (500, 300), (256, 154)),
    ),
    (
        "images/rgb-900.bmp",
        sizes((900, 900), (900, 900), (900, 900), (256, 256)),
    ),
    (
        "images/panorama — 全景.png",
        sizes((4000, 1000), (2048, 512), (1024, 256), (256, 64)),
    ),
    (
        "images/exactly-256.png",
        sizes((256, 256), (256, 256), (256, 256), (256, 256)),
    ),
    (
        "images/mandelbrot-2048.png",
        sizes((2048, 1536), (2048, 1536), (1024, 768), (256, 192)),
    ),
    (
        "images/no-extension",
        sizes((1500, 1000), (1500, 1000), (1024, 683), (256, 171)),
    ),
    (
        "images/national-library.jp2",
        sizes((2000, 1500), (2000, 1500), (1024, 768), (256, 192)),
    ),
    // Stored 1800×1200, shown (EXIF orientation 6) as the 1200×1800 portrait.
    (
        "images/phone-portrait-exif6.jpg",
        sizes((1800, 1200), (1200, 1800), (683, 1024), (171, 256)),
    ),
];

/// Sample masters stored turned (EXIF orientation) and the upright master whose pictures they
/// show: their access copies are compared with the upright one's reference.
pub const UPRIGHT_TWINS: &[(&str, &str)] = &[(
    "images/phone-portrait-exif6.jpg",
    "images/portrait-1200.png",
)];

const fn sizes(
    master: (u32, u32),
    access: (u32, u32),
    access_1024: (u32, u32),
    thumb: (u32, u32),
) -> ImageSizes {
    ImageSizes {
        master,
        access,
        access_1024,
        thumb,
    }
}

/// The expected sizes of the sample image `name`; the master on disk must measure what the
/// table says (read by the `image` crate's header reader where it reads the format).
pub fn expected_image_sizes(name: &str) -> ImageSizes {
    let (_, sizes) = SAMPLE_IMAGES
        .iter()
        .find(|(file, _)| *file == name)
        .unwrap_or_else(|| panic!("{name} is not in SAMPLE_IMAGES"));
    let header = image::ImageReader::open(sample_batch().join(name))
        .and_then(|r| r.with_guessed_format())
        .map(|r| r.into_dimensions());
    if let Ok(Ok(dims)) = header {
        assert_eq!(
            dims, sizes.master,
            "{name}: the table disagrees with the master"
        );
    }
    *sizes
}
