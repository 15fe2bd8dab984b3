//! Stable error codes and bilingual user messages.
//!
//! Every library crate has its own error enum; each variant maps to one [`Code`]. Only the
//! web crate turns a code into an HTTP status. Messages shown to users say what was wrong,
//! where, and how to fix it, in Simplified Chinese first with English available.

use serde::Serialize;

/// The kind of failure, stable across releases (clients match on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The thing asked for does not exist.
    NotFound,
    /// The request conflicts with the current state (e.g. already exists).
    Conflict,
    /// The caller sent something malformed or out of range.
    InvalidInput,
    /// No or bad credentials.
    Unauthenticated,
    /// Credentials are fine but the action is not allowed.
    Forbidden,
    /// A dependency (disk, database, remote source) is unavailable; retry later.
    Unavailable,
    /// A bug or an unexpected failure; details are logged, not shown.
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotFound => "not_found",
            Code::Conflict => "conflict",
            Code::InvalidInput => "invalid_input",
            Code::Unauthenticated => "unauthenticated",
            Code::Forbidden => "forbidden",
            Code::Unavailable => "unavailable",
            Code::Internal => "internal",
        }
    }
}

/// Output language for user-facing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN", alias = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub zh: String,
    pub en: String,
}

impl Message {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}
