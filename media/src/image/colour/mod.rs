//! Colour: every derivative is 8-bit sRGB, tagged as such.
//!
//! A master's embedded ICC profile (RGB or grey; CMYK through [`cmyk_to_srgb8`]) is honoured: pixels go through a 16-bit
//! transform to sRGB (moxcms), then to 8 bits with rounding, so 16-bit masters do not band. A
//! master without a profile is taken as sRGB. A profile that cannot be parsed or applied is
//! reported in the receipt and the pixels are taken as sRGB, rather than failing the asset.
//! Alpha is composited on white.
//!
//! - `outcome`: what happened to the colour, for the receipt;
//! - `to_srgb`: RGB and grey masters through their profile ([`to_srgb8`], [`ToSrgb8`]);
//! - `cmyk`: CMYK ink amounts through their CMYK profile ([`cmyk_to_srgb8`]);
//! - `ycbcr`: YCbCr as JPEG streams hold it;
//! - `srgb_profile`: the profile every derivative embeds ([`srgb_icc`]).

mod cmyk;
mod outcome;
mod srgb_profile;
mod to_srgb;
mod ycbcr;

pub use cmyk::{cmyk_to_srgb8, default_cmyk_profile, is_cmyk, CmykProfile, Ink};
pub use outcome::ColourOutcome;
pub use srgb_profile::{normalise_icc, srgb_icc};
pub use to_srgb::{to_srgb8, ToSrgb8};
pub use ycbcr::ycbcr_to_rgb;

#[cfg(test)]
mod tests;
