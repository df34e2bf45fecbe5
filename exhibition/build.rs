//! Finds the offline viewer's libraries (OpenSeadragon, hls.js), installed from the npm
//! registry into `viewer/node_modules` by `scripts/setup.sh` as `viewer/package-lock.json`
//! pins them, so `src/viewer.rs` can embed them in the binary: a pack's viewer never loads
//! anything from the internet, and the binary needs no files beside it.

use std::path::Path;

/// (environment variable read by `src/viewer.rs`, file below `viewer/node_modules`)
const LIBRARIES: &[(&str, &str)] = &[
    (
        "CARAVAN_VIEWER_OPENSEADRAGON",
        "openseadragon/build/openseadragon/openseadragon.min.js",
    ),
    (
        "CARAVAN_VIEWER_OPENSEADRAGON_LICENSE",
        "openseadragon/LICENSE.txt",
    ),
    ("CARAVAN_VIEWER_HLS", "hls.js/dist/hls.min.js"),
    ("CARAVAN_VIEWER_HLS_LICENSE", "hls.js/LICENSE"),
];

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
    let modules = Path::new(&manifest_dir).join("viewer/node_modules");
    println!("cargo:rerun-if-changed=viewer/package-lock.json");
    println!("cargo:rerun-if-changed=viewer/node_modules/.package-lock.json");
    for (variable, file) in LIBRARIES {
        let path = modules.join(file);
        if !path.is_file() {
            panic!(
                "{} is missing: the exhibition viewer's npm packages are not installed; run \
                 scripts/setup.sh (or `npm ci` in exhibition/viewer)",
                path.display()
            );
        }
        println!("cargo:rerun-if-changed={}", path.display());
        println!("cargo:rustc-env={variable}={}", path.display());
    }
    for (variable, package) in [
        ("CARAVAN_VIEWER_OPENSEADRAGON_VERSION", "openseadragon"),
        ("CARAVAN_VIEWER_HLS_VERSION", "hls.js"),
    ] {
        let path = modules.join(package).join("package.json");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let version = parsed["version"].as_str().unwrap_or("unknown");
        println!("cargo:rustc-env={variable}={version}");
    }
}
