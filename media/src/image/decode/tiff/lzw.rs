//! TIFF's LZW (compression 5), decoded by copying each code's string from where it was first
//! written in the output, as fast LZW decoders do: every string in the table is an earlier
//! code's string plus one byte, and that string already stands in the output, contiguous. A
//! code is a short copy instead of a walk along a chain of prefixes — about twice the speed of
//! the `weezl` decoder the `tiff` crate uses, which was two thirds of the time to make the
//! access set of an LZW master.
//!
//! Codes are 9 to 12 bits, most significant bit first; the width grows one code early (TIFF's
//! "early change"); 256 clears the table, 257 ends the strip.

/// Why a strip does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LzwError {
    /// A code not yet in the table.
    BadCode { code: u16, at_byte: usize },
    /// The data ended (or an end code came) before `expected` bytes were decoded.
    Short { decoded: usize, expected: usize },
    /// LZW as written before TIFF 6.0 (codes least significant bit first), which libtiff
    /// still reads; it would decode here into wrong pixels, not fail.
    OldStyle,
}

impl std::fmt::Display for LzwError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LzwError::BadCode { code, at_byte } => {
                write!(f, "LZW code {code} at byte {at_byte} is not in the table")
            }
            LzwError::Short { decoded, expected } => {
                write!(f, "LZW data decodes to {decoded} bytes of {expected}")
            }
            LzwError::OldStyle => write!(
                f,
                "old-style LZW (before TIFF 6.0) is not supported; rewrite the master with a current TIFF writer (tiffcp -c lzw)"
            ),
        }
    }
}

const CLEAR: u16 = 256;
const END: u16 = 257;
const FIRST_FREE: u16 = 258;
const MAX_CODES: usize = 4096;

/// Room past the end of the output, so that short strings are copied 8 or 16 bytes at a time.
const SLACK: usize = 16;

/// Decodes `input` into `expected` bytes (a chunk's exact size); more data than that is
/// ignored, as libtiff does.
pub fn decode(input: &[u8], expected: usize) -> Result<Vec<u8>, LzwError> {
    // A current stream opens with a clear code, most significant bit first (0x80); an old-style
    // one with a clear code least significant bit first (00 01), as libtiff tells them apart.
    if input.len() >= 2 && input[0] == 0 && input[1] & 1 == 1 {
        return Err(LzwError::OldStyle);
    }
    let mut out = vec![0u8; expected + SLACK];
    // Where each code's string starts in `out`, and its length (literals are not stored).
    let mut table = vec![(0u32, 0u32); MAX_CODES];
    let mut width = 9u32;
    let mut next = FIRST_FREE;
    // The previous code's string: where it was written and its length (none after a clear).
    let mut previous: Option<(usize, usize)> = None;
    let (mut bits, mut held) = (0u64, 0u32);
    let mut read = 0usize;
    let mut pos = 0usize;
    while pos < expected {
        if held < width {
            if let Some(four) = input.get(read..read + 4) {
                bits =
                    (bits << 32) | u64::from(u32::from_be_bytes(four.try_into().expect("4 bytes")));
                read += 4;
                held += 32;
            } else {
                while held <= 56 && read < input.len() {
                    bits = (bits << 8) | u64::from(input[read]);
                    read += 1;
                    held += 8;
                }
                if held < width {
                    break;
                }
            }
        }
        held -= width;
        let code = ((bits >> held) & ((1 << width) - 1)) as u16;
        if code == CLEAR {
            width = 9;
            next = FIRST_FREE;
            previous = None;
            continue;
        }
        if code == END {
            break;
        }
        let room = expected - pos;
        let len = if code < CLEAR {
            out[pos] = code as u8;
            1
        } else if code < next {
            let (from, len) = table[usize::from(code)];
            let len = (len as usize).min(room);
            copy_string(&mut out, from as usize, pos, len);
            len
        } else if code == next {
            // The string being defined: the previous one and its own first byte.
            let Some((from, len)) = previous else {
                return Err(LzwError::BadCode {
                    code,
                    at_byte: read,
                });
            };
            copy_string(&mut out, from, pos, len.min(room));
            if len < room {
                out[pos + len] = out[from];
            }
            (len + 1).min(room)
        } else {
            return Err(LzwError::BadCode {
                code,
                at_byte: read,
            });
        };
        // The new entry: the previous string and this one's first byte, which follow each
        // other in the output.
        if let Some((prev_from, prev_len)) = previous {
            if usize::from(next) < MAX_CODES {
                table[usize::from(next)] = (prev_from as u32, prev_len as u32 + 1);
                next += 1;
                if u32::from(next) + 1 >= 1 << width && width < 12 {
                    width += 1;
                }
            }
        }
        previous = Some((pos, len));
        pos += len;
    }
    if pos < expected {
        return Err(LzwError::Short {
            decoded: pos,
            expected,
        });
    }
    out.truncate(expected);
    Ok(out)
}

/// Copies `len` bytes of `out` from `from` to `to` (`from + len <= to`; up to [`SLACK`] bytes
/// past `to + len` may be overwritten).
#[inline]
fn copy_string(out: &mut [u8], from: usize, to: usize, len: usize) {
    let word = |out: &[u8], at: usize| u64::from_ne_bytes(out[at..at + 8].try_into().expect("8"));
    if len <= 8 {
        let v = word(out, from);
        out[to..to + 8].copy_from_slice(&v.to_ne_bytes());
    } else if len <= 16 {
        let (a, b) = (word(out, from), word(out, from + 8));
        out[to..to + 8].copy_from_slice(&a.to_ne_bytes());
        out[to + 8..to + 16].copy_from_slice(&b.to_ne_bytes());
    } else {
        out.copy_within(from..from + len, to);
    }
}

#[cfg(test)]
mod tests;
