//! Processing profiles: the parameters a pipeline runs with. A profile travels with every
//! receipt, so an output can be made again from the receipt alone.

use serde::{Deserialize, Serialize};

use crate::ids::ProfileName;

/// A named set of pipeline parameters. Every field has a default, so a profile file names only
/// what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: ProfileName,
    #[serde(default)]
    pub image: ImageProfile,
    #[serde(default)]
    pub video: VideoProfile,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub manifest: ManifestProfile,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            name: ProfileName::default_profile(),
            image: ImageProfile::default(),
            video: VideoProfile::default(),
            limits: Limits::default(),
            manifest: ManifestProfile::default(),
        }
    }
}

impl Profile {
    /// Where `asset`'s derivatives of this profile are served from:
    /// `<image.iiif.base_url>/<asset>/<profile>` (the store's `derivatives/<asset>/<profile>/`).
    pub fn derivatives_url(&self, asset: &str) -> String {
        let base = self.image.iiif.base_url.trim_end_matches('/');
        format!("{base}/{asset}/{}", self.name)
    }

    /// Where `asset`'s receipt of this profile is served from (the store's
    /// `receipts/<asset>/<profile>.json`): under [`ManifestProfile::receipts_base_url`], or else
    /// beside the derivatives, `image.iiif.base_url` with its last segment replaced by
    /// `receipts` (`http://host/derivatives` → `http://host/receipts`).
    pub fn receipt_url(&self, asset: &str) -> String {
        let base = match &self.manifest.receipts_base_url {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => {
                let derivatives = self.image.iiif.base_url.trim_end_matches('/');
                match derivatives.rsplit_once('/') {
                    Some((root, _)) if root.contains("://") && !root.ends_with('/') => {
                        format!("{root}/receipts")
                    }
                    _ => format!("{derivatives}/receipts"),
                }
            }
        };
        format!("{base}/{asset}/{}.json", self.name)
    }
}

/// The IIIF Presentation 3 manifest written beside each asset's derivatives (`manifest.json`):
/// what a IIIF viewer opens. Its ids are under `image.iiif.base_url` ([`Profile::derivatives_url`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestProfile {
    pub enabled: bool,
    /// Where the store's `receipts/` prefix is served from, for each manifest's `seeAlso` link
    /// to its receipt; default: beside `derivatives/` ([`Profile::receipt_url`]).
    pub receipts_base_url: Option<String>,
    /// The institution that provides the works (the manifest's `provider`).
    pub provider: Option<ProviderProfile>,
}

impl Default for ManifestProfile {
    fn default() -> Self {
        Self {
            enabled: true,
            receipts_base_url: None,
            provider: None,
        }
    }
}

/// A IIIF `provider`: an institution's homepage and its name in one or more languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderProfile {
    /// The institution's homepage (`https://www.sharjahmuseums.ae/`); also its agent id.
    pub homepage: String,
    /// Its name by BCP 47 language tag: `{ en = "Sharjah Museums Authority", ar = "هيئة الشارقة للمتاحف" }`.
    pub label: std::collections::BTreeMap<String, String>,
}

/// Image derivatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageProfile {
    /// Long edge of the access copy (`access.jpg`, `access.webp`) in pixels; smaller masters
    /// are not enlarged.
    pub access_long_edge: u32,
    /// Further access sizes (long edges), each written as `access-<edge>.jpg` (and `.webp`).
    pub access_extra_sizes: Vec<u32>,
    pub access_quality: u8,
    /// Long edge of the thumbnail (`thumb.jpg`) in pixels.
    pub thumbnail_long_edge: u32,
    /// Further thumbnail sizes, each written as `thumb-<edge>.jpg`.
    pub thumbnail_extra_sizes: Vec<u32>,
    pub thumbnail_quality: u8,
    /// Progressive JPEGs: a coarse whole image first, useful on slow links.
    pub progressive: bool,
    /// A lossy WebP beside every access JPEG (smaller at the same visual quality).
    pub webp: bool,
    pub webp_quality: u8,
    /// Static IIIF Image API 3.0 level-0 tiles.
    pub iiif: IiifProfile,
    /// A visible watermark on the access copies (JPEG and WebP, every access size).
    pub watermark: WatermarkProfile,
    /// The CMYK profile assumed for CMYK masters that embed none, as press software (Photoshop,
    /// Ghostscript, Little CMS's tools) assumes one: a profile's path, or `naive` for the
    /// textbook formula R = (1 − C)(1 − K) …, which gives over-saturated, too-light colours for
    /// real prepress files. The default is Ghostscript's SWOP-class press profile (Debian
    /// `libgs-common`).
    pub cmyk_default_profile: String,
}

/// [`ImageProfile::cmyk_default_profile`] by default.
pub const DEFAULT_CMYK_PROFILE: &str = "/usr/share/color/icc/ghostscript/default_cmyk.icc";

