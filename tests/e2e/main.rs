//! End-to-end tests of the whole system: the real `caravan` binary, as users run it.
//!
//! - [`embedded`]: `caravan run`, no broker, no S3;
//! - [`bulk`]: a large submission stopped half-way and resumed: each asset published once;
//! - [`cluster`]: `caravan worker` processes on RabbitMQ and Garage, fed by `caravan submit`;
//! - [`memory`]: the pipeline child under its memory limit, measured by the kernel;
//! - [`operations`]: what operators watch: metrics, health and readiness, queue depths;
//! - [`deploy`]: the container image and Kubernetes manifests, checked by the tools their
//!   ecosystems use (hadolint, kubernetes-validate, KEDA's schemas, promtool);
//! - [`exhibition`]: exhibition packs, checked by bagit.py and iiif-prezi3, and their viewer
//!   in Chromium; [`exhibition_cluster`]: a site's profile applied through the cluster;
//! - [`pull`]: `caravan pull` over a flaky HTTP server, killed halfway, tampered, expired;
//! - [`share`]: `caravan exhibition share`: one presigned link per site, on Garage;
//! - [`store`]: the S3 store on a real S3 server;
//! - [`trust`]: signed receipts, content credentials, the transparency log and `caravan verify`,
//!   checked with c2pa-python and OpenSSL, and every kind of tampering detected.
//!
//! Every test makes its own bucket, queue prefix and scratch folder ([`common::Cluster`]), so
//! they run in parallel.

#[path = "../common/mod.rs"]
mod common;

mod bulk;
mod cluster;
mod deploy;
mod embedded;
mod exhibition;
mod exhibition_cluster;
mod memory;
mod operations;
mod pull;
mod share;
mod store;
mod trust;
