use super::sniff;
use crate::JobKind;

#[test]
fn sniffing_reads_content_not_names() {
    type Case<'a> = (&'a [u8], Option<(&'a str, JobKind)>);
    let cases: &[Case] = &[
        (
            b"\xFF\xD8\xFF\xE0rest",
            Some(("image/jpeg", JobKind::Image)),
        ),
        (
            b"\x89PNG\r\n\x1a\nrest",
            Some(("image/png", JobKind::Image)),
        ),
        (b"II*\0rest", Some(("image/tiff", JobKind::Image))),
        (b"MM\0+rest", Some(("image/tiff", JobKind::Image))),
        (
            b"RIFF\0\0\0\0WEBPVP8 ",
            Some(("image/webp", JobKind::Image)),
        ),
        (
            b"\0\0\0\x0cjP  \r\n\x87\n",
            Some(("image/jp2", JobKind::Image)),
        ),
        (
            b"\x1a\x45\xdf\xa3rest",
            Some(("video/x-matroska", JobKind::Video)),
        ),
        (
            b"\0\0\0\x14ftypqt  ",
            Some(("video/quicktime", JobKind::Video)),
        ),
        (b"\0\0\0\x18ftypisom", Some(("video/mp4", JobKind::Video))),
        (
            b"RIFF\0\0\0\0AVI LIST",
            Some(("video/x-msvideo", JobKind::Video)),
        ),
        (b"plain text, named .jpg", None),
        (b"", None),
    ];
    for (head, expected) in cases {
        let got = sniff(head).map(|s| (s.media_type, s.kind));
        assert_eq!(got, *expected, "{head:?}");
    }
}