/// The [`ImageProfile::cmyk_default_profile`] value that asks for the textbook formula.
pub const NAIVE_CMYK: &str = "naive";

/// A visible watermark: a logo, a line of text, or both (logo above text), placed in a corner,
/// an edge or the centre, or repeated diagonally over the whole image.
///
/// Text is shaped with HarfBuzz's rules (rustybuzz) in any script and direction — Latin, Arabic
/// (right to left, joined), Thai, Chinese — each character drawn with the first font of `fonts`
/// (then the built-in list of Debian's Noto fonts) that has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatermarkProfile {
    pub enabled: bool,
    /// A PNG (alpha respected) on the worker's disk; its SHA-256 goes into the receipt.
    pub logo: Option<std::path::PathBuf>,
    pub text: Option<String>,
    /// `top-left`, `top`, `top-right`, `left`, `center`, `right`, `bottom-left`, `bottom`,
    /// `bottom-right`, or `tiled` (repeated over the image, turned by `angle_degrees`).
    pub position: String,
    /// Gap between the mark and the image's edges, as a fraction of the image's short edge.
    pub margin: f32,
    /// 0 (invisible) to 1 (opaque).
    pub opacity: f32,
    /// The mark's width as a fraction of the image's width.
    pub scale: f32,
    /// Rotation of the tiled marks, counter-clockwise.
    pub angle_degrees: f32,
    /// Text fill and outline colours, `#rrggbb`.
    pub text_colour: String,
    pub outline_colour: String,
    /// Font files tried before the built-in list (`.ttf`, `.otf`, or `.ttc` with `#index`).
    pub fonts: Vec<String>,
}

impl Default for WatermarkProfile {
    fn default() -> Self {
        Self {
            enabled: false,
            logo: None,
            text: None,
            position: "bottom-right".to_owned(),
            margin: 0.03,
            opacity: 0.6,
            scale: 0.25,
            angle_degrees: 30.0,
            text_colour: "#ffffff".to_owned(),
            outline_colour: "#000000".to_owned(),
            fonts: Vec::new(),
        }
    }
}

/// Static IIIF tiles: `iiif/info.json` and `iiif/{region}/{size}/0/default.jpg`, served as files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IiifProfile {
    pub enabled: bool,
    /// Tile width and height in pixels.
    pub tile_size: u32,
    pub quality: u8,
    /// Where the store's `derivatives/` prefix is served from; the image's `id` in `info.json`
    /// is `<base_url>/<asset>/<profile>/iiif`.
    pub base_url: String,
    /// Whole-image sizes (`full/w,h`) are written up to this long edge.
    pub max_full_size: u32,
}

impl Default for IiifProfile {
    fn default() -> Self {
        Self {
            enabled: true,
            tile_size: 512,
            quality: 80,
            base_url: "http://localhost:8080/derivatives".to_owned(),
            max_full_size: 2048,
        }
    }
}

impl Default for ImageProfile {
    fn default() -> Self {
        Self {
            access_long_edge: 2048,
            access_extra_sizes: vec![1024],
            access_quality: 85,
            thumbnail_long_edge: 256,
            thumbnail_extra_sizes: Vec::new(),
            thumbnail_quality: 80,
            progressive: true,
            webp: true,
            webp_quality: 80,
            iiif: IiifProfile::default(),
            watermark: WatermarkProfile::default(),
            cmyk_default_profile: DEFAULT_CMYK_PROFILE.to_owned(),
        }
    }
}

/// The video renditions: the access copy, the HLS ladder, poster and storyboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VideoProfile {
    /// Write `access.mp4` (off for a profile that only streams).
    pub access_mp4: bool,
    /// Frames taller than this are scaled down (keeping display aspect).
    pub max_height: u32,
    /// x264 constant rate factor.
    pub crf: u8,
    /// x264 preset.
    pub preset: String,
    pub audio_bitrate: u32,
    pub audio_sample_rate: u32,
    /// EBU R128 loudness normalisation of the access copy's audio (FFmpeg's `loudnorm`,
    /// single pass). The loudness of the result is measured and recorded either way.
    pub loudness_normalise: bool,
    pub loudness_target_lufs: f64,
    pub loudness_true_peak_dbtp: f64,
    /// Write `poster.jpg`, a still of the access copy.
    pub poster: bool,
    /// Where the search for the poster starts, as a fraction of the duration (0.1: past most
    /// leaders and slates); the first frame from there that is neither black nor flat is taken.
    pub poster_position: f64,
    /// Write `storyboard.jpg` (a sprite sheet) and `storyboard.vtt` (a WebVTT thumbnail track).
    pub storyboard: bool,
    /// Seconds between storyboard frames (raised for long masters to stay within the maximum).
    pub storyboard_interval_seconds: f64,
    pub storyboard_tile_width: u32,
    pub storyboard_max_tiles: u32,
    /// An HLS ladder (CMAF/fMP4 segments) under `hls/`, fed from the same decode as the access
    /// copy.
    pub hls: HlsProfile,
    /// A visible watermark burned into every rendition (the access copy, the HLS rungs, and so
    /// the poster and storyboard taken from them), placed and sized on the displayed picture.
    pub watermark: WatermarkProfile,
    /// A lossless preservation copy (`preservation.mkv`) of masters that arrive in other codecs
    /// than FFV1, made from the same decode, before any filter touches the pictures.
    pub preservation: PreservationProfile,
}

