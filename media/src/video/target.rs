//! What one rendition of a video is, and the size of its frames.

/// What one rendition is: its frame size, its muxer and, for HLS rungs, its bitrate cap and
/// segment length.
pub(super) struct Target {
    pub(super) muxer: usize,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) max_kbps: Option<u32>,
    pub(super) segment_seconds: Option<f64>,
}

/// The output frame size: pixels made square (width × SAR), at most `max_height` lines, both
/// dimensions even as 4:2:0 needs.
pub fn output_size(width: u32, height: u32, sar: (i32, i32), max_height: u32) -> (u32, u32) {
    let (num, den) = if sar.0 > 0 && sar.1 > 0 { sar } else { (1, 1) };
    let display_width = f64::from(width) * f64::from(num) / f64::from(den);
    let out_height = (height.min(max_height) / 2 * 2).max(2);
    let out_width =
        (display_width * f64::from(out_height) / f64::from(height) / 2.0).round() as u32 * 2;
    (out_width.max(2), out_height)
}

#[cfg(test)]
mod tests;
