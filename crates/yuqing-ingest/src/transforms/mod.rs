//! Transforms: what happens to a document between its source and the sinks.
//!
//! - [`prepare`]: stateless, CPU-bound, runs off the async runtime: validation,
//!   normalisation, identity, fingerprints.
//!   It ends with [`judge`]: sentiment, content type, categories, plan matching.
//! - [`group`]: stateful reprint grouping (exact content hash, then SimHash), run in the
//!   single writer in document order so that group assignment is deterministic.
//! - [`event`]: stateful event assignment (chain root, reprint group, online clustering),
//!   also in the writer, after grouping.

pub mod event;
pub mod group;
pub mod judge;
pub mod prepare;
