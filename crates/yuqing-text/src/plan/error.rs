//! Parse errors of the plan language: [`PlanError`] (position + Chinese and English message)
//! and its [`ErrorKind`]. Every message is built here so the wording stays in one place.

use serde::Serialize;
use std::fmt;

/// What went wrong while parsing a plan expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The expression (or the structured form) has no terms at all.
    Empty,
    /// A `(` without its `)` or a `)` without its `(`.
    UnbalancedParen,
    /// `()` with nothing inside.
    EmptyGroup,
    /// A binary operator (`+ | AND OR NEAR/n`) or a field scope with a side missing.
    MissingOperand,
    /// `-X` / `NOT X` with nothing before the `-` / `NOT`.
    LeadingNot,
    /// A `"` without its closing `"`.
    UnterminatedQuote,
    /// `NEAR` not followed by `/` and a number.
    BadNear,
    /// A `NEAR/n` operand that is not a single term, or operands in different fields.
    NearOperand,
    /// A term that is empty (`""`) or becomes empty after normalisation.
    EmptyTerm,
    /// A term that contains `"` after normalisation (e.g. written as `&quot;`).
    BadTerm,
    /// `xxx:` where `xxx` is not `title`, `author` or `platform`.
    UnknownField,
    /// A field scope inside a different field scope (`title:(author:x)`).
    NestedField,
    /// More than [`MAX_DEPTH`](super::MAX_DEPTH) nested parentheses / field scopes.
    TooDeep,
}

/// A parse error: 0-based character position in the expression plus a plain message in
/// Chinese (`zh`) and English (`en`).
///
/// `Display` renders `第 N 列：<zh> / column N: <en>` where `N = pos + 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanError {
    pub kind: ErrorKind,
    /// 0-based index in characters (not bytes) into the expression.
    pub pos: usize,
    pub zh: String,
    pub en: String,
}

impl PlanError {
    pub(crate) fn new(
        kind: ErrorKind,
        pos: usize,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        PlanError {
            kind,
            pos,
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// 1-based column (`pos + 1`), as shown in the message.
    pub fn column(&self) -> usize {
        self.pos + 1
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let col = self.column();
        write!(f, "第 {col} 列：{} / column {col}: {}", self.zh, self.en)
    }
}

impl std::error::Error for PlanError {}
