//! Live updates over server-sent events: `GET /api/v1/live` (needs an identity like every
//! `/api/v1` route; browsers send the session cookie with `EventSource`).
//!
//! Every 3 s the stream sends `event: counters` with `{"documents", "unacked_alerts",
//! "latest_alert"}`, and one `event: alert` per alert raised since the last look (its
//! summary: id, level, event, plan, title). A comment keeps idle connections open. The
//! stream only reads the store; closing the page ends it, and so does the server's
//! shutdown ([`SHUTTING_DOWN`]).

use super::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream};
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use yuqing_store::handling::AlertQuery;
use yuqing_store::{HandlingStore, Store};

/// Set when the server begins its graceful shutdown: open streams end at their next look
/// (within 3 s), so they do not hold the shutdown up.
pub static SHUTTING_DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Time between two looks at the store.
const EVERY: Duration = Duration::from_secs(3);

struct Look<S: Store + HandlingStore> {
    st: Arc<AppState<S>>,
    /// The newest alert id already sent (`None` before the first look).
    last_alert: Option<i64>,
    pending: Vec<Event>,
    first: bool,
}

async fn look<S: Store + HandlingStore>(l: &mut Look<S>) -> Vec<Event> {
    let mut out = Vec::new();
    let documents = l.st.store.max_seq().await.unwrap_or(0);
    let recent =
        l.st.store
            .alerts(&AlertQuery {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap_or_default();
    let unacked =
        l.st.store
            .alerts(&AlertQuery {
                unacked: true,
                limit: 1000,
                ..Default::default()
            })
            .await
            .map(|v| v.len())
            .unwrap_or(0);
    let newest = recent.iter().map(|a| a.id).max();
    if let Some(seen) = l.last_alert {
        let mut fresh: Vec<_> = recent.iter().filter(|a| a.id > seen).collect();
        fresh.sort_by_key(|a| a.id);
        for a in fresh {
            let data = json!({
                "id": a.id,
                "level": a.level,
                "event_id": a.event_id,
                "plan": a.plan,
                "title": a.message.get("title"),
                "raised_at": a.raised_at,
            });
            out.push(Event::default().event("alert").data(data.to_string()));
        }
    }
    l.last_alert = Some(newest.unwrap_or(0).max(l.last_alert.unwrap_or(0)));
    let counters = json!({
        "documents": documents,
        "unacked_alerts": unacked,
        "latest_alert": newest,
    });
    out.push(
        Event::default()
            .event("counters")
            .data(counters.to_string()),
    );
    out
}

/// `GET /api/v1/live`.
pub async fn live<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = Look {
        st,
        last_alert: None,
        pending: Vec::new(),
        first: true,
    };
    let s = stream::unfold(start, |mut l| async move {
        while l.pending.is_empty() {
            if !l.first {
                tokio::time::sleep(EVERY).await;
            }
            if SHUTTING_DOWN.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            l.first = false;
            let mut events = look(&mut l).await;
            events.reverse();
            l.pending = events;
        }
        let e = l.pending.pop()?;
        Some((Ok(e), l))
    });
    Sse::new(s).keep_alive(KeepAlive::default())
}
