//! One decoder per kind of master. Each checks what the header declares against the profile's
//! limits ([`super::limits`]) before decoding, and gives upright 8-bit sRGB pixels (or, for
//! TIFFs read band by band, bands of them) with what the receipt says of the master.
//!
//! - [`image_crate`]: JPEG, PNG, WebP, GIF, BMP and most TIFFs, through the `image` crate;
//! - [`jpeg`]: JPEG masters through mozjpeg: header, scaled decoding (a fraction of the size
//!   for a master that no IIIF pyramid needs whole), band by band streaming, completeness;
//! - [`image_error`]: how an `image` crate error is classified;
//! - [`cmyk`]: CMYK JPEGs and TIFFs with a CMYK profile, as ink amounts;
//! - [`jp2`]: JPEG 2000 (JP2 and J2K);
//! - [`ffmpeg_still`]: stills FFmpeg decodes (JPEG 2000; palette and CCITT Group 3 TIFFs);
//! - [`tiff`]: the TIFF header, band-by-band reading, LZW, and the variants read whole.

pub mod cmyk;
pub mod ffmpeg_still;
pub mod image_crate;
pub mod image_error;
pub mod jp2;
pub mod jpeg;
pub mod tiff;
