//! The plan linter: [`lint`] reports a parse error (as one [`Level::Error`] message) or,
//! for a valid plan, suspicious constructs: exclusions that remove every hit, implicit
//! ANDs, one-character terms, punctuation-only terms, duplicate terms, lower-case operator
//! words, Chinese quotation marks and very long OR lists.

use std::collections::HashSet;

use serde::Serialize;

use super::ast::{Item, Kind, Node};
use super::lexer::is_keyword;
use super::parser::{self, Parsed};
use super::{Field, Term};

/// Severity of a [`LintMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The plan does not parse, or (part of) it can never match.
    Error,
    /// The plan works but probably not as intended.
    Warning,
}

/// One finding of [`lint`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintMessage {
    pub level: Level,
    /// 0-based character position in the expression, when the finding has one.
    pub pos: Option<usize>,
    pub zh: String,
    pub en: String,
}

/// OR lists longer than this many terms are reported.
pub const MAX_OR_TERMS: usize = 200;

impl LintMessage {
    fn new(level: Level, pos: Option<usize>, zh: String, en: String) -> Self {
        LintMessage { level, pos, zh, en }
    }
}

impl std::fmt::Display for LintMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.level {
            Level::Error => ("错误", "error"),
            Level::Warning => ("警告", "warning"),
        };
        match self.pos {
            Some(p) => write!(
                f,
                "{}：第 {} 列：{} / {}: column {}: {}",
                level.0,
                p + 1,
                self.zh,
                level.1,
                p + 1,
                self.en
            ),
            None => write!(f, "{}：{} / {}: {}", level.0, self.zh, level.1, self.en),
        }
    }
}

/// Errors and warnings for `expr`, ordered by position. Empty means nothing to report.
pub fn lint(expr: &str) -> Vec<LintMessage> {
    let parsed = match parser::parse(expr) {
        Ok(p) => p,
        Err(e) => return vec![LintMessage::new(Level::Error, Some(e.pos), e.zh, e.en)],
    };
    let mut out = Vec::new();
    exclusions(&parsed.root, &parsed.terms, &[], &mut out);
    long_or(&parsed.root, &mut out);
    terms(&parsed, &mut out);
    for &pos in &parsed.notes.implicit_and {
        out.push(LintMessage::new(
            Level::Warning,
            Some(pos),
            "两个词之间只有空格，按“与”（+）处理；建议明确写出 +、| 或 -".into(),
            "terms separated only by whitespace are combined with AND (+); write +, | or - explicitly".into(),
        ));
    }
    out.sort_by_key(|m| (m.pos.unwrap_or(usize::MAX), m.level == Level::Warning));
    out
}

fn terms(parsed: &Parsed, out: &mut Vec<LintMessage>) {
    let mut seen = HashSet::new();
    for occ in &parsed.notes.occurrences {
        let term = &parsed.terms[occ.term];
        let shown = term.to_string();
        if !seen.insert(occ.term) {
            out.push(LintMessage::new(
                Level::Warning,
                Some(occ.pos),
                format!("重复的词“{shown}”"),
                format!("duplicate term `{shown}`"),
            ));
            // The other checks were already reported for the first occurrence.
            continue;
        }
        if term.field != Field::Platform && term.text.chars().count() == 1 {
            out.push(LintMessage::new(
                Level::Warning,
                Some(occ.pos),
                format!("单字词“{shown}”会匹配大量无关内容，建议换成更具体的词"),
                format!("one-character term `{shown}` matches a great deal of unrelated text; use a more specific word"),
            ));
        }
        if !term.text.chars().any(char::is_alphanumeric) {
            out.push(LintMessage::new(
                Level::Warning,
                Some(occ.pos),
                format!("词“{shown}”只有标点符号"),
                format!("term `{shown}` is only punctuation"),
            ));
        }
        let upper = occ.raw.to_ascii_uppercase();
        if !occ.quoted && is_keyword(&upper) {
            out.push(LintMessage::new(
                Level::Warning,
                Some(occ.pos),
                format!("“{}”按普通词处理；运算符必须大写：{upper}", occ.raw),
                format!(
                    "`{}` is read as a term; operators must be upper case: {upper}",
                    occ.raw
                ),
            ));
        }
        if occ
            .raw
            .chars()
            .any(|c| matches!(c, '“' | '”' | '‘' | '’' | '「' | '」'))
        {
            out.push(LintMessage::new(
                Level::Warning,
                Some(occ.pos),
                format!("词“{}”含有中文引号，会被当作词的一部分；短语请用英文双引号 \"…\"", occ.raw),
                format!("term `{}` contains Chinese quotation marks, which are part of the term; quote phrases with ASCII double quotes \"…\"", occ.raw),
            ));
        }
    }
}

