//! The tantivy tokenizer over [`yuqing_text::ngram`]: bigrams with character positions.

use tantivy::Index;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

pub(crate) const NAME: &str = "yuqing_ngram";

pub(crate) fn register(index: &Index) {
    index.tokenizers().register(NAME, NgramTokenizer);
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NgramTokenizer;

pub(crate) struct NgramStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for NgramTokenizer {
    type TokenStream<'a> = NgramStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> NgramStream {
        let mut tokens = Vec::with_capacity(text.len() / 2);
        yuqing_text::ngram::for_each_gram(text, |g| {
            tokens.push(Token {
                offset_from: g.from,
                offset_to: g.to,
                position: g.pos as usize,
                text: g.text.to_owned(),
                position_length: 1,
            });
        });
        NgramStream { tokens, next: 0 }
    }
}

impl TokenStream for NgramStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}
