//! Versions of everything that shapes an output's bytes, for receipts.

use std::collections::BTreeMap;

/// Versions of Caravan and the image crates (from Cargo.lock, via build.rs).
pub(crate) fn image_tools() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("caravan".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        ("image".to_owned(), env!("CARAVAN_DEP_IMAGE").to_owned()),
        (
            "fast_image_resize".to_owned(),
            env!("CARAVAN_DEP_FAST_IMAGE_RESIZE").to_owned(),
        ),
    ])
}

/// Versions of Caravan, ffmpeg-next and the libav* libraries it runs against.
pub(crate) fn video_tools() -> BTreeMap<String, String> {
    let v = |packed: u32| {
        format!(
            "{}.{}.{}",
            packed >> 16,
            (packed >> 8) & 0xFF,
            packed & 0xFF
        )
    };
    BTreeMap::from([
        ("caravan".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        (
            "ffmpeg-next".to_owned(),
            env!("CARAVAN_DEP_FFMPEG_NEXT").to_owned(),
        ),
        ("libavcodec".to_owned(), v(ffmpeg_next::codec::version())),
        ("libavformat".to_owned(), v(ffmpeg_next::format::version())),
        ("libavfilter".to_owned(), v(ffmpeg_next::filter::version())),
        (
            "libswscale".to_owned(),
            v(ffmpeg_next::software::scaling::version()),
        ),
        (
            "libswresample".to_owned(),
            v(ffmpeg_next::software::resampling::version()),
        ),
    ])
}
