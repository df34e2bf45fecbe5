//! Which font draws each character: the profile's fonts, then Debian's Noto fonts (installed by
//! `scripts/setup.sh`), each loaded only when an earlier one lacks a character of the text.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::PipelineError;

/// Tried after the profile's own fonts, in this order.
pub const BUILT_IN: &[&str] = &[
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
    // Noto Sans CJK SC (face 2 of the collection): Chinese, with Japanese kana and Hangul.
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
];

/// A font file (or one face of a collection) in memory.
#[derive(Debug)]
pub struct Font {
    /// As named: a path, with `#index` for a face of a collection.
    pub spec: String,
    pub data: Vec<u8>,
    pub index: u32,
    pub sha256: String,
}

impl Font {
    pub fn face(&self) -> rustybuzz::Face<'_> {
        rustybuzz::Face::from_slice(&self.data, self.index).expect("checked when loaded")
    }

    /// Whether the font has a glyph for `c` (a cmap lookup: no shaping tables are parsed).
    fn covers(&self, c: char) -> bool {
        rustybuzz::ttf_parser::Face::parse(&self.data, self.index)
            .is_ok_and(|face| face.glyph_index(c).is_some())
    }
}

/// The fonts a text needs and, for each of its characters, the one that draws it.
#[derive(Debug)]
pub struct Assignment {
    pub fonts: Vec<Font>,
    /// One entry per `char` of the text: an index into `fonts`.
    pub font_of: Vec<usize>,
}

/// Loads fonts from `preferred` then [`BUILT_IN`] until every character of `text` is covered.
/// A character keeps the previous character's font when that font has it (spaces and marks stay
/// with their word); otherwise it takes the first font that has it.
pub fn assign(text: &str, preferred: &[String]) -> Result<Assignment, PipelineError> {
    let chain: Vec<&str> = preferred
        .iter()
        .map(String::as_str)
        .chain(BUILT_IN.iter().copied())
        .collect();
    let mut fonts: Vec<Font> = Vec::new();
    let mut next = 0;
    let mut font_of = Vec::new();
    let mut previous: Option<usize> = None;
    for c in text.chars() {
        if c.is_control() && c != '\u{200c}' && c != '\u{200d}' {
            return Err(PipelineError::Watermark(format!(
                "the watermark text holds a control character (U+{:04X}); use one line of text",
                u32::from(c)
            )));
        }
        let mut chosen = previous
            .filter(|&f| fonts[f].covers(c))
            .or_else(|| fonts.iter().position(|f| f.covers(c)));
        while chosen.is_none() && next < chain.len() {
            let spec = chain[next];
            next += 1;
            if let Some(font) = load(spec, next <= preferred.len())? {
                fonts.push(font);
                if fonts.last().is_some_and(|f| f.covers(c)) {
                    chosen = Some(fonts.len() - 1);
                }
            }
        }
        let Some(f) = chosen else {
            return Err(PipelineError::Watermark(format!(
                "no font has the character {c:?} (U+{:04X}) of the watermark text; install Debian's \
                 fonts-noto-core and fonts-noto-cjk (scripts/setup.sh) or name a font that has it \
                 in the profile's watermark.fonts",
                u32::from(c)
            )));
        };
        font_of.push(f);
        previous = Some(f);
    }
    // Keep only the fonts that draw something (others were loaded and found lacking).
    let mut renumbered = vec![None; fonts.len()];
    let mut used = Vec::new();
    for (k, font) in fonts.into_iter().enumerate() {
        if font_of.contains(&k) {
            renumbered[k] = Some(used.len());
            used.push(font);
        }
    }
    let font_of = font_of
        .into_iter()
        .map(|f| renumbered[f].expect("a used font is kept"))
        .collect();
    Ok(Assignment {
        fonts: used,
        font_of,
    })
}

/// Reads `spec` (`path` or `path#index`). A built-in font that is not installed is skipped; a
/// font the profile names must exist.
fn load(spec: &str, named_by_profile: bool) -> Result<Option<Font>, PipelineError> {
    let (path, index) = match spec.rsplit_once('#') {
        Some((path, index)) if index.parse::<u32>().is_ok() => {
            (PathBuf::from(path), index.parse().unwrap_or(0))
        }
        _ => (PathBuf::from(spec), 0),
    };
    let data = match std::fs::read(&path) {
        Ok(data) => data,
        Err(_) if !named_by_profile => return Ok(None),
        Err(e) => {
            return Err(PipelineError::Watermark(format!(
                "cannot read the watermark font {}: {e}; install it on every worker or remove it \
                 from the profile's watermark.fonts",
                path.display()
            )))
        }
    };
    if rustybuzz::Face::from_slice(&data, index).is_none() {
        return Err(PipelineError::Watermark(format!(
            "{spec} is not a font (or has no face {index}); name a .ttf, .otf or .ttc#index"
        )));
    }
    let sha256 = hex::encode(Sha256::digest(&data));
    Ok(Some(Font {
        spec: spec.to_owned(),
        data,
        index,
        sha256,
    }))
}
