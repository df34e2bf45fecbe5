//! Image derivatives: access copies (progressive JPEG and WebP) and thumbnails at the profile's
//! sizes, correctly oriented, in sRGB ([`super::colour`]), with no metadata but the sRGB profile
//! ([`super::encode`]).
//!
//! Dimensions declared in the header are checked against the profile's limits before any pixel
//! is decoded, and the decoder's allocations are capped, so a header bomb fails cleanly.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::exec::{ExecOutput, ExecRequest};
use caravan_proto::{ImageProfile, Profile};
use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use super::colour::ToSrgb8;
use super::encode::{write_jpeg, write_webp, Jpeg};
use super::iiif::Tiles;
use super::pyramid::Pyramid;
use super::tiff_bands::Bands;

/// A decoded master: upright 8-bit sRGB pixels, and what the receipt says of the master.
type Decoded = (RgbImage, BTreeMap<String, serde_json::Value>);
use super::watermark::Watermark;
use super::{PipelineError, PipelineOutput};

/// Decodes the request's master and writes the access copies and thumbnails
/// ([`access_copies`]) and (if the profile asks) static IIIF tiles into its output folder.
pub fn run(
    request: &ExecRequest,
    progress: &mut dyn FnMut(f32),
) -> Result<PipelineOutput, PipelineError> {
    let (input, out_dir, profile) = (&request.input, &request.out_dir, &request.profile);
    let p = &profile.image;
    let watermark = Watermark::prepare(&p.watermark)?;
    let master = open(input, profile)?;
    let (w, h) = master.dimensions();
    let xmp = super::xmp::packet(&request.metadata);
    let tiles = p.iiif.enabled.then(|| Tiles::new(out_dir, &p.iiif, (w, h)));
    // The pyramid (tiled with IIIF) hands back its smallest level still at least as large as
    // every access copy: they are resampled from it instead of from the full master.
    let keep = largest_copy(w, h, p);
    let mut outputs = Vec::new();
    let mut levels = Vec::new();
    let (source, mut master_info) = match master {
        Master::Whole((decoded, info)) if tiles.is_none() => (decoded, info),
        Master::Whole((decoded, info)) => {
            progress(40.0);
            let mut pyramid = Pyramid::new((w, h), keep, tiles.as_ref(), false);
            levels = pyramid.levels();
            pyramid.push(decoded.as_raw())?;
            let (written, kept) = pyramid.finish()?;
            outputs.extend(written);
            // The full master is no longer needed once a smaller level stands in for it.
            (kept.unwrap_or(decoded), info)
        }
        Master::Bands(read) => {
            let (bands, header) = *read;
            let mut pyramid = Pyramid::new((w, h), keep, tiles.as_ref(), true);
            levels = pyramid.levels();
            let info = stream_tiff(bands, &header, &mut pyramid, progress)?;
            let (written, kept) = pyramid.finish()?;
            outputs.extend(written);
            (
                kept.expect("a pyramid holding its full level keeps one"),
                info,
            )
        }
    };
    if let Some(tiles) = &tiles {
        let asset = request
            .asset_id
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), ToString::to_string);
        let id = format!(
            "{}/{asset}/{}/iiif",
            p.iiif.base_url.trim_end_matches('/'),
            profile.name
        );
        let rights = request.metadata.rights_uri.as_deref();
        outputs.push(tiles.info(&levels, &id, rights)?);
    }
    progress(70.0);
    outputs.extend(access_copies(
        (w, h),
        source,
        p,
        watermark.as_ref(),
        xmp.as_deref(),
        out_dir,
    )?);
    progress(100.0);
    master_info.insert("width_displayed".into(), w.into());
    master_info.insert("height_displayed".into(), h.into());
    if let Some(mark) = &watermark {
        master_info.insert("watermark".into(), mark.described.clone());
    }
    Ok(PipelineOutput {
        outputs,
        tools: crate::tools::image_tools(),
        master_info,
    })
}

/// A master ready to be made into derivatives.
enum Master {
    /// Decoded whole, upright.
    Whole(Decoded),
    /// A TIFF read band by band as the pyramid takes it ([`stream_tiff`]).
    Bands(Box<(Bands, super::tiff_variants::Header)>),
}

impl Master {
    /// The upright master's width and height.
    fn dimensions(&self) -> (u32, u32) {
        match self {
            Master::Whole((image, _)) => image.dimensions(),
            Master::Bands(read) => (read.1.width, read.1.height),
        }
    }
}

