//! JPEG masters (RGB and grey; CMYK ones go to [`super::cmyk`]), decoded by libjpeg-turbo (through
//! MozJPEG) at the size the outputs need:
//!
//! - without IIIF tiles no output needs every pixel: the master is decoded with a scaled IDCT
//!   (1/2, 1/4 or 1/8, as libvips' shrink-on-load does) at the smallest scale still at least as
//!   large as the largest access copy ([`decode_reduced`]);
//! - with tiles, full resolution is needed: the master is read a band of rows at a time into the
//!   pyramid ([`JpegStream`]), never whole (a progressive JPEG's coefficients are held by the
//!   decoder, and counted).
//!
//! A truncated scan must fail, not give a derivative of half a master ([`check_complete`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use caravan_proto::Profile;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use crate::error::PipelineError;
use crate::image::colour::to_srgb8;
use crate::image::decoded::{describe, Decoded};
use crate::image::limits;
use crate::image::pyramid::Pyramid;
use crate::image::resize::largest_copy;
use crate::image::stream::{self, BandSource, StreamedMaster};

/// Rows of a band handed to the pyramid.
const BAND_ROWS: usize = 64;

fn bad(detail: impl std::fmt::Display) -> PipelineError {
    PipelineError::Undecodable {
        format: "jpeg".into(),
        detail: detail.to_string(),
    }
}

/// What a JPEG master's headers say, read before any pixel.
#[derive(Debug, Clone)]
pub struct Header {
    /// Stored (not upright) size.
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    pub icc: Option<Vec<u8>>,
    /// Colour components (1 grey, 3 YCbCr or RGB, 4 CMYK or YCCK).
    pub components: u8,
    /// Progressive: the decoder keeps every coefficient of the image until the last scan.
    pub progressive: bool,
}

impl Header {
    /// The size as shown (orientations 5–8 turn the picture a quarter).
    pub fn upright(&self) -> (u32, u32) {
        if self.turns_quarter() {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    fn turns_quarter(&self) -> bool {
        use Orientation::*;
        matches!(
            self.orientation,
            Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH
        )
    }
}

/// Reads the headers of the JPEG at `input` (after checking it is complete).
pub fn read_header(input: &Path) -> Result<Header, PipelineError> {
    check_complete(input)?;
    let mut decoder = ImageReader::open(input)
        .map_err(bad)?
        .with_guessed_format()
        .map_err(bad)?
        .into_decoder()
        .map_err(|e| super::image_error::classify("jpeg", e))?;
    let (width, height) = decoder.dimensions();
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (progressive, components) = frame(input)?.ok_or_else(|| bad("no frame header"))?;
    Ok(Header {
        width,
        height,
        orientation,
        icc,
        components,
        progressive,
    })
}

/// The frame header's kind and component count: (progressive, components), `None` if the
/// stream has none before its first scan.
pub fn frame(input: &Path) -> Result<Option<(bool, u8)>, PipelineError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = BufReader::new(File::open(input).map_err(bad)?);
    let mut marker = [0u8; 4];
    file.seek(SeekFrom::Start(2)).map_err(bad)?;
    loop {
        if file.read_exact(&mut marker).is_err() || marker[0] != 0xFF {
            return Ok(None);
        }
        let length = i64::from(u16::from_be_bytes([marker[2], marker[3]]));
        // SOF0–SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components.
        if (0xC0..=0xCF).contains(&marker[1]) && ![0xC4, 0xC8, 0xCC].contains(&marker[1]) {
            let mut frame = [0u8; 6];
            file.read_exact(&mut frame).map_err(bad)?;
            let progressive = matches!(marker[1], 0xC2 | 0xC6 | 0xCA | 0xCE);
            return Ok(Some((progressive, frame[5])));
        }
        if marker[1] == 0xDA {
            return Ok(None);
        }
        file.seek(SeekFrom::Current(length - 2)).map_err(bad)?;
    }
}

/// The scale (in eighths: 1, 2, 4 or 8) at which a `width`×`height` picture shrinks the most
/// while staying at least `target` on both sides; libjpeg rounds scaled sizes up.
pub fn reduction((width, height): (u32, u32), target: (u32, u32)) -> u8 {
    let scaled = |v: u32, eighths: u32| v.div_ceil(8 / eighths);
    [1u8, 2, 4]
        .into_iter()
        .find(|&e| {
            scaled(width, u32::from(e)) >= target.0 && scaled(height, u32::from(e)) >= target.1
        })
        .unwrap_or(8)
}

/// Decodes the JPEG at `input` at the smallest scale that still covers the largest access copy
/// or thumbnail of `profile`, turned upright and converted to sRGB. Returns the picture (smaller
/// than the master, or the master's size when it must be), and what the receipt says of it.
pub fn decode_reduced(
    input: &Path,
    header: &Header,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let (uw, uh) = header.upright();
    let (tw, th) = largest_copy(uw, uh, &profile.image);
    let target = if header.turns_quarter() {
        (th, tw)
    } else {
        (tw, th)
    };
    let eighths = reduction((header.width, header.height), target);
    let (sw, sh) = (
        header.width.div_ceil(8 / u32::from(eighths)),
        header.height.div_ceil(8 / u32::from(eighths)),
    );
    limits::check_dimensions("jpeg", uw, uh, profile)?;
    let working = if header.icc.is_some() { 3 + 12 } else { 3 };
    let held = coefficient_bytes(header);
    let pixels = u64::from(sw) * u64::from(sh);
    limits::check_memory(uw, uh, pixels * (3 + working) + held, profile)?;

    let rgb = unwinding(|| {
        let mut decompress = mozjpeg::Decompress::new_path(input).map_err(bad)?;
        decompress.scale(eighths);
        let mut started = decompress.rgb().map_err(bad)?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let samples: Vec<u8> = started.read_scanlines().map_err(bad)?;
        started.finish().map_err(bad)?;
        RgbImage::from_raw(w, h, samples).ok_or_else(|| bad("the decoder returned a short picture"))
    })?;
    let mut image = DynamicImage::ImageRgb8(rgb);
    image.apply_orientation(header.orientation);
    let (rgb, colour) = to_srgb8(image, header.icc.as_deref());
    let mut info = describe(
        "jpeg",
        (header.width, header.height),
        color_of(header),
        header.orientation,
        &colour,
    );
    info.insert(
        "read".to_owned(),
        format!("scaled by {eighths}/8 while decoding ({sw}×{sh})").into(),
    );
    Ok((rgb, info))
}

/// What a decoder holds besides its output: every coefficient of a progressive JPEG (two bytes
/// per sample, at most three samples per pixel), a few rows of a baseline one.
fn coefficient_bytes(header: &Header) -> u64 {
    if header.progressive {
        u64::from(header.width) * u64::from(header.height) * u64::from(header.components) * 2
    } else {
        0
    }
}

fn color_of(header: &Header) -> String {
    if header.components == 1 { "L8" } else { "Rgb8" }.to_owned()
}

/// A JPEG master read band by band into the pyramid (one decoder thread).
#[derive(Debug)]
pub struct JpegStream {
    path: PathBuf,
    header: Header,
}

impl JpegStream {
    /// A JPEG to be read at full resolution, band by band; `None` when it must be read whole
    /// (an orientation to apply needs every row).
    pub fn new(
        input: &Path,
        header: &Header,
        profile: &Profile,
    ) -> Result<Option<Self>, PipelineError> {
        if header.orientation != Orientation::NoTransforms {
            return Ok(None);
        }
        let (w, h) = (header.width, header.height);
        limits::check_dimensions("jpeg", w, h, profile)?;
        let band = (BAND_ROWS as u32, u64::from(w) * BAND_ROWS as u64 * 3);
        let needed = stream::needed_bytes((w, h), band, coefficient_bytes(header), profile);
        limits::check_memory(w, h, needed, profile)?;
        Ok(Some(Self {
            path: input.to_owned(),
            header: header.clone(),
        }))
    }
}

impl StreamedMaster for JpegStream {
    fn dimensions(&self) -> (u32, u32) {
        (self.header.width, self.header.height)
    }

