//! Monitoring plans (监测方案): the plan expression language, its matcher and its linter.
//! The language is specified in `docs/specs/plan-language.md`; this module owns it.
//!
//! - [`Plan::parse`] turns an expression such as `(北京|上海)+(医院|学校)-谣言` into a
//!   [`Plan`]; errors are [`PlanError`]s with a character position and a message in Chinese
//!   and English.
//! - [`Plan::matches`] evaluates one plan on one document with plain substring search.
//! - [`PlanSet`] compiles every active plan into one Aho–Corasick automaton and matches a
//!   document against all of them at once ([`PlanSet::match_doc`]), evaluating only the
//!   plans whose required terms occur, and reports each hit with the terms that made it
//!   ([`PlanHit`]).
//! - [`StructuredPlan`] is the form users fill in (地域词 / 主体词 / 事件词 / 排除词).
//! - [`lint`] reports parse errors and suspicious plans ([`LintMessage`]).
//!
//! Matching is substring matching on normalised text: plan terms are normalised with
//! [`crate::normalize`] when parsed, and callers MUST pass documents already normalised
//! with the same function (see [`MatchInput`]).

mod ast;
mod error;
mod eval;
mod keys;
mod lexer;
mod lint;
mod parser;
mod scan;
mod set;
mod structured;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use error::{ErrorKind, PlanError};
pub use lint::{Level, LintMessage, lint};
pub use set::{PlanSet, Scratch};
pub use structured::StructuredPlan;

/// Deepest nesting of parentheses and field scopes an expression may have.
pub const MAX_DEPTH: usize = 64;

/// Which part of a document a term is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Unscoped: the title or the text.
    Any,
    /// `title:` — the title only.
    Title,
    /// `author:` — substring of the (normalised) author name.
    Author,
    /// `platform:` — the platform, by exact equality (trimmed, lower case).
    Platform,
}

impl Field {
    /// The name used in expressions (`title`, `author`, `platform`; `""` for [`Field::Any`]).
    pub fn name(self) -> &'static str {
        match self {
            Field::Any => "",
            Field::Title => "title",
            Field::Author => "author",
            Field::Platform => "platform",
        }
    }

    /// Field for a scope name (ASCII case-insensitive); `None` for unknown names.
    pub fn from_name(name: &str) -> Option<Field> {
        match name.to_ascii_lowercase().as_str() {
            "title" => Some(Field::Title),
            "author" => Some(Field::Author),
            "platform" => Some(Field::Platform),
            _ => None,
        }
    }
}

/// One distinct term of a plan: its field scope and its normalised text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Term {
    pub field: Field,
    /// Normalised with [`crate::normalize`] (platform values also lower-cased); never empty.
    pub text: String,
}

impl fmt::Display for Term {
    /// Canonical form: `text`, `"quoted text"` or `field:text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        ast::write_term(self, &mut s);
        f.write_str(&s)
    }
}

/// A document as the matcher sees it. Every field MUST already be normalised with
/// [`crate::normalize`] by the caller (the matcher does not normalise, so that a document
/// matched against many plan sets is normalised once). Missing fields are `""`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchInput<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub author: &'a str,
    /// Platform name, e.g. `weibo`; compared to `platform:` terms after trimming and lower-casing.
    pub platform: &'a str,
}

impl<'a> MatchInput<'a> {
    /// Input with only a text (no title, author or platform).
    pub fn text(text: &'a str) -> Self {
        MatchInput {
            text,
            ..Default::default()
        }
    }
}

/// One plan matching one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanHit {
    pub plan_id: i64,
    /// Normalised texts of the terms that made the plan match, distinct, in expression
    /// order: every term of every true positive branch; never a term under `-`/`NOT`, and
    /// never a `platform:` value (not text to highlight).
    pub terms: Vec<String>,
}

/// A parsed plan expression.
#[derive(Debug, Clone)]
pub struct Plan {
    root: ast::Node,
    terms: Vec<Term>,
}

impl Plan {
    /// Parses a plan expression (see `docs/specs/plan-language.md`).
    pub fn parse(expr: &str) -> Result<Plan, PlanError> {
        let parsed = parser::parse(expr)?;
        Ok(Plan {
            root: parsed.root,
            terms: parsed.terms,
        })
    }

    /// True if the plan matches `input` (fields already normalised, see [`MatchInput`]).
    pub fn matches(&self, input: &MatchInput) -> bool {
        eval::eval(&self.root, &self.direct(input))
    }

    /// The terms that made the plan match (as in [`PlanHit::terms`]), or `None` if it does not.
    pub fn hit_terms(&self, input: &MatchInput) -> Option<Vec<String>> {
        let oracle = self.direct(input);
        eval::eval(&self.root, &oracle).then(|| eval::hit_terms(&self.root, &self.terms, &oracle))
    }

    /// Terms of which at least one occurs in every document the plan matches (never an
    /// excluded term): a candidate filter, e.g. for backtests through the full-text index.
    pub fn anchors(&self) -> Vec<&Term> {
        let (_, mut ts) = set::anchor_terms(&self.root, self);
        ts.sort_unstable();
        ts.dedup();
        ts.into_iter().map(|t| &self.terms[t]).collect()
    }

    /// Distinct terms (field + normalised text) in order of first appearance, including
    /// excluded ones.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Canonical expression: normalised terms, minimal parentheses, `+ - |` without spaces,
    /// ` NEAR/n ` with spaces. Parsing it gives the same plan.
    pub fn expression(&self) -> String {
        let mut out = String::new();
        ast::write_node(&self.root, &self.terms, 0, &mut out);
        out
    }

    fn direct<'a>(&'a self, input: &'a MatchInput<'a>) -> eval::Direct<'a> {
        eval::Direct {
            terms: &self.terms,
            input,
            platform: eval::platform_key(input.platform),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression())
    }
}

impl FromStr for Plan {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Plan, PlanError> {
        Plan::parse(s)
    }
}
