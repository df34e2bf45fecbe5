//! Access copies and thumbnails: each size resampled from the smallest image already made that
//! is large enough, watermarked (access copies only) and encoded as progressive JPEG and WebP.

use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::ImageProfile;
use image::RgbImage;

use super::encode::{write_jpeg, write_webp, Jpeg};
use super::resize::{fitted_size, resize_to};
use crate::error::PipelineError;
use crate::watermark::Watermark;

/// `access.jpg` (+ `access.webp`) at the profile's access size, `access-<edge>.jpg` (+ `.webp`)
/// at its extra sizes, `thumb.jpg` and `thumb-<edge>.jpg`. Sizes are fitted from the master's
/// dimensions `master` (so they do not depend on the order of work); `decoded` is the master
/// or a smaller level of its IIIF pyramid at least as large as every copy. Each copy is
/// resampled from the smallest image already made that is at least as large (unmarked: the
/// watermark, if any, is drawn on each access copy at its own size).
pub fn access_copies(
    master: (u32, u32),
    decoded: RgbImage,
    p: &ImageProfile,
    watermark: Option<&Watermark>,
    xmp: Option<&[u8]>,
    out_dir: &Path,
) -> Result<Vec<ExecOutput>, PipelineError> {
    struct Wanted {
        stem: String,
        long_edge: u32,
        quality: u8,
        /// Access copies: a WebP beside the JPEG (if the profile asks), and the watermark.
        access: bool,
    }
    let wanted = |stem: String, long_edge, quality, access| Wanted {
        stem,
        long_edge,
        quality,
        access,
    };
    let (aq, tq) = (p.access_quality, p.thumbnail_quality);
    let mut all = vec![wanted("access".into(), p.access_long_edge, aq, true)];
    all.extend((p.access_extra_sizes.iter()).map(|&e| wanted(format!("access-{e}"), e, aq, true)));
    all.push(wanted("thumb".into(), p.thumbnail_long_edge, tq, false));
    all.extend(
        (p.thumbnail_extra_sizes.iter()).map(|&e| wanted(format!("thumb-{e}"), e, tq, false)),
    );
    // Largest first, so each size resamples the previous (smaller, cheaper) image.
    all.sort_by_key(|w| std::cmp::Reverse(w.long_edge));

    let (w, h) = master;
    let mut outputs = Vec::new();
    // Each image made replaces (and frees) the larger one it was resampled from.
    let mut source = decoded;
    for item in all {
        let (tw, th) = fitted_size(w, h, item.long_edge);
        if source.dimensions() != (tw, th) {
            source = resize_to(&source, tw, th)?;
        }
        let marked = match watermark.filter(|_| item.access) {
            Some(mark) => Some(mark.apply(&source)?),
            None => None,
        };
        let image = marked.as_ref().unwrap_or(&source);
        let jpeg = Jpeg {
            quality: item.quality,
            progressive: p.progressive,
            xmp,
        };
        // The two encoders are independent: run them side by side.
        let (jpeg, webp) = rayon::join(
            || write_jpeg(image, out_dir, &format!("{}.jpg", item.stem), jpeg),
            || {
                let name = format!("{}.webp", item.stem);
                (item.access && p.webp)
                    .then(|| write_webp(image, out_dir, &name, p.webp_quality, xmp))
                    .transpose()
            },
        );
        outputs.push(jpeg?);
        outputs.extend(webp?);
    }
    Ok(outputs)
}
