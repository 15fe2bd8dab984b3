//! Sentiment of Chinese text: positive (正面), neutral (中性) or negative (负面).
//!
//! A linear model of yuqing's own (L2 logistic regression over hashed character n-grams,
//! negation-scoped and degree features, and Weibo emoticon tags), trained on the shared
//! sentiment sets and shipped as `models/sentiment-v1.bin`, which is embedded in the
//! binary ([`Model::builtin`]). See `docs/specs/sentiment.md`.
//!
//! - [`classify`] / [`Model::classify`]: three classes; `score` is the calibrated
//!   P(positive) in [0, 1]; neutral when the score is within the model's neutral margin
//!   of 0.5 (default [`DEFAULT_NEUTRAL_MARGIN`], settable).
//! - [`classify_binary`] / [`Model::classify_binary`]: never neutral.
//! - [`train`], [`train_from_dir`], [`load_dir`], [`calibrate`], [`evaluate`]: training.
//!
//! Weibo repost chains (`own comment//@user: quoted…`) count the author's own comment
//! fully and the quoted chain at half weight (all of it when the own comment is empty).

mod data;
mod features;
mod model;
mod train;

use serde::{Deserialize, Serialize};

pub use data::{DUPLICATE_SETS, DataError, DataSet, Row, load_dir, map_label, read_csv};
pub use features::{FEATURE_VERSION, FeatureConfig, split_repost};
#[doc(hidden)]
pub use features::{Scratch, extract};
pub use model::{DEFAULT_NEUTRAL_MARGIN, FORMAT_VERSION, Header, MAGIC, Model, ModelError};
pub use train::{
    BandStats, DevReport, Loss, TrainOptions, TrainSet, band_table, calibrate, evaluate, train,
    train_from_dir, train_from_dir_with,
};

/// Sentiment class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Positive,
    Neutral,
    Negative,
}

impl Label {
    /// `positive` / `neutral` / `negative`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }

    /// 正面 / 中性 / 负面.
    pub fn as_zh(self) -> &'static str {
        match self {
            Label::Positive => "正面",
            Label::Neutral => "中性",
            Label::Negative => "负面",
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub label: Label,
    /// Calibrated P(positive) in [0, 1] (0.5 when the text has nothing to go on).
    pub score: f32,
}

/// [`Model::classify`] with the built-in model.
pub fn classify(text: &str) -> Sentiment {
    Model::builtin().classify(text)
}

/// [`Model::classify_binary`] with the built-in model.
pub fn classify_binary(text: &str) -> (Label, f32) {
    Model::builtin().classify_binary(text)
}
