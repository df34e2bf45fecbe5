//! The transparency log's sequencer: appends the receipts workers ask for, and publishes a
//! signed tree head (with the proofs it covers) once requests stop arriving for a moment, at
//! least every [`MAX_UNPUBLISHED`] while they keep coming, and before it stops. A request is
//! acknowledged only once a published head covers its entry, and the log is loaded only when
//! this sequencer becomes the active one (its first request), never from an older view.
//!
//! Every signing worker runs one; with a broker only one of them receives requests at a time
//! (the queue's single active consumer), the others wait to take over. In-process, it ends once
//! the queue is closed and drained, after publishing.

use std::sync::Arc;
use std::time::Duration;

use caravan_queue::{DeliveryHandle, LogDelivery, Queue};
use caravan_store::Store;
use caravan_trust::log::{Appended, LogWriter};
use caravan_trust::Signer;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::telemetry::Metrics;

/// How long the queue must be quiet before a tree head is published.
pub const QUIET: Duration = Duration::from_secs(2);
/// The longest entries wait for a tree head while requests keep coming.
pub const MAX_UNPUBLISHED: Duration = Duration::from_secs(30);

/// Runs until `cancel` fires (or the in-process queue is closed and drained).
pub async fn run(
    store: Store,
    queue: Queue,
    signer: Arc<Signer>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        let stream = match queue.consume_log_requests(256).await {
            Ok(stream) => stream,
            Err(e) => {
                warn!(error = %e, retry_in_s = delay.as_secs_f32(), "Cannot consume log requests");
                if wait(&cancel, &mut delay).await {
                    return;
                }
                continue;
            }
        };
        delay = Duration::from_millis(500);
        info!("Log sequencer ready (appends while it is the active consumer)");
        match sequence(&store, &signer, stream, &metrics, &cancel).await {
            Ended::Stopped => return,
            Ended::Reload => {
                if wait(&cancel, &mut delay).await {
                    return;
                }
            }
        }
    }
}

enum Ended {
    Stopped,
    Reload,
}

async fn sequence(
    store: &Store,
    signer: &Signer,
    mut stream: caravan_queue::LogStream,
    metrics: &Metrics,
    cancel: &CancellationToken,
) -> Ended {
    // The log is loaded when the first request arrives, that is when this consumer becomes the
    // active one: a view loaded while another sequencer was appending would be stale, and
    // appending from it would fork the log.
    let mut log: Option<LogWriter> = None;
    // Requests are acknowledged once a published tree head covers them: when a sequencer dies
    // after appending and before publishing, its requests go to the next one, which finds them
    // in the log and publishes.
    let mut held: Vec<DeliveryHandle> = Vec::new();
    // When the oldest unpublished entry was appended.
    let mut oldest: Option<Instant> = None;
    let mut last_request = Instant::now();
    loop {
        let quiet = last_request + QUIET;
        let deadline = oldest.map_or(quiet, |o| (o + MAX_UNPUBLISHED).min(quiet));
        let waiting = !held.is_empty() || log.as_ref().is_some_and(|l| l.unpublished() > 0);
        let next = tokio::select! {
            next = stream.next() => next,
            _ = tokio::time::sleep_until(deadline), if waiting => {
                if publish(&mut log, &mut held, metrics).await.is_err() {
                    hand_back(held).await;
                    return Ended::Reload;
                }
                oldest = None;
                continue;
            }
            _ = cancel.cancelled() => {
                stream.stop().await;
                let _ = publish(&mut log, &mut held, metrics).await;
                return Ended::Stopped;
            }
        };
        let delivery = match next {
            None => {
                let _ = publish(&mut log, &mut held, metrics).await;
                return Ended::Stopped;
            }
            Some(Err(e)) => {
                // Nothing to acknowledge on a lost channel: the next sequencer gets them.
                warn!(error = %e, "Lost the log request stream; reconnecting");
                let _ = publish(&mut log, &mut Vec::new(), metrics).await;
                return Ended::Reload;
            }
            Some(Ok(delivery)) => delivery,
        };
        last_request = Instant::now();
        let LogDelivery { request, handle } = delivery;
        let request = match request {
            Ok(request) => request,
            Err(reason) => {
                error!(%reason, "Dropping a log request that does not parse");
                if let Err(e) = handle.dead_letter().await {
                    warn!(error = %e, "Could not drop it; it will be delivered again");
                }
                continue;
            }
        };
        let writer = match &mut log {
            Some(writer) => writer,
            None => match LogWriter::open(store.clone(), signer.keys().clone()).await {
                Ok(writer) => {
                    info!(
                        entries = writer.len(),
                        unpublished = writer.unpublished(),
                        "Log sequencer active: loaded the log"
                    );
                    if writer.unpublished() > 0 {
                        // A sequencer died before publishing these.
                        oldest = Some(Instant::now());
                    }
                    log.insert(writer)
                }
                Err(e) => {
                    error!(error = %e, "Cannot load the transparency log; handing the request back");
                    held.push(handle);
                    hand_back(held).await;
                    return Ended::Reload;
                }
            },
        };
        match writer.append(&request).await {
            Ok(appended) => {
                if let Appended::New(index) = appended {
                    info!(index, receipt_key = %request.receipt_key, "Appended to the log");
                    metrics.log_entry_appended();
                    oldest.get_or_insert_with(Instant::now);
                }
                held.push(handle);
            }
            Err(e) => {
                warn!(error = %e, "Could not append to the log; handing the request back and reloading");
                held.push(handle);
                hand_back(held).await;
                return Ended::Reload;
            }
        }
    }
}

/// Publishes a tree head over every appended entry, then acknowledges the requests it covers.
async fn publish(
    log: &mut Option<LogWriter>,
    held: &mut Vec<DeliveryHandle>,
    metrics: &Metrics,
) -> Result<(), ()> {
    if let Some(log) = log {
        match log.publish().await {
            Ok(Some(head)) => {
                info!(size = head.size, root = %head.root_hash, "Published a signed tree head");
                metrics.tree_head_published();
            }
            Ok(None) => {}
            Err(e) => {
                error!(error = %e, "Could not publish a tree head");
                return Err(());
            }
        }
    }
    for handle in held.drain(..) {
        if let Err(e) = handle.ack().await {
            warn!(error = %e, "Could not acknowledge a log request; it will be delivered again (and found in the log)");
        }
    }
    Ok(())
}

/// Hands requests no tree head covers back to the queue, for the next sequencer.
async fn hand_back(held: Vec<DeliveryHandle>) {
    for handle in held {
        if let Err(e) = handle.requeue().await {
            warn!(error = %e, "Could not hand a log request back; the broker redelivers it once this channel closes");
        }
    }
}

/// Waits `delay` (doubling it, to 30 s); true if cancelled meanwhile.
async fn wait(cancel: &CancellationToken, delay: &mut Duration) -> bool {
    let cancelled = tokio::select! {
        _ = tokio::time::sleep(*delay) => false,
        _ = cancel.cancelled() => true,
    };
    *delay = (*delay * 2).min(Duration::from_secs(30));
    cancelled
}

#[cfg(test)]
mod tests;
