//! The pictures of the video renditions: the master's video stream decoded once, deinterlaced
//! once when the source is interlaced (flags, detection or raster: [`super::interlace`]),
//! then split in one filter graph into one scaled branch per rendition (the access copy, each
//! HLS rung), each encoded by its own x264 into its own muxer.
//!
//! Every rendition has square pixels with the display aspect kept, 8-bit 4:2:0 and colour tags
//! for its class: BT.709 when the largest rendition is HD (over 576 lines), BT.601 otherwise, so
//! all renditions of one master carry the same matrix. HLS rungs get keyframes forced at every
//! segment boundary (and no scene-cut keyframes), so all rungs cut at the same instants.

use caravan_proto::Profile;
use ff::{codec, filter, frame, Packet, Rational};
use ffmpeg_next as ff;

use super::muxer::Muxer;
use super::picture_graph::build_graph;
use super::preservation::Preservation;
use super::source::Source;
use super::stills::Stills;
use super::target::{output_size, Target};
use super::x264::open_x264;
use crate::error::PipelineError;
use crate::ffmpeg::graph;
use crate::watermark::Watermark;

/// One H.264 encoding of the decoded pictures.
struct Rendition {
    target: Target,
    /// The filter graph's sink this rendition's frames come out of.
    sink: String,
    encoder: codec::encoder::Video,
    /// For HLS rungs: the first frame's pts and how many segment boundaries have started.
    first_pts: Option<i64>,
    boundaries_passed: i64,
    frames: u64,
    /// One frame at the stream's average rate, in the encoder's time base (0 if unknown).
    frame_duration: i64,
}

/// Decoder → (deinterlace) → split → per rendition: scale → x264 → muxer.
pub(super) struct VideoChain {
    source: Source,
    enc_time_base: Rational,
    graph: filter::Graph,
    renditions: Vec<Rendition>,
    pub(super) decode_errors: u64,
    next_pts: i64,
    pub(super) first_seconds: Option<f64>,
    pub(super) last_seconds: f64,
    /// The poster and storyboard, taken from the first rendition's frames.
    pub(super) stills: Stills,
}

impl VideoChain {
    /// `targets` in order, the first being the one stills are taken from; each adds a video
    /// stream to its muxer.
    pub(super) fn new(
        source: Source,
        targets: Vec<Target>,
        watermark: Option<&Watermark>,
        muxers: &mut [Muxer],
        profile: &Profile,
        duration: f64,
    ) -> Result<Self, PipelineError> {
        let hd = targets.iter().map(|t| t.height).max().unwrap_or(0) > 576;
        let overlay = match watermark {
            Some(mark) => {
                let (width, height, sar) = source.upright();
                let display_width = output_size(width, height, sar, height).0;
                mark.video_overlay(display_width, height, width)?
            }
            None => None,
        };
        let mut graph = build_graph(&source, &targets, overlay, hd)?;
        // Filters may change the time base (yadif doubles its resolution): encode in the sink's.
        // SAFETY: the sink context belongs to the validated graph, which is alive.
        let enc_time_base: Rational = unsafe {
            ff::ffi::av_buffersink_get_time_base(
                graph.get("out0").expect("sink was added").as_ptr(),
            )
        }
        .into();
        let rate = source.frame_rate;
        let frame_duration = if rate.numerator() > 0 && rate.denominator() > 0 {
            ff::Rescale::rescale(&1i64, rate.invert(), enc_time_base)
        } else {
            0
        };
        let mut renditions = Vec::with_capacity(targets.len());
        for (k, target) in targets.into_iter().enumerate() {
            let muxer = &mut muxers[target.muxer];
            let (codec, encoder) = open_x264(
                &target,
                enc_time_base,
                source.frame_rate,
                hd,
                profile,
                muxer.global_header(),
            )?;
            muxer.add_video(codec, &encoder, enc_time_base)?;
            renditions.push(Rendition {
                target,
                sink: format!("out{k}"),
                encoder,
                first_pts: None,
                boundaries_passed: 0,
                frames: 0,
                frame_duration,
            });
        }
        Ok(Self {
            source,
            enc_time_base,
            graph,
            renditions,
            decode_errors: 0,
            next_pts: 0,
            first_seconds: None,
            last_seconds: 0.0,
            stills: Stills::new(profile, duration, hd),
        })
    }

    pub(super) fn stream_index(&self) -> usize {
        self.source.index
    }

    pub(super) fn frame_seconds(&self) -> f64 {
        self.source.frame_seconds()
    }

    /// Frames encoded into the first rendition.
    pub(super) fn frames_encoded(&self) -> u64 {
        self.renditions.first().map_or(0, |r| r.frames)
    }