/// Reads `bands` into `pyramid`: one thread per core decodes bands and converts them to sRGB
/// (each reading every other band, on its own file and decoder) while this one halves and
/// tiles them, in order. Says what the receipt says of the master.
fn stream_tiff(
    bands: Bands,
    header: &super::tiff_variants::Header,
    pyramid: &mut Pyramid<'_>,
    progress: &mut dyn FnMut(f32),
) -> Result<BTreeMap<String, serde_json::Value>, PipelineError> {
    type Band = Result<RgbImage, PipelineError>;
    let icc = header.icc.as_deref();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let readers = bands.split(cores)?;
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
            progress(5.0 + 65.0 * done as f32 / header.height.max(1) as f32);
        }
        drop(receivers);
        let mut results = threads
            .into_iter()
            .map(|t| t.join().expect("band readers do not panic"));
        let (color, mut colour) = results.next().expect("one reader at least");
        // A transform that failed on any band is reported.
        for (_, other) in results {
            if matches!(other, super::colour::ColourOutcome::Ignored(_)) {
                colour = other;
            }
        }
        Ok::<_, PipelineError>((color, colour))
    })?;
    let color = color.map_or_else(|| "unknown".to_owned(), |c| format!("{c:?}"));
    let mut info = describe(
        "tiff",
        (header.width, header.height),
        color,
        image::metadata::Orientation::NoTransforms,
        &colour,
    );
    if header.planar.is_some() {
        info.insert("planar".to_owned(), "separate planes".into());
    }
    info.insert("read".to_owned(), "band by band".into());
    Ok(info)
}

/// The width and height of the largest access copy or thumbnail of a `w`×`h` master.
fn largest_copy(w: u32, h: u32, p: &ImageProfile) -> (u32, u32) {
    let edges = [p.access_long_edge, p.thumbnail_long_edge]
        .into_iter()
        .chain(p.access_extra_sizes.iter().copied())
        .chain(p.thumbnail_extra_sizes.iter().copied());
    let largest = edges.max().unwrap_or(0);
    fitted_size(w, h, largest)
}

/// `access.jpg` (+ `access.webp`) at the profile's access size, `access-<edge>.jpg` (+ `.webp`)
/// at its extra sizes, `thumb.jpg` and `thumb-<edge>.jpg`. Sizes are fitted from the master's
/// dimensions `master` (so they do not depend on the order of work); `decoded` is the master
/// or a smaller level of its IIIF pyramid at least as large as every copy. Each copy is
/// resampled from the smallest image already made that is at least as large (unmarked: the
/// watermark, if any, is drawn on each access copy at its own size).
fn access_copies(
    master: (u32, u32),
    decoded: RgbImage,
    p: &ImageProfile,
    watermark: Option<&Watermark>,
    xmp: Option<&[u8]>,
    out_dir: &Path,
) -> Result<Vec<ExecOutput>, PipelineError> {
    struct Wanted {
        stem: String,
        long_edge: u32,
        quality: u8,
        /// Access copies: a WebP beside the JPEG (if the profile asks), and the watermark.
        access: bool,
    }
    let wanted = |stem: String, long_edge, quality, access| Wanted {
        stem,
        long_edge,
        quality,
        access,
    };
    let (aq, tq) = (p.access_quality, p.thumbnail_quality);
    let mut all = vec![wanted("access".into(), p.access_long_edge, aq, true)];
    all.extend((p.access_extra_sizes.iter()).map(|&e| wanted(format!("access-{e}"), e, aq, true)));
    all.push(wanted("thumb".into(), p.thumbnail_long_edge, tq, false));
    all.extend(
        (p.thumbnail_extra_sizes.iter()).map(|&e| wanted(format!("thumb-{e}"), e, tq, false)),
    );
    // Largest first, so each size resamples the previous (smaller, cheaper) image.
    all.sort_by_key(|w| std::cmp::Reverse(w.long_edge));

    let (w, h) = master;
    let mut outputs = Vec::new();
    // Each image made replaces (and frees) the larger one it was resampled from.
    let mut source = decoded;
    for item in all {
        let (tw, th) = fitted_size(w, h, item.long_edge);
        if source.dimensions() != (tw, th) {
            source = resize_to(&source, tw, th)?;
        }
        let marked = match watermark.filter(|_| item.access) {
            Some(mark) => Some(mark.apply(&source)?),
            None => None,
        };
        let image = marked.as_ref().unwrap_or(&source);
        let jpeg = Jpeg {
            quality: item.quality,
            progressive: p.progressive,
            xmp,
        };
        // The two encoders are independent: run them side by side.
        let (jpeg, webp) = rayon::join(
            || write_jpeg(image, out_dir, &format!("{}.jpg", item.stem), jpeg),
            || {
                let name = format!("{}.webp", item.stem);
                (item.access && p.webp)
                    .then(|| write_webp(image, out_dir, &name, p.webp_quality, xmp))
                    .transpose()
            },
        );
        outputs.push(jpeg?);
        outputs.extend(webp?);
    }
    Ok(outputs)
}

