//! A TIFF read band by band into the pyramid ([`crate::image::stream`]): one reader per core,
//! each on its own file and decoder, reading every n-th band.

use std::collections::BTreeMap;

use caravan_proto::Profile;
use image::DynamicImage;

use super::bands::Bands;
use super::header::Header;
use crate::error::PipelineError;
use crate::image::decoded::describe;
use crate::image::pyramid::Pyramid;
use crate::image::stream::{self, BandSource, StreamedMaster};

/// A TIFF the band reader takes, and its header.
#[derive(Debug)]
pub struct TiffStream {
    pub bands: Bands,
    pub header: Header,
}

impl BandSource for Bands {
    fn next_band(&mut self) -> Result<Option<DynamicImage>, PipelineError> {
        Bands::next_band(self)
    }
}

impl TiffStream {
    /// Memory reading it takes at most ([`stream::needed_bytes`]).
    pub fn needed_bytes(&self, profile: &Profile) -> u64 {
        let (w, h) = (self.header.width, self.header.height);
        let band = (self.bands.band_height(), self.bands.band_bytes());
        stream::needed_bytes((w, h), band, 0, profile)
    }
}

impl StreamedMaster for TiffStream {
    fn dimensions(&self) -> (u32, u32) {
        (self.header.width, self.header.height)
    }

    fn read_into(
        self: Box<Self>,
        pyramid: &mut Pyramid<'_>,
        progress: &mut dyn FnMut(f32),
    ) -> Result<BTreeMap<String, serde_json::Value>, PipelineError> {
        let TiffStream { bands, header } = *self;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let readers = bands.split(cores)?;
        let read = stream::stream_into(
            readers,
            header.icc.as_deref(),
            header.height,
            pyramid,
            progress,
        )?;
        let mut info = describe(
            "tiff",
            (header.width, header.height),
            read.color,
            image::metadata::Orientation::NoTransforms,
            &read.colour,
        );
        if header.planar.is_some() {
            info.insert("planar".to_owned(), "separate planes".into());
        }
        info.insert("read".to_owned(), "band by band".into());
        Ok(info)
    }
}
