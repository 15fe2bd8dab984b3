//! The HTTP side of yuqing: the axum router, the JSON API and its error format.
//!
//! Only this crate knows HTTP status codes: library errors carry a [`yuqing_core::Code`],
//! mapped here. The server is started from a passed-in listener, so tests bind
//! `127.0.0.1:0` and never sleep.

mod api;
pub mod assets;
pub mod auth;
mod error;

pub use api::{AppState, router};
pub use error::ApiError;

use std::future::Future;
use std::sync::Arc;
use yuqing_store::{HandlingStore, Store};

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve<S: Store + HandlingStore>(
    listener: tokio::net::TcpListener,
    state: Arc<AppState<S>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shutdown = async move {
        shutdown.await;
        // Live streams (server-sent events) end at their next look instead of holding up
        // the graceful shutdown.
        api::live::SHUTTING_DOWN.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    // With the peer address, for the login rate limit.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
