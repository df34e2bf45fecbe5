//! `caravan submit`: one job per new asset of a folder, a batch index, and (optionally) the
//! wait until every job has ended.
//!
//! A pipeline, so that a large submission is bounded by hashing and the link, not by round
//! trips: the folder (or store prefix) is listed (names, sizes, times), files (objects fetched
//! first; their masters then copied on the server, not uploaded) are hashed a few at a time in
//! groups ([`listing::chunks`]), and each new asset's existence checks, uploads and publish run
//! [`SubmitOptions::uploads`] at a time (publisher confirms in flight together), while the
//! batch index is written shard by shard ([`crate::index::IndexWriter`]). A bounded channel
//! between hashing and publishing keeps memory flat. Stopped (`stop`, Ctrl-C) or failed, the
//! index is left `interrupted` with everything published so far; `--resume` goes on.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use caravan_proto::{
    AssetId, BatchEntry, BatchHeader, BatchId, BatchIndex, Disposition, SubmissionState,
};
use caravan_queue::Queue;
use caravan_store::Store;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::follow::Pending;
use crate::index::IndexWriter;
use crate::listing;
use crate::metadata::{Catalogue, METADATA_FILE};
use crate::outcomes::Outcomes;
use crate::scan::{ScanOutcome, ScannedFile};
use crate::sidecars::Found;
use crate::status::{summarize, summarize_stored, Summary};
use crate::{follow, SchedulerError};

mod options;
mod publish;
mod resume;
mod unfinished;

pub use options::{MasterMode, Source, SubmitOptions, DEFAULT_UPLOADS};

use publish::{entry, Publisher};
use resume::Recorded;

/// Files hashed at the same time.
const PARALLEL_HASHES: usize = 4;

/// One step of the pipeline: the index entry it made (none for a file recorded before) and
/// the bytes it accounts for.
struct Step {
    entry: Option<BatchEntry>,
    bytes: u64,
}

type StepFuture<'a> = BoxFuture<'a, Result<Step, SchedulerError>>;

