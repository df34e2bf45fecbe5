//! A master decoded whole, and what the receipt says of a decoded master.

use std::collections::BTreeMap;

use image::RgbImage;

use super::colour::ColourOutcome;

/// A decoded master: upright 8-bit sRGB pixels, and what the receipt says of the master.
pub type Decoded = (RgbImage, BTreeMap<String, serde_json::Value>);

/// What the receipt says of a decoded master.
pub fn describe(
    format: &str,
    (width, height): (u32, u32),
    color_type: String,
    orientation: image::metadata::Orientation,
    colour: &ColourOutcome,
) -> BTreeMap<String, serde_json::Value> {
    BTreeMap::from([
        ("format".to_owned(), format.into()),
        ("width".to_owned(), width.into()),
        ("height".to_owned(), height.into()),
        ("color_type".to_owned(), color_type.into()),
        ("orientation".to_owned(), format!("{orientation:?}").into()),
        ("colour".to_owned(), colour.describe().into()),
        // Whether the pixels were converted into sRGB (a content credential's
        // `c2pa.color_adjustments`).
        ("colour_converted".to_owned(), colour.converted().into()),
    ])
}
