//! The tantivy tokenizer over [`yuqing_text::ngram`]: bigrams with character positions.
//! Grams are computed up front as byte ranges; one token buffer is reused for all of them.
//! Also registers jieba (`tantivy-jieba`) for the ranking-only `words` field.

use tantivy::Index;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

pub(crate) const NAME: &str = "yuqing_ngram";
/// jieba words, for ranking only (recall comes from the n-grams).
pub(crate) const WORDS: &str = "yuqing_words";

pub(crate) fn register(index: &Index) {
    index.tokenizers().register(NAME, NgramTokenizer::default());
    // Precise mode, not search mode: 北京大学出版社 stays one word, so only texts where the
    // query is a whole word get the boost.
    index.tokenizers().register(
        WORDS,
        tantivy_jieba::JiebaTokenizer::with_search_mode(false),
    );
}

#[derive(Clone, Debug, Default)]
pub(crate) struct NgramTokenizer {
    grams: Vec<(usize, usize, usize)>,
}

pub(crate) struct NgramStream<'a> {
    text: &'a str,
    grams: &'a [(usize, usize, usize)],
    next: usize,
    token: Token,
}

impl Tokenizer for NgramTokenizer {
    type TokenStream<'a> = NgramStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> NgramStream<'a> {
        self.grams.clear();
        yuqing_text::ngram::for_each_gram(text, |g| {
            self.grams.push((g.from, g.to, g.pos as usize))
        });
        NgramStream {
            text,
            grams: &self.grams,
            next: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for NgramStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(&(from, to, pos)) = self.grams.get(self.next) else {
            return false;
        };
        self.next += 1;
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = pos;
        self.token.position_length = 1;
        self.token.text.clear();
        self.token.text.push_str(&self.text[from..to]);
        true
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}
