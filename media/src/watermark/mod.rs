//! Visible watermarks on access copies: a logo (PNG with alpha), a line of text
//! ([`text`]: any script, shaped), or both — the logo above the text — placed at a corner, an
//! edge or the centre with a margin, or repeated diagonally over the whole image (`tiled`).
//!
//! The mark is sized relative to each image it goes on (`scale` × its width), so every access
//! size carries the same mark in proportion. Compositing is in the images' sRGB values (as
//! editors do), with the profile's opacity over the mark's own alpha.

pub mod fonts;
pub mod text;

use std::path::Path;

use caravan_proto::WatermarkProfile;
use image::{RgbImage, RgbaImage};
use sha2::{Digest, Sha256};
use tiny_skia::{Color, FillRule, FilterQuality, Paint, Pixmap, PixmapPaint, Stroke, Transform};

use crate::error::PipelineError;
use text::Line;

/// Where the mark goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Fractions (0, ½, 1) of the free space across and down.
    At(f32, f32),
    Tiled,
}

impl Placement {
    pub fn parse(position: &str) -> Option<Self> {
        let (x, y) = match position {
            "tiled" => return Some(Self::Tiled),
            "top-left" => (0.0, 0.0),
            "top" => (0.5, 0.0),
            "top-right" => (1.0, 0.0),
            "left" => (0.0, 0.5),
            "center" | "centre" => (0.5, 0.5),
            "right" => (1.0, 0.5),
            "bottom-left" => (0.0, 1.0),
            "bottom" => (0.5, 1.0),
            "bottom-right" => (1.0, 1.0),
            _ => return None,
        };
        Some(Self::At(x, y))
    }
}

/// A watermark ready to be drawn on images of any size.
#[derive(Debug)]
pub struct Watermark {
    placement: Placement,
    margin: f32,
    opacity: f32,
    scale: f32,
    angle: f32,
    logo: Option<RgbaImage>,
    text: Option<Line>,
    fill: Color,
    outline: Color,
    /// For the receipt: the logo's and fonts' SHA-256.
    pub described: serde_json::Value,
}

