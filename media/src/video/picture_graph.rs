//! The pictures' filter graph: one decode → (deinterlace) → (upright) → (watermark) → split →
//! one scaled, square-pixel 4:2:0 branch per rendition.

use ff::{filter, format, frame, Rational};
use ffmpeg_next as ff;

use super::source::Source;
use super::target::Target;
use crate::error::PipelineError;
use crate::ffmpeg::graph;

/// `in` → (yadif) → (upright) → (watermark overlay) → split → per target `k`: scale, square pixels, 4:2:0 →
/// sink `out{k}`. The overlay's picture enters through its own source, `logo`, as one frame
/// that stays on screen to the end.
pub(super) fn build_graph(
    source: &Source,
    targets: &[Target],
    overlay: Option<(image::RgbaImage, u32, u32)>,
    hd: bool,
) -> Result<filter::Graph, PipelineError> {
    let filter_err = |e: ff::Error| PipelineError::Encode(format!("video filter graph: {e}"));
    let mut graph = filter::Graph::new();
    let args = graph::buffer_args(
        (source.width, source.height),
        source.decoder.format(),
        source.time_base,
        source.sar,
    );
    graph
        .add(
            &filter::find("buffer").expect("FFmpeg has the buffer filter"),
            "in",
            &args,
        )
        .map_err(filter_err)?;
    let sink = filter::find("buffersink").expect("FFmpeg has the buffersink filter");
    for k in 0..targets.len() {
        let name = format!("out{k}");
        graph.add(&sink, &name, "").map_err(filter_err)?;
        graph
            .get(&name)
            .expect("sink was added")
            .set_pixel_format(format::Pixel::YUV420P);
    }
    let deinterlace = if source.scan.interlaced.is_some() {
        format!(
            "yadif=mode=send_frame:parity={}:deint=all",
            source.scan.parity()
        )
    } else {
        "null".to_owned()
    };
    let upright = match source.rotation {
        90 => "transpose=clock",
        180 => "hflip,vflip",
        270 => "transpose=cclock",
        _ => "null",
    };
    let mut spec = format!("[in]{deinterlace},{upright}[pictures];");
    if let Some((logo, x, y)) = &overlay {
        let args = graph::buffer_args(
            logo.dimensions(),
            format::Pixel::RGBA,
            source.time_base,
            Rational(1, 1),
        );
        graph
            .add(
                &filter::find("buffer").expect("FFmpeg has the buffer filter"),
                "logo",
                &args,
            )
            .map_err(filter_err)?;
        spec.push_str(&format!(
            "[pictures][logo]overlay=x={x}:y={y}:format=auto:eof_action=repeat[marked];"
        ));
    } else {
        spec.push_str("[pictures]null[marked];");
    }
    let matrix = if hd { "bt709" } else { "bt601" };
    let branches: String = (0..targets.len()).map(|k| format!("[s{k}]")).collect();
    spec.push_str(&format!("[marked]split={}{branches}", targets.len()));
    for (k, t) in targets.iter().enumerate() {
        spec.push_str(&format!(
            ";[s{k}]scale={}:{}:flags=bicubic:out_color_matrix={matrix}:out_range=tv,setsar=1,format=yuv420p[out{k}]",
            t.width, t.height
        ));
    }
    let mut sources = vec!["in"];
    if overlay.is_some() {
        sources.push("logo");
    }
    let sinks: Vec<String> = (0..targets.len()).map(|k| format!("out{k}")).collect();
    let sinks: Vec<&str> = sinks.iter().map(String::as_str).collect();
    graph::parse_graph(&mut graph, &sources, &sinks, &spec)
        .and_then(|()| graph.validate())
        .map_err(|e| PipelineError::Encode(format!("video filter graph {spec:?}: {e}")))?;
    if let Some((logo, _, _)) = &overlay {
        let mut frame = frame::Video::new(format::Pixel::RGBA, logo.width(), logo.height());
        let stride = frame.stride(0);
        let row = logo.width() as usize * 4;
        for (y, line) in logo.as_raw().chunks_exact(row).enumerate() {
            frame.data_mut(0)[y * stride..y * stride + row].copy_from_slice(line);
        }
        // Before any picture, so that the first one is marked too; then the end of the logo's
        // stream: the overlay repeats its one frame.
        frame.set_pts(Some(-(1 << 40)));
        let mut logo_source = graph.get("logo").expect("logo source was added");
        logo_source.source().add(&frame).map_err(filter_err)?;
        logo_source.source().flush().map_err(filter_err)?;
    }
    Ok(graph)
}
