//! Stills taken from the access copy's frames as they are encoded (no second decode): the poster
//! (`poster.jpg`, a representative frame) and the storyboard (`storyboard.jpg`, a sprite sheet
//! of small frames at a regular interval, and `storyboard.vtt`, a WebVTT thumbnail track whose
//! cues point into the sheet with `#xywh=` fragments, as exhibition players expect).
//!
//! The poster is the first frame at or after `video.poster_position` of the duration that is
//! neither black nor flat (leaders, fades and slates are common at the start of heritage
//! footage); if there is none, the most detailed frame seen.

use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::{OutputName, Profile};
use ff::{format, frame};
use ffmpeg_next as ff;
use image::RgbImage;

use crate::error::PipelineError;
use crate::image::encode::{write_jpeg, Jpeg};

pub const POSTER: &str = "poster.jpg";
pub const STORYBOARD_SHEET: &str = "storyboard.jpg";
pub const STORYBOARD_TRACK: &str = "storyboard.vtt";

/// Columns of the storyboard sheet.
const COLUMNS: u32 = 10;

/// Collects the stills while the frames go by.
pub struct Stills {
    hd: bool,
    poster_enabled: bool,
    poster_at: f64,
    poster: Option<frame::Video>,
    poster_found: bool,
    /// The most detailed frame seen, in case no frame qualifies.
    fallback: Option<(f64, frame::Video)>,
    storyboard: Option<Storyboard>,
    first_seconds: Option<f64>,
    last_seconds: f64,
}

impl std::fmt::Debug for Stills {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stills")
            .field("poster_at", &self.poster_at)
            .field("poster_found", &self.poster_found)
            .field(
                "storyboard_tiles",
                &self.storyboard.as_ref().map(|b| b.tiles.len()),
            )
            .finish()
    }
}

struct Storyboard {
    interval: f64,
    next_at: f64,
    tile_width: u32,
    tiles: Vec<(f64, RgbImage)>,
}

impl Stills {
    /// `duration` is the master's, in seconds (0 when unknown); `hd` selects the BT.709 matrix.
    pub fn new(profile: &Profile, duration: f64, hd: bool) -> Self {
        let v = &profile.video;
        let storyboard = v.storyboard.then(|| {
            let max_tiles = f64::from(v.storyboard_max_tiles.max(1));
            Storyboard {
                interval: v.storyboard_interval_seconds.max(duration / max_tiles),
                next_at: 0.0,
                tile_width: v.storyboard_tile_width,
                tiles: Vec::new(),
            }
        });
        Self {
            hd,
            poster_enabled: v.poster,
            poster_at: duration * v.poster_position.clamp(0.0, 1.0),
            poster: None,
            poster_found: false,
            fallback: None,
            storyboard,
            first_seconds: None,
            last_seconds: 0.0,
        }
    }

    /// Looks at one frame (YUV 4:2:0, square pixels, the access copy's size) at `seconds` of the
    /// master's timeline.
    pub fn offer(&mut self, frame: &frame::Video, seconds: f64) -> Result<(), PipelineError> {
        let first = *self.first_seconds.get_or_insert(seconds);
        let t = (seconds - first).max(0.0);
        self.last_seconds = t;
        if self.poster_enabled && !self.poster_found {
            let (mean, detail) = luma_stats(frame);
            let usable = mean > 28.0 && detail > 6.0;
            if t >= self.poster_at && usable {
                self.poster = Some(frame.clone());
                self.poster_found = true;
            } else if self
                .fallback
                .as_ref()
                .is_none_or(|(best, _)| detail > *best)
            {
                self.fallback = Some((detail, frame.clone()));
            }
        }
        let hd = self.hd;
        if let Some(board) = self.storyboard.as_mut() {
            if t >= board.next_at {
                let w = board.tile_width.min(frame.width()).max(2);
                let h = ((f64::from(frame.height()) * f64::from(w) / f64::from(frame.width()))
                    .round() as u32)
                    .max(2);
                board.tiles.push((t, to_rgb(frame, w, h, hd)?));
                // Catch up on gaps (a damaged stretch) without piling tiles on one frame.
                while board.next_at <= t {
                    board.next_at += board.interval;
                }
            }
        }
        Ok(())
    }

    /// Writes the poster and storyboard into `out_dir`; `end_seconds` is where the access copy
    /// ends (the last storyboard cue runs to it).
    pub fn write(
        self,
        out_dir: &Path,
        profile: &Profile,
        end_seconds: f64,
        xmp: Option<&[u8]>,
    ) -> Result<Vec<ExecOutput>, PipelineError> {
        let mut outputs = Vec::new();
        let jpeg = Jpeg {
            quality: profile.image.access_quality,
            progressive: profile.image.progressive,
            xmp,
        };
        let poster = self.poster.or(self.fallback.map(|(_, f)| f));
        if let Some(frame) = poster {
            let image = to_rgb(&frame, frame.width(), frame.height(), self.hd)?;
            outputs.push(write_jpeg(&image, out_dir, POSTER, jpeg)?);
        }
        if let Some(board) = self.storyboard.filter(|b| !b.tiles.is_empty()) {
            let end = end_seconds.max(self.last_seconds);
            outputs.extend(write_storyboard(&board, end, out_dir, jpeg)?);
        }
        Ok(outputs)
    }
}

