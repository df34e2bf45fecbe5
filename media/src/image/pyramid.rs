//! The levels of a master, each the one above halved (the mean of 2×2 pixels, as image servers
//! and `vips dzsave` make pyramids), made from rows as they arrive: a master read band by band
//! ([`super::tiff_bands`]) is never whole in memory. Each level's rows are cut into IIIF tiles
//! as soon as a row of tiles is complete ([`super::iiif::Tiles`]), and the one level the access
//! copies are resampled from is kept whole.
//!
//! Memory: a row of tiles per tiled level (about twice the top one in all) and the kept level,
//! the smallest still at least as large as every access copy (at most 4× their area).

use caravan_proto::exec::ExecOutput;
use image::RgbImage;
use rayon::prelude::*;

use super::iiif::Tiles;
use crate::error::PipelineError;

/// Where the pyramid's rows go.
pub struct Pyramid<'a> {
    levels: Vec<Level>,
    tiles: Option<&'a Tiles<'a>>,
    /// The level handed back by [`Pyramid::finish`].
    kept: usize,
}

struct Level {
    width: u32,
    height: u32,
    /// Rows received so far.
    received: u32,
    /// Received rows not yet cut into tiles (the row of tiles starting at `tile_row_y`).
    pending: Vec<u8>,
    tile_row_y: u32,
    /// A row waiting for the next to be halved with.
    carry: Option<Vec<u8>>,
    /// Every row, for a level kept whole (the access copies' source, or a `full/` size).
    whole: Option<Vec<u8>>,
    outputs: Vec<ExecOutput>,
}

impl Level {
    fn row_bytes(&self) -> usize {
        self.width as usize * 3
    }
}

impl std::fmt::Debug for Pyramid<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pyramid")
            .field("levels", &self.levels())
            .field("kept", &self.kept)
            .finish_non_exhaustive()
    }
}

impl<'a> Pyramid<'a> {
    /// The pyramid of a `width`×`height` master. With `tiles`, every level down to the one
    /// that fits a single tile is made and tiled; without, only the levels down to the kept
    /// one. The kept level is the smallest at least `keep` (width, height); if that is the
    /// master itself, it is kept only with `hold_full` (a caller holding the whole master
    /// already does not need a copy).
    pub fn new(
        (width, height): (u32, u32),
        keep: (u32, u32),
        tiles: Option<&'a Tiles<'a>>,
        hold_full: bool,
    ) -> Self {
        let mut sizes = vec![(width, height)];
        let large_enough = |(w, h): (u32, u32)| w >= keep.0 && h >= keep.1;
        let mut kept = 0;
        loop {
            let (w, h) = *sizes.last().expect("one level at least");
            let next = (w.div_ceil(2), h.div_ceil(2));
            let more = match tiles {
                Some(t) => w > t.tile() || h > t.tile(),
                None => large_enough(next),
            };
            if !more {
                break;
            }
            if large_enough(next) {
                kept = sizes.len();
            }
            sizes.push(next);
        }
        let levels = sizes
            .iter()
            .enumerate()
            .map(|(k, &(w, h))| {
                let full = tiles.is_some_and(|t| t.is_full_size(w, h));
                let whole = (full || (k == kept && (k > 0 || hold_full)))
                    .then(|| Vec::with_capacity(w as usize * h as usize * 3));
                Level {
                    width: w,
                    height: h,
                    received: 0,
                    pending: Vec::new(),
                    tile_row_y: 0,
                    carry: None,
                    whole,
                    outputs: Vec::new(),
                }
            })
            .collect();
        Self {
            levels,
            tiles,
            kept,
        }
    }

    /// The whole rows `rows` (8-bit RGB, the master's width) that follow those pushed before.
    pub fn push(&mut self, rows: &[u8]) -> Result<(), PipelineError> {
        self.push_level(0, rows)
    }

