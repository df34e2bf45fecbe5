use super::*;

/// A straightforward TIFF LZW encoder (the textbook one, with early change), to check the
/// decoder against.
fn encode(data: &[u8]) -> Vec<u8> {
    use std::collections::HashMap;
    let mut out = Vec::new();
    let (mut bits, mut held) = (0u64, 0u32);
    let mut put = |code: u16, width: u32, out: &mut Vec<u8>| {
        bits = (bits << width) | u64::from(code);
        held += width;
        while held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
        }
    };
    let mut table: HashMap<Vec<u8>, u16> = HashMap::new();
    let mut width = 9;
    let mut next = FIRST_FREE;
    put(CLEAR, width, &mut out);
    let mut current: Vec<u8> = Vec::new();
    let code_of = |s: &[u8], table: &HashMap<Vec<u8>, u16>| {
        if s.len() == 1 {
            u16::from(s[0])
        } else {
            table[s]
        }
    };
    for &byte in data {
        let mut candidate = current.clone();
        candidate.push(byte);
        if candidate.len() == 1 || table.contains_key(&candidate) {
            current = candidate;
            continue;
        }
        put(code_of(&current, &table), width, &mut out);
        table.insert(candidate, next);
        next += 1;
        // The decoder adds each entry one code later than the encoder, so this is one
        // entry after the decoder's switch.
        if u32::from(next) >= 1 << width && width < 12 {
            width += 1;
        }
        if usize::from(next) == MAX_CODES - 2 {
            put(CLEAR, width, &mut out);
            table.clear();
            next = FIRST_FREE;
            width = 9;
        }
        current = vec![byte];
    }
    if !current.is_empty() {
        put(code_of(&current, &table), width, &mut out);
    }
    put(END, width, &mut out);
    if held > 0 {
        out.push((bits << (8 - held)) as u8);
    }
    out
}

#[test]
fn decodes_what_the_tiff_crate_and_a_textbook_encoder_write() {
    let mut state = 0x9e37_79b9_u32;
    let mut noisy = Vec::new();
    for k in 0..200_000u32 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Runs, repeats and noise: every kind of code, table resets, KwKwK strings.
        noisy.push(match k % 3000 {
            0..=999 => (k / 7) as u8,
            1000..=1499 => 42,
            _ => (state & 0x0f) as u8 + (k / 1000) as u8,
        });
    }
    for data in [
        noisy.clone(),
        vec![7; 10_000],
        vec![1, 2, 3],
        noisy[..1].to_vec(),
    ] {
        assert_eq!(decode(&encode(&data), data.len()).unwrap(), data);
        // The `tiff` crate's own encoder (weezl).
        let mut file = std::io::Cursor::new(Vec::new());
        let width = data.len() as u32;
        tiff::encoder::TiffEncoder::new(&mut file)
            .unwrap()
            .with_compression(tiff::encoder::Compression::Lzw)
            .write_image::<tiff::encoder::colortype::Gray8>(width, 1, &data)
            .unwrap();
        let mut decoder =
            tiff::decoder::Decoder::new(std::io::Cursor::new(file.get_ref())).unwrap();
        let offset = decoder
            .get_tag_u64_vec(tiff::tags::Tag::StripOffsets)
            .unwrap()[0] as usize;
        let count = decoder
            .get_tag_u64_vec(tiff::tags::Tag::StripByteCounts)
            .unwrap()[0] as usize;
        let strip = &file.get_ref()[offset..offset + count];
        assert_eq!(decode(strip, data.len()).unwrap(), data);
    }
}

#[test]
fn damaged_data_is_an_error_never_a_panic() {
    let data: Vec<u8> = (0..50_000u32).map(|k| (k * k / 97) as u8).collect();
    let good = encode(&data);
    // Clear (256) then 0, 1, 2 least significant bit first, as TIFF 5 writers wrote LZW.
    assert_eq!(
        decode(&[0x00, 0x01, 0x04, 0x10], 3),
        Err(LzwError::OldStyle)
    );
    assert!(matches!(
        decode(&good[..good.len() / 2], data.len()),
        Err(LzwError::Short { .. })
    ));
    let mut state = 1u32;
    for _ in 0..2000 {
        let mut bad = good.clone();
        for _ in 0..4 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = (state >> 8) as usize % bad.len();
            bad[at] ^= (state >> 24) as u8 | 1;
        }
        let _ = decode(&bad, data.len());
    }
    let mut state = 7u32;
    for _ in 0..200 {
        let random: Vec<u8> = (0..4000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        let _ = decode(&random, data.len());
    }
}
