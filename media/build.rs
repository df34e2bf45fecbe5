//! Records the resolved versions of the crates that shape output bytes, for receipts.

fn main() {
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    println!("cargo:rerun-if-changed={lock_path}");
    let lock = std::fs::read_to_string(lock_path).unwrap_or_default();
    for (krate, var) in [
        ("image", "CARAVAN_DEP_IMAGE"),
        ("fast_image_resize", "CARAVAN_DEP_FAST_IMAGE_RESIZE"),
        ("ffmpeg-next", "CARAVAN_DEP_FFMPEG_NEXT"),
    ] {
        let version = locked_version(&lock, krate).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env={var}={version}");
    }
}

fn locked_version(lock: &str, krate: &str) -> Option<String> {
    let needle = format!("name = \"{krate}\"\nversion = \"");
    let start = lock.find(&needle)? + needle.len();
    let end = lock[start..].find('"')?;
    Some(lock[start..start + end].to_owned())
}