fn count_terms(node: &Node) -> usize {
    match &node.kind {
        Kind::Term(_) => 1,
        Kind::Near { .. } => 2,
        Kind::And(items) => items.iter().map(|it| count_terms(&it.node)).sum(),
        Kind::Or(children) => children.iter().map(count_terms).sum(),
    }
}

fn long_or(node: &Node, out: &mut Vec<LintMessage>) {
    match &node.kind {
        Kind::Term(_) | Kind::Near { .. } => {}
        Kind::And(items) => items.iter().for_each(|it| long_or(&it.node, out)),
        Kind::Or(children) => {
            let n = count_terms(node);
            if n > MAX_OR_TERMS {
                out.push(LintMessage::new(
                    Level::Warning,
                    Some(node.pos),
                    format!("“或”列表有 {n} 个词（超过 {MAX_OR_TERMS} 个），方案难以维护，建议拆分成多个方案"),
                    format!("OR list with {n} terms (more than {MAX_OR_TERMS}); consider splitting the plan"),
                ));
            }
            children.iter().for_each(|c| long_or(c, out));
        }
    }
}

/// Does an occurrence of `have` guarantee that `want` is true?
fn covers(have: &Term, want: &Term) -> bool {
    let fields_ok = match (have.field, want.field) {
        (Field::Platform, Field::Platform) => return have.text == want.text,
        (Field::Any | Field::Title, Field::Any) => true,
        (h, w) => h == w && h != Field::Platform,
    };
    fields_ok && have.text.contains(want.text.as_str())
}

/// A guaranteed term `g` covering `node`, if `node` is certainly true whenever every term in
/// `guaranteed` occurs.
fn implied<'a>(node: &Node, terms: &'a [Term], guaranteed: &[usize]) -> Option<&'a Term> {
    match &node.kind {
        Kind::Term(t) => guaranteed
            .iter()
            .map(|&g| &terms[g])
            .find(|g| covers(g, &terms[*t])),
        Kind::Near { .. } => None,
        Kind::Or(children) => children.iter().find_map(|c| implied(c, terms, guaranteed)),
        Kind::And(items) => {
            if items.iter().any(|it| it.neg) {
                return None;
            }
            let mut first = None;
            for it in items {
                let g = implied(&it.node, terms, guaranteed)?;
                first.get_or_insert(g);
            }
            first
        }
    }
}

/// Terms that certainly occur when the positive items of a conjunction hold.
fn required(items: &[Item], into: &mut Vec<usize>) {
    for it in items.iter().filter(|it| !it.neg) {
        match &it.node.kind {
            Kind::Term(t) => into.push(*t),
            Kind::Near { a, b, .. } => into.extend([*a, *b]),
            Kind::And(inner) => required(inner, into),
            Kind::Or(_) => {}
        }
    }
}

fn exclusions(node: &Node, terms: &[Term], outer: &[usize], out: &mut Vec<LintMessage>) {
    match &node.kind {
        Kind::Term(_) | Kind::Near { .. } => {}
        Kind::Or(children) => children
            .iter()
            .for_each(|c| exclusions(c, terms, outer, out)),
        Kind::And(items) => {
            let mut guaranteed = outer.to_vec();
            required(items, &mut guaranteed);
            for it in items {
                if !it.neg {
                    exclusions(&it.node, terms, &guaranteed, out);
                    continue;
                }
                if let Some(g) = implied(&it.node, terms, &guaranteed) {
                    let g = g.to_string();
                    let (zh, en) = if matches!(it.node.kind, Kind::Term(t) if terms[t].to_string() == g)
                    {
                        (
                            format!(
                                "排除词“{g}”同时也是必需词：凡是命中的内容都会被排除，方案（或这一部分）永远不会命中"
                            ),
                            format!(
                                "the excluded term `{g}` is also required: every hit is excluded, so the plan (or this part of it) never matches"
                            ),
                        )
                    } else {
                        (
                            format!(
                                "排除条件总会成立：凡是含“{g}”的内容都满足它，都会被排除，方案（或这一部分）永远不会命中"
                            ),
                            format!(
                                "this exclusion always applies: any text containing `{g}` satisfies it and is excluded, so the plan (or this part of it) never matches"
                            ),
                        )
                    };
                    out.push(LintMessage::new(Level::Error, Some(it.node.pos), zh, en));
                }
                // Inside a negation nothing outside is guaranteed.
                exclusions(&it.node, terms, &[], out);
            }
        }
    }
}
