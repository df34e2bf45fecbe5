//! Waits for a batch's jobs to end. Events drive the progress bar; the store is checked now and
//! then, so a lost event (or a scheduler that subscribed late) cannot make the wait endless.

use std::collections::HashMap;
use std::time::Duration;

use caravan_proto::{keys, AssetId, BatchId, BatchIndex, Disposition, EventBody, ProfileName};
use caravan_queue::{EventStream, Queue};
use caravan_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::status::failure_record;
use crate::SchedulerError;

/// The jobs a wait is for: each queued job's asset and file name.
pub type Pending = HashMap<Uuid, (AssetId, String)>;

/// The queued jobs of `index`.
pub fn pending_of(index: &BatchIndex) -> Pending {
    (index.entries.iter())
        .filter_map(|e| match (&e.disposition, &e.asset_id) {
            (Disposition::Queued { job_id }, Some(asset)) => {
                Some((*job_id, (asset.clone(), e.source_name.clone())))
            }
            _ => None,
        })
        .collect()
}

/// Returns when every job of `pending` (of `batch`, under `profile`) has a receipt or a
/// failure record.
///
/// If the event stream is lost (a broker restart), it is subscribed again at the next store
/// check.
pub async fn follow(
    store: &Store,
    queue: &Queue,
    mut events: Option<EventStream>,
    batch: &BatchId,
    profile: &ProfileName,
    mut pending: Pending,
    bar: &ProgressBar,
) -> Result<(), SchedulerError> {
    bar.set_length(pending.len() as u64);
    bar.set_position(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {wide_msg}",
        )
        .expect("the template is valid"),
    );
    // Scales with the batch, so a batch of 10,000 does not HEAD 10,000 objects every few seconds.
    let poll = Duration::from_secs((2 + pending.len() as u64 / 200).min(60));
    let mut next_poll = tokio::time::Instant::now() + poll;

    while !pending.is_empty() {
        let event = match events.as_mut() {
            Some(stream) => tokio::select! {
                event = stream.next() => Some(event),
                _ = tokio::time::sleep_until(next_poll) => None,
            },
            None => {
                tokio::time::sleep_until(next_poll).await;
                None
            }
        };
        match event {
            Some(Some(Ok(event))) => {
                let name = pending
                    .get(&event.job_id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                match &event.body {
                    EventBody::Progress { percent } => {
                        bar.set_message(format!("{name}: {percent:.0}%"))
                    }
                    EventBody::Started { .. } => {
                        bar.set_message(format!("{name}: started on {}", event.worker))
                    }
                    EventBody::Failed {
                        code,
                        retryable: true,
                        ..
                    } => bar.set_message(format!("{name}: {code}, retrying")),
                    body if body.is_terminal() && pending.remove(&event.job_id).is_some() => {
                        bar.inc(1)
                    }
                    _ => {}
                }
            }
            Some(Some(Err(e))) => {
                tracing::warn!(error = %e, "Lost the event stream; following the batch through the store instead");
                events = None;
            }
            Some(None) => events = None,
            None => {
                if events.is_none() {
                    match queue.subscribe_events(batch).await {
                        Ok(stream) => events = Some(stream),
                        Err(e) => tracing::debug!(error = %e, "Cannot subscribe to events yet"),
                    }
                }
                let mut finished = Vec::new();
                for (job_id, (asset, _)) in &pending {
                    let receipt = store.size_of(&keys::receipt(asset, profile)).await?;
                    let failure = || async {
                        let record = failure_record(store, asset, profile).await?;
                        Ok::<_, SchedulerError>(record.is_some_and(|f| f.job_id == *job_id))
                    };
                    if receipt.is_some() || failure().await? {
                        finished.push(*job_id);
                    }
                }
                for job_id in finished {
                    pending.remove(&job_id);
                    bar.inc(1);
                }
                next_poll = tokio::time::Instant::now() + poll;
            }
        }
    }
    bar.finish_and_clear();
    Ok(())
}
