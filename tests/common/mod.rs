//! The harness every end-to-end and fault test uses (Garage's `tests/common/` is the model):
//! the real `caravan` binary ([`binary`]), the services ([`garage`]), one cluster per test
//! ([`cluster`]), the sample batch and what its runs must report ([`batch`]), every receipt
//! checked against the store and reference tools ([`receipts`]), and the hostile-input
//! generator ([`hostile`]), a worker's metrics and health endpoints ([`probe`]), signing keys and the third-party verifiers of signed outputs
//! ([`trust`]), a pack's viewer in a real browser ([`viewer`]). Generic helpers (FFmpeg fixtures, hashes, the corpus) are in
//! `caravan-testkit`.

// Each test binary uses part of the harness.
#![allow(dead_code, unused_imports)]

pub mod batch;
pub mod binary;
pub mod cluster;
pub mod garage;
pub mod hostile;
pub mod probe;
pub mod receipts;
pub mod trust;
pub mod viewer;

pub use batch::*;
pub use binary::*;
pub use cluster::Cluster;
pub use garage::*;
pub use receipts::{check_manifests, check_receipts};
