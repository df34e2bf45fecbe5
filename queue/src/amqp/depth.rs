//! How many jobs wait in each kind's queue and how many workers consume it: a passive declare
//! (it reads, never creates) of every job queue and of the dead-letter queue.

use caravan_proto::JobKind;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use super::link::Link;
use crate::depth::QueueDepth;
use crate::error::QueueError;

pub(super) async fn depths(link: &Link) -> Result<Vec<QueueDepth>, QueueError> {
    let channel = link.publisher().await?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let topology = &link.config.topology;
    let queues = JobKind::ALL
        .into_iter()
        .map(|kind| (Some(kind), topology.job_queue(kind)))
        .chain([(None, topology.dead_letter_queue())]);
    let mut found = Vec::new();
    for (kind, name) in queues {
        let queue = link
            .answer(
                "reading a queue's depth",
                channel.queue_declare(&name, passive, FieldTable::default()),
            )
            .await?;
        found.push(QueueDepth {
            kind,
            queue: name,
            ready: queue.message_count(),
            consumers: queue.consumer_count(),
        });
    }
    Ok(found)
}
