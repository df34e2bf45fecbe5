//! The profile's limits, checked against what a master's header declares before any pixel is
//! decoded: size, and the memory its decoding needs under the worker's memory cap (a small file
//! can declare a huge, valid image: a compression bomb).

use caravan_proto::Profile;

use crate::error::PipelineError;

/// Refuses a `width`×`height` image over the profile's limits, or one whose decoded pixels
/// (`bytes_per_pixel`) and the 8-bit RGB copy made from them would not fit the process's memory
/// cap: a small file can declare a huge, valid image (a compression bomb).
pub fn check_size(
    format: &str,
    width: u32,
    height: u32,
    bytes_per_pixel: u64,
    icc: bool,
    profile: &Profile,
) -> Result<(), PipelineError> {
    check_dimensions(format, width, height, profile)?;
    // With a profile, the transform also holds 16-bit RGB source and destination buffers.
    let working = if icc { 3 + 12 } else { 3 };
    let pixels = u64::from(width) * u64::from(height);
    check_memory(
        width,
        height,
        pixels.saturating_mul(bytes_per_pixel + working),
        profile,
    )
}

/// Refuses a `width`×`height` image over the profile's limits on size.
pub fn check_dimensions(
    format: &str,
    width: u32,
    height: u32,
    profile: &Profile,
) -> Result<(), PipelineError> {
    let limits = &profile.limits;
    let pixels = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 {
        return Err(PipelineError::Undecodable {
            format: format.to_owned(),
            detail: "the header declares an empty image".into(),
        });
    }
    if width > limits.max_dimension || height > limits.max_dimension || pixels > limits.max_pixels {
        return Err(PipelineError::LimitsExceeded(format!(
            "{width}×{height} px declared (limits: {} px per side, {} px in all)",
            limits.max_dimension, limits.max_pixels
        )));
    }
    Ok(())
}

/// Refuses to make derivatives of a `width`×`height` image whose making needs `needed` bytes,
/// more than the worker's memory cap allows (with a fifth of it to spare).
pub fn check_memory(
    width: u32,
    height: u32,
    needed: u64,
    profile: &Profile,
) -> Result<(), PipelineError> {
    let limits = &profile.limits;
    // What the process already holds (libraries, the watermark) counts against the limit.
    let held = crate::memory::resident_bytes().unwrap_or(0);
    let budget = (limits.memory_mib.saturating_mul(1 << 20) / 10 * 8).saturating_sub(held);
    if limits.memory_mib > 0 && needed > budget {
        return Err(PipelineError::LimitsExceeded(format!(
            "decoding {width}×{height} px needs about {} MiB, more than the worker's memory limit of {} MiB allows",
            needed >> 20,
            limits.memory_mib
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