fn write_storyboard(
    board: &Storyboard,
    end_seconds: f64,
    out_dir: &Path,
    jpeg: Jpeg,
) -> Result<Vec<ExecOutput>, PipelineError> {
    let (tw, th) = board.tiles[0].1.dimensions();
    let n = board.tiles.len() as u32;
    let columns = n.min(COLUMNS);
    let rows = n.div_ceil(columns);
    let mut sheet = RgbImage::new(tw * columns, th * rows);
    let mut track = String::from("WEBVTT\n");
    for (i, (start, tile)) in board.tiles.iter().enumerate() {
        let (x, y) = ((i as u32 % columns) * tw, (i as u32 / columns) * th);
        image::imageops::replace(&mut sheet, tile, i64::from(x), i64::from(y));
        let end = board
            .tiles
            .get(i + 1)
            .map_or(end_seconds.max(*start + 0.001), |(next, _)| *next);
        track.push_str(&format!(
            "\n{} --> {}\n{STORYBOARD_SHEET}#xywh={x},{y},{},{}\n",
            timestamp(*start),
            timestamp(end),
            tile.width(),
            tile.height()
        ));
    }
    let sheet_output = write_jpeg(&sheet, out_dir, STORYBOARD_SHEET, jpeg)?;
    let path = out_dir.join(STORYBOARD_TRACK);
    std::fs::write(&path, track).map_err(|source| PipelineError::Output { path, source })?;
    let track_output = ExecOutput {
        name: OutputName::parse(STORYBOARD_TRACK).expect("a fixed, valid name"),
        media_type: "text/vtt".into(),
        width: None,
        height: None,
        duration_seconds: Some(end_seconds),
    };
    Ok(vec![sheet_output, track_output])
}

/// `HH:MM:SS.mmm`, as WebVTT cues need.
fn timestamp(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Mean and standard deviation of the luma plane (limited range), sampled every 4th pixel.
fn luma_stats(frame: &frame::Video) -> (f64, f64) {
    let (w, h, stride) = (
        frame.width() as usize,
        frame.height() as usize,
        frame.stride(0),
    );
    let data = frame.data(0);
    let (mut n, mut sum, mut sum_sq) = (0f64, 0f64, 0f64);
    for y in (0..h).step_by(4) {
        for x in (0..w).step_by(4) {
            let v = f64::from(data[y * stride + x]);
            n += 1.0;
            sum += v;
            sum_sq += v * v;
        }
    }
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    (mean, (sum_sq / n - mean * mean).max(0.0).sqrt())
}

/// Converts (and scales) a limited-range YUV frame to full-range 8-bit RGB with the stream's
/// matrix (BT.709 for HD, BT.601 for SD).
pub fn to_rgb(frame: &frame::Video, w: u32, h: u32, hd: bool) -> Result<RgbImage, PipelineError> {
    let err = |e: ff::Error| PipelineError::Encode(format!("still frame: {e}"));
    let flags = ff::software::scaling::Flags::BICUBIC
        | ff::software::scaling::Flags::ACCURATE_RND
        | ff::software::scaling::Flags::FULL_CHR_H_INT;
    let mut scaler = ff::software::scaling::Context::get(
        frame.format(),
        frame.width(),
        frame.height(),
        format::Pixel::RGB24,
        w,
        h,
        flags,
    )
    .map_err(err)?;
    let matrix = if hd {
        ff::ffi::SWS_CS_ITU709
    } else {
        ff::ffi::SWS_CS_ITU601
    };
    // SAFETY: the scaler context is alive and owned here; the coefficient table is static in
    // libswscale. Source is limited range (what the filter graph produced), destination full.
    unsafe {
        let table = ff::ffi::sws_getCoefficients(matrix);
        ff::ffi::sws_setColorspaceDetails(
            scaler.as_mut_ptr(),
            table,
            0,
            table,
            1,
            0,
            1 << 16,
            1 << 16,
        );
    }
    let mut rgb = frame::Video::empty();
    scaler.run(frame, &mut rgb).map_err(err)?;
    let (stride, data) = (rgb.stride(0), rgb.data(0));
    let row = w as usize * 3;
    let mut pixels = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        pixels.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    RgbImage::from_raw(w, h, pixels)
        .ok_or_else(|| PipelineError::Encode("still frame: short buffer".into()))
}

#[cfg(test)]
mod tests;
