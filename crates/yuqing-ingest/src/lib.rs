//! The yuqing pipeline: sources → transforms → sinks.
//!
//! - [`sources`]: where documents come from (feeds, web pages, JSON APIs; files via
//!   [`import`]; the HTTP push endpoint lives in the web crate and calls [`Pipeline`]).
//! - [`transforms`]: [`transforms::prepare`] (stateless: validate, normalise, identity,
//!   fingerprints) and [`transforms::group`] (stateful reprint grouping).
//! - [`pipeline`]: the single writer feeding the sinks — the store (system of record, with
//!   checkpoints and dead letters) and the full-text index.
//! - [`analysis`]: event analysis on demand (trend, shares, propagation, hot words, level).
//! - [`backtest`]: a monitoring plan against the stored history (`plan test`, the web
//!   editor's live preview).
//! - [`query`]: the read side over store and index (search with verification, count,
//!   snippets), shared by the CLI and the web API.
//! - [`runner`]: runs configured sources continuously under `yuqing serve`.
//!
//! A failure on one document never stops the pipeline: it is counted, logged and kept as
//! a dead letter with the reason.

pub mod analysis;
pub mod backtest;
pub mod import;
pub mod pipeline;
pub mod query;
pub mod runner;
pub mod sources;
pub mod transforms;

pub use pipeline::{IngestSettings, Outcome, Pipeline, PipelineError, Rejected, Report};