/// Opens the master: a TIFF of a kind read band by band ([`super::tiff_bands`]) is left to be
/// read so; every other master is decoded whole to 8-bit sRGB with its orientation applied
/// (alpha composited on white).
fn open(input: &Path, profile: &Profile) -> Result<Master, PipelineError> {
    let head = read_head(input)?;
    if super::jp2::is_jpeg2000(&head) {
        return decode_jpeg2000(input, profile).map(Master::Whole);
    }
    let tiff = [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"];
    if !tiff.iter().any(|m| head.starts_with(*m)) {
        return decode(input, None, profile).map(Master::Whole);
    }
    let Some(header) = super::tiff_variants::read_header(input)? else {
        // The `image` crate says what is wrong with it.
        return decode(input, None, profile).map(Master::Whole);
    };
    // Turning by the `Orientation` tag needs every row at once.
    if header.orientation.is_none_or(|o| o == 1) {
        if let Some(bands) = Bands::open(input, &header)? {
            check_dimensions("tiff", header.width, header.height, profile)?;
            let needed = streaming_bytes(&bands, &header, profile);
            check_memory(header.width, header.height, needed, profile)?;
            return Ok(Master::Bands(Box::new((bands, header))));
        }
    }
    if header.planar.is_some() {
        return decode_planar_tiff(input, &header, profile).map(Master::Whole);
    }
    decode(input, Some(header), profile).map(Master::Whole)
}

/// Memory a band-by-band read takes at most: bands in flight (decoded, widened for the colour
/// transform, converted, queued), a row of tiles per level, and the kept level.
fn streaming_bytes(bands: &Bands, header: &super::tiff_variants::Header, profile: &Profile) -> u64 {
    let band_pixels = u64::from(header.width) * u64::from(bands.band_height());
    let in_flight = bands.band_bytes() * 2 + band_pixels * (12 + 3 * 4);
    let tile = u64::from(profile.image.iiif.tile_size.max(64));
    let tile_rows = u64::from(header.width) * tile * 3 * 2;
    let (kw, kh) = largest_copy(header.width, header.height, &profile.image);
    let kept = u64::from(kw) * u64::from(kh) * 3 * 4;
    in_flight + tile_rows + kept
}

/// Decodes to 8-bit RGB with EXIF orientation applied; alpha is composited on white. `tiff`:
/// the header of a TIFF master, read before.
fn decode(
    input: &Path,
    tiff: Option<super::tiff_variants::Header>,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let undecodable = |format: &str, e: &dyn std::fmt::Display| PipelineError::Undecodable {
        format: format.to_owned(),
        detail: e.to_string(),
    };
    let is_tiff = tiff.is_some();
    let reader = ImageReader::open(input)
        .map_err(|e| PipelineError::Undecodable {
            format: "image".into(),
            detail: e.to_string(),
        })?
        .with_guessed_format()
        .map_err(|e| undecodable("image", &e))?;
    let format = match reader.format() {
        Some(f) => format!("{f:?}").to_lowercase(),
        None => return Err(PipelineError::Unsupported("this image format".into())),
    };
    if format == "jpeg" {
        check_jpeg_complete(input)?;
    }
    let mut decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(image::ImageError::Unsupported(why)) if is_tiff => {
            return decode_tiff_variant(input, tiff.as_ref(), profile, &why.to_string());
        }
        Err(e) => return Err(classify(&format, e)),
    };

    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();
    let icc = match &tiff {
        Some(header) => header.icc.clone(),
        None => decoder.icc_profile().ok().flatten(),
    };
    check_size(
        &format,
        width,
        height,
        u64::from(color.bytes_per_pixel()),
        icc.is_some(),
        profile,
    )?;
    let limits = &profile.limits;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_dimension);
    decoder_limits.max_image_height = Some(limits.max_dimension);
    // Room for the widest pixel type (RGBA, 32-bit float) of the largest allowed image.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16));
    decoder
        .set_limits(decoder_limits)
        .map_err(|e| classify(&format, e))?;

    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let cmyk_samples = match &tiff {
        Some(header) => matches!(header.color, Some(tiff::ColorType::CMYK(8 | 16))),
        None => format == "jpeg",
    };
    if let Some(cmyk_icc) = icc
        .as_deref()
        .filter(|p| cmyk_samples && super::colour::is_cmyk(p))
    {
        drop(decoder);
        return decode_cmyk(input, &format, cmyk_icc, orientation, profile);
    }
    let mut image = match DynamicImage::from_decoder(decoder) {
        Ok(image) => image,
        Err(image::ImageError::Unsupported(why)) if is_tiff => {
            return decode_tiff_variant(input, tiff.as_ref(), profile, &why.to_string());
        }
        Err(e) => return Err(classify(&format, e)),
    };
    image.apply_orientation(orientation);
    let (rgb, colour) = super::colour::to_srgb8(image, icc.as_deref());
    let info = describe(
        &format,
        (width, height),
        format!("{color:?}"),
        orientation,
        &colour,
    );
    Ok((rgb, info))
}

