//! The H.264 encoder of one rendition.

use caravan_proto::Profile;
use ff::{codec, format, Dictionary, Rational};
use ffmpeg_next as ff;

use super::target::Target;
use crate::error::PipelineError;

/// An x264 encoder for `target`: High profile, the profile's preset and CRF; for HLS rungs a
/// VBV cap and no scene-cut keyframes (keyframes come at segment boundaries).
pub(super) fn open_x264(
    target: &Target,
    time_base: Rational,
    frame_rate: Rational,
    hd: bool,
    profile: &Profile,
    global_header: bool,
) -> Result<(ff::Codec, codec::encoder::Video), PipelineError> {
    let h264 = ff::encoder::find_by_name("libx264").ok_or_else(|| {
        PipelineError::Encode(
            "this FFmpeg has no libx264 encoder; install Debian's libavcodec (built with x264)"
                .into(),
        )
    })?;
    let mut encoder = codec::context::Context::new_with_codec(h264)
        .encoder()
        .video()
        .map_err(|e| PipelineError::Encode(format!("H.264 encoder: {e}")))?;
    // An automatic thread count, as the ffmpeg CLI sets.
    encoder.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    encoder.set_width(target.width);
    encoder.set_height(target.height);
    encoder.set_format(format::Pixel::YUV420P);
    encoder.set_time_base(time_base);
    let rate_known = frame_rate.numerator() > 0 && frame_rate.denominator() > 0;
    if rate_known {
        encoder.set_frame_rate(Some(frame_rate));
    }
    encoder.set_aspect_ratio(Rational(1, 1));
    encoder.set_color_range(ff::util::color::Range::MPEG);
    encoder.set_colorspace(if hd {
        ff::util::color::Space::BT709
    } else {
        ff::util::color::Space::SMPTE170M
    });
    // SAFETY: plain enum fields of the encoder context, set before it is opened.
    unsafe {
        let ctx = encoder.as_mut_ptr();
        if hd {
            (*ctx).color_primaries = ff::ffi::AVColorPrimaries::AVCOL_PRI_BT709;
            (*ctx).color_trc = ff::ffi::AVColorTransferCharacteristic::AVCOL_TRC_BT709;
        } else {
            (*ctx).color_primaries = ff::ffi::AVColorPrimaries::AVCOL_PRI_SMPTE170M;
            (*ctx).color_trc = ff::ffi::AVColorTransferCharacteristic::AVCOL_TRC_SMPTE170M;
        }
    }
    if global_header {
        encoder.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut x264 = Dictionary::new();
    x264.set("preset", &profile.video.preset);
    x264.set("crf", &profile.video.crf.to_string());
    x264.set("profile", "high");
    if let Some(kbps) = target.max_kbps {
        let bits = i64::from(kbps) * 1000;
        encoder.set_max_bit_rate(bits as usize);
        // SAFETY: a plain field of the encoder context, set before it is opened.
        unsafe {
            (*encoder.as_mut_ptr()).rc_buffer_size = (2 * bits).min(i64::from(i32::MAX)) as i32
        };
    }
    if let Some(seconds) = target.segment_seconds {
        // A bound only: forced keyframes at segment boundaries come first.
        let fps = if rate_known {
            f64::from(frame_rate)
        } else {
            30.0
        };
        encoder.set_gop((2.0 * seconds * fps).ceil().max(1.0) as u32);
        x264.set("x264-params", "scenecut=0");
        // A forced keyframe is otherwise an open-GOP I frame: frames shown before it would be
        // decoded after it, in the next segment.
        x264.set("forced-idr", "1");
    }
    let encoder = encoder.open_with(x264).map_err(|e| {
        PipelineError::Encode(format!(
            "opening x264 (preset {:?}): {e}",
            profile.video.preset
        ))
    })?;
    Ok((h264, encoder))
}
