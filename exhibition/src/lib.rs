//! `caravan-exhibition`: an exhibition's works delivered to its sites. `caravan exhibition
//! build <file>` reads the exhibition file ([`file`]), finds its works in the store's batch
//! indexes ([`works`]) and writes one pack per site ([`pack`]): a BagIt 1.0 bag ([`bagit`])
//! whose payload holds the site's derivatives, their receipts, the IIIF manifests and image
//! services re-addressed under the site's base URL with labels in the site's languages
//! ([`rebase`]), a IIIF Collection of the exhibition, and an offline viewer ([`viewer`]).
//! `caravan exhibition share` gives a site one expiring link to its pack ([`share`]).
//!
//! # Invariants
//! - Reads receipts and derivatives from the store and never changes them; a pack is written
//!   whole into a staging folder before it is stored under `packs/<exhibition>/<site>/` (or
//!   left in the `--out` folder).
//! - [`unprocessed`] names the (work, site profile) pairs with neither a receipt nor a failure
//!   record, for the caller to process first; a pack is built only from receipts — a work
//!   still without one stops the build, naming it, and a work whose processing failed is left
//!   out and reported.
//! - Every payload file is in the bag's SHA-256 manifest; a file changed from the store's
//!   bytes (a manifest or `info.json` re-addressed) is listed in `data/rebased.json` with the
//!   receipt's SHA-256 of the original.

pub mod bagit;
mod error;
pub mod file;
pub mod pack;
pub mod rebase;
pub mod share;
pub mod viewer;
pub mod works;

pub use error::ExhibitionError;
pub use file::{Exhibition, Site};
pub use pack::{Destination, PackSummary};

use caravan_store::Store;

/// Works of the exhibition never processed with one of its sites' profiles.
#[derive(Debug, Clone)]
pub struct Unprocessed {
    pub profile: caravan_proto::ProfileName,
    /// The sites showing the works with that profile.
    pub sites: Vec<String>,
    pub works: Vec<works::Work>,
}

/// For each profile of the exhibition's sites (in the sites' order, each once), the works
/// with neither a receipt nor a failure record for it; profiles with none are left out.
pub async fn unprocessed(
    store: &Store,
    exhibition: &Exhibition,
    works: &[works::Work],
) -> Result<Vec<Unprocessed>, ExhibitionError> {
    let mut todo: Vec<Unprocessed> = Vec::new();
    for site in &exhibition.sites {
        if let Some(known) = todo.iter_mut().find(|t| t.profile == site.profile) {
            known.sites.push(site.id.clone());
            continue;
        }
        let mut missing = Vec::new();
        for work in works {
            if works::unprocessed(store, work, &site.profile).await? {
                missing.push(work.clone());
            }
        }
        todo.push(Unprocessed {
            profile: site.profile.clone(),
            sites: vec![site.id.clone()],
            works: missing,
        });
    }
    todo.retain(|t| !t.works.is_empty());
    Ok(todo)
}

/// Writes every site's pack of `exhibition`'s `works` ([`works::resolve`]) into `out/<site>/`
/// when given, else into the store under `packs/<exhibition>/<site>/`.
pub async fn build(
    store: &Store,
    exhibition: &Exhibition,
    works: &[works::Work],
    out: Option<&std::path::Path>,
) -> Result<Vec<PackSummary>, ExhibitionError> {
    let mut packs = Vec::new();
    for site in &exhibition.sites {
        let destination = match out {
            Some(dir) => Destination::Folder(dir.join(&site.id)),
            None => Destination::Store,
        };
        packs.push(pack::build(store, exhibition, site, works, destination).await?);
    }
    Ok(packs)
}