/// What the receipt says of a decoded master.
fn describe(
    format: &str,
    (width, height): (u32, u32),
    color_type: String,
    orientation: image::metadata::Orientation,
    colour: &super::colour::ColourOutcome,
) -> BTreeMap<String, serde_json::Value> {
    BTreeMap::from([
        ("format".to_owned(), format.into()),
        ("width".to_owned(), width.into()),
        ("height".to_owned(), height.into()),
        ("color_type".to_owned(), color_type.into()),
        ("orientation".to_owned(), format!("{orientation:?}").into()),
        ("colour".to_owned(), colour.describe().into()),
    ])
}

/// A TIFF master decoded outside the `image` crate: turned by its `Orientation` tag, converted
/// to sRGB through its profile, and described for the receipt.
fn finish_tiff(mut image: DynamicImage, header: &super::tiff_variants::Header) -> Decoded {
    let orientation = header
        .orientation
        .and_then(image::metadata::Orientation::from_exif)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    image.apply_orientation(orientation);
    let color = format!("{:?}", image.color());
    let (rgb, colour) = super::colour::to_srgb8(image, header.icc.as_deref());
    let info = describe(
        "tiff",
        (header.width, header.height),
        color,
        orientation,
        &colour,
    );
    (rgb, info)
}

/// The first 12 bytes of `input` (fewer if it is shorter).
fn read_head(input: &Path) -> Result<Vec<u8>, PipelineError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(12);
    std::fs::File::open(input)
        .and_then(|f| f.take(12).read_to_end(&mut head))
        .map_err(|e| PipelineError::Undecodable {
            format: "image".into(),
            detail: e.to_string(),
        })?;
    Ok(head)
}

/// Refuses a `width`×`height` image over the profile's limits, or one whose decoded pixels
/// (`bytes_per_pixel`) and the 8-bit RGB copy made from them would not fit the process's memory
/// cap: a small file can declare a huge, valid image (a compression bomb).
fn check_size(
    format: &str,
    width: u32,
    height: u32,
    bytes_per_pixel: u64,
    icc: bool,
    profile: &Profile,
) -> Result<(), PipelineError> {
    check_dimensions(format, width, height, profile)?;
    // With a profile, the transform also holds 16-bit RGB source and destination buffers.
    let working = if icc { 3 + 12 } else { 3 };
    let pixels = u64::from(width) * u64::from(height);
    check_memory(
        width,
        height,
        pixels.saturating_mul(bytes_per_pixel + working),
        profile,
    )
}

/// Refuses a `width`×`height` image over the profile's limits on size.
fn check_dimensions(
    format: &str,
    width: u32,
    height: u32,
    profile: &Profile,
) -> Result<(), PipelineError> {
    let limits = &profile.limits;
    let pixels = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 {
        return Err(PipelineError::Undecodable {
            format: format.to_owned(),
            detail: "the header declares an empty image".into(),
        });
    }
    if width > limits.max_dimension || height > limits.max_dimension || pixels > limits.max_pixels {
        return Err(PipelineError::LimitsExceeded(format!(
            "{width}×{height} px declared (limits: {} px per side, {} px in all)",
            limits.max_dimension, limits.max_pixels
        )));
    }
    Ok(())
}

