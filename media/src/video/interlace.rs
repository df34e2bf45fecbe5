//! Is the master interlaced, and which field comes first?
//!
//! In order of trust: the stream's field-order flags; when they are absent, FFmpeg's `idet`
//! filter over the first frames (a short extra decode); when `idet` cannot tell (little motion,
//! as in many leaders), the raster: 480/486/576-line SD at broadcast frame rates comes from
//! interlaced video systems, so it is treated as interlaced with its system's usual field order.
//! The decision and its basis go into the receipt, so an archivist can see why.

use std::path::Path;

use ff::{codec, filter, format, frame, Rational};
use ffmpeg_next as ff;

use crate::ffmpeg::{graph, input};

/// Frames `idet` looks at when the flags say nothing.
const DETECT_FRAMES: usize = 240;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldOrder {
    TopFirst,
    BottomFirst,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// `None`: progressive.
    pub interlaced: Option<FieldOrder>,
    /// Why, in words, for the receipt.
    pub basis: String,
}

impl Decision {
    /// The `yadif` parity option.
    pub fn parity(&self) -> &'static str {
        match self.interlaced {
            Some(FieldOrder::TopFirst) => "tff",
            Some(FieldOrder::BottomFirst) => "bff",
            None => "auto",
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let order = match self.interlaced {
            Some(FieldOrder::TopFirst) => "interlaced, top field first",
            Some(FieldOrder::BottomFirst) => "interlaced, bottom field first",
            None => "progressive",
        };
        serde_json::json!({ "scan": order, "basis": self.basis })
    }
}

/// What the stream needs to be looked at.
#[derive(Debug, Clone, Copy)]
pub struct StreamFacts {
    pub index: usize,
    pub field_order: ff::ffi::AVFieldOrder,
    pub width: u32,
    pub height: u32,
    pub frame_rate: Rational,
    pub time_base: Rational,
    pub sar: Rational,
    pub pixel_format: format::Pixel,
}

/// Decides for the stream `facts` of `input`.
pub fn decide(input: &Path, facts: StreamFacts) -> Decision {
    use ff::ffi::AVFieldOrder::*;
    match facts.field_order {
        AV_FIELD_TT | AV_FIELD_TB => {
            return Decision {
                interlaced: Some(FieldOrder::TopFirst),
                basis: "stream flags".into(),
            }
        }
        AV_FIELD_BB | AV_FIELD_BT => {
            return Decision {
                interlaced: Some(FieldOrder::BottomFirst),
                basis: "stream flags".into(),
            }
        }
        AV_FIELD_PROGRESSIVE => {
            return Decision {
                interlaced: None,
                basis: "stream flags".into(),
            }
        }
        _ => {}
    }
    let counts = detect(input, facts);
    if let Ok(c) = &counts {
        let interlaced = c.tff + c.bff;
        let seen = format!(
            "idet over {} frames: {} TFF, {} BFF, {} progressive, {} undetermined",
            c.frames, c.tff, c.bff, c.progressive, c.undetermined
        );
        if interlaced >= 8 && interlaced >= 2 * c.progressive {
            let order = if c.tff >= c.bff {
                FieldOrder::TopFirst
            } else {
                FieldOrder::BottomFirst
            };
            return Decision {
                interlaced: Some(order),
                basis: format!("detected ({seen})"),
            };
        }
        if c.progressive >= 8 && c.progressive >= 2 * interlaced {
            return Decision {
                interlaced: None,
                basis: format!("detected ({seen})"),
            };
        }
        return by_raster(facts, &format!("no field-order flags; {seen}"));
    }
    let why = counts.err().unwrap_or_default();
    by_raster(facts, &format!("no field-order flags; idet failed: {why}"))
}

/// SD rasters of interlaced video systems at their frame rates.
fn by_raster(facts: StreamFacts, before: &str) -> Decision {
    let rate = f64::from(facts.frame_rate);
    let ntsc = (29.9..30.01).contains(&rate) && matches!(facts.height, 480 | 486 | 512);
    let pal = (24.99..25.01).contains(&rate) && matches!(facts.height, 576 | 608);
    let interlaced = match (ntsc, pal) {
        // D1/SDI NTSC (486 lines) and DV NTSC (480) are bottom field first.
        (true, _) => Some(FieldOrder::BottomFirst),
        // D1/SDI PAL is top field first.
        (_, true) => Some(FieldOrder::TopFirst),
        _ => None,
    };
    let rule = if interlaced.is_some() {
        "an SD broadcast raster, taken as interlaced"
    } else {
        "not an SD broadcast raster, taken as progressive"
    };
    Decision {
        interlaced,
        basis: format!("{before}; {rule}"),
    }
}

#[derive(Debug, Default)]
struct Counts {
    frames: usize,
    tff: u64,
    bff: u64,
    progressive: u64,
    undetermined: u64,
}

/// Runs the first frames through `idet` and reads its multi-frame counts.
fn detect(path: &Path, facts: StreamFacts) -> Result<Counts, String> {
    let err = |e: ff::Error| e.to_string();
    let mut ictx = input::open(path).map_err(err)?;
    let parameters = ictx
        .stream(facts.index)
        .ok_or("the stream vanished")?
        .parameters();
    let mut decoder = codec::context::Context::from_parameters(parameters)
        .map_err(err)?
        .decoder()
        .video()
        .map_err(err)?;
    let mut graph = filter::Graph::new();
    let args = graph::buffer_args(
        (facts.width, facts.height),
        facts.pixel_format,
        facts.time_base,
        facts.sar,
    );
    let buffer = filter::find("buffer").ok_or("no buffer filter")?;
    let sink = filter::find("buffersink").ok_or("no buffersink filter")?;
    graph.add(&buffer, "in", &args).map_err(err)?;
    graph.add(&sink, "out", "").map_err(err)?;
    graph::parse_graph(&mut graph, &["in"], &["out"], "idet").map_err(err)?;
    graph.validate().map_err(err)?;

    let mut counts = Counts::default();
    let mut decoded = frame::Video::empty();
    let drain = |graph: &mut filter::Graph, counts: &mut Counts| {
        while let Some(filtered) = graph::next_frame(graph, "out", frame::Video::empty()) {
            counts.frames += 1;
            let metadata = filtered.metadata();
            let get = |key: &str| {
                metadata
                    .get(&format!("lavfi.idet.multiple.{key}"))
                    .and_then(|v| v.parse::<f64>().ok())
                    .map_or(0, |v| v as u64)
            };
            counts.tff = get("tff");
            counts.bff = get("bff");
            counts.progressive = get("progressive");
            counts.undetermined = get("undetermined");
        }
    };
    while counts.frames < DETECT_FRAMES {
        let Some(packet) = input::next_packet(&mut ictx, 100) else {
            break;
        };
        if packet.stream() != facts.index || decoder.send_packet(&packet).is_err() {
            continue;
        }
        while decoder.receive_frame(&mut decoded).is_ok() {
            if graph::feed(&mut graph, &decoded).is_err() {
                continue;
            }
            drain(&mut graph, &mut counts);
        }
    }
    let _ = decoder.send_eof();
    while decoder.receive_frame(&mut decoded).is_ok() {
        let _ = graph::feed(&mut graph, &decoded);
    }
    graph::end_input(&mut graph);
    drain(&mut graph, &mut counts);
    Ok(counts)
}

#[cfg(test)]
mod tests;
