//! Masters the `image` crate decodes (JPEG, PNG, WebP, GIF, BMP, most TIFFs) decoded whole to
//! 8-bit RGB with their EXIF orientation applied and their ICC profile converted; CMYK masters
//! with a CMYK profile and TIFF variants the crate refuses are handed to their own decoders.

use std::path::Path;

use caravan_proto::Profile;
use image::{DynamicImage, ImageDecoder, ImageReader};

use super::image_error::classify;
use super::tiff::header::Header;
use super::tiff::variants;
use super::{cmyk, jpeg};
use crate::error::PipelineError;
use crate::image::colour::{default_cmyk_profile, is_cmyk, to_srgb8, CmykProfile, ColourOutcome};
use crate::image::decoded::{describe, Decoded};
use crate::image::limits;

/// Decodes to 8-bit RGB with EXIF orientation applied; alpha is composited on white. `tiff`:
/// the header of a TIFF master, read before.
pub fn decode(
    input: &Path,
    tiff: Option<Header>,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let undecodable = |format: &str, e: &dyn std::fmt::Display| PipelineError::Undecodable {
        format: format.to_owned(),
        detail: e.to_string(),
    };
    let is_tiff = tiff.is_some();
    let reader = ImageReader::open(input)
        .map_err(|e| PipelineError::Undecodable {
            format: "image".into(),
            detail: e.to_string(),
        })?
        .with_guessed_format()
        .map_err(|e| undecodable("image", &e))?;
    let format = match reader.format() {
        Some(f) => format!("{f:?}").to_lowercase(),
        None => return Err(PipelineError::Unsupported("this image format".into())),
    };
    if format == "jpeg" {
        jpeg::check_complete(input)?;
    }
    let mut decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(image::ImageError::Unsupported(why)) if is_tiff => {
            return variants::decode_variant(input, tiff.as_ref(), profile, &why.to_string());
        }
        Err(e) => return Err(classify(&format, e)),
    };

    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();
    let icc = match &tiff {
        Some(header) => header.icc.clone(),
        None => decoder.icc_profile().ok().flatten(),
    };
    limits::check_size(
        &format,
        width,
        height,
        u64::from(color.bytes_per_pixel()),
        icc.is_some(),
        profile,
    )?;
    let limits = &profile.limits;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_dimension);
    decoder_limits.max_image_height = Some(limits.max_dimension);
    // Room for the widest pixel type (RGBA, 32-bit float) of the largest allowed image.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16));
    decoder
        .set_limits(decoder_limits)
        .map_err(|e| classify(&format, e))?;

    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let cmyk_samples = match &tiff {
        Some(header) => matches!(header.color, Some(tiff::ColorType::CMYK(8 | 16))),
        None => format == "jpeg",
    };
    if let Some(cmyk_icc) = icc.as_deref().filter(|p| cmyk_samples && is_cmyk(p)) {
        drop(decoder);
        return cmyk::decode(
            input,
            &format,
            CmykProfile::Embedded(cmyk_icc),
            orientation,
            profile,
        );
    }
    // CMYK without a profile: read as press software reads it, through an assumed profile.
    let profileless_cmyk = icc.is_none()
        && cmyk_samples
        && (format != "jpeg" || jpeg::frame(input)?.is_some_and(|(_, components)| components == 4));
    if profileless_cmyk {
        if let Some(assumed) =
            default_cmyk_profile(&profile.image).map_err(PipelineError::ProfileFile)?
        {
            drop(decoder);
            let icc = CmykProfile::Assumed {
                icc: &assumed,
                path: &profile.image.cmyk_default_profile,
            };
            return cmyk::decode(input, &format, icc, orientation, profile);
        }
    }
    let mut image = match DynamicImage::from_decoder(decoder) {
        Ok(image) => image,
        Err(image::ImageError::Unsupported(why)) if is_tiff => {
            return variants::decode_variant(input, tiff.as_ref(), profile, &why.to_string());
        }
        Err(e) => return Err(classify(&format, e)),
    };
    image.apply_orientation(orientation);
    let (rgb, mut colour) = to_srgb8(image, icc.as_deref());
    if profileless_cmyk {
        colour = ColourOutcome::NaiveCmyk;
    }
    let info = describe(
        &format,
        (width, height),
        format!("{color:?}"),
        orientation,
        &colour,
    );
    Ok((rgb, info))
}

#[cfg(test)]
mod tests;