/// Refuses to make derivatives of a `width`×`height` image whose making needs `needed` bytes,
/// more than the worker's memory cap allows (with a fifth of it to spare).
fn check_memory(
    width: u32,
    height: u32,
    needed: u64,
    profile: &Profile,
) -> Result<(), PipelineError> {
    let limits = &profile.limits;
    let budget = limits.memory_mib.saturating_mul(1 << 20) / 10 * 8;
    if limits.memory_mib > 0 && needed > budget {
        return Err(PipelineError::LimitsExceeded(format!(
            "decoding {width}×{height} px needs about {} MiB, more than the worker's memory limit of {} MiB allows",
            needed >> 20,
            limits.memory_mib
        )));
    }
    Ok(())
}

/// A TIFF stored plane by plane ([`super::tiff_variants`]).
fn decode_planar_tiff(
    input: &Path,
    header: &super::tiff_variants::Header,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let (samples, bits) = header.planar.expect("a planar TIFF");
    // The assembled 16-bit planes plus the image built from them.
    let per_pixel = u64::from(samples) * (2 + u64::from(bits / 8));
    check_size(
        "tiff",
        header.width,
        header.height,
        per_pixel,
        header.icc.is_some(),
        profile,
    )?;
    let bands = Bands::open(input, header)?.ok_or_else(|| PipelineError::Undecodable {
        format: "tiff".into(),
        detail: header
            .damage
            .clone()
            .unwrap_or_else(|| "unreadable planes".into()),
    })?;
    let (rgb, mut info) = finish_tiff(bands.decode_whole()?, header);
    info.insert("planar".to_owned(), "separate planes".into());
    Ok((rgb, info))
}

/// A JPEG 2000 master ([`super::jp2`]): header and completeness checked, then decoded by FFmpeg.
fn decode_jpeg2000(input: &Path, profile: &Profile) -> Result<Decoded, PipelineError> {
    let data = std::fs::read(input).map_err(|e| PipelineError::Undecodable {
        format: "jpeg2000".into(),
        detail: e.to_string(),
    })?;
    let header = super::jp2::header(&data)?;
    // FFmpeg's decoder holds its own planes (32-bit per sample) besides the converted copy.
    let per_pixel = u64::from(header.components.max(1)) * (4 + 2);
    check_size(
        "jpeg2000",
        header.width,
        header.height,
        per_pixel,
        header.icc.is_some(),
        profile,
    )?;
    let image = super::ffmpeg_still::decode(ffmpeg_next::codec::Id::JPEG2000, &data, "jpeg2000")?;
    drop(data);
    let color = image.color();
    let (rgb, colour) = super::colour::to_srgb8(image, header.icc.as_deref());
    let mut info = describe(
        "jpeg2000",
        (header.width, header.height),
        format!("{color:?}"),
        image::metadata::Orientation::NoTransforms,
        &colour,
    );
    info.insert("container".to_owned(), header.container.into());
    Ok((rgb, info))
}

/// A TIFF the `image` crate cannot decode (`why`): JPEG-compressed YCbCr (old digitization
/// systems and DAM exports) is read by the `tiff` crate ([`super::tiff_variants`]); palette
/// colour and CCITT Group 3 bitonal scans by FFmpeg's TIFF decoder. The header's size is
/// checked first; the TIFF's ICC profile and orientation are applied here, as for every other
/// master.
fn decode_tiff_variant(
    input: &Path,
    header: Option<&super::tiff_variants::Header>,
    profile: &Profile,
    why: &str,
) -> Result<Decoded, PipelineError> {
    let header = header.ok_or_else(|| PipelineError::Unsupported(format!("tiff ({why})")))?;
    if let Some(detail) = &header.damage {
        return Err(PipelineError::Undecodable {
            format: "tiff".into(),
            detail: detail.clone(),
        });
    }
    let ycbcr = matches!(header.color, Some(tiff::ColorType::YCbCr(8)));
    // The compressed file, FFmpeg's decoded planes (up to 16-bit RGBA) and the converted copy.
    check_size(
        "tiff",
        header.width,
        header.height,
        8 + 6,
        header.icc.is_some(),
        profile,
    )?;
    let (image, decoder) = if ycbcr {
        (
            super::tiff_variants::decode_ycbcr(input)?,
            "the tiff crate (JPEG-compressed YCbCr)",
        )
    } else {
        let data = std::fs::read(input).map_err(|e| PipelineError::Undecodable {
            format: "tiff".into(),
            detail: e.to_string(),
        })?;
        // Neither reader knows the variant: say so, with both reasons.
        let image = super::ffmpeg_still::decode(ffmpeg_next::codec::Id::TIFF, &data, "tiff")
            .map_err(|e| {
                let ffmpeg = match e {
                    PipelineError::Unsupported(detail) => detail,
                    PipelineError::Undecodable { detail, .. } => detail,
                    other => return other,
                };
                PipelineError::Unsupported(format!("tiff ({why}; FFmpeg's TIFF decoder: {ffmpeg})"))
            })?;
        (image, "FFmpeg's TIFF decoder")
    };
    let (rgb, mut info) = finish_tiff(image, header);
    info.insert(
        "decoder".to_owned(),
        format!("{decoder}: the image crate does not read it ({why})").into(),
    );
    Ok((rgb, info))
}

