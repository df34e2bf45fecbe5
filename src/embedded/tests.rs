use caravan_proto::ProfileName;
use caravan_worker::{Isolation, WorkerConfig};
use tokio_util::sync::CancellationToken;

fn sample_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    caravan_testkit::fixtures::small_submission(dir.path());
    dir
}

fn options() -> caravan_scheduler::SubmitOptions {
    caravan_scheduler::SubmitOptions {
        profile: ProfileName::default_profile(),
        masters: caravan_scheduler::MasterMode::InPlace,
        wait: true,
        progress: false,
        retry_failed: false,
        language: None,
        uploads: caravan_scheduler::submit::DEFAULT_UPLOADS,
        resume: None,
        resume_unfinished: false,
        stop: Default::default(),
    }
}

fn config(scratch: &std::path::Path) -> WorkerConfig {
    let mut config = WorkerConfig::new(Isolation::InProcess);
    config.slots = 2;
    config.scratch_dir = scratch.to_owned();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_run_processes_a_folder_and_a_second_run_queues_nothing() {
    let dir = sample_folder();
    let out = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();

    let first = super::run(
        dir.path(),
        out.path(),
        config(scratch.path()),
        options(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(first.is_complete(), "{first}");
    let mut done: Vec<_> = first.done.iter().map(|i| i.source_name.as_str()).collect();
    done.sort();
    assert_eq!(done, vec!["a.png", "sub/b — 写真.jpg"], "{first}");
    assert_eq!(first.duplicates.len(), 2, "{first}");
    assert_eq!(first.failed.len(), 1, "{first}");
    assert_eq!(first.failed[0].source_name, "broken.jpg");
    assert_eq!(first.failed[0].code, "undecodable_input");
    assert_eq!(first.rejected.len(), 1);
    assert_eq!(first.rejected[0].code, "unsupported_format");

    let second = super::run(
        dir.path(),
        out.path(),
        config(scratch.path()),
        options(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(second.done.is_empty(), "{second}");
    assert_eq!(second.already_done.len(), 2, "{second}");
    assert_eq!(second.failed.len(), 1, "{second}");
    assert!(
        second.failed[0].message.contains("earlier batch"),
        "{second}"
    );
    let index = caravan_scheduler::status::load_index(
        &caravan_store::Store::Local(caravan_store::LocalStore::new(out.path())),
        &caravan_proto::BatchId::parse(&second.batch_id).unwrap(),
    )
    .await
    .unwrap();
    assert!(!index
        .entries
        .iter()
        .any(|e| matches!(e.disposition, caravan_proto::Disposition::Queued { .. })));
}
