//! Recursive-descent parser of the plan language: tokens → [`Node`] tree + term table.
//! Owns the grammar and precedence (`NEAR/n` > `+`/`-`/implicit AND > `|`), field scopes,
//! term normalisation (via [`crate::normalize`]) and every parse error message except the
//! lexical ones. Also records what the linter needs (implicit ANDs, term occurrences).

use std::collections::HashMap;

use super::ast::{Item, Kind, Node};
use super::error::{ErrorKind, PlanError};
use super::lexer::{Tok, Token, tokenize};
use super::{Field, MAX_DEPTH, Term};

/// One written occurrence of a term, for the linter.
#[derive(Debug, Clone)]
pub(crate) struct Occurrence {
    pub term: usize,
    pub pos: usize,
    pub raw: String,
    pub quoted: bool,
}

/// Side information the linter uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes {
    /// Positions of terms joined to the previous operand by whitespace only.
    pub implicit_and: Vec<usize>,
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug)]
pub(crate) struct Parsed {
    pub root: Node,
    pub terms: Vec<Term>,
    pub notes: Notes,
}

/// Where an operand is expected, for choosing the error message.
#[derive(Clone, Copy)]
enum Ctx {
    /// At the start of the whole expression.
    Top,
    /// Right after `(` at this position.
    Group(usize),
    /// Right after this operator / field token (index into the tokens).
    After(usize),
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    terms: Vec<Term>,
    index: HashMap<(Field, String), usize>,
    notes: Notes,
    depth: usize,
}

pub(crate) fn parse(expr: &str) -> Result<Parsed, PlanError> {
    let toks = tokenize(expr)?;
    if toks.is_empty() {
        return Err(PlanError::new(
            ErrorKind::Empty,
            0,
            "方案是空的：请至少写一个词，例如 医院 或 (北京|上海)+医院",
            "the expression is empty: write at least one term, e.g. 医院 or (北京|上海)+医院",
        ));
    }
    let mut p = Parser {
        toks,
        i: 0,
        terms: Vec::new(),
        index: HashMap::new(),
        notes: Notes::default(),
        depth: 0,
    };
    p.expect_operand(Ctx::Top)?;
    let root = p.expr(None)?;
    if let Some(t) = p.toks.get(p.i) {
        // `expr` only stops early at a `)`.
        return Err(match t.tok {
            Tok::RParen => PlanError::new(
                ErrorKind::UnbalancedParen,
                t.pos,
                "多余的右括号“)”：前面没有与之配对的“(”",
                "unbalanced parentheses: this `)` has no matching `(`",
            ),
            _ => PlanError::new(
                ErrorKind::MissingOperand,
                t.pos,
                format!("这里不应出现“{}”", t.tok.show()),
                format!("unexpected `{}`", t.tok.show()),
            ),
        });
    }
    Ok(Parsed {
        root,
        terms: p.terms,
        notes: p.notes,
    })
}

