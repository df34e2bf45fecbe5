use super::*;

/// The level below `image`: each pixel the rounded mean of a 2×2 block, the last column
/// and row doubled when odd, computed the obvious way.
fn halved(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    RgbImage::from_fn(w.div_ceil(2), h.div_ceil(2), |x, y| {
        let at =
            |dx: u32, dy: u32| image.get_pixel((2 * x + dx).min(w - 1), (2 * y + dy).min(h - 1));
        image::Rgb(std::array::from_fn(|c| {
            let sum: u32 = [at(0, 0), at(1, 0), at(0, 1), at(1, 1)]
                .iter()
                .map(|p| u32::from(p[c]))
                .sum();
            ((sum + 2) / 4) as u8
        }))
    })
}

#[test]
fn levels_are_the_same_however_the_rows_arrive() {
    let (w, h) = (75u32, 53u32);
    let image = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (x ^ y) as u8])
    });
    // Kept: the smallest level at least 9×6 — three halvings (10×7).
    let mut reference = image.clone();
    for _ in 0..3 {
        reference = halved(&reference);
    }
    assert_eq!(reference.dimensions(), (10, 7));
    for rows_per_push in [1usize, 2, 5, 53] {
        let mut pyramid = Pyramid::new((w, h), (9, 6), None, true);
        assert_eq!(pyramid.levels().len(), 4);
        for rows in image.as_raw().chunks(rows_per_push * w as usize * 3) {
            pyramid.push(rows).unwrap();
        }
        let (outputs, kept) = pyramid.finish().unwrap();
        assert!(outputs.is_empty());
        assert_eq!(kept.unwrap(), reference, "{rows_per_push} rows at a time");
    }
}

#[test]
fn a_pyramid_missing_rows_fails_instead_of_keeping_a_partial_level() {
    let mut pyramid = Pyramid::new((8, 8), (2, 2), None, true);
    pyramid.push(&[0; 8 * 3 * 5]).unwrap();
    assert!(pyramid.finish().is_err());
}
