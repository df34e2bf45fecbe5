//! Sizes of derivatives (fitted to a long edge, never enlarged) and Lanczos resampling.

use caravan_proto::ImageProfile;
use fast_image_resize as fr;
use image::RgbImage;

use crate::error::PipelineError;

/// Resamples `image` to exactly `tw`×`th` with a Lanczos3 filter.
pub fn resize_to(image: &RgbImage, tw: u32, th: u32) -> Result<RgbImage, PipelineError> {
    resize_with(image, tw, th, fr::FilterType::Lanczos3)
}

/// Resamples `image` to exactly `tw`×`th` with `filter`.
pub fn resize_with(
    image: &RgbImage,
    tw: u32,
    th: u32,
    filter: fr::FilterType,
) -> Result<RgbImage, PipelineError> {
    let (w, h) = image.dimensions();
    let src = fr::images::ImageRef::new(w, h, image.as_raw(), fr::PixelType::U8x3)
        .map_err(|e| PipelineError::Encode(format!("resize source: {e}")))?;
    let mut dst = fr::images::Image::new(tw, th, fr::PixelType::U8x3);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| PipelineError::Encode(format!("resize: {e}")))?;
    RgbImage::from_raw(tw, th, dst.into_vec())
        .ok_or_else(|| PipelineError::Encode("resize produced a short buffer".into()))
}

/// The size of `w`×`h` scaled to fit a `long_edge` square, never enlarged, at least 1 px.
pub fn fitted_size(w: u32, h: u32, long_edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= long_edge {
        return (w, h);
    }
    let scale = f64::from(long_edge) / f64::from(long);
    let fit = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, long_edge);
    if w >= h {
        (long_edge, fit(h))
    } else {
        (fit(w), long_edge)
    }
}

/// The width and height of the largest access copy or thumbnail of a `w`×`h` master.
pub fn largest_copy(w: u32, h: u32, p: &ImageProfile) -> (u32, u32) {
    let edges = [p.access_long_edge, p.thumbnail_long_edge]
        .into_iter()
        .chain(p.access_extra_sizes.iter().copied())
        .chain(p.thumbnail_extra_sizes.iter().copied());
    let largest = edges.max().unwrap_or(0);
    fitted_size(w, h, largest)
}

#[cfg(test)]
mod tests;
