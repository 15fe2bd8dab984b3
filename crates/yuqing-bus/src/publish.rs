//! Publishing documents (what `yuqing collect` will use): one document or a batch, each to
//! `<prefix>.<platform>` with its `Nats-Msg-Id`, and each publish acknowledged by
//! JetStream (stored in the stream, or recognised as a repeat) before it counts.
//!
//! [`Publisher::publish_batch`] pipelines: it sends up to [`WINDOW`] messages before
//! awaiting the oldest ack, so a batch costs about one round trip per window, not one per
//! document.

use crate::wire::{SOURCE_HEADER, encode_header, message_id, subject_token};
use crate::{Bus, BusError, Result};
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use std::collections::VecDeque;
use yuqing_core::Document;

/// Publishes awaiting at most this many acks at once (JetStream's client allows 5,000).
pub const WINDOW: usize = 1024;

/// What JetStream did with one published document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Its sequence in the stream (of the first copy, for a repeat).
    pub sequence: u64,
    /// True when the stream already held this message id inside the duplicate window, so
    /// nothing was stored.
    pub duplicate: bool,
}

/// Publishes documents to the documents' stream.
#[derive(Clone)]
pub struct Publisher {
    bus: Bus,
}

impl Publisher {
    pub(crate) fn new(bus: Bus) -> Self {
        Publisher { bus }
    }

    /// Publishes one document from `source` and waits for JetStream's ack.
    pub async fn publish(&self, doc: &Document, source: &str) -> Result<Published> {
        let (subject, fut) = self.send(doc, source).await?;
        await_ack(&subject, fut).await
    }

    /// Publishes documents from `source`, pipelining the acks; returns one [`Published`]
    /// per document, in order. On an error some documents may have been stored: publishing
    /// the batch again is safe (repeats are dropped by message id, or by the store).
    pub async fn publish_batch(&self, docs: &[Document], source: &str) -> Result<Vec<Published>> {
        let mut out = Vec::with_capacity(docs.len());
        let mut pending: VecDeque<(String, PublishAckFuture)> = VecDeque::new();
        for doc in docs {
            if pending.len() >= WINDOW
                && let Some((subject, fut)) = pending.pop_front()
            {
                out.push(await_ack(&subject, fut).await?);
            }
            pending.push_back(self.send(doc, source).await?);
        }
        for (subject, fut) in pending {
            out.push(await_ack(&subject, fut).await?);
        }
        Ok(out)
    }

    /// Sends one document; returns its subject and the future of its ack.
    async fn send(&self, doc: &Document, source: &str) -> Result<(String, PublishAckFuture)> {
        let msg_id = message_id(doc)?;
        let subject = format!(
            "{}.{}",
            self.bus.settings.subjects,
            subject_token(&doc.platform)
        );
        let payload = Bytes::from(serde_json::to_vec(doc)?);
        let bytes = payload.len();
        let msg = PublishMessage::build()
            .payload(payload)
            .message_id(&msg_id)
            .header(SOURCE_HEADER, encode_header(source).as_str());
        match self.bus.js.send_publish(subject.clone(), msg).await {
            Ok(fut) => Ok((subject, fut)),
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                Err(BusError::TooLarge { msg_id, bytes })
            }
            Err(e) => Err(BusError::Publish {
                subject,
                reason: e.to_string(),
            }),
        }
    }
}

async fn await_ack(subject: &str, fut: PublishAckFuture) -> Result<Published> {
    let ack = fut.await.map_err(|e| BusError::Publish {
        subject: subject.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Published {
        sequence: ack.sequence,
        duplicate: ack.duplicate,
    })
}
