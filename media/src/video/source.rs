//! The master's video stream, opened for decoding: frame size checked against the limits, scan
//! decided ([`super::interlace`]), display rotation read, and described for the receipt.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::Profile;
use ff::{codec, format, Rational};
use ffmpeg_next as ff;

use super::interlace::{self, Decision};
use crate::error::PipelineError;

/// The master's video stream, opened for decoding and described.
pub(super) struct Source {
    pub(super) index: usize,
    pub(super) time_base: Rational,
    pub(super) decoder: codec::decoder::Video,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) sar: Rational,
    pub(super) frame_rate: Rational,
    pub(super) scan: Decision,
    /// Degrees the pictures are turned clockwise to be upright (0, 90, 180 or 270), from the
    /// container's display matrix (phones record sideways and say so there).
    pub(super) rotation: u16,
}

impl Source {
    /// Opens the decoder of `stream`, checks the frame size against the limits, decides how the
    /// stream is scanned, and records what it found in `info`.
    pub(super) fn open(
        input: &Path,
        stream: &format::stream::Stream,
        profile: &Profile,
        info: &mut BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, PipelineError> {
        let undecodable = |e: ff::Error| PipelineError::Undecodable {
            format: "video".into(),
            detail: e.to_string(),
        };
        let mut context =
            codec::context::Context::from_parameters(stream.parameters()).map_err(undecodable)?;
        // Automatic thread count, frame and slice threads, as the ffmpeg CLI uses (FFV1 masters
        // are cut into slices); `set_threading` takes one kind only.
        // SAFETY: plain fields of the codec context, set before the decoder is opened.
        unsafe {
            let ctx = context.as_mut_ptr();
            (*ctx).thread_count = 0;
            (*ctx).thread_type = ff::ffi::FF_THREAD_FRAME | ff::ffi::FF_THREAD_SLICE;
        }
        let decoder = context.decoder().video().map_err(undecodable)?;
        let (width, height) = (decoder.width(), decoder.height());
        let limits = &profile.limits;
        if width == 0 || height == 0 {
            return Err(PipelineError::Undecodable {
                format: "video".into(),
                detail: "the video stream declares no frame size".into(),
            });
        }
        if width > limits.max_dimension
            || height > limits.max_dimension
            || u64::from(width) * u64::from(height) > limits.max_pixels
        {
            return Err(PipelineError::LimitsExceeded(format!(
                "{width}×{height} video frames"
            )));
        }
        // Containers (Matroska, MOV) carry the aspect on the stream; fall back to the bitstream's.
        // SAFETY: reading a plain field of the stream, which outlives this call.
        let stream_sar: Rational = unsafe { (*stream.as_ptr()).sample_aspect_ratio }.into();
        let valid = |r: Rational| r.numerator() > 0 && r.denominator() > 0;
        let sar = [stream_sar, decoder.aspect_ratio()]
            .into_iter()
            .find(|r| valid(*r))
            .unwrap_or(Rational(1, 1));
        // SAFETY: reading a plain field of the stream's codec parameters, which outlive this call.
        let field_order = unsafe { (*stream.parameters().as_ptr()).field_order };
        let time_base = stream.time_base();
        let frame_rate = stream.avg_frame_rate();
        let pixel_format = decoder.format();
        let scan = interlace::decide(
            input,
            interlace::StreamFacts {
                index: stream.index(),
                field_order,
                width,
                height,
                frame_rate,
                time_base,
                sar,
                pixel_format,
            },
        );
        let rotation = rotation_of(stream);
        if rotation != 0 {
            info.insert("rotation_degrees".into(), rotation.into());
        }
        info.insert("scan".into(), scan.to_json());
        info.insert("video_codec".into(), decoder.id().name().into());
        info.insert(
            "pixel_format".into(),
            format!("{pixel_format:?}").to_lowercase().into(),
        );
        info.insert("width".into(), width.into());
        info.insert("height".into(), height.into());
        info.insert(
            "sample_aspect_ratio".into(),
            format!("{}:{}", sar.numerator(), sar.denominator()).into(),
        );
        info.insert("field_order".into(), format!("{field_order:?}").into());
        info.insert(
            "frame_rate".into(),
            format!("{}/{}", frame_rate.numerator(), frame_rate.denominator()).into(),
        );
        Ok(Self {
            index: stream.index(),
            time_base,
            decoder,
            width,
            height,
            sar,
            frame_rate,
            scan,
            rotation,
        })
    }

    /// The pictures as shown: stored size and aspect, turned by [`Self::rotation`].
    pub(super) fn upright(&self) -> (u32, u32, (i32, i32)) {
        let sar = (self.sar.numerator(), self.sar.denominator());
        match self.rotation {
            90 | 270 => (self.height, self.width, (sar.1, sar.0)),
            _ => (self.width, self.height, sar),
        }
    }

    /// The index of the stream in the master.
    pub(super) fn index(&self) -> usize {
        self.index
    }

    /// The pixel format the decoder produces.
    pub(super) fn pixel_format(&self) -> format::Pixel {
        self.decoder.format()
    }

    /// Seconds per frame at the stream's average rate (0 when it declares none).
    pub(super) fn frame_seconds(&self) -> f64 {
        if self.frame_rate.numerator() > 0 {
            f64::from(self.frame_rate.denominator()) / f64::from(self.frame_rate.numerator())
        } else {
            0.0
        }
    }
}

/// Degrees clockwise that turn `stream`'s pictures upright, from its display matrix, to the
/// nearest quarter turn (0 when there is none, or it is not within 2° of one).
fn rotation_of(stream: &format::stream::Stream) -> u16 {
    let Some(matrix) = stream
        .side_data()
        .find(|d| d.kind() == ff::codec::packet::side_data::Type::DisplayMatrix)
        .filter(|d| d.data().len() >= 36)
    else {
        return 0;
    };
    // SAFETY: nine 32-bit integers, as av_display_rotation_get reads.
    let counter_clockwise =
        unsafe { ff::ffi::av_display_rotation_get(matrix.data().as_ptr().cast()) };
    if !counter_clockwise.is_finite() {
        return 0;
    }
    let clockwise = (-counter_clockwise).rem_euclid(360.0);
    let quarter = (clockwise / 90.0).round();
    if (clockwise - quarter * 90.0).abs() > 2.0 {
        return 0;
    }
    (quarter as u16 % 4) * 90
}
