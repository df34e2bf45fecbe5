//! Static IIIF Image API 3.0, level 0: a tile pyramid and `info.json` laid out as files, so any
//! static web server or S3 bucket serves them to a standard IIIF viewer with no image server.
//!
//! ```text
//! iiif/info.json
//! iiif/{x},{y},{w},{h}/{tw},{th}/0/default.jpg    tiles, for every scale factor
//! iiif/full/{w},{h}/0/default.jpg                 whole-image sizes listed in `sizes`
//! iiif/full/max/0/default.jpg                     the whole image at full size, when it is one
//!                                                 of `sizes`
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
use crate::error::PipelineError;

/// Writes the files of one master's pyramid below `out_dir/iiif`, as the levels' rows arrive
/// ([`super::pyramid::Pyramid`]). Tiles carry no metadata: thousands of them would each repeat
/// it.
#[derive(Debug)]
pub struct Tiles<'a> {
    out_dir: &'a Path,
    profile: &'a IiifProfile,
    /// The master's size.
    width: u32,
    height: u32,
}

impl<'a> Tiles<'a> {
    pub fn new(out_dir: &'a Path, profile: &'a IiifProfile, (width, height): (u32, u32)) -> Self {
        Self {
            out_dir,
            profile,
            width,
            height,
        }
    }

    /// The tiles' width and height.
    pub fn tile(&self) -> u32 {
        self.profile.tile_size.max(64)
    }

    /// Whether a level of `w`×`h` is also written whole (listed in `sizes`).
    pub fn is_full_size(&self, w: u32, h: u32) -> bool {
        w.max(h) <= self.profile.max_full_size
    }

    fn encode(&self, image: &RgbImage, name: &str) -> Result<ExecOutput, PipelineError> {
        // Tiles are small and fetched many at a time: baseline JPEG.
        let jpeg = Jpeg {
            quality: self.profile.quality,
            progressive: false,
            xmp: None,
        };
        write_jpeg(image, self.out_dir, name, jpeg)
    }

    /// Writes the row of tiles at `y` of the level of scale factor `factor`, `w`×`h` pixels:
    /// `strip` holds its rows (8-bit RGB).
    pub fn strip(
        &self,
        factor: u32,
        (w, h): (u32, u32),
        y: u32,
        strip: &[u8],
    ) -> Result<Vec<ExecOutput>, PipelineError> {
        let tile = self.tile();
        let rows = (strip.len() / (w as usize * 3)) as u32;
        let (ty, sh) = (y * factor, rows.min(h - y));
        let rh = (tile * factor).min(self.height - ty);
        // Tiles are independent: encode them on every core, keeping their order.
        (0..w.div_ceil(tile))
            .into_par_iter()
            .map(|column| {
                let x = column * tile;
                let tx = x * factor;
                let rw = (tile * factor).min(self.width - tx);
                let sw = (w - x).min(tile);
                let crop = crop(strip, w, x, sw, sh);
                let name = format!("iiif/{tx},{ty},{rw},{rh}/{sw},{sh}/0/default.jpg");
                self.encode(&crop, &name)
            })
            .collect()
    }

    /// Writes a whole level (one of `info.json`'s `sizes`); the master's own size is also
    /// written as `full/max`, the size every level 0 service must answer (and the one
    /// OpenSeadragon asks for when the whole image is one tile).
    pub fn full(&self, level: &RgbImage) -> Result<Vec<ExecOutput>, PipelineError> {
        let (w, h) = level.dimensions();
        let mut written = vec![self.encode(level, &format!("iiif/full/{w},{h}/0/default.jpg"))?];
        if (w, h) == (self.width, self.height) {
            written.push(self.encode(level, "iiif/full/max/0/default.jpg")?);
        }
        Ok(written)
    }

    /// Writes `info.json` for the `levels` (scale factor, width, height; largest first); `id`
    /// is the image's IIIF base URI, `rights` the URI of its rights statement.
    pub fn info(
        &self,
        levels: &[(u32, u32, u32)],
        id: &str,
        rights: Option<&str>,
    ) -> Result<ExecOutput, PipelineError> {
        let scale_factors: Vec<u32> = levels.iter().map(|l| l.0).collect();
        let sizes: Vec<_> = (levels.iter().rev())
            .filter(|&&(_, w, h)| self.is_full_size(w, h))
            .map(|&(_, w, h)| json!({ "width": w, "height": h }))
            .collect();
        let (width, height, tile) = (self.width, self.height, self.tile());
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
        if let Some(uri) = rights.filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            info["rights"] = uri.into();
        }
        let path = self.out_dir.join("iiif/info.json");
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&info).expect("info.json serializes"),
        )
        .map_err(|source| PipelineError::Output { path, source })?;
        Ok(ExecOutput {
            name: OutputName::parse("iiif/info.json").expect("fixed output names are valid"),
            media_type: "application/ld+json".into(),
            width: Some(width),
            height: Some(height),
            duration_seconds: None,
        })
    }
}

/// The `w`×`h` region at column `x` of the first `h` rows of `rows` (8-bit RGB rows of
/// `width` pixels), copied row by row.
fn crop(rows: &[u8], width: u32, x: u32, w: u32, h: u32) -> RgbImage {
    let stride = width as usize * 3;
    let (x, w) = (x as usize * 3, w as usize * 3);
    let mut pixels = Vec::with_capacity(w * h as usize);
    for row in 0..h as usize {
        let start = row * stride + x;
        pixels.extend_from_slice(&rows[start..start + w]);
    }
    RgbImage::from_raw(w as u32 / 3, h, pixels).expect("the region lies inside the rows")
}

#[cfg(test)]
mod tests;
