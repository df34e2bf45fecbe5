//! Opening a master for FFmpeg: only local files, only the containers of real masters, and
//! reading its packets past damaged regions.

use std::path::Path;

use ff::{format, Dictionary, Packet};
use ffmpeg_next as ff;

/// Demuxers a master may use; anything else (playlists, concat lists, images) is refused.
const ALLOWED_DEMUXERS: &str =
    "matroska,webm,mov,mp4,m4a,3gp,3g2,mj2,avi,dv,mxf,mpegts,mpeg,ogg,flv,wav,aiff";

/// Local files in the containers of real masters, nothing else.
pub fn open_options() -> Dictionary<'static> {
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", ALLOWED_DEMUXERS);
    options
}

/// The next packet of the master, in a fresh packet (`av_read_frame` does not release what a
/// reused packet held: one packet across reads leaked every packet of the master, measured at
/// 73 MiB per second of a 1080p FFV1 master). Damaged regions are skipped; `None` at the end, or
/// after `max_damaged` damaged reads in a row (a file that is only damage).
pub fn next_packet(ictx: &mut format::context::Input, max_damaged: u32) -> Option<Packet> {
    let mut damaged = 0;
    loop {
        let mut packet = Packet::empty();
        match packet.read(ictx) {
            Ok(()) => return Some(packet),
            Err(ff::Error::Eof) => return None,
            Err(_) if damaged < max_damaged => damaged += 1,
            Err(_) => return None,
        }
    }
}

/// Opens `input` with [`open_options`].
pub fn open(input: &Path) -> Result<format::context::Input, ff::Error> {
    format::input_with_dictionary(&input, open_options())
}
