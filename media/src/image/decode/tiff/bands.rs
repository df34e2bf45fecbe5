//! A TIFF master read band by band — one row of strips or tiles at a time — instead of whole,
//! as `vips` reads it: a 100-megapixel 16-bit master is 600 MB decoded, a band of it a few MB.
//!
//! Reads grey, grey + alpha, RGB and RGBA in 8 or 16 bits per sample, interleaved or stored
//! plane by plane (`PlanarConfiguration` = 2), in strips or tiles, with whatever compression
//! and predictor the `tiff` crate decodes. Every other kind (CMYK, YCbCr, palette, bitonal,
//! float) is read whole by [`super::image`]'s other paths.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use image::{DynamicImage, ImageBuffer};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

use super::header::Header;
use crate::error::PipelineError;

fn bad(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Undecodable {
        format: "tiff".into(),
        detail: e.to_string(),
    }
}

/// The rows of a TIFF master, a band at a time, top to bottom.
pub struct Bands {
    input: std::path::PathBuf,
    decoder: Decoder<BufReader<File>>,
    width: usize,
    height: usize,
    samples: usize,
    bits: u8,
    planar: bool,
    chunk: (usize, usize),
    /// Chunks across and down one plane.
    across: usize,
    down: usize,
    /// Rows of chunks in a band: enough for at least [`MIN_BAND_ROWS`] rows (TIFF writers
    /// often make one-row strips).
    group: usize,
    /// The next row of chunks to read.
    next: usize,
    /// Readers sharing the bands ([`Bands::split`]): this one reads every `readers`th band.
    readers: usize,
    /// LZW chunks, read and decoded here instead of by the `tiff` crate.
    lzw: Option<LzwChunks>,
}

/// The fewest rows a band holds (but the last).
const MIN_BAND_ROWS: usize = 64;