    fn read_into(
        self: Box<Self>,
        pyramid: &mut Pyramid<'_>,
        progress: &mut dyn FnMut(f32),
    ) -> Result<BTreeMap<String, serde_json::Value>, PipelineError> {
        let JpegStream { path, header } = *self;
        let reader = JpegBands::open(&path)?;
        let read = stream::stream_into(
            vec![reader],
            header.icc.as_deref(),
            header.height,
            pyramid,
            progress,
        )?;
        let mut info = describe(
            "jpeg",
            (header.width, header.height),
            color_of(&header),
            header.orientation,
            &read.colour,
        );
        info.insert("read".to_owned(), "band by band".into());
        Ok(info)
    }
}

/// A started libjpeg decompression handing out bands of RGB rows.
struct JpegBands {
    started: mozjpeg::decompress::DecompressStarted<BufReader<File>>,
    /// Rows handed out so far.
    done: usize,
}

// SAFETY: libjpeg keeps all of a decompression's state in its own structures (no thread-local
// or global state); the reader is moved to one thread and used there alone.
unsafe impl Send for JpegBands {}

impl JpegBands {
    fn open(path: &Path) -> Result<Self, PipelineError> {
        let started = unwinding(|| {
            mozjpeg::Decompress::new_path(path)
                .map_err(bad)?
                .rgb()
                .map_err(bad)
        })?;
        Ok(Self { started, done: 0 })
    }
}

impl BandSource for JpegBands {
    fn next_band(&mut self) -> Result<Option<DynamicImage>, PipelineError> {
        let (w, h) = (self.started.width(), self.started.height());
        let done = self.done;
        if done >= h {
            return Ok(None);
        }
        let rows = BAND_ROWS.min(h - done);
        self.done += rows;
        let started = &mut self.started;
        unwinding(move || {
            let mut band = vec![0u8; w * rows * 3];
            started.read_scanlines_into(&mut band).map_err(bad)?;
            let image = RgbImage::from_raw(w as u32, rows as u32, band)
                .ok_or_else(|| bad("a short band"))?;
            Ok(Some(DynamicImage::ImageRgb8(image)))
        })
    }
}

/// Runs `f`, turning a libjpeg fatal error (which MozJPEG raises as an unwinding panic carrying
/// its message) into an undecodable-input error. A decompression that failed is never used again.
fn unwinding<T>(f: impl FnOnce() -> Result<T, PipelineError>) -> Result<T, PipelineError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => Err(bad(panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("libjpeg stopped"))),
    }
}

/// A JPEG decoder fills a truncated scan with grey and reports success; an archive must not get
/// a derivative of half a master. A complete JPEG has its end-of-image marker (FF D9) at the end,
/// allowing for trailing bytes some cameras and tools append.
pub fn check_complete(input: &Path) -> Result<(), PipelineError> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let mut file = File::open(input).map_err(bad)?;
    let len = file.metadata().map_err(bad)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .map_err(bad)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(bad)?;
    if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(bad(format!(
            "the file ends after {len} bytes without an end-of-image marker (truncated)"
        )))
    }
}

#[cfg(test)]
mod tests;
