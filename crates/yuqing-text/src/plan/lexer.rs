//! Tokeniser of the plan language: turns the expression into [`Token`]s with their
//! character positions. Owns the lexical rules: which characters are operators, how
//! quoted phrases, `NEAR/n`, the upper-case keywords and `field:` prefixes are recognised,
//! and the folding of full-width operator characters (`（）＋｜－＂：`, U+3000) to ASCII.

use super::Field;
use super::error::{ErrorKind, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    Plus,
    Minus,
    Pipe,
    And,
    Or,
    Not,
    Near(usize),
    Field(Field),
    Term { raw: String, quoted: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 0-based character index of the token's first character.
    pub pos: usize,
}

impl Tok {
    /// How the token is written, for messages.
    pub(crate) fn show(&self) -> String {
        match self {
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Plus => "+".into(),
            Tok::Minus => "-".into(),
            Tok::Pipe => "|".into(),
            Tok::And => "AND".into(),
            Tok::Or => "OR".into(),
            Tok::Not => "NOT".into(),
            Tok::Near(n) => format!("NEAR/{n}"),
            Tok::Field(f) => format!("{}:", f.name()),
            Tok::Term { raw, .. } => raw.clone(),
        }
    }
}

/// Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space fold to ASCII, so
/// that `（北京｜上海）＋医院` typed with a Chinese input method means what it looks like.
/// The mapping is one character to one character, so positions are unchanged.
pub(crate) fn fold(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Characters that end a bare (unquoted) term.
pub(crate) fn is_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '+' | '|' | '"' | '-')
}

/// True if `word` (already folded) would be read as a keyword rather than a term.
pub(crate) fn is_keyword(word: &str) -> bool {
    matches!(word, "AND" | "OR" | "NOT" | "NEAR") || word.starts_with("NEAR/")
}

pub(crate) fn tokenize(expr: &str) -> Result<Vec<Token>, PlanError> {
    let chars: Vec<char> = expr.chars().map(fold).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '+' => Some(Tok::Plus),
            '-' => Some(Tok::Minus),
            '|' => Some(Tok::Pipe),
            _ => None,
        };
        if let Some(tok) = single {
            out.push(Token { tok, pos: i });
            i += 1;
            continue;
        }
        if c == '"' {
            let Some(len) = chars[i + 1..].iter().position(|&q| q == '"') else {
                return Err(PlanError::new(
                    ErrorKind::UnterminatedQuote,
                    i,
                    "引号没有闭合：短语要用一对英文双引号括起来，例如 \"转发微博\"",
                    "unterminated quote: a phrase must be enclosed in a pair of double quotes, e.g. \"转发微博\"",
                ));
            };
            let raw: String = chars[i + 1..i + 1 + len].iter().collect();
            out.push(Token {
                tok: Tok::Term { raw, quoted: true },
                pos: i,
            });
            i += len + 2;
            continue;
        }
        let start = i;
        while i < chars.len() && !is_break(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        classify(&word, start, &mut out)?;
    }
    Ok(out)
}

fn classify(word: &str, pos: usize, out: &mut Vec<Token>) -> Result<(), PlanError> {
    let tok = match word {
        "AND" => Tok::And,
        "OR" => Tok::Or,
        "NOT" => Tok::Not,
        _ if word == "NEAR" || word.starts_with("NEAR/") => {
            let digits = word.get(5..).unwrap_or("");
            match digits.parse::<u32>() {
                Ok(n) if digits.bytes().all(|b| b.is_ascii_digit()) => Tok::Near(n as usize),
                _ => {
                    return Err(PlanError::new(
                        ErrorKind::BadNear,
                        pos,
                        format!(
                            "“{word}”写法不对：邻近运算要写成 NEAR/数字，例如 孩子 NEAR/5 医院（两词之间最多隔 5 个字）"
                        ),
                        format!(
                            "bad proximity operator `{word}`: write NEAR/<number>, e.g. 孩子 NEAR/5 医院 (at most 5 characters between the terms)"
                        ),
                    ));
                }
            }
        }
        _ => {
            if let Some(colon) = word.find(':') {
                let prefix = &word[..colon];
                if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphabetic()) {
                    let Some(field) = Field::from_name(prefix) else {
                        return Err(PlanError::new(
                            ErrorKind::UnknownField,
                            pos,
                            format!(
                                "未知字段“{prefix}:”：可用的字段是 title:（标题）、author:（作者）、platform:（平台）；若要搜索带冒号的词，请加引号，例如 \"{word}\""
                            ),
                            format!(
                                "unknown field `{prefix}:`: the fields are title:, author: and platform:; to search for a word containing a colon, quote it, e.g. \"{word}\""
                            ),
                        ));
                    };
                    out.push(Token {
                        tok: Tok::Field(field),
                        pos,
                    });
                    let rest = &word[colon + 1..];
                    if !rest.is_empty() {
                        let rest_pos = pos + prefix.chars().count() + 1;
                        out.push(Token {
                            tok: Tok::Term {
                                raw: rest.to_string(),
                                quoted: false,
                            },
                            pos: rest_pos,
                        });
                    }
                    return Ok(());
                }
            }
            Tok::Term {
                raw: word.to_string(),
                quoted: false,
            }
        }
    };
    out.push(Token { tok, pos });
    Ok(())
}