impl std::fmt::Debug for Bands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bands")
            .field("size", &(self.width, self.height))
            .field("samples", &self.samples)
            .field("bits", &self.bits)
            .field("chunk", &self.chunk)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Bands {
    /// The bands of `input` (its [`Header`] read before), or `None` if it is not a kind read
    /// band by band (see the module's introduction) or its chunks do not all lie in the file.
    pub fn open(input: &Path, header: &Header) -> Result<Option<Self>, PipelineError> {
        let (samples, bits) = match header.color {
            Some(ColorType::Gray(b)) => (1, b),
            Some(ColorType::GrayA(b)) => (2, b),
            Some(ColorType::RGB(b)) => (3, b),
            Some(ColorType::RGBA(b)) => (4, b),
            _ => return Ok(None),
        };
        if !matches!(bits, 8 | 16) || header.damage.is_some() {
            return Ok(None);
        }
        let file = File::open(input).map_err(bad)?;
        let mut decoder = Decoder::new(BufReader::new(file)).map_err(bad)?;
        let lzw = LzwChunks::of(input, &mut decoder)?;
        let (cw, ch) = decoder.chunk_dimensions();
        let chunk = (cw.max(1) as usize, ch.max(1) as usize);
        let (width, height) = (header.width as usize, header.height as usize);
        Ok(Some(Self {
            input: input.to_owned(),
            decoder,
            width,
            height,
            samples,
            bits,
            planar: header.planar.is_some(),
            chunk,
            across: width.div_ceil(chunk.0),
            down: height.div_ceil(chunk.1),
            group: MIN_BAND_ROWS.div_ceil(chunk.1),
            next: 0,
            readers: 1,
            lzw,
        }))
    }

    /// `n` readers of the bands, each with its own file and decoder, so that bands decode on
    /// `n` cores at once (LZW and Deflate decoding is most of reading a compressed master):
    /// reader `k` reads bands `k`, `k + n`, `k + 2n`…; the first is this one.
    pub fn split(self, n: usize) -> Result<Vec<Bands>, PipelineError> {
        let n = n.max(1);
        let mut readers = Vec::with_capacity(n);
        for k in 1..n {
            let file = File::open(&self.input).map_err(bad)?;
            readers.push(Bands {
                input: self.input.clone(),
                decoder: Decoder::new(BufReader::new(file)).map_err(bad)?,
                next: self.next + k * self.group,
                readers: n,
                lzw: self
                    .lzw
                    .as_ref()
                    .map(|l| l.reopen(&self.input))
                    .transpose()?,
                ..self
            });
        }
        readers.insert(0, Bands { readers: n, ..self });
        Ok(readers)
    }

    /// Rows in a full band (the last may have fewer).
    pub fn band_height(&self) -> u32 {
        (self.chunk.1 * self.group).min(self.height) as u32
    }

    /// Bytes a band takes decoded.
    pub fn band_bytes(&self) -> u64 {
        let pixels = self.width as u64 * u64::from(self.band_height());
        pixels * self.samples as u64 * u64::from(self.bits / 8)
    }

    /// The next band as stored (samples and depth kept: alpha is for the colour conversion to
    /// composite), or `None` after the last.
    pub fn next_band(&mut self) -> Result<Option<DynamicImage>, PipelineError> {
        match self.next_samples()? {
            Some((rows, samples)) => self.wrap(rows, samples).map(Some),
            None => Ok(None),
        }
    }

    /// Every band, assembled into the whole image (for masters that must be turned by their
    /// `Orientation` tag, which needs every row at once).
    pub fn decode_whole(mut self) -> Result<DynamicImage, PipelineError> {
        let (mut all8, mut all16) = (Vec::new(), Vec::new());
        let mut height = 0;
        while let Some((rows, samples)) = self.next_samples()? {
            height += rows;
            match samples {
                Samples::U8(v) => all8.extend_from_slice(&v),
                Samples::U16(v) => all16.extend_from_slice(&v),
            }
        }
        let samples = match self.bits {
            8 => Samples::U8(all8),
            _ => Samples::U16(all16),
        };
        self.wrap(height, samples)
    }

    /// The next band's row count and samples, interleaved.
    fn next_samples(&mut self) -> Result<Option<(usize, Samples)>, PipelineError> {
        if self.next >= self.down {
            return Ok(None);
        }
        let first = self.next;
        let last = (first + self.group).min(self.down);
        self.next = first + self.group * self.readers;
        let rows = (self.chunk.1 * (last - first)).min(self.height - first * self.chunk.1);
        let (width, samples) = (self.width, self.samples);
        let planes = if self.planar { samples } else { 1 };
        // Samples per pixel within one chunk: all of them, or one plane's.
        let step = samples / planes;
        let per_plane = self.across * self.down;
        let len = width * rows * samples;
        let (mut out8, mut out16) = match self.bits {
            8 => (vec![0u8; len], Vec::new()),
            _ => (Vec::new(), vec![0u16; len]),
        };
        for (plane, down) in (0..planes).flat_map(|p| (first..last).map(move |d| (p, d))) {
            for column in 0..self.across {
                let index = plane * per_plane + down * self.across + column;
                let index = u32::try_from(index).map_err(bad)?;
                let (dw, dh) = self.decoder.chunk_data_dimensions(index);
                let (dw, dh) = (dw as usize, dh as usize);
                let mut place = Placement {
                    width,
                    samples,
                    step,
                    plane,
                    x0: column * self.chunk.0,
                    y0: (down - first) * self.chunk.1,
                    cols: dw.min(width - column * self.chunk.0),
                    rows: dh.min(rows - (down - first) * self.chunk.1),
                    stride: 0,
                    index,
                };
                let chunk = match &self.lzw {
                    Some(lzw) => {
                        // Strips hold whole rows of the image; tiles are padded to full size.
                        let (cw, ch) = match self.decoder.get_chunk_type() {
                            tiff::decoder::ChunkType::Strip => (width, dh),
                            tiff::decoder::ChunkType::Tile => self.chunk,
                        };
                        place.stride = cw * step;
                        lzw.read(index, (cw * step, ch), step, self.bits)?
                    }
                    None => {
                        let chunk = self.decoder.read_chunk(index).map_err(bad)?;
                        let len = match &chunk {
                            DecodingResult::U8(v) => v.len(),
                            DecodingResult::U16(v) => v.len(),
                            _ => 0,
                        };
                        // Rows of equal length (edge tiles may or may not be padded).
                        place.stride = (len / dh.max(1)).max(dw * step);
                        match chunk {
                            DecodingResult::U8(v) => Samples::U8(v),
                            DecodingResult::U16(v) => Samples::U16(v),
                            _ => return Err(PipelineError::Unsupported("tiff sample type".into())),
                        }
                    }
                };
                match chunk {
                    Samples::U8(v) if self.bits == 8 => place.copy(&v, &mut out8)?,
                    Samples::U16(v) if self.bits == 16 => place.copy(&v, &mut out16)?,
                    _ => return Err(PipelineError::Unsupported("tiff sample type".into())),
                }
            }
        }
        let samples = match self.bits {
            8 => Samples::U8(out8),
            _ => Samples::U16(out16),
        };
        Ok(Some((rows, samples)))
    }

    fn wrap(&self, rows: usize, samples: Samples) -> Result<DynamicImage, PipelineError> {
        let (w, h) = (self.width as u32, rows as u32);
        let short = || bad("short band buffer");
        Ok(match samples {
            Samples::U8(v) => match self.samples {
                1 => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
                2 => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
                3 => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
                _ => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
            },
            Samples::U16(v) => match self.samples {
                1 => DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
                2 => DynamicImage::ImageLumaA16(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
                3 => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
                _ => DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, v).ok_or_else(short)?),
            },
        })
    }
}

enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// Where one decoded chunk's samples go in a band.
struct Placement {
    width: usize,
    samples: usize,
    /// Samples per pixel in the chunk: all of them, or one (a plane).
    step: usize,
    plane: usize,
    x0: usize,
    y0: usize,
    cols: usize,
    rows: usize,
    /// Samples from one row of the chunk to the next.
    stride: usize,
    index: u32,
}

