//! Judgement logic of yuqing (研判): what the system concludes about documents and events.
//! Pure and synchronous: nothing here does IO, touches the database or awaits, so every
//! function can run inside the ingest pipeline (on a blocking thread) or in a test.
//!
//! - [`content`]: content type of a text (行为倾向 / 问题投诉 / 观点 / 态度情绪, the types
//!   named in the seeds) and its critical categories (突发事件, 公共安全, 食品, 卫生健康, 灾害,
//!   生产质量, 保密), from one Aho–Corasick automaton over a built-in, configurable lexicon.
//! - [`grading`]: the level (分级: 一般 / 较大 / 重大 / 特别重大) of an item from its heat,
//!   mainstream reposts, critical category and special periods, with a bilingual explanation.
//!   The rules are specified in `docs/specs/grading.md`.
//! - [`spike`]: is the last hour(s) of an event unusually busy compared with the day before.
//! - [`hotwords`]: TF-IDF hot words of a set of texts against a background (词云).
//! - [`propagation`]: depth, width and key spreaders of a repost/comment tree.
//! - [`cluster`]: online clustering of original posts into events.
//! - [`words`]: the word segmentation (jieba), text cleaning and stop words shared by
//!   [`hotwords`] and [`cluster`].
//!
//! Inputs are texts already normalised by `yuqing_text::normalize` (simplified Chinese, lower
//! case, half-width); the crate does not depend on `yuqing-text` and never re-normalises.
//! Nothing panics on bad input: malformed configuration is a [`JudgeError`], odd data
//! (cycles in a repost tree, empty texts, sparse counts) gives a well-defined answer.

pub mod cluster;
pub mod content;
pub mod error;
pub mod grading;
pub mod hotwords;
pub mod propagation;
pub mod spike;
pub mod words;

pub use cluster::{ClusterSettings, Clusterer};
pub use content::{Categories, Category, Classifier, ContentSettings, ContentType};
pub use error::JudgeError;
pub use grading::{Critical, Facts, Grade, GradingRules, Level, SpecialPeriod, raised};
pub use hotwords::{Background, HotWord, hot_words};
pub use propagation::{Node, Propagation, Spreader};
pub use spike::{Spike, SpikeSettings, detect, hourly_series};
