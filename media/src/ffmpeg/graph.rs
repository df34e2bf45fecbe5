//! Filter graphs, as every FFmpeg graph of the pipelines builds them: buffer sources for
//! pictures and sound, feeding and ending input, taking frames from a sink, and parsing a graph
//! description linked to sources and sinks already in the graph.

use ff::{filter, format, frame};
use ffmpeg_next as ff;

/// The next frame out of `graph`'s sink named `sink`, in a fresh frame (the sink moves its frame into
/// the one it is given without releasing what that one held, as `av_read_frame` does).
pub fn next_frame<F>(graph: &mut filter::Graph, sink: &str, mut empty: F) -> Option<F>
where
    F: std::ops::DerefMut<Target = frame::Frame>,
{
    let mut sink = graph.get(sink).expect("sink was added");
    sink.sink().frame(&mut empty).ok().map(|()| empty)
}

/// The arguments of a `buffer` source for frames of this size, pixel format, time base and
/// sample aspect ratio.
pub fn buffer_args(
    (width, height): (u32, u32),
    pixel_format: format::Pixel,
    time_base: ff::Rational,
    sar: ff::Rational,
) -> String {
    let pix_fmt: ff::ffi::AVPixelFormat = pixel_format.into();
    format!(
        "video_size={width}x{height}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        pix_fmt as i32,
        time_base.numerator(),
        time_base.denominator().max(1),
        sar.numerator().max(1),
        sar.denominator().max(1)
    )
}

/// The arguments of an `abuffer` source for audio frames of this rate, sample format and
/// channel layout.
pub fn abuffer_args(
    time_base: ff::Rational,
    rate: u32,
    sample_format: format::Sample,
    layout: ff::ChannelLayout,
) -> String {
    format!(
        "time_base={}/{}:sample_rate={rate}:sample_fmt={}:channel_layout=0x{:x}",
        time_base.numerator(),
        time_base.denominator().max(1),
        sample_format.name(),
        layout.bits()
    )
}

/// Sends `frame` into `graph`'s source `in`.
pub fn feed(graph: &mut filter::Graph, frame: &frame::Frame) -> Result<(), ff::Error> {
    graph
        .get("in")
        .expect("source was added")
        .source()
        .add(frame)
}

/// Tells `graph`'s source `in` that no more frames come, so its filters release what they hold.
pub fn end_input(graph: &mut filter::Graph) {
    let _ = graph.get("in").expect("source was added").source().flush();
}

/// Parses `spec` into `graph`, linking its labels to the filters already in the graph: each name
/// of `sources` (buffer sources) as an open output, each of `sinks` as an open input.
/// Every filter graph of the pipelines is parsed here (ffmpeg-next's `Parser` keeps only the
/// first and last of three or more labels).
pub fn parse_graph(
    graph: &mut filter::Graph,
    sources: &[&str],
    sinks: &[&str],
    spec: &str,
) -> Result<(), ff::Error> {
    use ff::ffi::{av_strdup, avfilter_graph_parse_ptr, avfilter_inout_alloc, avfilter_inout_free};
    /// A list of `AVFilterInOut` in the order of `names`.
    fn in_outs(
        graph: &mut filter::Graph,
        names: &[&str],
    ) -> Result<*mut ff::ffi::AVFilterInOut, ff::Error> {
        let mut head: *mut ff::ffi::AVFilterInOut = std::ptr::null_mut();
        for name in names.iter().rev() {
            let context = graph.get(name);
            let label = std::ffi::CString::new(*name).map_err(|_| ff::Error::InvalidData);
            // SAFETY: a fresh AVFilterInOut, filled and linked before anything reads it; on
            // error the list built so far is freed.
            unsafe {
                let (Some(mut context), Ok(label)) = (context, label) else {
                    avfilter_inout_free(&mut head);
                    return Err(ff::Error::InvalidData);
                };
                let item = avfilter_inout_alloc();
                assert!(!item.is_null(), "out of memory");
                (*item).name = av_strdup(label.as_ptr());
                (*item).filter_ctx = context.as_mut_ptr();
                (*item).pad_idx = 0;
                (*item).next = head;
                head = item;
            }
        }
        Ok(head)
    }
    let mut outputs = in_outs(graph, sources)?;
    let mut inputs = match in_outs(graph, sinks) {
        Ok(list) => list,
        Err(e) => {
            // SAFETY: the list built above, not yet handed to FFmpeg.
            unsafe { avfilter_inout_free(&mut outputs) };
            return Err(e);
        }
    };
    let spec = std::ffi::CString::new(spec).map_err(|_| ff::Error::InvalidData)?;
    // SAFETY: the graph is alive; the lists are ours and freed after parsing (FFmpeg leaves in
    // them what it did not link).
    let result = unsafe {
        let result = avfilter_graph_parse_ptr(
            graph.as_mut_ptr(),
            spec.as_ptr(),
            &mut inputs,
            &mut outputs,
            std::ptr::null_mut(),
        );
        avfilter_inout_free(&mut inputs);
        avfilter_inout_free(&mut outputs);
        result
    };
    if result < 0 {
        Err(ff::Error::from(result))
    } else {
        Ok(())
    }
}
