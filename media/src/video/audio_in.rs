//! An audio stream of the master, decoded and sent through a filter graph into frames an encoder
//! takes: the part the access mix ([`super::sound`]) and the preservation copy
//! ([`super::preservation`]) share.

use ff::{codec, filter, format, frame, ChannelLayout, Packet, Rational, Rescale as _};
use ffmpeg_next as ff;

use crate::error::PipelineError;
use crate::ffmpeg::graph;

/// An audio stream of the master, opened for decoding.
pub(super) struct AudioSource {
    pub(super) index: usize,
    time_base: Rational,
    /// The stream's channel layout; FFmpeg's default for its channel count when it declares
    /// none.
    pub(super) layout: ChannelLayout,
    pub(super) decoder: codec::decoder::Audio,
}

/// What the graph's sink hands on: sample format, channel layout, rate and, if the encoder
/// takes frames of a fixed size, that size.
pub(super) struct SinkFormat {
    pub(super) sample: format::Sample,
    pub(super) layout: ChannelLayout,
    pub(super) rate: u32,
    pub(super) frame_size: u32,
}

/// Decoder → filter graph → frames timestamped by sample count.
pub(super) struct FilteredAudio {
    pub(super) source: AudioSource,
    graph: filter::Graph,
    /// One sample at the sink's rate.
    out_time_base: Rational,
    next_pts: Option<i64>,
}

impl AudioSource {
    pub(super) fn open(stream: &format::stream::Stream) -> Result<Self, PipelineError> {
        let undecodable = |e: ff::Error| PipelineError::Undecodable {
            format: "audio".into(),
            detail: e.to_string(),
        };
        let context =
            codec::context::Context::from_parameters(stream.parameters()).map_err(undecodable)?;
        let decoder = context.decoder().audio().map_err(undecodable)?;
        let channels = decoder.channels();
        if channels == 0 || decoder.rate() == 0 {
            return Err(PipelineError::Undecodable {
                format: "audio".into(),
                detail: "the audio stream declares no channels or sample rate".into(),
            });
        }
        let layout = if decoder.channel_layout().bits() == 0 {
            ChannelLayout::default(i32::from(channels))
        } else {
            decoder.channel_layout()
        };
        Ok(Self {
            index: stream.index(),
            time_base: stream.time_base(),
            layout,
            decoder,
        })
    }

    /// Connects the decoder to `spec` (filters between the `abuffer` source and the sink), the
    /// sink taking `sink`.
    pub(super) fn filtered(
        self,
        spec: &str,
        sink: SinkFormat,
    ) -> Result<FilteredAudio, PipelineError> {
        let filter_err = |e: ff::Error| PipelineError::Encode(format!("audio filter graph: {e}"));
        let mut graph = filter::Graph::new();
        let args = graph::abuffer_args(
            self.time_base,
            self.decoder.rate(),
            self.decoder.format(),
            self.layout,
        );
        graph
            .add(
                &filter::find("abuffer").expect("FFmpeg has abuffer"),
                "in",
                &args,
            )
            .map_err(filter_err)?;
        graph
            .add(
                &filter::find("abuffersink").expect("FFmpeg has abuffersink"),
                "out",
                "",
            )
            .map_err(filter_err)?;
        {
            let mut out = graph.get("out").expect("sink was added");
            out.set_sample_format(sink.sample);
            out.set_channel_layout(sink.layout);
            out.set_sample_rate(sink.rate);
        }
        graph::parse_graph(&mut graph, &["in"], &["out"], spec).map_err(filter_err)?;
        graph.validate().map_err(filter_err)?;
        if sink.frame_size > 0 {
            graph
                .get("out")
                .expect("sink was added")
                .sink()
                .set_frame_size(sink.frame_size);
        }
        Ok(FilteredAudio {
            source: self,
            graph,
            out_time_base: Rational(1, sink.rate as i32),
            next_pts: None,
        })
    }
}

impl FilteredAudio {
    /// Decodes `packet` (`None`: the end of the stream, flushing decoder and graph) and hands
    /// every frame out of the graph to `each`, timestamped by sample count from the first
    /// decoded frame (continuous audio: every sample kept, none invented, independent of the
    /// source's timestamp jitter). A packet that does not decode is skipped.
    pub(super) fn decode(
        &mut self,
        packet: Option<&Packet>,
        mut each: impl FnMut(frame::Audio) -> Result<(), PipelineError>,
    ) -> Result<(), PipelineError> {
        let sent = match packet {
            Some(packet) => self.source.decoder.send_packet(packet),
            None => self.source.decoder.send_eof(),
        };
        if packet.is_some() && sent.is_err() {
            return Ok(());
        }
        let mut decoded = frame::Audio::empty();
        while self.source.decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.channel_layout().bits() == 0 {
                decoded.set_channel_layout(self.source.layout);
            }
            if self.next_pts.is_none() {
                let start = decoded.timestamp().unwrap_or(0).max(0);
                self.next_pts = Some(start.rescale(self.source.time_base, self.out_time_base));
            }
            let ts = decoded.timestamp();
            decoded.set_pts(ts);
            if graph::feed(&mut self.graph, &decoded).is_err() {
                continue;
            }
            self.drain(&mut each)?;
        }
        if packet.is_none() {
            graph::end_input(&mut self.graph);
            self.drain(&mut each)?;
        }
        Ok(())
    }

    fn drain(
        &mut self,
        each: &mut impl FnMut(frame::Audio) -> Result<(), PipelineError>,
    ) -> Result<(), PipelineError> {
        while let Some(mut filtered) =
            graph::next_frame(&mut self.graph, "out", frame::Audio::empty())
        {
            let pts = self.next_pts.unwrap_or(0);
            filtered.set_pts(Some(pts));
            self.next_pts = Some(pts + filtered.samples() as i64);
            each(filtered)?;
        }
        Ok(())
    }
}