    /// The width and height of rendition `k`.
    pub(super) fn size(&self, k: usize) -> (u32, u32) {
        let t = &self.renditions[k].target;
        (t.width, t.height)
    }

    /// The encoder of rendition `k`, for what its headers say (HLS `CODECS`).
    pub(super) fn encoder(&self, k: usize) -> &codec::encoder::Video {
        &self.renditions[k].encoder
    }

    /// Decodes `packet` and sends its pictures through every rendition, and first, untouched,
    /// to the preservation copy `keep`.
    pub(super) fn decode(
        &mut self,
        packet: &Packet,
        muxers: &mut [Muxer],
        keep: Option<&mut Preservation>,
    ) -> Result<(), PipelineError> {
        if self.source.decoder.send_packet(packet).is_err() {
            self.decode_errors += 1;
            return Ok(());
        }
        self.drain_decoder(muxers, keep)
    }

    fn drain_decoder(
        &mut self,
        muxers: &mut [Muxer],
        mut keep: Option<&mut Preservation>,
    ) -> Result<(), PipelineError> {
        let mut decoded = frame::Video::empty();
        while self.source.decoder.receive_frame(&mut decoded).is_ok() {
            let pts = decoded
                .timestamp()
                .filter(|&p| p >= self.next_pts)
                .unwrap_or(self.next_pts);
            self.next_pts = pts + 1;
            decoded.set_pts(Some(pts));
            let seconds = pts as f64 * f64::from(self.source.time_base);
            self.first_seconds.get_or_insert(seconds);
            self.last_seconds = seconds;
            // Before the graph: its source takes the frame's buffers.
            if let Some(keep) = keep.as_deref_mut() {
                keep.picture(&decoded)?;
            }
            if graph::feed(&mut self.graph, &decoded).is_err() {
                // A frame whose size or format changed mid-stream: count it as damage.
                self.decode_errors += 1;
                continue;
            }
            self.drain_graph(muxers)?;
        }
        Ok(())
    }

    /// Encodes every frame waiting at any sink (split queues a frame at every branch).
    fn drain_graph(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
        let time_base = self.enc_time_base;
        for (k, r) in self.renditions.iter_mut().enumerate() {
            while let Some(mut filtered) =
                graph::next_frame(&mut self.graph, &r.sink, frame::Video::empty())
            {
                if k == 0 {
                    let seconds = filtered
                        .pts()
                        .map_or(self.last_seconds, |pts| pts as f64 * f64::from(time_base));
                    self.stills.offer(&filtered, seconds)?;
                }
                let key = r.segment_starts(filtered.pts(), time_base);
                filtered.set_kind(if key {
                    ff::picture::Type::I
                } else {
                    ff::picture::Type::None
                });
                r.encoder
                    .send_frame(&filtered)
                    .map_err(|e| PipelineError::Encode(format!("x264: {e}")))?;
                r.frames += 1;
                r.drain_encoder(&mut muxers[r.target.muxer], time_base)?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(
        &mut self,
        muxers: &mut [Muxer],
        keep: Option<&mut Preservation>,
    ) -> Result<(), PipelineError> {
        let _ = self.source.decoder.send_eof();
        self.drain_decoder(muxers, keep)?;
        graph::end_input(&mut self.graph);
        self.drain_graph(muxers)?;
        let time_base = self.enc_time_base;
        for r in &mut self.renditions {
            let _ = r.encoder.send_eof();
            r.drain_encoder(&mut muxers[r.target.muxer], time_base)?;
        }
        Ok(())
    }
}

impl Rendition {
    /// Whether the frame at `pts` is the first at or after the next segment boundary (always
    /// false for renditions without segments). Boundaries are whole multiples of the segment
    /// length from the first frame, compared exactly in the time base.
    fn segment_starts(&mut self, pts: Option<i64>, time_base: Rational) -> bool {
        let (Some(seconds), Some(pts)) = (self.target.segment_seconds, pts) else {
            return false;
        };
        let first = *self.first_pts.get_or_insert(pts);
        let elapsed = (pts - first) as f64 * f64::from(time_base.numerator());
        let boundary = |k: i64| k as f64 * seconds * f64::from(time_base.denominator());
        if elapsed < boundary(self.boundaries_passed) {
            return false;
        }
        while elapsed >= boundary(self.boundaries_passed) {
            self.boundaries_passed += 1;
        }
        true
    }

    fn drain_encoder(
        &mut self,
        muxer: &mut Muxer,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        let mut encoded = Packet::empty();
        while self.encoder.receive_packet(&mut encoded).is_ok() {
            // x264 leaves durations unset; fragmented MP4 needs them (each fragment's start is
            // the sum of the durations before it: a fragment would start a frame early).
            if encoded.duration() == 0 {
                encoded.set_duration(self.frame_duration);
            }
            muxer.write_video(&mut encoded, time_base)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
