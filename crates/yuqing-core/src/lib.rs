//! Domain types of yuqing, shared by every other crate.
//!
//! This crate owns the vocabulary: the [`Document`] that every source produces and the
//! interchange format reads and writes (see `docs/specs/document-format.md`), the stable
//! error [`Code`]s that the web layer maps to HTTP, the [`Clock`] that workflow code uses
//! so tests can step time, and the [`failpoint`]s that fault-injection tests arm. It does
//! no IO and never awaits.

pub mod clock;
pub mod document;
pub mod duration;
pub mod error;
pub mod failpoint;

pub use clock::{Clock, FixedClock, SystemClock};
pub use document::{Assessment, Author, Document, DocumentError, Kind, Metrics, StoredDocument};
pub use duration::HumanDuration;
pub use error::{Code, Lang, Message};
pub use failpoint::failpoint;
