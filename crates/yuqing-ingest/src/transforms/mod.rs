//! Transforms: what happens to a document between its source and the sinks.
//!
//! - [`prepare`]: stateless, CPU-bound, runs off the async runtime: validation,
//!   normalisation, identity, fingerprints.
//! - [`group`]: stateful reprint grouping (exact content hash, then SimHash), run in the
//!   single writer in document order so that group assignment is deterministic.

pub mod group;
pub mod prepare;
