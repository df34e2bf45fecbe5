//! Technical metadata of a video master for the receipt, in ffprobe's vocabulary: every
//! stream's codec, pixel format and bit depth, field order, sample and display aspect, frame
//! rate, colour primaries/transfer/matrix/range; audio channels, layout and sample rate; and
//! the timecode, if the container or a stream carries one.

use std::ffi::{c_char, CStr};

use ff::{codec, ffi, format, media};
use ffmpeg_next as ff;
use serde_json::{json, Map, Value};

/// Describes every stream of `ictx`.
pub fn describe(ictx: &format::context::Input) -> Value {
    let streams: Vec<Value> = ictx.streams().map(|s| describe_stream(&s)).collect();
    let timecode = ictx
        .metadata()
        .get("timecode")
        .map(str::to_owned)
        .or_else(|| {
            ictx.streams()
                .find_map(|s| s.metadata().get("timecode").map(str::to_owned))
        });
    json!({ "streams": streams, "timecode": timecode })
}

fn describe_stream(stream: &format::stream::Stream) -> Value {
    let mut m = Map::new();
    let parameters = stream.parameters();
    m.insert("index".into(), stream.index().into());
    m.insert(
        "type".into(),
        format!("{:?}", parameters.medium()).to_lowercase().into(),
    );
    m.insert("codec".into(), parameters.id().name().into());
    let Ok(context) = codec::context::Context::from_parameters(parameters) else {
        return Value::Object(m);
    };
    match stream.parameters().medium() {
        media::Type::Video => {
            let Ok(video) = context.decoder().video() else {
                return Value::Object(m);
            };
            let (w, h) = (video.width(), video.height());
            let pix: ffi::AVPixelFormat = video.format().into();
            // SAFETY: FFmpeg's name lookups return static strings (or NULL for unknown values);
            // the pixel format descriptor is a static table entry; the field order is a plain
            // field of parameters owned by the open input.
            let (pix_name, depth, field_order, primaries, transfer, matrix, range) = unsafe {
                let desc = ffi::av_pix_fmt_desc_get(pix);
                let depth = if desc.is_null() {
                    0
                } else {
                    (*desc).comp[0].depth
                };
                (
                    name(ffi::av_get_pix_fmt_name(pix)),
                    depth,
                    (*stream.parameters().as_ptr()).field_order,
                    name(ffi::av_color_primaries_name(video.color_primaries().into())),
                    name(ffi::av_color_transfer_name(
                        video.color_transfer_characteristic().into(),
                    )),
                    name(ffi::av_color_space_name(video.color_space().into())),
                    name(ffi::av_color_range_name(video.color_range().into())),
                )
            };
            // SAFETY: a plain field of the stream.
            let stream_sar: ff::Rational = unsafe { (*stream.as_ptr()).sample_aspect_ratio }.into();
            let sar = [stream_sar, video.aspect_ratio()]
                .into_iter()
                .find(|r| r.numerator() > 0 && r.denominator() > 0)
                .unwrap_or(ff::Rational(1, 1));
            let dar = reduce(
                i64::from(w) * i64::from(sar.numerator()),
                i64::from(h) * i64::from(sar.denominator()),
            );
            let rate = stream.avg_frame_rate();
            use ffi::AVFieldOrder::*;
            let field_order = match field_order {
                AV_FIELD_PROGRESSIVE => "progressive",
                AV_FIELD_TT => "tt (top field first)",
                AV_FIELD_BB => "bb (bottom field first)",
                AV_FIELD_TB => "tb (top coded first, bottom shown first)",
                AV_FIELD_BT => "bt (bottom coded first, top shown first)",
                _ => "unknown",
            };
            m.insert("width".into(), w.into());
            m.insert("height".into(), h.into());
            m.insert("pixel_format".into(), pix_name.into());
            m.insert("bit_depth".into(), depth.into());
            m.insert("field_order".into(), field_order.into());
            m.insert(
                "sample_aspect_ratio".into(),
                format!("{}:{}", sar.numerator(), sar.denominator()).into(),
            );
            m.insert(
                "display_aspect_ratio".into(),
                format!("{}:{}", dar.0, dar.1).into(),
            );
            m.insert(
                "frame_rate".into(),
                format!("{}/{}", rate.numerator(), rate.denominator()).into(),
            );
            m.insert("color_primaries".into(), primaries.into());
            m.insert("color_transfer".into(), transfer.into());
            m.insert("color_matrix".into(), matrix.into());
            m.insert("color_range".into(), range.into());
        }
        media::Type::Audio => {
            let Ok(audio) = context.decoder().audio() else {
                return Value::Object(m);
            };
            let mut layout = [0 as c_char; 128];
            // SAFETY: describes the parameters' own channel layout into a local buffer of the
            // size given; FFmpeg NUL-terminates what it writes.
            let layout = unsafe {
                let written = ffi::av_channel_layout_describe(
                    &(*stream.parameters().as_ptr()).ch_layout,
                    layout.as_mut_ptr(),
                    layout.len(),
                );
                if written > 0 {
                    name(layout.as_ptr())
                } else {
                    None
                }
            };
            m.insert("channels".into(), audio.channels().into());
            m.insert("channel_layout".into(), layout.into());
            m.insert("sample_rate".into(), audio.rate().into());
            m.insert("sample_format".into(), audio.format().name().into());
        }
        _ => {}
    }
    Value::Object(m)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string that lives long enough to be copied.
unsafe fn name(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: as the caller promises.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

fn reduce(a: i64, b: i64) -> (i64, i64) {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a.abs().max(1)
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(a, b);
    (a / g, b / g)
}
