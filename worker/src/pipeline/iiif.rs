//! Static IIIF Image API 3.0, level 0: a tile pyramid and `info.json` laid out as files, so any
//! static web server or S3 bucket serves them to a standard IIIF viewer with no image server.
//!
//! ```text
//! iiif/info.json
//! iiif/{x},{y},{w},{h}/{tw},{th}/0/default.jpg    tiles, for every scale factor
//! iiif/full/{w},{h}/0/default.jpg                 whole-image sizes listed in `sizes`
//! ```
//!
//! Scale factors are powers of two, down to the level where the image fits one tile; each level
//! is the one above halved (the mean of 2×2 pixels). `info.json` promises exactly the files
//! written: its `sizes` are the `full/` files, its `tiles` the tiled scale factors.

use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::{IiifProfile, OutputName};
use image::RgbImage;
use rayon::prelude::*;
use serde_json::json;

use super::encode::{write_jpeg, Jpeg};
use super::PipelineError;

/// Writes the pyramid of `image` below `out_dir/iiif`; `id` is the image's IIIF base URI,
/// `rights` the URI of its rights statement (`info.json`'s `rights`). Tiles carry no metadata:
/// thousands of them would each repeat it. Also hands back the smallest level below full size
/// that is still at least `keep` (width, height), so that smaller copies can be made from it
/// (`None`: only the full image is that large).
pub fn write(
    image: &RgbImage,
    out_dir: &Path,
    id: &str,
    rights: Option<&str>,
    p: &IiifProfile,
    keep: (u32, u32),
) -> Result<(Vec<ExecOutput>, Option<RgbImage>), PipelineError> {
    // Tiles are small and fetched many at a time: baseline JPEG.
    let jpeg = Jpeg {
        quality: p.quality,
        progressive: false,
        xmp: None,
    };
    let encode =
        |image: &RgbImage, out_dir: &Path, name: &str| write_jpeg(image, out_dir, name, jpeg);
    let (width, height) = image.dimensions();
    let tile = p.tile_size.max(64);
    let mut outputs = Vec::new();
    let mut scale_factors = Vec::new();
    let mut sizes = Vec::new();
    // The full-resolution level is the decoded image itself, not a copy.
    let mut level = std::borrow::Cow::Borrowed(image);
    // Set once a level's successor is smaller than `keep`: that level (`None` if it is the
    // full image, which the caller already holds).
    let mut kept: Option<Option<RgbImage>> = None;
    let large_enough = |(w, h): (u32, u32)| w >= keep.0 && h >= keep.1;
    let mut factor = 1u32;
    loop {
        let (lw, lh) = level.dimensions();
        scale_factors.push(factor);
        let region = tile * factor;
        let origins: Vec<(u32, u32)> = (0..height)
            .step_by(region as usize)
            .flat_map(|ty| (0..width).step_by(region as usize).map(move |tx| (tx, ty)))
            .collect();
        // Tiles are independent: encode them on every core, keeping their order.
        let tiles: Vec<ExecOutput> = origins
            .par_iter()
            .map(|&(tx, ty)| {
                let (rw, rh) = (region.min(width - tx), region.min(height - ty));
                let (x, y) = (tx / factor, ty / factor);
                let (sw, sh) = ((lw - x).min(tile), (lh - y).min(tile));
                let crop = crop(level.as_ref(), x, y, sw, sh);
                let name = format!("iiif/{tx},{ty},{rw},{rh}/{sw},{sh}/0/default.jpg");
                encode(&crop, out_dir, &name)
            })
            .collect::<Result<_, _>>()?;
        outputs.extend(tiles);
        if lw.max(lh) <= p.max_full_size {
            let name = format!("iiif/full/{lw},{lh}/0/default.jpg");
            outputs.push(encode(&level, out_dir, &name)?);
            sizes.push(json!({ "width": lw, "height": lh }));
        }
        if lw <= tile && lh <= tile {
            break;
        }
        let (nw, nh) = (lw.div_ceil(2), lh.div_ceil(2));
        // Each level is the mean of 2×2 pixels of the one above, as image servers and
        // `vips dzsave` make pyramids (sharper filters cost several times more over 100 MP).
        let next = std::borrow::Cow::Owned(super::image::resize_with(
            &level,
            nw,
            nh,
            fast_image_resize::FilterType::Box,
        )?);
        let previous = std::mem::replace(&mut level, next);
        if kept.is_none() && !large_enough((nw, nh)) {
            kept = Some(match previous {
                std::borrow::Cow::Owned(smaller) => Some(smaller),
                std::borrow::Cow::Borrowed(_) => None,
            });
        }
        factor *= 2;
    }
    let kept = match kept {
        Some(kept) => kept,
        // Every level is large enough: the last (smallest) one.
        None => match level {
            std::borrow::Cow::Owned(smallest) if large_enough(smallest.dimensions()) => {
                Some(smallest)
            }
            _ => None,
        },
    };
    sizes.reverse();
    let mut info = json!({
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": width,
        "height": height,
        "sizes": sizes,
        "tiles": [{ "width": tile, "height": tile, "scaleFactors": scale_factors }],
    });
    if let Some(uri) = rights.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
        info["rights"] = uri.into();
    }
    let path = out_dir.join("iiif/info.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&info).expect("info.json serializes"),
    )
    .map_err(|source| PipelineError::Output { path, source })?;
    outputs.push(ExecOutput {
        name: OutputName::parse("iiif/info.json").expect("fixed output names are valid"),
        media_type: "application/ld+json".into(),
        width: Some(width),
        height: Some(height),
        duration_seconds: None,
    });
    Ok((outputs, kept))
}

/// The `w`×`h` region of `image` at (`x`, `y`), copied row by row (the `image` crate's
/// sub-image copy goes pixel by pixel, a tenth of the pyramid's time on a 100 MP master).
fn crop(image: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    let stride = image.width() as usize * 3;
    let (x, w) = (x as usize * 3, w as usize * 3);
    let raw = image.as_raw();
    let mut pixels = Vec::with_capacity(w * h as usize);
    for row in y as usize..(y + h) as usize {
        let start = row * stride + x;
        pixels.extend_from_slice(&raw[start..start + w]);
    }
    RgbImage::from_raw(w as u32 / 3, h, pixels).expect("the region lies inside the image")
}