fn starts_operand(t: &Tok) -> bool {
    matches!(t, Tok::Term { .. } | Tok::LParen | Tok::Field(_))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn pos_of(&self, i: usize) -> usize {
        self.toks.get(i).map_or(0, |t| t.pos)
    }

    /// Checks that the next token can start an operand; otherwise the most helpful error.
    fn expect_operand(&self, ctx: Ctx) -> Result<(), PlanError> {
        let next = self.toks.get(self.i);
        if let Some(t) = next {
            if starts_operand(&t.tok) {
                return Ok(());
            }
            if matches!(t.tok, Tok::Minus | Tok::Not) {
                let op = t.tok.show();
                return Err(PlanError::new(
                    ErrorKind::LeadingNot,
                    t.pos,
                    format!(
                        "“{op}”是排除运算，前面必须有要保留的内容：写成 A-B 或 A NOT B（含 A 但不含 B）；不能单独以“{op}”开头"
                    ),
                    format!(
                        "`{op}` means AND NOT and needs something before it: write A-B or A NOT B (A but not B); an expression or group cannot start with `{op}`"
                    ),
                ));
            }
        }
        match ctx {
            Ctx::After(op_i) => {
                let op = &self.toks[op_i];
                Err(match op.tok {
                    Tok::Field(f) => PlanError::new(
                        ErrorKind::MissingOperand,
                        op.pos,
                        format!(
                            "字段“{0}:”后面缺少要匹配的内容，例如 {0}:地震 或 {0}:(A|B)",
                            f.name()
                        ),
                        format!(
                            "field `{0}:` has nothing to match: write e.g. {0}:地震 or {0}:(A|B)",
                            f.name()
                        ),
                    ),
                    _ => {
                        let s = op.tok.show();
                        PlanError::new(
                            ErrorKind::MissingOperand,
                            op.pos,
                            format!("运算符“{s}”右边缺少内容"),
                            format!("operator `{s}` has no right-hand operand"),
                        )
                    }
                })
            }
            Ctx::Group(lp) => Err(match next.map(|t| &t.tok) {
                Some(Tok::RParen) => PlanError::new(
                    ErrorKind::EmptyGroup,
                    lp,
                    "括号里是空的：“()”中至少要有一个词",
                    "empty parentheses: `()` must contain at least one term",
                ),
                None => unclosed(lp),
                Some(t) => left_missing(t, self.pos_of(self.i)),
            }),
            Ctx::Top => Err(match next {
                Some(Token {
                    tok: Tok::RParen,
                    pos,
                }) => PlanError::new(
                    ErrorKind::UnbalancedParen,
                    *pos,
                    "多余的右括号“)”：前面没有与之配对的“(”",
                    "unbalanced parentheses: this `)` has no matching `(`",
                ),
                Some(t) => left_missing(&t.tok, t.pos),
                None => {
                    PlanError::new(ErrorKind::Empty, 0, "方案是空的", "the expression is empty")
                }
            }),
        }
    }

    /// `expr := conj (('|' | OR) conj)*`
    fn expr(&mut self, scope: Option<Field>) -> Result<Node, PlanError> {
        let first = self.conj(scope)?;
        if !matches!(self.peek(), Some(Tok::Pipe | Tok::Or)) {
            return Ok(first);
        }
        let pos = first.pos;
        let mut children = Vec::new();
        push_or(&mut children, first);
        while matches!(self.peek(), Some(Tok::Pipe | Tok::Or)) {
            let op = self.i;
            self.i += 1;
            self.expect_operand(Ctx::After(op))?;
            let next = self.conj(scope)?;
            push_or(&mut children, next);
        }
        Ok(Node {
            kind: Kind::Or(children),
            pos,
        })
    }

    /// `conj := near ((('+' | AND | '-' | NOT) near) | near)*` — a bare `near` is an implicit AND.
    fn conj(&mut self, scope: Option<Field>) -> Result<Node, PlanError> {
        let first = self.near(scope)?;
        let pos = first.pos;
        let mut items: Vec<Item> = Vec::new();
        push_and(&mut items, false, first);
        loop {
            let neg = match self.peek() {
                Some(Tok::Plus | Tok::And) => false,
                Some(Tok::Minus | Tok::Not) => true,
                Some(t) if starts_operand(t) => {
                    self.notes.implicit_and.push(self.pos_of(self.i));
                    let next = self.near(scope)?;
                    push_and(&mut items, false, next);
                    continue;
                }
                _ => break,
            };
            let op = self.i;
            self.i += 1;
            self.expect_operand(Ctx::After(op))?;
            let next = self.near(scope)?;
            push_and(&mut items, neg, next);
        }
        if items.len() == 1
            && !items[0].neg
            && let Some(only) = items.pop()
        {
            return Ok(only.node);
        }
        Ok(Node {
            kind: Kind::And(items),
            pos,
        })
    }

    /// `near := atom (NEAR/n atom)*`, where both operands must be single terms.
    fn near(&mut self, scope: Option<Field>) -> Result<Node, PlanError> {
        let mut left = self.atom(scope)?;
        while let Some(Tok::Near(n)) = self.peek() {
            let n = *n;
            let op = self.i;
            let op_pos = self.pos_of(op);
            self.i += 1;
            self.expect_operand(Ctx::After(op))?;
            let right = self.atom(scope)?;
            let (Kind::Term(a), Kind::Term(b)) = (&left.kind, &right.kind) else {
                return Err(PlanError::new(
                    ErrorKind::NearOperand,
                    op_pos,
                    format!(
                        "NEAR/{n} 两边都必须是单个词（不能是括号组合或另一个 NEAR）；例如把 (A|B) NEAR/{n} C 写成 (A NEAR/{n} C)|(B NEAR/{n} C)"
                    ),
                    format!(
                        "both operands of NEAR/{n} must be single terms (not a group or another NEAR); e.g. write (A|B) NEAR/{n} C as (A NEAR/{n} C)|(B NEAR/{n} C)"
                    ),
                ));
            };
            let (a, b) = (*a, *b);
            let (fa, fb) = (self.terms[a].field, self.terms[b].field);
            if fa != fb || fa == Field::Platform {
                return Err(PlanError::new(
                    ErrorKind::NearOperand,
                    op_pos,
                    format!(
                        "NEAR/{n} 两边的词必须在同一个字段里，且不能是 platform:；例如 title:(A NEAR/{n} B)"
                    ),
                    format!(
                        "both operands of NEAR/{n} must be in the same field, and not platform:; e.g. title:(A NEAR/{n} B)"
                    ),
                ));
            }
            left = Node {
                kind: Kind::Near { a, b, n },
                pos: left.pos,
            };
        }
        Ok(left)
    }

    /// `atom := TERM | '(' expr ')' | FIELD ':' atom`
    fn atom(&mut self, scope: Option<Field>) -> Result<Node, PlanError> {
        let Some(tok) = self.toks.get(self.i).cloned() else {
            return Err(PlanError::new(
                ErrorKind::MissingOperand,
                0,
                "缺少内容",
                "missing operand",
            ));
        };
        self.i += 1;
        match tok.tok {
            Tok::Term { raw, quoted } => {
                self.leaf(raw, quoted, tok.pos, scope.unwrap_or(Field::Any))
            }
            Tok::LParen => {
                self.enter(tok.pos)?;
                self.expect_operand(Ctx::Group(tok.pos))?;
                let mut inner = self.expr(scope)?;
                if !matches!(self.peek(), Some(Tok::RParen)) {
                    return Err(unclosed(tok.pos));
                }
                self.i += 1;
                self.depth -= 1;
                inner.pos = tok.pos;
                Ok(inner)
            }
            Tok::Field(f) => {
                if let Some(outer) = scope
                    && outer != f
                {
                    return Err(PlanError::new(
                        ErrorKind::NestedField,
                        tok.pos,
                        format!(
                            "字段“{}:”不能写在字段“{}:”的范围里面",
                            f.name(),
                            outer.name()
                        ),
                        format!(
                            "field `{}:` cannot appear inside the scope of field `{}:`",
                            f.name(),
                            outer.name()
                        ),
                    ));
                }
                self.enter(tok.pos)?;
                self.expect_operand(Ctx::After(self.i - 1))?;
                let mut node = self.atom(Some(f))?;
                self.depth -= 1;
                node.pos = tok.pos;
                Ok(node)
            }
            other => Err(left_missing(&other, tok.pos)),
        }
    }

    fn enter(&mut self, pos: usize) -> Result<(), PlanError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PlanError::new(
                ErrorKind::TooDeep,
                pos,
                format!("括号或字段嵌套太深（最多 {MAX_DEPTH} 层）"),
                format!(
                    "parentheses or field scopes nested too deeply (at most {MAX_DEPTH} levels)"
                ),
            ));
        }
        Ok(())
    }

    fn leaf(
        &mut self,
        raw: String,
        quoted: bool,
        pos: usize,
        field: Field,
    ) -> Result<Node, PlanError> {
        let mut text = crate::normalize(&raw);
        if field == Field::Platform {
            text = text.to_lowercase();
        }
        if text.is_empty() {
            return Err(PlanError::new(
                ErrorKind::EmptyTerm,
                pos,
                "词语为空（或规范化后为空，例如只有空格或 HTML 标签）",
                "empty term (or empty after normalisation, e.g. only spaces or an HTML tag)",
            ));
        }
        if text.contains('"') {
            return Err(PlanError::new(
                ErrorKind::BadTerm,
                pos,
                "词语里不能含有双引号“\"”",
                "a term cannot contain a double quote `\"`",
            ));
        }
        let next = self.terms.len();
        let term = *self.index.entry((field, text.clone())).or_insert(next);
        if term == next {
            self.terms.push(Term { field, text });
        }
        self.notes.occurrences.push(Occurrence {
            term,
            pos,
            raw,
            quoted,
        });
        Ok(Node {
            kind: Kind::Term(term),
            pos,
        })
    }
}

fn push_or(children: &mut Vec<Node>, node: Node) {
    match node.kind {
        Kind::Or(inner) => children.extend(inner),
        _ => children.push(node),
    }
}

fn push_and(items: &mut Vec<Item>, neg: bool, node: Node) {
    match node.kind {
        Kind::And(inner) if !neg => items.extend(inner),
        _ => items.push(Item { neg, node }),
    }
}

fn unclosed(pos: usize) -> PlanError {
    PlanError::new(
        ErrorKind::UnbalancedParen,
        pos,
        "左括号“(”没有闭合：缺少对应的“)”",
        "unbalanced parentheses: this `(` is never closed",
    )
}

fn left_missing(tok: &Tok, pos: usize) -> PlanError {
    let s = tok.show();
    PlanError::new(
        ErrorKind::MissingOperand,
        pos,
        format!("运算符“{s}”左边缺少内容"),
        format!("operator `{s}` has no left-hand operand"),
    )
}