impl Default for VideoProfile {
    fn default() -> Self {
        Self {
            access_mp4: true,
            max_height: 1080,
            crf: 20,
            preset: "veryfast".to_owned(),
            audio_bitrate: 160_000,
            audio_sample_rate: 48_000,
            loudness_normalise: false,
            loudness_target_lufs: -23.0,
            loudness_true_peak_dbtp: -1.0,
            poster: true,
            poster_position: 0.1,
            storyboard: true,
            storyboard_interval_seconds: 10.0,
            storyboard_tile_width: 160,
            storyboard_max_tiles: 100,
            hls: HlsProfile::default(),
            watermark: WatermarkProfile::default(),
            preservation: PreservationProfile::default(),
        }
    }
}

/// Preservation normalisation: the master's pictures, exactly as decoded (interlaced, at their
/// stored size, pixel format and colour tags), encoded as FFV1 version 3 — every frame a
/// keyframe, each slice with its CRC — in Matroska, with every audio stream kept losslessly.
/// Masters already in FFV1 version 3 in Matroska are left as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreservationProfile {
    pub enabled: bool,
    /// How integer PCM audio is kept: `flac` (compressed losslessly, up to 24 bits and 8
    /// channels; deeper or wider PCM is copied) or `pcm` (copied as it is). FLAC and PCM sources
    /// are never decoded otherwise; lossy audio is decoded into the chosen form.
    pub audio: PreservationAudio,
    /// FFV1 slices per frame (v × h with v ≤ h < 2v: 4, 6, 9, 12, 16, 20, 24, 30 …): more slices
    /// encode in parallel and confine damage to smaller areas.
    pub slices: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreservationAudio {
    Flac,
    Pcm,
}

impl Default for PreservationProfile {
    fn default() -> Self {
        Self {
            enabled: false,
            audio: PreservationAudio::Flac,
            slices: 16,
        }
    }
}

/// Whether FFV1 version 3 can cut a frame into `slices` slices: `v` rows of `h` columns with
/// `2 ≤ v ≤ h < 2v`, at most 1024 (the counts FFmpeg's encoder accepts for any frame over 352×288).
pub fn ffv1_slices_valid(slices: u32) -> bool {
    (2..32).any(|v| (v..2 * v).any(|h| v * h == slices)) && slices <= 1024
}

/// The HLS ladder: one rendition per rung no taller than the source (the source's own height
/// when every rung is taller), keyframes forced at every segment boundary so that all rungs cut
/// at the same instants, and a master playlist `hls/master.m3u8`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HlsProfile {
    pub enabled: bool,
    /// Target segment duration, in seconds.
    pub segment_seconds: f64,
    /// Rungs, any order; each is encoded at the access copy's CRF, capped at its bitrate.
    pub rungs: Vec<HlsRung>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HlsRung {
    /// Frame height in lines; the width keeps the display aspect.
    pub height: u32,
    /// Video bitrate cap (x264 VBV maximum rate), in kbit/s.
    pub max_kbps: u32,
}

impl Default for HlsProfile {
    fn default() -> Self {
        let rung = |height, max_kbps| HlsRung { height, max_kbps };
        Self {
            enabled: true,
            segment_seconds: 6.0,
            rungs: vec![
                rung(1080, 6000),
                rung(720, 3500),
                rung(480, 1500),
                rung(360, 800),
            ],
        }
    }
}

/// Limits on untrusted input, checked before decoding and enforced on the pipeline process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest width or height accepted.
    pub max_dimension: u32,
    /// Largest width × height accepted (heritage masters of 200 MP are normal).
    pub max_pixels: u64,
    /// Longest video accepted, in seconds.
    pub max_duration_seconds: f64,
    /// Most streams a video container may have (real masters have a handful).
    pub max_streams: u32,
    /// The most resident memory the pipeline process may use, in MiB (what it holds at start,
    /// about 50 MiB of libraries, included): masters whose decoding would need more are refused
    /// before decoding, and a pipeline that grows past it is stopped (`limits_exceeded`).
    pub memory_mib: u64,
    /// Wall-clock limit of one pipeline run, in seconds.
    pub timeout_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_dimension: 65_000,
            max_pixels: 400_000_000,
            max_duration_seconds: 12.0 * 3600.0,
            max_streams: 64,
            memory_mib: 12 * 1024,
            timeout_seconds: 4 * 3600,
        }
    }
}
