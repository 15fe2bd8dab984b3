//! Character n-grams with positions: the tokens of the full-text index.
//!
//! A word-level (jieba) index misses substrings: 北京大学 inside 北京大学出版社 is one jieba
//! word 北京大学出版社, so the query finds nothing. Users expect a search to find every text
//! containing the string, so the index stores, for every run of letters, digits and
//! ideographs in the normalised text, each character bigram at its character position; a
//! run of one character is stored as a unigram. A query for a string of length n ≥ 2
//! becomes a phrase of bigrams at fixed offsets, which matches exactly the texts that
//! contain the string. Punctuation and spaces end a run and are not indexed.

/// One token: a slice of the normalised text and its character position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gram<'a> {
    pub text: &'a str,
    /// Character index of the first character in the normalised text.
    pub pos: u32,
    /// Byte range in the normalised text.
    pub from: usize,
    pub to: usize,
}

/// True for characters that are indexed (letters, digits, ideographs).
#[inline]
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Calls `f` with every gram of `norm` in order.
pub fn for_each_gram<'a>(norm: &'a str, mut f: impl FnMut(Gram<'a>)) {
    // (byte offset, char) of the previous word char in the current run, and run length.
    let mut prev: Option<(usize, u32)> = None;
    let mut run_len = 0u32;
    let mut pos = 0u32;
    let mut iter = norm.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_word_char(c) {
            if let Some((pi, ppos)) = prev {
                f(Gram {
                    text: &norm[pi..i + c.len_utf8()],
                    pos: ppos,
                    from: pi,
                    to: i + c.len_utf8(),
                });
            }
            run_len += 1;
            let next_is_word = iter.peek().is_some_and(|&(_, n)| is_word_char(n));
            if run_len == 1 && !next_is_word {
                f(Gram {
                    text: &norm[i..i + c.len_utf8()],
                    pos,
                    from: i,
                    to: i + c.len_utf8(),
                });
            }
            prev = Some((i, pos));
        } else {
            prev = None;
            run_len = 0;
        }
        pos += 1;
    }
}

/// All grams of `norm`, collected.
pub fn grams(norm: &str) -> Vec<Gram<'_>> {
    let mut v = Vec::new();
    for_each_gram(norm, |g| v.push(g));
    v
}

/// How a normalised query string is looked up in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPlan {
    /// Nothing indexable (only punctuation/space): must be answered by scanning.
    Scan,
    /// One word character: texts containing it as a unigram or inside a bigram;
    /// `exact == false` when the query also had punctuation/space to verify.
    Char { c: String, exact: bool },
    /// A phrase of (offset, gram) that matches exactly the texts containing the query,
    /// `exact == false` when the query has punctuation/space whose presence must be
    /// verified on the text afterwards.
    Phrase {
        grams: Vec<(u32, String)>,
        exact: bool,
    },
}

/// Plans the index lookup of a normalised query.
pub fn plan_query(norm: &str) -> QueryPlan {
    let chars: Vec<char> = norm.chars().collect();
    if chars.is_empty() || !chars.iter().any(|c| is_word_char(*c)) {
        return QueryPlan::Scan;
    }
    let exact = chars.iter().all(|c| is_word_char(*c));
    if exact && chars.len() == 1 {
        return QueryPlan::Char {
            c: chars[0].to_string(),
            exact: true,
        };
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_word_char(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word_char(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() >= 2 {
            // Bigrams at 0, 2, 4, … and the last one: they cover every character.
            let mut k = 0;
            loop {
                let k2 = k.min(run.len() - 2);
                out.push(((start + k2) as u32, run[k2..k2 + 2].iter().collect()));
                if k2 == run.len() - 2 {
                    break;
                }
                k += 2;
            }
        }
        // Single-character runs inside a longer query are left to verification.
    }
    if out.is_empty() {
        // Only single characters separated by punctuation: look up the first one, verify.
        let c = chars
            .iter()
            .find(|c| is_word_char(**c))
            .copied()
            .unwrap_or(' ');
        return QueryPlan::Char {
            c: c.to_string(),
            exact: false,
        };
    }
    let base = out[0].0;
    for g in &mut out {
        g.0 -= base;
    }
    QueryPlan::Phrase { grams: out, exact }
}

impl QueryPlan {
    /// True when index hits need no verification against the text.
    pub fn is_exact(&self) -> bool {
        matches!(
            self,
            QueryPlan::Char { exact: true, .. } | QueryPlan::Phrase { exact: true, .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(String, u32)> {
        grams(s)
            .into_iter()
            .map(|g| (g.text.to_owned(), g.pos))
            .collect()
    }

    #[test]
    fn bigrams_with_char_positions_and_unigrams_for_lone_chars() {
        assert_eq!(
            texts("北京大学,好 ab"),
            vec![
                ("北京".into(), 0),
                ("京大".into(), 1),
                ("大学".into(), 2),
                ("好".into(), 5),
                ("ab".into(), 7)
            ]
        );
    }

    #[test]
    fn query_plan_covers_every_char() {
        assert_eq!(
            plan_query("北京大学"),
            QueryPlan::Phrase {
                grams: vec![(0, "北京".into()), (2, "大学".into())],
                exact: true
            }
        );
        assert_eq!(
            plan_query("北京大学出"),
            QueryPlan::Phrase {
                grams: vec![(0, "北京".into()), (2, "大学".into()), (3, "学出".into())],
                exact: true
            }
        );
        assert_eq!(
            plan_query("北"),
            QueryPlan::Char {
                c: "北".into(),
                exact: true
            }
        );
        assert_eq!(plan_query("!!"), QueryPlan::Scan);
        assert!(!plan_query("a b").is_exact());
        assert!(matches!(
            plan_query("北京 大学"),
            QueryPlan::Phrase { exact: false, .. }
        ));
    }
}
