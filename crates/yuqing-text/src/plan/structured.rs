//! The structured plan form users fill in (地域词 region, 主体词 subject, 事件词 event,
//! 排除词 exclusion) and its compilation to an expression:
//! `(region) + (subject) + (event) - (exclusion)`, words OR-ed inside a group, empty groups
//! left out.

use serde::{Deserialize, Serialize};

use super::Plan;
use super::ast::write_term_text;
use super::error::{ErrorKind, PlanError};

/// The structured form of a plan. Each list holds literal words (operators inside a word
/// have no meaning: words are quoted when needed; `"` characters are dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StructuredPlan {
    /// 地域词
    pub region: Vec<String>,
    /// 主体词
    pub subject: Vec<String>,
    /// 事件词
    pub event: Vec<String>,
    /// 排除词
    pub exclusion: Vec<String>,
}

fn clean(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        let w: String = w.chars().filter(|&c| c != '"' && c != '\u{FF02}').collect();
        let w = w.trim();
        if !w.is_empty() && !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    out
}

fn group(words: &[String], out: &mut String) {
    if words.len() > 1 {
        out.push('(');
    }
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        write_term_text(w, out);
    }
    if words.len() > 1 {
        out.push(')');
    }
}

impl StructuredPlan {
    /// The expression `(region)+(subject)+(event)-(exclusion)` with empty groups left out
    /// and single-word groups written without parentheses, e.g. `(北京|上海)+医院-谣言`.
    /// Empty when every group is empty.
    pub fn to_expression(&self) -> String {
        let mut out = String::new();
        for g in [&self.region, &self.subject, &self.event] {
            let words = clean(g);
            if words.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('+');
            }
            group(&words, &mut out);
        }
        let excl = clean(&self.exclusion);
        if !excl.is_empty() {
            out.push('-');
            group(&excl, &mut out);
        }
        out
    }

    /// Compiles the form to a [`Plan`]. Errors if region, subject and event are all empty
    /// (a plan of only exclusion words would match nothing); error positions refer to
    /// [`to_expression`](Self::to_expression).
    pub fn compile(&self) -> Result<Plan, PlanError> {
        if [&self.region, &self.subject, &self.event]
            .iter()
            .all(|g| clean(g).is_empty())
        {
            return Err(if clean(&self.exclusion).is_empty() {
                PlanError::new(
                    ErrorKind::Empty,
                    0,
                    "方案是空的：地域词、主体词、事件词、排除词都没有填写",
                    "the plan is empty: no region, subject, event or exclusion words",
                )
            } else {
                PlanError::new(
                    ErrorKind::Empty,
                    0,
                    "只有排除词的方案不会命中任何内容：请至少填写地域词、主体词或事件词中的一组",
                    "a plan with only exclusion words matches nothing: fill in at least one of region, subject or event words",
                )
            });
        }
        Plan::parse(&self.to_expression())
    }
}