/// Submits every file of `source` and returns the batch's summary.
pub async fn submit(
    store: &Store,
    queue: &Queue,
    source: &Source,
    options: &SubmitOptions,
) -> Result<Summary, SchedulerError> {
    let bar = progress_bar(options);
    let source = &match source {
        Source::Folder(dir) => {
            Source::Folder(
                std::fs::canonicalize(dir).map_err(|e| SchedulerError::Source {
                    path: dir.clone(),
                    source: e,
                })?,
            )
        }
        other => other.clone(),
    };
    let (described, catalogue_bytes) = describe(store, source, options).await?;
    // A broker's queue keeps the jobs an interrupted submission published; the in-process
    // queue does not, so only a submission to a broker goes on with an earlier batch unasked.
    let durable = matches!(queue, Queue::Amqp(_));
    let resume = match &options.resume {
        Some(batch) => Some(batch.clone()),
        None if options.resume_unfinished && durable => {
            unfinished::find(store, &described, &options.profile).await?
        }
        None => None,
    };
    let (header, recorded) = match &resume {
        Some(batch) => {
            let (header, recorded) = Recorded::load(store, batch).await?;
            if header.source != described || header.profile != options.profile {
                return Err(SchedulerError::ResumeMismatch {
                    batch: batch.to_string(),
                    submitted: header.source,
                    profile: header.profile.to_string(),
                });
            }
            info!(batch_id = %batch, recorded = recorded.count, "Resuming the submission");
            (header, recorded)
        }
        None => (
            BatchHeader {
                v: caravan_proto::PROTO_VERSION,
                batch_id: BatchId::generate(),
                source: described.clone(),
                profile: options.profile.clone(),
                created_at: chrono::Utc::now(),
                state: SubmissionState::Submitting,
                shards: 0,
                entries: 0,
            },
            Recorded::default(),
        ),
    };
    let batch_id = header.batch_id.clone();
    let remembered = header.clone();
    let catalogue = match catalogue_bytes {
        Some(bytes) => Catalogue::parse(
            &String::from_utf8_lossy(&bytes),
            options.language.as_deref(),
        )
        .map_err(SchedulerError::Catalogue)?,
        None => Catalogue::default(),
    };
    let listing = match source {
        Source::Folder(dir) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || listing::list(&dir))
                .await
                .expect("listing does not panic")?
        }
        Source::StorePrefix(prefix) => listing::list_objects(store, prefix).await?,
    };
    check_catalogue(&catalogue, listing.iter().map(|f| f.source_name.as_str()));
    let total_bytes: u64 = listing.iter().map(|f| f.size).sum();
    info!(batch_id = %batch_id, files = listing.len(), bytes = total_bytes, source = %described, "Listed the submission");
    bar.set_length(total_bytes);

    // Subscribe before publishing, so no event of this batch is missed.
    let events = queue.subscribe_events(&batch_id).await?;
    let mut writer = match resume {
        Some(_) => IndexWriter::reopen(store, header).await?,
        None => IndexWriter::create(store, header).await?,
    };
    if durable && resume.is_none() {
        unfinished::remember(store, &remembered).await?;
    }
    let upload = options.masters == MasterMode::Upload;
    let outcomes = Outcomes::for_assets(store, &options.profile, listing.len(), upload).await?;
    let publisher = Publisher {
        store,
        queue,
        options,
        catalogue: &catalogue,
        outcomes: &outcomes,
        batch_id: &batch_id,
        uploaded: Default::default(),
        copied: Default::default(),
    };
    let in_flight = options.uploads.max(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<StepFuture<'_>>(in_flight);
    let Recorded {
        assets: seen,
        pending: recorded_pending,
        ..
    } = &recorded;
    let producer = async {
        let mut seen = seen.clone();
        let mut steps = Steps {
            tx,
            seen: &mut seen,
            publisher: &publisher,
            stop: &options.stop,
        };
        for chunk in listing::chunks(listing) {
            if !steps.chunk(chunk, &recorded).await {
                break;
            }
        }
        Ok::<(), SchedulerError>(())
    };
    let consumer = async {
        let mut pending: Pending = match options.wait {
            true => recorded_pending.clone(),
            false => HashMap::new(),
        };
        let (mut queued, mut published_files) = (0u64, 0u64);
        let mut stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|step| (step, rx))
        })
        .buffered(in_flight)
        .boxed();
        while let Some(step) = stream.next().await {
            let step = step?;
            bar.inc(step.bytes);
            published_files += 1;
            if let Some(entry) = step.entry {
                if let (Disposition::Queued { job_id }, Some(asset)) =
                    (&entry.disposition, &entry.asset_id)
                {
                    queued += 1;
                    if options.wait {
                        pending.insert(*job_id, (asset.clone(), entry.source_name.clone()));
                    }
                }
                writer.push(&entry).await?;
            }
            let uploaded = publisher.uploaded.load(Ordering::Relaxed);
            let copied = match publisher.copied.load(Ordering::Relaxed) {
                0 => String::new(),
                n => format!(", {} copied in the store", indicatif::HumanBytes(n)),
            };
            bar.set_message(format!(
                "{published_files} files, {queued} published, {} uploaded{copied}",
                indicatif::HumanBytes(uploaded)
            ));
        }
        Ok::<_, SchedulerError>((pending, queued))
    };
    let (produced, consumed) = tokio::join!(producer, consumer);
    if matches!(source, Source::StorePrefix(_)) {
        // The subtitle files fetched from the store are uploaded now (or had no video).
        let _ = std::fs::remove_dir_all(crate::scan::fetch_folder());
    }
    let interrupted = options.stop.is_cancelled() || produced.is_err() || consumed.is_err();
    let state = match interrupted {
        true => SubmissionState::Interrupted,
        false => SubmissionState::Complete,
    };
    let closed = writer.close(state).await;
    let (pending, queued) = match (produced, consumed) {
        (Err(e), _) | (_, Err(e)) => {
            warn!(batch_id = %batch_id, "The submission stopped; `caravan submit --resume {batch_id}` goes on with it");
            return Err(e);
        }
        (Ok(()), Ok(done)) => done,
    };
    closed?;
    if durable && !interrupted {
        unfinished::forget(store, &remembered).await?;
    }
    if interrupted {
        return Err(SchedulerError::Interrupted {
            batch: batch_id.to_string(),
        });
    }
    let (uploaded, copied) = (
        publisher.uploaded.load(Ordering::Relaxed),
        publisher.copied.load(Ordering::Relaxed),
    );
    info!(batch_id = %batch_id, queued, uploaded_bytes = uploaded, copied_bytes = copied, "Batch published");
    if options.wait {
        let followed = follow::follow(
            store,
            queue,
            Some(events),
            &batch_id,
            &options.profile,
            pending,
            &bar,
        );
        tokio::select! {
            followed = followed => followed?,
            _ = options.stop.cancelled() => return Err(SchedulerError::StoppedWaiting { batch: batch_id.to_string() }),
        }
    }
    bar.finish_and_clear();
    if let Err(e) = queue.unsubscribe_events(&batch_id).await {
        tracing::debug!(error = %e, "Could not remove the batch's event queue; it expires on its own");
    }
    summarize_stored(store, &batch_id).await
}

