//! The parsed form of a plan: the boolean tree ([`Node`]) over a table of distinct terms,
//! and its canonical printing (the string [`Plan::expression`](super::Plan::expression)
//! returns). Conjunctions are flat lists of positive and negated items, disjunctions flat
//! lists, so long `A+B+C…` / `A|B|C…` chains never make the tree deep.

use super::lexer::{fold, is_keyword};
use super::{Field, Term};

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Character position of the node's first token in the source expression.
    pub pos: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Index into the plan's term table.
    Term(usize),
    /// `a NEAR/n b`, both indices into the term table, same field (never platform).
    Near { a: usize, b: usize, n: usize },
    /// Conjunction: every positive item holds and no negated item holds. The first item
    /// is always positive. `A+B-C+D` is `[+A, +B, -C, +D]`.
    And(Vec<Item>),
    /// Disjunction of at least two nodes.
    Or(Vec<Node>),
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub neg: bool,
    pub node: Node,
}

const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NEAR: u8 = 3;
const PREC_TERM: u8 = 4;

fn prec(node: &Node) -> u8 {
    match node.kind {
        Kind::Or(_) => PREC_OR,
        Kind::And(_) => PREC_AND,
        Kind::Near { .. } => PREC_NEAR,
        Kind::Term(_) => PREC_TERM,
    }
}

/// True if `text` must be quoted to be read back as one term.
pub(crate) fn needs_quote(text: &str) -> bool {
    let folded: String = text.chars().map(fold).collect();
    folded.is_empty()
        || folded
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '+' | '|' | '"' | '-' | ':'))
        || is_keyword(&folded)
}

pub(crate) fn write_term_text(text: &str, out: &mut String) {
    // Normalising decodes HTML, so a normalised text that still reads as HTML (`&lt;`,
    // written `&amp;lt;`) would change when parsed again: write it with `&` and `<`
    // escaped, which normalises back to `text`.
    let escaped;
    let text = if crate::normalize::looks_like_html(text) {
        escaped = html_escape::encode_text_minimal(text);
        escaped.as_ref()
    } else {
        text
    };
    if needs_quote(text) {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(text);
    }
}

pub(crate) fn write_term(term: &Term, out: &mut String) {
    if term.field != Field::Any {
        out.push_str(term.field.name());
        out.push(':');
    }
    write_term_text(&term.text, out);
}

pub(crate) fn write_node(node: &Node, terms: &[Term], min_prec: u8, out: &mut String) {
    let paren = prec(node) < min_prec;
    if paren {
        out.push('(');
    }
    match &node.kind {
        Kind::Term(t) => write_term(&terms[*t], out),
        Kind::Near { a, b, n } => {
            write_term(&terms[*a], out);
            out.push_str(&format!(" NEAR/{n} "));
            write_term(&terms[*b], out);
        }
        Kind::And(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(if item.neg { '-' } else { '+' });
                }
                write_node(&item.node, terms, PREC_NEAR, out);
            }
        }
        Kind::Or(children) => {
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_node(child, terms, PREC_AND, out);
            }
        }
    }
    if paren {
        out.push(')');
    }
}