/// A CMYK JPEG or TIFF with a CMYK profile: its ink amounts ([`super::cmyk`]) through the
/// profile to sRGB.
fn decode_cmyk(
    input: &Path,
    format: &str,
    icc: &[u8],
    orientation: image::metadata::Orientation,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let ink = if format == "jpeg" {
        let data = std::fs::read(input).map_err(|e| PipelineError::Undecodable {
            format: "jpeg".into(),
            detail: e.to_string(),
        })?;
        super::cmyk::jpeg(&data, profile.limits.max_dimension)?
    } else {
        super::cmyk::tiff(input)?
    };
    let (rgb, colour) = super::colour::cmyk_to_srgb8(&ink, icc);
    let (width, height) = (ink.width, ink.height);
    drop(ink);
    let mut image = DynamicImage::ImageRgb8(rgb);
    image.apply_orientation(orientation);
    let info = describe(
        format,
        (width, height),
        "Cmyk8".into(),
        orientation,
        &colour,
    );
    Ok((image.into_rgb8(), info))
}

/// A JPEG decoder fills a truncated scan with grey and reports success; an archive must not get
/// a derivative of half a master. A complete JPEG has its end-of-image marker (FF D9) at the end,
/// allowing for trailing bytes some cameras and tools append.
fn check_jpeg_complete(input: &Path) -> Result<(), PipelineError> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let io = |e: std::io::Error| PipelineError::Undecodable {
        format: "jpeg".into(),
        detail: e.to_string(),
    };
    let mut file = std::fs::File::open(input).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .map_err(io)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io)?;
    if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(PipelineError::Undecodable {
            format: "jpeg".into(),
            detail: format!(
                "the file ends after {len} bytes without an end-of-image marker (truncated)"
            ),
        })
    }
}

fn classify(format: &str, e: image::ImageError) -> PipelineError {
    match e {
        image::ImageError::Limits(l) => PipelineError::LimitsExceeded(l.to_string()),
        image::ImageError::Unsupported(u) => PipelineError::Unsupported(format!("{format} ({u})")),
        other => PipelineError::Undecodable {
            format: format.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Resamples `image` to exactly `tw`×`th` with a Lanczos3 filter.
pub(crate) fn resize_to(image: &RgbImage, tw: u32, th: u32) -> Result<RgbImage, PipelineError> {
    resize_with(image, tw, th, fr::FilterType::Lanczos3)
}

/// Resamples `image` to exactly `tw`×`th` with `filter`.
pub(crate) fn resize_with(
    image: &RgbImage,
    tw: u32,
    th: u32,
    filter: fr::FilterType,
) -> Result<RgbImage, PipelineError> {
    let (w, h) = image.dimensions();
    let src = fr::images::ImageRef::new(w, h, image.as_raw(), fr::PixelType::U8x3)
        .map_err(|e| PipelineError::Encode(format!("resize source: {e}")))?;
    let mut dst = fr::images::Image::new(tw, th, fr::PixelType::U8x3);
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(filter));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| PipelineError::Encode(format!("resize: {e}")))?;
    RgbImage::from_raw(tw, th, dst.into_vec())
        .ok_or_else(|| PipelineError::Encode("resize produced a short buffer".into()))
}

/// The size of `w`×`h` scaled to fit a `long_edge` square, never enlarged, at least 1 px.
pub fn fitted_size(w: u32, h: u32, long_edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= long_edge {
        return (w, h);
    }
    let scale = f64::from(long_edge) / f64::from(long);
    let fit = |v: u32| ((f64::from(v) * scale).round() as u32).clamp(1, long_edge);
    if w >= h {
        (long_edge, fit(h))
    } else {
        (fit(w), long_edge)
    }
}