impl Placement {
    fn copy<T: Copy>(&self, chunk: &[T], band: &mut [T]) -> Result<(), PipelineError> {
        let stride = self.stride;
        let expected = (self.rows.max(1) - 1) * stride + self.cols * self.step;
        if chunk.len() < expected {
            return Err(bad(format!(
                "chunk {} holds {} samples of {expected}",
                self.index,
                chunk.len(),
            )));
        }
        for y in 0..self.rows {
            let row = ((self.y0 + y) * self.width + self.x0) * self.samples;
            let src = &chunk[y * stride..];
            if self.step == self.samples {
                let n = self.cols * self.samples;
                band[row..row + n].copy_from_slice(&src[..n]);
            } else {
                let dst = &mut band[row + self.plane..];
                for x in 0..self.cols {
                    dst[x * self.samples] = src[x];
                }
            }
        }
        Ok(())
    }
}

/// A TIFF's LZW chunks ([`super::lzw`]), read from the file by offset: uncompressed 8- or
/// 16-bit integer samples, no predictor or horizontal differencing, bits in the usual order.
struct LzwChunks {
    file: File,
    offsets: std::sync::Arc<[(u64, u64)]>,
    big_endian: bool,
    differenced: bool,
}

impl LzwChunks {
    /// `None` unless every chunk is LZW of a kind decoded here.
    fn of(
        input: &Path,
        decoder: &mut Decoder<BufReader<File>>,
    ) -> Result<Option<Self>, PipelineError> {
        let tag = |decoder: &mut Decoder<BufReader<File>>, tag| {
            decoder.find_tag_unsigned::<u16>(tag).ok().flatten()
        };
        let compression = tag(decoder, Tag::Compression);
        let predictor = tag(decoder, Tag::Predictor).unwrap_or(1);
        let fill_order = tag(decoder, Tag::FillOrder).unwrap_or(1);
        let sample_format = tag(decoder, Tag::SampleFormat).unwrap_or(1);
        if compression != Some(5)
            || !matches!(predictor, 1 | 2)
            || fill_order != 1
            || sample_format != 1
        {
            return Ok(None);
        }
        let (offsets, counts) = match decoder.get_chunk_type() {
            tiff::decoder::ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
            tiff::decoder::ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
        };
        let (Ok(offsets), Ok(counts)) = (
            decoder.get_tag_u64_vec(offsets),
            decoder.get_tag_u64_vec(counts),
        ) else {
            return Ok(None);
        };
        if offsets.len() != counts.len() {
            return Ok(None);
        }
        Ok(Some(Self {
            file: File::open(input).map_err(bad)?,
            offsets: offsets.into_iter().zip(counts).collect(),
            big_endian: decoder.byte_order() == tiff::tags::ByteOrder::BigEndian,
            differenced: predictor == 2,
        }))
    }

    /// The same chunks read through another handle on `input`.
    fn reopen(&self, input: &Path) -> Result<Self, PipelineError> {
        Ok(Self {
            file: File::open(input).map_err(bad)?,
            offsets: self.offsets.clone(),
            big_endian: self.big_endian,
            differenced: self.differenced,
        })
    }

    /// Chunk `index`: `rows` rows of `row` samples of `bits` bits, `step` samples a pixel.
    fn read(
        &self,
        index: u32,
        (row, rows): (usize, usize),
        step: usize,
        bits: u8,
    ) -> Result<Samples, PipelineError> {
        use std::os::unix::fs::FileExt;
        let &(offset, count) = self
            .offsets
            .get(index as usize)
            .ok_or_else(|| bad(format!("chunk {index} is not in the offsets table")))?;
        let mut compressed = vec![0u8; usize::try_from(count).map_err(bad)?];
        self.file
            .read_exact_at(&mut compressed, offset)
            .map_err(|e| bad(format!("chunk {index}: {e}")))?;
        let bytes_per_sample = usize::from(bits / 8);
        let mut raw = super::lzw::decode(&compressed, row * rows * bytes_per_sample).map_err(
            |e| match e {
                super::lzw::LzwError::OldStyle => PipelineError::Unsupported(format!("tiff ({e})")),
                e => bad(format!("chunk {index}: {e}")),
            },
        )?;
        if bits == 8 {
            if self.differenced {
                undo_differencing(&mut raw, row, step);
            }
            return Ok(Samples::U8(raw));
        }
        let mut wide: Vec<u16> = raw
            .chunks_exact(2)
            .map(|b| match self.big_endian {
                true => u16::from_be_bytes([b[0], b[1]]),
                false => u16::from_le_bytes([b[0], b[1]]),
            })
            .collect();
        if self.differenced {
            undo_differencing(&mut wide, row, step);
        }
        Ok(Samples::U16(wide))
    }
}

/// Undoes TIFF's horizontal differencing (predictor 2): each sample was stored as the
/// difference from the same sample of the pixel before it in the row.
fn undo_differencing<T: Copy + WrappingAdd>(samples: &mut [T], row: usize, step: usize) {
    for line in samples.chunks_exact_mut(row.max(1)) {
        for i in step..line.len() {
            line[i] = line[i].wrapping(line[i - step]);
        }
    }
}

trait WrappingAdd {
    fn wrapping(self, other: Self) -> Self;
}

impl WrappingAdd for u8 {
    fn wrapping(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
}

impl WrappingAdd for u16 {
    fn wrapping(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
}