/// The submission's description (for its index) and its catalogue's bytes, if it has one.
async fn describe(
    store: &Store,
    source: &Source,
    options: &SubmitOptions,
) -> Result<(String, Option<Vec<u8>>), SchedulerError> {
    match source {
        Source::Folder(dir) => {
            let path = dir.join(METADATA_FILE);
            let catalogue = match std::fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => return Err(SchedulerError::Source { path, source }),
            };
            Ok((dir.display().to_string(), catalogue))
        }
        Source::StorePrefix(prefix) => {
            if options.masters == MasterMode::InPlace {
                return Err(SchedulerError::Source {
                    path: prefix.into(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "a store prefix needs masters in the store",
                    ),
                });
            }
            let key = format!("{}/{METADATA_FILE}", prefix.trim_end_matches('/'));
            Ok((
                format!("{} (prefix {prefix})", store.describe()),
                store.get_bytes(&key).await?,
            ))
        }
    }
}

/// Says how many catalogue rows name no file of the submission.
fn check_catalogue<'n>(catalogue: &Catalogue, names: impl Iterator<Item = &'n str>) {
    if catalogue.is_empty() {
        return;
    }
    let names: Vec<&str> = names.collect();
    let unmatched = catalogue.unmatched(&names);
    info!(
        rows = catalogue.len(),
        "Read the submission's catalogue ({METADATA_FILE})"
    );
    if !unmatched.is_empty() {
        warn!(
            rows = unmatched.len(),
            first = unmatched[0],
            "Rows of {METADATA_FILE} name no file of the submission; check their spelling"
        );
    }
}

/// The producing half of the pipeline: hashed files become steps on the channel.
struct Steps<'a, 's> {
    tx: tokio::sync::mpsc::Sender<StepFuture<'a>>,
    /// Each asset of the batch so far, by the first name it came with.
    seen: &'s mut HashMap<AssetId, String>,
    publisher: &'a Publisher<'a>,
    stop: &'s CancellationToken,
}

