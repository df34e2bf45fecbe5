//! Still images FFmpeg decodes for the image pipeline: JPEG 2000 ([`super::jp2`]) and the TIFF
//! variants the `image` crate cannot read (JPEG-compressed, palette, CCITT Group 3 …). The whole
//! file goes to FFmpeg's decoder as one packet; its first picture comes back as 8- or 16-bit RGB
//! or grey. Callers check the header's size against the profile's limits first.

use ffmpeg_next as ff;
use image::{DynamicImage, ImageBuffer};

use crate::error::PipelineError;

/// Decodes `data`, a whole `format` file, with FFmpeg's decoder for `codec`. A feature FFmpeg
/// does not implement is [`PipelineError::Unsupported`]; anything else it refuses is undecodable.
pub fn decode(
    codec: ff::codec::Id,
    data: &[u8],
    format: &str,
) -> Result<DynamicImage, PipelineError> {
    let bad = |e: ff::Error, doing: &str| match e {
        ff::Error::PatchWelcome => PipelineError::Unsupported(format!("{format} ({doing}: {e})")),
        _ => PipelineError::Undecodable {
            format: format.to_owned(),
            detail: format!("{doing}: {e}"),
        },
    };
    ff::init().map_err(|e| PipelineError::Encode(format!("FFmpeg init: {e}")))?;
    ff::util::log::set_level(ff::util::log::Level::Fatal);
    let decoder = ff::decoder::find(codec).ok_or_else(|| {
        PipelineError::Unsupported(format!("{format} (this FFmpeg has no decoder for it)"))
    })?;
    let mut context = ff::codec::context::Context::new_with_codec(decoder);
    // SAFETY: plain fields of the codec context, set before it is opened.
    unsafe {
        let ctx = context.as_mut_ptr();
        (*ctx).thread_count = 0;
        (*ctx).thread_type = ff::ffi::FF_THREAD_FRAME | ff::ffi::FF_THREAD_SLICE;
    }
    let mut decoder = context
        .decoder()
        .video()
        .map_err(|e| bad(e, "opening the decoder"))?;
    let packet = ff::Packet::copy(data);
    decoder
        .send_packet(&packet)
        .map_err(|e| bad(e, "decoding"))?;
    let _ = decoder.send_eof();
    let mut frame = ff::frame::Video::empty();
    decoder
        .receive_frame(&mut frame)
        .map_err(|e| bad(e, "no picture decoded"))?;
    let (w, h) = (frame.width(), frame.height());
    use ff::format::Pixel;
    let grey = matches!(
        frame.format(),
        Pixel::GRAY8
            | Pixel::GRAY16LE
            | Pixel::GRAY16BE
            | Pixel::YA8
            | Pixel::YA16LE
            | Pixel::YA16BE
            | Pixel::GRAY10LE
            | Pixel::GRAY12LE
            | Pixel::MonoWhite
            | Pixel::MonoBlack
    );
    // SAFETY: FFmpeg's static descriptor of a pixel format it produced (or null).
    let deep = unsafe {
        let desc = ff::ffi::av_pix_fmt_desc_get(frame.format().into());
        !desc.is_null() && (*desc).comp[0].depth > 8
    };
    let target = match (grey, deep) {
        (true, false) => Pixel::GRAY8,
        (true, true) => Pixel::GRAY16LE,
        (false, false) => Pixel::RGB24,
        (false, true) => Pixel::RGB48LE,
    };
    let mut converted = ff::frame::Video::empty();
    ff::software::scaling::Context::get(
        frame.format(),
        w,
        h,
        target,
        w,
        h,
        ff::software::scaling::Flags::POINT,
    )
    .and_then(|mut sws| sws.run(&frame, &mut converted))
    .map_err(|e| PipelineError::Encode(format!("{format} pixel conversion: {e}")))?;
    let plane = converted.data(0);
    let stride = converted.stride(0);
    let row_bytes = w as usize
        * match target {
            Pixel::GRAY8 => 1,
            Pixel::GRAY16LE => 2,
            Pixel::RGB24 => 3,
            _ => 6,
        };
    let bytes: Vec<u8> = (0..h as usize)
        .flat_map(|y| &plane[y * stride..y * stride + row_bytes])
        .copied()
        .collect();
    let words = || -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    };
    let short = || PipelineError::Encode(format!("{format}: short picture buffer"));
    Ok(match target {
        Pixel::GRAY8 => {
            DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, bytes).ok_or_else(short)?)
        }
        Pixel::GRAY16LE => {
            DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, words()).ok_or_else(short)?)
        }
        Pixel::RGB24 => {
            DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, bytes).ok_or_else(short)?)
        }
        _ => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, words()).ok_or_else(short)?),
    })
}
