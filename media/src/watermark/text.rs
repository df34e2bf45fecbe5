//! One line of text, shaped and turned into an outline: the Unicode bidirectional algorithm
//! orders its runs (Arabic and Hebrew right to left inside left-to-right text and the other way
//! round), each run is split where its font changes ([`super::fonts`]) and shaped by rustybuzz
//! (HarfBuzz's shaping rules: Arabic joining forms, Thai mark placement, ligatures, kerning).

use std::ops::Range;

use rustybuzz::ttf_parser::{GlyphId, OutlineBuilder};
use tiny_skia::{Path, PathBuilder};
use unicode_bidi::BidiInfo;

use super::fonts::{assign, Assignment, Font};
use crate::error::PipelineError;

/// A glyph placed on the line, in em units (1.0 = the font size), y up from the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub font: usize,
    pub glyph: u16,
    pub x: f32,
    pub y: f32,
}

/// A shaped line: its glyphs left to right, its advance and the extent above and below the
/// baseline (em units).
#[derive(Debug)]
pub struct Line {
    pub fonts: Vec<Font>,
    pub glyphs: Vec<Placed>,
    pub advance: f32,
    pub ascent: f32,
    pub descent: f32,
}

/// Shapes `text` with `preferred` fonts first.
pub fn shape(text: &str, preferred: &[String]) -> Result<Line, PipelineError> {
    let Assignment { fonts, font_of } = assign(text, preferred)?;
    // Byte offset → font, for splitting byte ranges of bidi runs.
    let char_starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let font_at = |byte: usize| font_of[char_starts.partition_point(|&s| s < byte)];

    let bidi = BidiInfo::new(text, None);
    let mut glyphs = Vec::new();
    let mut pen = 0.0f32;
    for paragraph in &bidi.paragraphs {
        let (levels, runs) = bidi.visual_runs(paragraph, paragraph.range.clone());
        for run in runs {
            let rtl = levels[run.start].is_rtl();
            let mut pieces = split_by_font(&run, &char_starts, &font_at);
            if rtl {
                pieces.reverse();
            }
            for (range, font) in pieces {
                pen = shape_piece(&text[range], rtl, font, &fonts[font], pen, &mut glyphs);
            }
        }
    }
    let (mut ascent, mut descent) = (0.0f32, 0.0f32);
    for f in glyphs
        .iter()
        .map(|g| g.font)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let face = fonts[f].face();
        let upem = face.units_per_em() as f32;
        ascent = ascent.max(face.ascender() as f32 / upem);
        descent = descent.min(face.descender() as f32 / upem);
    }
    Ok(Line {
        fonts,
        glyphs,
        advance: pen,
        ascent,
        descent,
    })
}

/// `run` (a byte range of one direction) cut where the font changes, in logical order.
fn split_by_font(
    run: &Range<usize>,
    char_starts: &[usize],
    font_at: &dyn Fn(usize) -> usize,
) -> Vec<(Range<usize>, usize)> {
    let mut pieces: Vec<(Range<usize>, usize)> = Vec::new();
    let starts = char_starts
        .iter()
        .copied()
        .filter(|s| run.contains(s))
        .collect::<Vec<_>>();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(run.end);
        let font = font_at(start);
        match pieces.last_mut() {
            Some((range, f)) if *f == font => range.end = end,
            _ => pieces.push((start..end, font)),
        }
    }
    pieces
}

/// Shapes `piece` with `font` and places its glyphs from `pen` (em units); the new pen.
fn shape_piece(
    piece: &str,
    rtl: bool,
    index: usize,
    font: &Font,
    mut pen: f32,
    out: &mut Vec<Placed>,
) -> f32 {
    let face = font.face();
    let upem = face.units_per_em() as f32;
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(piece);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl {
        rustybuzz::Direction::RightToLeft
    } else {
        rustybuzz::Direction::LeftToRight
    });
    let shaped = rustybuzz::shape(&face, &[], buffer);
    for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
        out.push(Placed {
            font: index,
            glyph: info.glyph_id as u16,
            x: pen + pos.x_offset as f32 / upem,
            y: pos.y_offset as f32 / upem,
        });
        pen += pos.x_advance as f32 / upem;
    }
    pen
}

impl Line {
    /// The outline of every glyph at `px_per_em`, with the line's top-left corner (ascent) at
    /// (`x`, `y`) and y growing downwards as in images.
    pub fn outline(&self, px_per_em: f32, x: f32, y: f32) -> Option<Path> {
        let mut builder = Outline {
            path: PathBuilder::new(),
            scale: 0.0,
            x: 0.0,
            y: 0.0,
        };
        let faces: Vec<_> = self.fonts.iter().map(Font::face).collect();
        for g in &self.glyphs {
            let face = &faces[g.font];
            builder.scale = px_per_em / face.units_per_em() as f32;
            builder.x = x + g.x * px_per_em;
            builder.y = y + (self.ascent - g.y) * px_per_em;
            face.outline_glyph(GlyphId(g.glyph), &mut builder);
        }
        builder.path.finish()
    }
}

/// Font units (y up) → pixels (y down) for one glyph.
struct Outline {
    path: PathBuilder,
    scale: f32,
    x: f32,
    y: f32,
}

impl Outline {
    fn at(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.scale, self.y - y * self.scale)
    }
}

impl OutlineBuilder for Outline {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.at(x, y);
        self.path.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.at(x, y);
        self.path.line_to(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let ((x1, y1), (x, y)) = (self.at(x1, y1), self.at(x, y));
        self.path.quad_to(x1, y1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let ((x1, y1), (x2, y2), (x, y)) = (self.at(x1, y1), self.at(x2, y2), self.at(x, y));
        self.path.cubic_to(x1, y1, x2, y2, x, y);
    }
    fn close(&mut self) {
        self.path.close();
    }
}
