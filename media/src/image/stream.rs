//! Masters read a band of rows at a time into the pyramid, never whole: TIFFs
//! ([`super::decode::tiff::stream`]) and JPEGs ([`super::decode::jpeg`]) hand out bands from one
//! reader thread each (a TIFF from one per core, each on its own file), converted to sRGB
//! there, while the calling thread halves and tiles them, in order.

use std::collections::BTreeMap;

use caravan_proto::Profile;
use image::{DynamicImage, RgbImage};

use super::colour::{ColourOutcome, ToSrgb8};
use super::pyramid::Pyramid;
use super::resize::largest_copy;
use crate::error::PipelineError;

/// A master that is read band by band into the pyramid.
pub trait StreamedMaster {
    /// The upright master's width and height.
    fn dimensions(&self) -> (u32, u32);

    /// Reads every band into `pyramid`; says what the receipt says of the master.
    fn read_into(
        self: Box<Self>,
        pyramid: &mut Pyramid<'_>,
        progress: &mut dyn FnMut(f32),
    ) -> Result<BTreeMap<String, serde_json::Value>, PipelineError>;
}

/// Hands out a master's rows, a band at a time, top to bottom (or, when one of several readers
/// of a master, every n-th band).
pub trait BandSource: Send {
    fn next_band(&mut self) -> Result<Option<DynamicImage>, PipelineError>;
}

/// What reading told of the master's pixels.
#[derive(Debug)]
pub struct Streamed {
    /// The stored colour type (`Rgb16`, `L8` …).
    pub color: String,
    pub colour: ColourOutcome,
}

/// Reads the bands of `readers` (band k from reader k mod n) into `pyramid`, each reader on its
/// own thread converting its bands to sRGB through `icc`; `height` is the master's, for
/// progress.
pub fn stream_into<B: BandSource>(
    readers: Vec<B>,
    icc: Option<&[u8]>,
    height: u32,
    pyramid: &mut Pyramid<'_>,
    progress: &mut dyn FnMut(f32),
) -> Result<Streamed, PipelineError> {
    type Band = Result<RgbImage, PipelineError>;
    let (color, colour) = std::thread::scope(|scope| {
        let mut receivers = Vec::new();
        let mut threads = Vec::new();
        for mut bands in readers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Band>(1);
            receivers.push(rx);
            threads.push(scope.spawn(move || {
                let mut convert = ToSrgb8::new(icc);
                let mut color = None;
                loop {
                    let band = match bands.next_band() {
                        Ok(Some(band)) => band,
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    };
                    color.get_or_insert(band.color());
                    // The receiver is gone when the pyramid failed: stop reading.
                    if tx.send(Ok(convert.convert(band))).is_err() {
                        break;
                    }
                }
                (color, convert.outcome)
            }));
        }
        let mut done = 0u64;
        // Band k comes from reader k mod n; the first reader to have none left marks the end.
        for rx in receivers.iter().cycle() {
            let Ok(band) = rx.recv() else { break };
            let band = band?;
            pyramid.push(band.as_raw())?;
            done += u64::from(band.height());
            progress(5.0 + 65.0 * done as f32 / height.max(1) as f32);
        }
        drop(receivers);
        let mut results = threads
            .into_iter()
            .map(|t| t.join().expect("band readers do not panic"));
        let (color, mut colour) = results.next().expect("one reader at least");
        // A transform that failed on any band is reported.
        for (_, other) in results {
            if matches!(other, ColourOutcome::Ignored(_)) {
                colour = other;
            }
        }
        Ok::<_, PipelineError>((color, colour))
    })?;
    Ok(Streamed {
        color: color.map_or_else(|| "unknown".to_owned(), |c| format!("{c:?}")),
        colour,
    })
}

/// Memory a band-by-band read of a `width`×`height` master takes at most: bands of
/// `band_height` rows and `band_bytes` bytes in flight (decoded, widened for the colour
/// transform, converted, queued), `held` bytes the decoder keeps besides (a progressive JPEG's
/// coefficients), a row of tiles per level, and the level the access copies come from.
pub fn needed_bytes(
    (width, height): (u32, u32),
    (band_height, band_bytes): (u32, u64),
    held: u64,
    profile: &Profile,
) -> u64 {
    let band_pixels = u64::from(width) * u64::from(band_height);
    let in_flight = band_bytes * 2 + band_pixels * (12 + 3 * 4);
    let tile = u64::from(profile.image.iiif.tile_size.max(64));
    let tile_rows = u64::from(width) * tile * 3 * 2;
    let (kw, kh) = largest_copy(width, height, &profile.image);
    let kept = u64::from(kw) * u64::from(kh) * 3 * 4;
    in_flight + held + tile_rows + kept
}