    fn push_level(&mut self, k: usize, rows: &[u8]) -> Result<(), PipelineError> {
        let level = &mut self.levels[k];
        let row_bytes = level.row_bytes();
        debug_assert_eq!(rows.len() % row_bytes, 0);
        let n = (rows.len() / row_bytes) as u32;
        level.received += n;
        if let Some(whole) = &mut level.whole {
            whole.extend_from_slice(rows);
        }
        if let Some(tiles) = self.tiles {
            let tile = tiles.tile();
            let (w, h) = (level.width, level.height);
            let factor = 1 << k;
            let mut rest = rows;
            while !rest.is_empty() {
                let pending_rows = (level.pending.len() / row_bytes) as u32;
                let strip_rows = tile.min(h - level.tile_row_y);
                let available = (rest.len() / row_bytes) as u32;
                if pending_rows == 0 && available >= strip_rows {
                    // A whole row of tiles in what arrived: cut straight from it.
                    let (strip, after) = rest.split_at(strip_rows as usize * row_bytes);
                    let y = level.tile_row_y;
                    level.outputs.extend(tiles.strip(factor, (w, h), y, strip)?);
                    level.tile_row_y += strip_rows;
                    rest = after;
                    continue;
                }
                let take = (strip_rows - pending_rows).min(available);
                let (part, after) = rest.split_at(take as usize * row_bytes);
                level.pending.extend_from_slice(part);
                rest = after;
                if pending_rows + take == strip_rows {
                    let y = level.tile_row_y;
                    level
                        .outputs
                        .extend(tiles.strip(factor, (w, h), y, &level.pending)?);
                    level.pending.clear();
                    level.tile_row_y += strip_rows;
                }
            }
        }
        if k + 1 == self.levels.len() {
            return Ok(());
        }
        // Halve in pairs of rows, the first paired with a row carried from the last push.
        let level = &mut self.levels[k];
        let mut rest = rows;
        let mut halved = Vec::with_capacity(rows.len() / 4 + row_bytes);
        if let Some(carry) = level.carry.take() {
            let (first, after) = rest.split_at(row_bytes);
            halve_pair(&carry, first, level.width, &mut halved);
            rest = after;
        }
        let pairs = rest.len() / (2 * row_bytes);
        let (paired, odd) = rest.split_at(pairs * 2 * row_bytes);
        let next_row = self.levels[k + 1].row_bytes();
        let start = halved.len();
        halved.resize(start + pairs * next_row, 0);
        let width = self.levels[k].width;
        halved[start..]
            .par_chunks_mut(next_row)
            .zip(paired.par_chunks(2 * row_bytes))
            .for_each(|(out, pair)| {
                let (a, b) = pair.split_at(row_bytes);
                halve_into(a, b, width, out);
            });
        if !odd.is_empty() {
            self.levels[k].carry = Some(odd.to_vec());
        }
        if halved.is_empty() {
            return Ok(());
        }
        self.push_level(k + 1, &halved)
    }

    /// Cuts the last, partial rows of tiles, halves the odd last row of each level (with
    /// itself), writes the `full/` sizes, and hands back the outputs written, level by level,
    /// and the kept level (`None`: the master itself, not held).
    pub fn finish(mut self) -> Result<(Vec<ExecOutput>, Option<RgbImage>), PipelineError> {
        for k in 0..self.levels.len() {
            let level = &mut self.levels[k];
            if level.received != level.height {
                return Err(PipelineError::Undecodable {
                    format: "image".into(),
                    detail: format!(
                        "{} rows of {} arrived at pyramid level {k}",
                        level.received, level.height
                    ),
                });
            }
            if let (Some(tiles), false) = (self.tiles, level.pending.is_empty()) {
                let (w, h, y) = (level.width, level.height, level.tile_row_y);
                let strip = std::mem::take(&mut level.pending);
                level
                    .outputs
                    .extend(tiles.strip(1 << k, (w, h), y, &strip)?);
            }
            if let Some(carry) = level.carry.take() {
                let mut halved = Vec::new();
                halve_pair(&carry, &carry, level.width, &mut halved);
                self.push_level(k + 1, &halved)?;
            }
        }
        let mut outputs = Vec::new();
        let mut kept = None;
        for (k, level) in self.levels.into_iter().enumerate() {
            outputs.extend(level.outputs);
            let Some(whole) = level.whole else { continue };
            let image = RgbImage::from_raw(level.width, level.height, whole)
                .expect("every row of the level arrived");
            if let Some(tiles) = self.tiles {
                if tiles.is_full_size(level.width, level.height) {
                    outputs.extend(tiles.full(&image)?);
                }
            }
            if k == self.kept {
                kept = Some(image);
            }
        }
        Ok((outputs, kept))
    }

    /// Each level's scale factor and size, largest first.
    pub fn levels(&self) -> Vec<(u32, u32, u32)> {
        (self.levels.iter().enumerate())
            .map(|(k, l)| (1 << k, l.width, l.height))
            .collect()
    }
}

/// Appends the halving of the rows `a` and `b` (`width` pixels each).
fn halve_pair(a: &[u8], b: &[u8], width: u32, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + width.div_ceil(2) as usize * 3, 0);
    halve_into(a, b, width, &mut out[start..]);
}

/// `out[i]` = the rounded mean of pixels 2i and 2i + 1 of rows `a` and `b` (the last pixel
/// doubled when `width` is odd).
fn halve_into(a: &[u8], b: &[u8], width: u32, out: &mut [u8]) {
    let (a, b) = (&a[..width as usize * 3], &b[..width as usize * 3]);
    let pairs = a.chunks_exact(6).zip(b.chunks_exact(6));
    for ((pa, pb), px) in pairs.zip(out.chunks_exact_mut(3)) {
        for (c, o) in px.iter_mut().enumerate() {
            let sum =
                u16::from(pa[c]) + u16::from(pa[c + 3]) + u16::from(pb[c]) + u16::from(pb[c + 3]);
            *o = ((sum + 2) >> 2) as u8;
        }
    }
    if width % 2 == 1 {
        let (last_a, last_b) = (&a[a.len() - 3..], &b[b.len() - 3..]);
        let o = (width / 2) as usize * 3;
        for (c, px) in out[o..o + 3].iter_mut().enumerate() {
            *px = ((2 * (u16::from(last_a[c]) + u16::from(last_b[c])) + 2) >> 2) as u8;
        }
    }
}

#[cfg(test)]
mod tests;
