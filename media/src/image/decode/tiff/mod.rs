//! TIFF masters.
//!
//! - [`header`]: every TIFF master's header, read once (size, colour type, ICC profile the
//!   `image` crate loses, separate planes, whether every chunk lies inside the file);
//! - [`bands`]: grey/RGB(A) 8/16-bit TIFFs, interleaved or plane by plane, strips or tiles, read
//!   a band of rows at a time (one reader per core, each on its own file);
//! - [`lzw`]: TIFF LZW decoded by copying strings from the output;
//! - [`stream`]: bands read into the IIIF pyramid, and the memory that takes;
//! - [`variants`]: TIFFs decoded whole outside the `image` crate (planes to be turned,
//!   JPEG-compressed YCbCr, palette, CCITT Group 3).

pub mod bands;
pub mod header;
pub mod lzw;
pub mod stream;
pub mod variants;

#[cfg(test)]
mod tests;
