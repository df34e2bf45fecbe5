//! TIFF masters decoded whole outside the `image` crate: planes assembled for a master that must
//! be turned, JPEG-compressed YCbCr (older digitization systems, DAM exports) by the `tiff`
//! crate, palette colour and CCITT Group 3 by FFmpeg's TIFF decoder — each after its header's
//! size was checked, with the TIFF's ICC profile and orientation applied as for every master.

use std::io::BufReader;
use std::path::Path;

use caravan_proto::Profile;
use image::{DynamicImage, ImageBuffer};
use tiff::decoder::{Decoder, DecodingResult};

use super::bands::Bands;
use super::header::Header;
use crate::error::PipelineError;
use crate::image::colour::{to_srgb8, ycbcr_to_rgb};
use crate::image::decode::ffmpeg_still;
use crate::image::decoded::{describe, Decoded};
use crate::image::limits;

fn bad(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Undecodable {
        format: "tiff".into(),
        detail: e.to_string(),
    }
}

/// A TIFF master decoded outside the `image` crate: turned by its `Orientation` tag, converted
/// to sRGB through its profile, and described for the receipt.
fn finish(mut image: DynamicImage, header: &Header) -> Decoded {
    let orientation = header
        .orientation
        .and_then(image::metadata::Orientation::from_exif)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    image.apply_orientation(orientation);
    let color = format!("{:?}", image.color());
    let (rgb, colour) = to_srgb8(image, header.icc.as_deref());
    let info = describe(
        "tiff",
        (header.width, header.height),
        color,
        orientation,
        &colour,
    );
    (rgb, info)
}

/// A TIFF stored plane by plane that must be assembled whole (its `Orientation` tag needs every
/// row at once): read through the band reader ([`super::bands`]).
pub fn decode_planar(
    input: &Path,
    header: &Header,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let (samples, bits) = header.planar.expect("a planar TIFF");
    // The assembled 16-bit planes plus the image built from them.
    let per_pixel = u64::from(samples) * (2 + u64::from(bits / 8));
    limits::check_size(
        "tiff",
        header.width,
        header.height,
        per_pixel,
        header.icc.is_some(),
        profile,
    )?;
    let bands = Bands::open(input, header)?.ok_or_else(|| PipelineError::Undecodable {
        format: "tiff".into(),
        detail: header
            .damage
            .clone()
            .unwrap_or_else(|| "unreadable planes".into()),
    })?;
    let (rgb, mut info) = finish(bands.decode_whole()?, header);
    info.insert("planar".to_owned(), "separate planes".into());
    Ok((rgb, info))
}

/// A TIFF the `image` crate cannot decode (`why`): JPEG-compressed YCbCr (old digitization
/// systems and DAM exports) is read by the `tiff` crate ([`decode_ycbcr`]); palette
/// colour and CCITT Group 3 bitonal scans by FFmpeg's TIFF decoder. The header's size is
/// checked first; the TIFF's ICC profile and orientation are applied here, as for every other
/// master.
pub fn decode_variant(
    input: &Path,
    header: Option<&Header>,
    profile: &Profile,
    why: &str,
) -> Result<Decoded, PipelineError> {
    let header = header.ok_or_else(|| PipelineError::Unsupported(format!("tiff ({why})")))?;
    if let Some(detail) = &header.damage {
        return Err(PipelineError::Undecodable {
            format: "tiff".into(),
            detail: detail.clone(),
        });
    }
    let ycbcr = matches!(header.color, Some(tiff::ColorType::YCbCr(8)));
    // The compressed file, FFmpeg's decoded planes (up to 16-bit RGBA) and the converted copy.
    limits::check_size(
        "tiff",
        header.width,
        header.height,
        8 + 6,
        header.icc.is_some(),
        profile,
    )?;
    let (image, decoder) = if ycbcr {
        (
            decode_ycbcr(input)?,
            "the tiff crate (JPEG-compressed YCbCr)",
        )
    } else {
        let data = std::fs::read(input).map_err(|e| PipelineError::Undecodable {
            format: "tiff".into(),
            detail: e.to_string(),
        })?;
        // Neither reader knows the variant: say so, with both reasons.
        let image =
            ffmpeg_still::decode(ffmpeg_next::codec::Id::TIFF, &data, "tiff").map_err(|e| {
                let ffmpeg = match e {
                    PipelineError::Unsupported(detail) => detail,
                    PipelineError::Undecodable { detail, .. } => detail,
                    other => return other,
                };
                PipelineError::Unsupported(format!("tiff ({why}; FFmpeg's TIFF decoder: {ffmpeg})"))
            })?;
        (image, "FFmpeg's TIFF decoder")
    };
    let (rgb, mut info) = finish(image, header);
    info.insert(
        "decoder".to_owned(),
        format!("{decoder}: the image crate does not read it ({why})").into(),
    );
    Ok((rgb, info))
}

/// Decodes a JPEG-compressed YCbCr TIFF ([`Header::color`] `YCbCr(8)`) to RGB: the JPEG
/// streams hold full-range BT.601 YCbCr (JFIF), upsampled by the JPEG decoder.
pub fn decode_ycbcr(input: &Path) -> Result<DynamicImage, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(bad)?;
    let (width, height) = decoder.dimensions().map_err(bad)?;
    let DecodingResult::U8(mut samples) = decoder.read_image().map_err(bad)? else {
        return Err(PipelineError::Unsupported(
            "tiff (YCbCr samples deeper than 8 bits)".into(),
        ));
    };
    for px in samples.chunks_exact_mut(3) {
        let rgb = ycbcr_to_rgb(px[0], px[1], px[2]);
        px.copy_from_slice(&rgb);
    }
    ImageBuffer::from_raw(width, height, samples)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| bad("the YCbCr image is shorter than its header says"))
}