impl Watermark {
    /// Loads the logo and shapes the text of `p`; `None` when the profile asks for no mark.
    pub fn prepare(p: &WatermarkProfile) -> Result<Option<Self>, PipelineError> {
        if !p.enabled {
            return Ok(None);
        }
        let placement = Placement::parse(&p.position).ok_or_else(|| {
            PipelineError::Watermark(format!("unknown watermark position {:?}", p.position))
        })?;
        let logo = p.logo.as_deref().map(load_logo).transpose()?;
        let text = match p.text.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => Some(text::shape(t, &p.fonts)?),
            _ => None,
        };
        if logo.is_none() && text.is_none() {
            return Err(PipelineError::Watermark(
                "the watermark is enabled but has neither a logo nor text".into(),
            ));
        }
        let described = serde_json::json!({
            "logo_sha256": logo.as_ref().map(|(_, sha)| sha.clone()),
            "fonts": text.as_ref().map(|line| line.fonts.iter().map(|f| {
                serde_json::json!({ "font": f.spec, "sha256": f.sha256 })
            }).collect::<Vec<_>>()),
        });
        Ok(Some(Self {
            placement,
            margin: p.margin.clamp(0.0, 0.45),
            opacity: p.opacity.clamp(0.0, 1.0),
            scale: p.scale.clamp(0.01, 1.0),
            angle: p.angle_degrees,
            logo: logo.map(|(image, _)| image),
            text,
            fill: colour(&p.text_colour)?,
            outline: colour(&p.outline_colour)?,
            described,
        }))
    }

    /// `image` with the mark drawn on it.
    pub fn apply(&self, image: &RgbImage) -> Result<RgbImage, PipelineError> {
        let (w, h) = image.dimensions();
        Ok(composite(image, &self.layer(w, h)?))
    }

    /// The mark for video frames displayed at `display_width`×`height` and stored
    /// `storage_width` wide (non-square pixels): the smallest RGBA rectangle (straight alpha,
    /// opacity applied) holding every mark, in stored pixels, and where it goes; `None` if the
    /// mark is empty.
    pub fn video_overlay(
        &self,
        display_width: u32,
        height: u32,
        storage_width: u32,
    ) -> Result<Option<(RgbaImage, u32, u32)>, PipelineError> {
        let layer = self.layer(display_width, height)?;
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for (k, px) in layer.pixels().iter().enumerate() {
            if px.alpha() > 0 {
                let (x, y) = (k as u32 % display_width, k as u32 / display_width);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        if x0 > x1 {
            return Ok(None);
        }
        let crop = RgbaImage::from_fn(x1 - x0 + 1, y1 - y0 + 1, |x, y| {
            let c = layer
                .pixel(x0 + x, y0 + y)
                .expect("inside the layer")
                .demultiply();
            image::Rgba([c.red(), c.green(), c.blue(), c.alpha()])
        });
        // Stored pixels: horizontal positions and sizes scale by storage ÷ display width.
        let sx = f64::from(storage_width) / f64::from(display_width);
        let stored = |v: u32| ((f64::from(v) * sx).round() as u32).max(1);
        let crop = image::imageops::resize(
            &crop,
            stored(crop.width()),
            crop.height(),
            image::imageops::FilterType::CatmullRom,
        );
        let x =
            ((f64::from(x0) * sx).round() as u32).min(storage_width.saturating_sub(crop.width()));
        Ok(Some((crop, x, y0)))
    }

    /// A transparent `w`×`h` layer with the marks drawn where they go on an image of that size.
    fn layer(&self, w: u32, h: u32) -> Result<Pixmap, PipelineError> {
        let mark = self.render(w, h)?;
        let mut canvas = Pixmap::new(w, h).ok_or_else(|| too_large(w, h))?;
        let paint = PixmapPaint {
            opacity: self.opacity,
            quality: FilterQuality::Bicubic,
            ..PixmapPaint::default()
        };
        let (mw, mh) = (mark.width() as f32, mark.height() as f32);
        match self.placement {
            Placement::At(fx, fy) => {
                let margin = self.margin * w.min(h) as f32;
                let x = margin + fx * (w as f32 - 2.0 * margin - mw).max(0.0);
                let y = margin + fy * (h as f32 - 2.0 * margin - mh).max(0.0);
                canvas.draw_pixmap(
                    x.round() as i32,
                    y.round() as i32,
                    mark.as_ref(),
                    &paint,
                    Transform::identity(),
                    None,
                );
            }
            Placement::Tiled => {
                // A grid in the turned frame, wide enough to cover the image at any angle.
                let (step_x, step_y) = (mw * 1.6, mh * 3.0);
                let reach = (w as f32).hypot(h as f32);
                let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
                let turn = Transform::from_rotate_at(-self.angle, cx, cy);
                let rows = (reach / step_y).ceil() as i32;
                let cols = (reach / step_x).ceil() as i32;
                for row in -rows..=rows {
                    // Alternate rows are offset by half a step, like a brick wall.
                    let shift = if row % 2 == 0 { 0.0 } else { step_x / 2.0 };
                    for col in -cols..=cols {
                        let x = cx + col as f32 * step_x + shift - mw / 2.0;
                        let y = cy + row as f32 * step_y - mh / 2.0;
                        canvas.draw_pixmap(
                            0,
                            0,
                            mark.as_ref(),
                            &paint,
                            turn.pre_translate(x, y),
                            None,
                        );
                    }
                }
            }
        }
        Ok(canvas)
    }

    /// The mark for an image `w`×`h`: `scale` × `w` wide (less if that would make it taller
    /// than a third of the image), logo above text.
    fn render(&self, w: u32, h: u32) -> Result<Pixmap, PipelineError> {
        let width = (self.scale * w as f32).max(8.0);
        let logo_aspect = self
            .logo
            .as_ref()
            .map(|l| l.height() as f32 / l.width().max(1) as f32);
        // Text: px per em so that the line is `width` wide; its height with a small outline pad.
        let text_em_height = self.text.as_ref().map(|t| t.ascent - t.descent);
        let text_px_per_em = self.text.as_ref().map(|t| width / t.advance.max(0.01));
        let gap = 0.15;
        let mut height = logo_aspect.map_or(0.0, |a| a * width)
            + text_px_per_em
                .zip(text_em_height)
                .map_or(0.0, |(p, e)| p * e);
        if logo_aspect.is_some() && self.text.is_some() {
            height += gap * text_px_per_em.unwrap_or(0.0);
        }
        // Keep the mark within a third of the image's height.
        let fit = (h as f32 / 3.0 / height.max(1.0)).min(1.0);
        let (width, height) = (width * fit, height * fit);
        let pad = 2.0 + 0.04 * text_px_per_em.unwrap_or(0.0) * fit;
        let (pw, ph) = (
            (width + 2.0 * pad).ceil() as u32,
            (height + 2.0 * pad).ceil() as u32,
        );
        let mut mark = Pixmap::new(pw.max(1), ph.max(1)).ok_or_else(|| too_large(pw, ph))?;
        let mut top = pad;
        if let (Some(logo), Some(aspect)) = (&self.logo, logo_aspect) {
            let (lw, lh) = (
                width.round().max(1.0) as u32,
                (aspect * width).round().max(1.0) as u32,
            );
            let scaled =
                image::imageops::resize(logo, lw, lh, image::imageops::FilterType::CatmullRom);
            let logo = premultiplied(&scaled).ok_or_else(|| too_large(lw, lh))?;
            mark.draw_pixmap(
                pad.round() as i32,
                top.round() as i32,
                logo.as_ref(),
                &PixmapPaint::default(),
                Transform::identity(),
                None,
            );
            top += lh as f32 + gap * text_px_per_em.unwrap_or(0.0) * fit;
        }
        if let (Some(line), Some(px_per_em)) = (&self.text, text_px_per_em) {
            let px_per_em = px_per_em * fit;
            let left = pad + (width - line.advance * px_per_em).max(0.0) / 2.0;
            if let Some(path) = line.outline(px_per_em, left, top) {
                let mut paint = Paint {
                    anti_alias: true,
                    ..Paint::default()
                };
                paint.set_color(self.outline);
                let stroke = Stroke {
                    width: 0.06 * px_per_em,
                    ..Stroke::default()
                };
                mark.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
                paint.set_color(self.fill);
                mark.fill_path(
                    &path,
                    &paint,
                    FillRule::Winding,
                    Transform::identity(),
                    None,
                );
            }
        }
        Ok(mark)
    }
}

/// `image` under `canvas` (premultiplied RGBA of the same size).
fn composite(image: &RgbImage, canvas: &Pixmap) -> RgbImage {
    let mut out = image.clone();
    for (px, over) in out.pixels_mut().zip(canvas.pixels()) {
        let a = u32::from(over.alpha());
        if a == 0 {
            continue;
        }
        let under = 255 - a;
        let mix =
            |src: u8, top: u8| ((u32::from(top) * 255 + u32::from(src) * under + 127) / 255) as u8;
        px.0 = [
            mix(px.0[0], over.red()),
            mix(px.0[1], over.green()),
            mix(px.0[2], over.blue()),
        ];
    }
    out
}

fn premultiplied(image: &RgbaImage) -> Option<Pixmap> {
    let mut pixmap = Pixmap::new(image.width(), image.height())?;
    for (dst, src) in pixmap.pixels_mut().iter_mut().zip(image.pixels()) {
        let [r, g, b, a] = src.0;
        *dst = tiny_skia::ColorU8::from_rgba(r, g, b, a).premultiply();
    }
    Some(pixmap)
}

/// Decodes the logo (PNG, at most 16 megapixels) and hashes it.
fn load_logo(path: &Path) -> Result<(RgbaImage, String), PipelineError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        PipelineError::Watermark(format!(
            "cannot use the watermark logo {}: {e}; it must be a PNG on every worker's disk",
            path.display()
        ))
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(&e))?;
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(&bytes), image::ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let logo = reader.decode().map_err(|e| unreadable(&e))?.into_rgba8();
    Ok((logo, hex::encode(Sha256::digest(&bytes))))
}

/// `#rrggbb` → an opaque colour.
fn colour(hex: &str) -> Result<Color, PipelineError> {
    let digits = hex.strip_prefix('#').unwrap_or(hex);
    let value = (digits.len() == 6)
        .then(|| u32::from_str_radix(digits, 16).ok())
        .flatten()
        .ok_or_else(|| {
            PipelineError::Watermark(format!("watermark colour {hex:?} is not #rrggbb"))
        })?;
    let [_, r, g, b] = value.to_be_bytes();
    Ok(Color::from_rgba8(r, g, b, 255))
}

fn too_large(w: u32, h: u32) -> PipelineError {
    PipelineError::Watermark(format!("cannot draw a watermark of {w}×{h} pixels"))
}

#[cfg(test)]
mod tests;
