use super::*;
use uuid::Uuid;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn sample_job() -> Job {
    Job {
        v: PROTO_VERSION,
        job_id: Uuid::nil(),
        batch_id: BatchId::parse("b1").unwrap(),
        asset_id: AssetId::parse(SHA).unwrap(),
        master: MasterLocation::Store {
            key: keys::master(&AssetId::parse(SHA).unwrap()),
        },
        master_size: 4,
        media_type: "image/jpeg".into(),
        kind: JobKind::Image,
        profile: ProfileName::default_profile(),
        attempt: 1,
        source_name: Some("Bildnis einer Frau — 婦人像.tif".into()),
        submitted_at: chrono::Utc::now(),
        metadata: Default::default(),
        subtitles: Vec::new(),
    }
}

#[test]
fn job_round_trips() {
    let job = sample_job();
    let json = serde_json::to_string(&job).unwrap();
    assert_eq!(serde_json::from_str::<Job>(&json).unwrap(), job);
}

/// A job as the very first binary wrote it: no `v`, `attempt`, `source_name` or
/// `submitted_at`. It must still parse, with defaults for what it lacks.
#[test]
fn old_job_without_later_fields_still_parses() {
    let old = format!(
        r#"{{"job_id":"00000000-0000-0000-0000-000000000000","batch_id":"b1",
            "asset_id":"{SHA}","master":{{"type":"store","key":"masters/{SHA}"}},
            "master_size":4,"media_type":"image/png","kind":"image","profile":"default"}}"#
    );
    let job: Job = serde_json::from_str(&old).unwrap();
    assert_eq!(job.v, PROTO_VERSION);
    assert_eq!(job.attempt, 1);
    assert_eq!(job.source_name, None);
    assert_eq!(job.kind, JobKind::Image);
}

/// A message from a newer binary, with fields this one does not know, still parses.
#[test]
fn newer_messages_with_unknown_fields_parse() {
    let mut value = serde_json::to_value(sample_job()).unwrap();
    value["v"] = 7.into();
    value["priority"] = "high".into();
    let job: Job = serde_json::from_value(value).unwrap();
    assert_eq!(job.v, 7);

    let event = r#"{"job_id":"00000000-0000-0000-0000-000000000000","batch_id":"b1",
        "asset_id":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "body":{"type":"paused","reason":"maintenance"}, "shard": 3}"#;
    let event: JobEvent = serde_json::from_str(event).unwrap();
    assert_eq!(event.body, EventBody::Unknown);
    assert!(!event.body.is_terminal());
}

#[test]
fn old_receipt_without_master_info_parses() {
    let receipt = format!(
        r#"{{"asset_id":"{SHA}","kind":"image","master_size":4,"master_media_type":"image/png",
        "profile":"default","outputs":[{{"name":"access.jpg","key":"k","size":1,"sha256":"00",
        "media_type":"image/jpeg","width":10,"height":5}}],
        "parameters":{{"name":"default"}},"tools":{{"caravan":"0.1.0"}},
        "job_id":"00000000-0000-0000-0000-000000000000",
        "started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z"}}"#
    );
    let receipt: Receipt = serde_json::from_str(&receipt).unwrap();
    assert!(receipt.master_info.is_empty());
    assert_eq!(receipt.parameters, Profile::default());
    assert_eq!(receipt.outputs[0].width, Some(10));
}

#[test]
fn identifiers_refuse_anything_that_could_escape_a_key() {
    for bad in [
        "",
        "..",
        "../etc",
        "a/b",
        ".hidden",
        "a\0b",
        "sp ace",
        &"x".repeat(200),
    ] {
        assert!(
            ProfileName::parse(bad).is_err(),
            "{bad:?} accepted as profile"
        );
        assert!(BatchId::parse(bad).is_err(), "{bad:?} accepted as batch id");
        // Output names may nest ("iiif/…/default.jpg"); every other entry stays invalid.
        assert!(
            bad == "a/b" || OutputName::parse(bad).is_err(),
            "{bad:?} accepted as output name"
        );
    }
    for bad in ["/abs", "a//b", "a/../b", "a/./b", "a/", "iiif/.hidden"] {
        assert!(
            OutputName::parse(bad).is_err(),
            "{bad:?} accepted as output name"
        );
    }
    assert!(OutputName::parse("iiif/0,0,512,512/512,512/0/default.jpg").is_ok());
    assert!(AssetId::parse(SHA.to_uppercase()).is_err());
    assert!(AssetId::parse(&SHA[1..]).is_err());
    let json = format!(r#""{}""#, "../../etc/passwd");
    assert!(serde_json::from_str::<AssetId>(&json).is_err());
}

#[test]
fn keys_follow_the_documented_layout() {
    let asset = AssetId::parse(SHA).unwrap();
    let profile = ProfileName::default_profile();
    let output = OutputName::parse("access.jpg").unwrap();
    assert_eq!(keys::master(&asset), format!("masters/{SHA}"));
    assert_eq!(
        keys::derivative(&asset, &profile, &output),
        format!("derivatives/{SHA}/default/access.jpg")
    );
    assert_eq!(
        keys::receipt(&asset, &profile),
        format!("receipts/{SHA}/default.json")
    );
    assert_eq!(
        keys::batch(&BatchId::parse("b-1").unwrap()),
        "batches/b-1.json"
    );
    assert_eq!(
        keys::receipt_signature(&asset, &profile),
        format!("receipts/{SHA}/default.json.sig")
    );
    assert_eq!(
        keys::inclusion_proof_of_receipt(&format!("receipts/{SHA}/default.json")),
        Some(format!("log/proofs/{SHA}/default.json"))
    );
    assert_eq!(
        keys::log_entry(7, "ab"),
        "log/entries/00000000000000000007-ab.json"
    );
    assert_eq!(
        keys::tree_head(12),
        "log/tree-heads/00000000000000000012.json"
    );
    assert_eq!(keys::public_key("0123"), "keys/0123.pub");
    // And back: a key names its asset and profile, or nothing.
    assert_eq!(
        keys::parse_receipt(&format!("receipts/{SHA}/default.json")),
        Some((asset.clone(), profile.clone()))
    );
    assert_eq!(
        keys::parse_derivative(&format!(
            "derivatives/{SHA}/default/iiif/0,0,512,512/512,/0/default.jpg"
        )),
        Some((asset.clone(), profile.clone()))
    );
    assert_eq!(keys::parse_receipt("receipts/../default.json"), None);
    assert_eq!(
        keys::parse_derivative(&format!("derivatives/{SHA}/default")),
        None
    );
}

#[test]
fn topology_names_carry_the_prefix() {
    let t = Topology::new("test-42").unwrap();
    assert_eq!(t.job_queue(JobKind::Video), "test-42.jobs.video");
    assert_eq!(t.dead_letter_queue(), "test-42.dead");
    assert!(Topology::new("a b").is_err());
}

#[test]
fn generated_batch_ids_are_valid_and_distinct() {
    let a = BatchId::generate();
    let b = BatchId::generate();
    assert_ne!(a, b);
    assert!(BatchId::parse(a.as_str()).is_ok());
}