impl<'a> Steps<'a, '_> {
    /// Hashes a group of listed files (leaving out what `recorded` has) and sends their steps;
    /// `false` once the submission is to stop.
    async fn chunk(&mut self, chunk: Vec<listing::Listed>, recorded: &Recorded) -> bool {
        let mut fresh = Vec::new();
        let mut videos_done = std::collections::HashSet::new();
        for file in chunk {
            match recorded.unchanged(&file) {
                Some(video) => {
                    if video {
                        let name = file.source_name.rsplit('/').next().unwrap_or_default();
                        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
                        videos_done.insert(video_key(&file.source_name, stem));
                    }
                    if !self.send(ready(None, file.size)).await {
                        return false;
                    }
                }
                None => fresh.push(file),
            }
        }
        // Subtitle files of a video recorded before went with its job.
        let mut skipped = Vec::new();
        fresh.retain(|file| {
            let name = file.source_name.rsplit('/').next().unwrap_or_default();
            let of_done = caravan_proto::Sidecar::parse_name(name).is_some_and(|(stem, _, _)| {
                videos_done.contains(&video_key(&file.source_name, stem))
            });
            if of_done {
                skipped.push(file.size);
            }
            !of_done
        });
        for size in skipped {
            if !self.send(ready(None, size)).await {
                return false;
            }
        }
        let store = self.publisher.store;
        let files: Vec<ScannedFile> = futures::stream::iter(fresh)
            .map(|listed| crate::scan::examine_listed(store, listed))
            .buffered(PARALLEL_HASHES)
            .collect()
            .await;
        self.files(files).await
    }

    /// Sends the steps of scanned files (subtitle files paired with their videos first).
    async fn files(&mut self, mut files: Vec<ScannedFile>) -> bool {
        let mut subtitles = crate::sidecars::pair(&mut files);
        for file in files {
            if self.stop.is_cancelled() {
                return false;
            }
            let subtitles = subtitles.remove(&file.source_name).unwrap_or_default();
            let step = self.step(file, subtitles);
            if !self.send(step).await {
                return false;
            }
        }
        true
    }

    fn step(&mut self, file: ScannedFile, subtitles: Vec<Found>) -> StepFuture<'a> {
        let bytes = file.size + subtitles.iter().map(|s| s.size).sum::<u64>();
        let asset_id = match &file.outcome {
            ScanOutcome::Rejected { code, message } => {
                let disposition = Disposition::Rejected {
                    code: (*code).into(),
                    message: message.clone(),
                };
                return ready(Some(entry(&file, disposition)), bytes);
            }
            ScanOutcome::Media { asset_id, .. } => asset_id.clone(),
        };
        if let Some(first) = self.seen.get(&asset_id) {
            let disposition = Disposition::Duplicate { of: first.clone() };
            return ready(Some(entry(&file, disposition)), bytes);
        }
        self.seen.insert(asset_id, file.source_name.clone());
        let publisher = self.publisher;
        async move {
            let entry = publisher.publish(file, subtitles).await?;
            Ok(Step {
                entry: Some(entry),
                bytes,
            })
        }
        .boxed()
    }

    /// `false` when the publishing half has stopped (it failed).
    async fn send(&self, step: StepFuture<'a>) -> bool {
        self.tx.send(step).await.is_ok()
    }
}

/// A video's folder and stem, as its subtitle files name it (`box/film` for `box/film.mkv` and
/// `box/film.th.vtt`).
fn video_key(source_name: &str, stem: &str) -> String {
    format!("{}/{stem}", listing::folder(source_name))
}

fn ready<'a>(entry: Option<BatchEntry>, bytes: u64) -> StepFuture<'a> {
    futures::future::ready(Ok(Step { entry, bytes })).boxed()
}

/// A progress bar on stderr when `options` asks for one.
pub(crate) fn progress_bar(options: &SubmitOptions) -> ProgressBar {
    if options.progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} hashed, {bytes_per_sec}, {eta} left; {wide_msg}",
            )
            .expect("the template is valid"),
        );
        bar
    } else {
        ProgressBar::hidden()
    }
}

/// Stores `index` (a batch made whole in memory, e.g. by reprocessing, its jobs already
/// published), waits for them when `options` says so (`events`: the batch's subscription, made
/// before publishing) and returns the summary.
pub(crate) async fn finish(
    store: &Store,
    queue: &Queue,
    index: &BatchIndex,
    events: caravan_queue::EventStream,
    options: &SubmitOptions,
    bar: &ProgressBar,
) -> Result<Summary, SchedulerError> {
    let batch_id = &index.batch_id;
    crate::index::store_whole(store, index).await?;
    let pending = follow::pending_of(index);
    info!(batch_id = %batch_id, queued = pending.len(), "Batch published");
    if options.wait {
        let events = Some(events);
        follow::follow(store, queue, events, batch_id, &index.profile, pending, bar).await?;
    }
    bar.finish_and_clear();
    if let Err(e) = queue.unsubscribe_events(batch_id).await {
        tracing::debug!(error = %e, "Could not remove the batch's event queue; it expires on its own");
    }
    summarize(store, index).await
}
