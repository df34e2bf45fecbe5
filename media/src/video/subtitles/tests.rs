use caravan_proto::SubtitleFormat;

use crate::video::subtitles::{language_of, to_webvtt};

const SRT: &str = "1\r\n00:00:00,500 --> 00:00:01,800\r\nสวัสดี\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,250\r\nผ้าไหม\r\n";

#[test]
fn subrip_becomes_webvtt_with_its_text_and_timings() {
    let (vtt, cues) = to_webvtt(SRT.as_bytes(), SubtitleFormat::Srt, 4.0).unwrap();
    assert_eq!(cues, 2);
    assert_eq!(
        vtt,
        "WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.800\nสวัสดี\n\n2\n00:00:02.000 --> 00:00:03.250\nผ้าไหม\n"
    );
}

#[test]
fn webvtt_is_kept_as_written_with_its_settings() {
    let text = "\u{feff}WEBVTT - Arabic\n\n00:01.000 --> 00:02.500 align:start\nخيوط الحرير\n";
    let (vtt, cues) = to_webvtt(text.as_bytes(), SubtitleFormat::Vtt, 3.0).unwrap();
    assert_eq!(cues, 1);
    assert_eq!(
        vtt,
        "WEBVTT\n\n00:01.000 --> 00:02.500 align:start\nخيوط الحرير\n"
    );
}

#[test]
fn broken_sidecars_are_refused_naming_the_line() {
    let refused = |bytes: &[u8], format, duration| to_webvtt(bytes, format, duration).unwrap_err();
    let latin1 = b"1\n00:00:00,500 --> 00:00:01,000\nd\xe9j\xe0 vu\n";
    assert!(refused(latin1, SubtitleFormat::Srt, 4.0).contains("line 3: not UTF-8"));
    let late = SRT.replace(
        "00:00:02,000 --> 00:00:03,250",
        "00:00:09,000 --> 00:00:10,000",
    );
    let message = refused(late.as_bytes(), SubtitleFormat::Srt, 4.0);
    assert!(
        message.contains("line 6") && message.contains("after the master ends"),
        "{message}"
    );
    let backwards = SRT.replace(
        "00:00:00,500 --> 00:00:01,800",
        "00:00:01,800 --> 00:00:00,500",
    );
    assert!(
        refused(backwards.as_bytes(), SubtitleFormat::Srt, 4.0).contains("ends before it starts")
    );
    let garbled = SRT.replace("00:00:00,500", "0:0:0.5");
    assert!(refused(garbled.as_bytes(), SubtitleFormat::Srt, 4.0).contains("not a cue time"));
    assert!(
        refused(b"00:01.000 --> 00:02.000\nhi\n", SubtitleFormat::Vtt, 4.0)
            .contains("starts with \"WEBVTT\"")
    );
    assert!(refused(b"just text\n", SubtitleFormat::Srt, 4.0).contains("no cues"));
}

#[test]
fn outputs_name_their_language() {
    assert_eq!(language_of("subtitles/th.vtt"), Some("th"));
    assert_eq!(language_of("subtitles/zh-Hant.vtt"), Some("zh-Hant"));
    assert_eq!(language_of("access.mp4"), None);
}
