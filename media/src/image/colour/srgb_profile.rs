//! The sRGB ICC profile every derivative embeds: valid and the same bytes in every run.

use moxcms::ColorProfile;

/// The sRGB ICC profile embedded in every derivative: moxcms's v4 sRGB profile, made valid
/// and reproducible by [`normalise_icc`].
pub fn srgb_icc() -> &'static [u8] {
    static ICC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ICC.get_or_init(|| {
        ColorProfile::new_srgb()
            .encode()
            .map(normalise_icc)
            .unwrap_or_default()
    })
}

/// The ICC creation date every derivative's profile carries (2026-01-01 00:00:00): a profile
/// stamped with the time it was made would give every run different bytes.
const ICC_DATE: [u16; 6] = [2026, 1, 1, 0, 0, 0];

/// Fixes what moxcms's encoder writes against the ICC specification (ICC.1:2022) and
/// reproducibility: the profile-connection-space illuminant must be D50 exactly (it writes a
/// computed near-D50 that libpng rejects), each tag must start on a 4-byte boundary (it packs
/// them), and the creation date is the current time (set to [`ICC_DATE`]). Tag data is laid
/// out again in table order, shared data kept shared; the profile ID is left 0 (not computed).
pub fn normalise_icc(icc: Vec<u8>) -> Vec<u8> {
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(icc.get(at..at + 4)?.try_into().ok()?))
    };
    let Some(count) = be32(128) else { return icc };
    let mut tags = Vec::new();
    for k in 0..count as usize {
        let at = 132 + 12 * k;
        let (Some(sig), Some(offset), Some(size)) = (be32(at), be32(at + 4), be32(at + 8)) else {
            return icc;
        };
        if icc.get(offset as usize..(offset + size) as usize).is_none() {
            return icc;
        }
        tags.push((sig, offset as usize, size as usize));
    }
    let mut out = icc[..128].to_vec();
    // D50 in s15Fixed16Number: 0.9642, 1.0, 0.8249.
    for (k, v) in [0x0000_F6D6u32, 0x0001_0000, 0x0000_D32D]
        .iter()
        .enumerate()
    {
        out[68 + 4 * k..72 + 4 * k].copy_from_slice(&v.to_be_bytes());
    }
    for (k, v) in ICC_DATE.iter().enumerate() {
        out[24 + 2 * k..26 + 2 * k].copy_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&count.to_be_bytes());
    let table = out.len();
    out.resize(table + 12 * tags.len(), 0);
    let mut placed: Vec<((usize, usize), usize)> = Vec::new();
    for (k, &(sig, offset, size)) in tags.iter().enumerate() {
        let new_offset = match placed.iter().find(|(old, _)| *old == (offset, size)) {
            Some(&(_, at)) => at,
            None => {
                while !out.len().is_multiple_of(4) {
                    out.push(0);
                }
                let at = out.len();
                out.extend_from_slice(&icc[offset..offset + size]);
                placed.push(((offset, size), at));
                at
            }
        };
        let entry = table + 12 * k;
        out[entry..entry + 4].copy_from_slice(&sig.to_be_bytes());
        out[entry + 4..entry + 8].copy_from_slice(&(new_offset as u32).to_be_bytes());
        out[entry + 8..entry + 12].copy_from_slice(&(size as u32).to_be_bytes());
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    let size = out.len() as u32;
    out[0..4].copy_from_slice(&size.to_be_bytes());
    out
}
