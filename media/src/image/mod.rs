//! Image derivatives: access copies (progressive JPEG and WebP) and thumbnails at the profile's
//! sizes, correctly oriented, in sRGB ([`colour`]), with no metadata but the sRGB profile and the
//! catalogue's XMP ([`encode`]), and static IIIF tiles ([`pyramid`], [`iiif`]).
//!
//! Dimensions declared in the header are checked against the profile's limits ([`limits`])
//! before any pixel is decoded, and the decoder's allocations are capped, so a header bomb fails
//! cleanly.
//!
//! - `open`: recognises the master and picks its decoder ([`decode`]);
//! - [`pyramid`]: levels halved from rows as they arrive, cut into tiles as they complete;
//! - `access`: access copies and thumbnails, each from the smallest larger image ([`resize`]).

mod access;
pub mod colour;
pub mod decode;
mod decoded;
pub mod encode;
pub mod iiif;
pub mod limits;
mod open;
pub mod pyramid;
pub mod resize;
pub mod stream;

use caravan_proto::exec::ExecRequest;

use crate::error::PipelineError;
use crate::output::PipelineOutput;
use crate::watermark::Watermark;
use access::access_copies;
use iiif::Tiles;
use open::{open, Master};
use pyramid::Pyramid;
use resize::largest_copy;

/// Decodes the request's master and writes the access copies and thumbnails
/// ([`access_copies`]) and (if the profile asks) static IIIF tiles into its output folder.
pub fn run(
    request: &ExecRequest,
    progress: &mut dyn FnMut(f32),
) -> Result<PipelineOutput, PipelineError> {
    let (input, out_dir, profile) = (&request.input, &request.out_dir, &request.profile);
    let p = &profile.image;
    let watermark = Watermark::prepare(&p.watermark)?;
    let master = open(input, profile)?;
    let (w, h) = master.dimensions();
    let xmp = crate::xmp::packet(&request.metadata);
    let tiles = p.iiif.enabled.then(|| Tiles::new(out_dir, &p.iiif, (w, h)));
    // The pyramid (tiled with IIIF) hands back its smallest level still at least as large as
    // every access copy: they are resampled from it instead of from the full master.
    let keep = largest_copy(w, h, p);
    let mut outputs = Vec::new();
    let mut levels = Vec::new();
    let (source, mut master_info) = match master {
        Master::Whole((decoded, info)) if tiles.is_none() => (decoded, info),
        // Made only without tiles: smaller than the master, at least as large as every copy.
        Master::Reduced { decoded, .. } => decoded,
        Master::Whole((decoded, info)) => {
            progress(40.0);
            let mut pyramid = Pyramid::new((w, h), keep, tiles.as_ref(), false);
            levels = pyramid.levels();
            pyramid.push(decoded.as_raw())?;
            let (written, kept) = pyramid.finish()?;
            outputs.extend(written);
            // The full master is no longer needed once a smaller level stands in for it.
            (kept.unwrap_or(decoded), info)
        }
        Master::Bands(read) => {
            let mut pyramid = Pyramid::new((w, h), keep, tiles.as_ref(), true);
            levels = pyramid.levels();
            let info = read.read_into(&mut pyramid, progress)?;
            let (written, kept) = pyramid.finish()?;
            outputs.extend(written);
            (
                kept.expect("a pyramid holding its full level keeps one"),
                info,
            )
        }
    };
    if let Some(tiles) = &tiles {
        let asset = request
            .asset_id
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), ToString::to_string);
        let id = crate::manifest::image_service_id(profile, &asset);
        let rights = request.metadata.rights_uri.as_deref();
        outputs.push(tiles.info(&levels, &id, rights)?);
    }
    progress(70.0);
    outputs.extend(access_copies(
        (w, h),
        source,
        p,
        watermark.as_ref(),
        xmp.as_deref(),
        out_dir,
    )?);
    progress(100.0);
    master_info.insert("width_displayed".into(), w.into());
    master_info.insert("height_displayed".into(), h.into());
    if let Some(mark) = &watermark {
        master_info.insert("watermark".into(), mark.described.clone());
    }
    Ok(PipelineOutput {
        outputs,
        tools: crate::tools::image_tools(),
        master_info,
    })
}

#[cfg(test)]
pub(crate) mod test_support;
