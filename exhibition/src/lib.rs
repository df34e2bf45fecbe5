//! `caravan-exhibition`: an exhibition's works delivered to its sites. `caravan exhibition
//! build <file>` reads the exhibition file ([`file`]), finds its works in the store's batch
//! indexes ([`works`]) and writes one pack per site ([`pack`]): a BagIt 1.0 bag ([`bagit`])
//! whose payload holds the site's derivatives, their receipts, the IIIF manifests and image
//! services re-addressed under the site's base URL with labels in the site's languages
//! ([`rebase`]), and a IIIF Collection of the exhibition.
//!
//! # Invariants
//! - Reads receipts and derivatives from the store and never changes them; a pack is written
//!   whole into a staging folder before it is stored under `packs/<exhibition>/<site>/` (or
//!   left in the `--out` folder).
//! - A work with no receipt for a site's profile stops the build, naming the works and the
//!   command that processes them; a work whose processing failed is left out and reported.
//! - Every payload file is in the bag's SHA-256 manifest; a file changed from the store's
//!   bytes (a manifest or `info.json` re-addressed) is listed in `data/rebased.json` with the
//!   receipt's SHA-256 of the original.

pub mod bagit;
mod error;
pub mod file;
pub mod pack;
pub mod rebase;
pub mod works;

pub use error::ExhibitionError;
pub use file::{Exhibition, Site};
pub use pack::{Destination, PackSummary};

use caravan_store::Store;

/// Writes every site's pack of `exhibition` (into `out/<site>/` when given, else into the
/// store under `packs/<exhibition>/<site>/`).
pub async fn build(
    store: &Store,
    exhibition: &Exhibition,
    out: Option<&std::path::Path>,
) -> Result<Vec<PackSummary>, ExhibitionError> {
    let works = works::resolve(store, &exhibition.assets).await?;
    let mut packs = Vec::new();
    for site in &exhibition.sites {
        let destination = match out {
            Some(dir) => Destination::Folder(dir.join(&site.id)),
            None => Destination::Store,
        };
        packs.push(pack::build(store, exhibition, site, &works, destination).await?);
    }
    Ok(packs)
}
