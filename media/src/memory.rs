//! What a process holds in memory, from Linux's `/proc/<pid>/status`: the pipeline checks what
//! it already holds against its limit, the worker watches its pipeline child with the same reading.

/// A `kB` field (`VmRSS`, `VmSize`, `VmHWM` …) of process `pid`'s status (`None`: this
/// process), in bytes; `None` where `/proc` does not tell.
pub fn status_bytes(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib << 10)
}

/// This process's resident memory, in bytes.
pub fn resident_bytes() -> Option<u64> {
    status_bytes(None, "VmRSS")
}

#[cfg(test)]
mod tests;
