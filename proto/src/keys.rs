//! The object-key layout. Every key is built here, from validated ids only.
//!
//! ```text
//! masters/<sha256>                               the master, byte for byte
//! derivatives/<sha256>/<profile>/<output name>   outputs of one profile
//! receipts/<sha256>/<profile>.json               commit record: written last
//! failures/<sha256>/<profile>.json               why the asset could not be processed
//! batches/<batch id>.json                        batch index
//! claims/<sha256>/<profile>.json                 lease of the worker processing it now
//! ```

use crate::ids::{AssetId, BatchId, OutputName, ProfileName};

pub fn master(asset: &AssetId) -> String {
    format!("masters/{asset}")
}

pub fn derivative(asset: &AssetId, profile: &ProfileName, output: &OutputName) -> String {
    format!("derivatives/{asset}/{profile}/{output}")
}

pub fn receipt(asset: &AssetId, profile: &ProfileName) -> String {
    format!("receipts/{asset}/{profile}.json")
}

pub fn failure(asset: &AssetId, profile: &ProfileName) -> String {
    format!("failures/{asset}/{profile}.json")
}

pub fn batch(batch: &BatchId) -> String {
    format!("batches/{batch}.json")
}

pub fn claim(asset: &AssetId, profile: &ProfileName) -> String {
    format!("claims/{asset}/{profile}.json")
}
