//! The index schema and its commit payload.

use tantivy::schema::{
    FAST, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// Bumped whenever the schema or the tokenizer changes; an index of another version must
/// be rebuilt with `yuqing reindex`.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub seq: tantivy::schema::Field,
    pub title: tantivy::schema::Field,
    pub text: tantivy::schema::Field,
    /// jieba words of title and text: only for ranking (whole-word matches score higher).
    pub words: tantivy::schema::Field,
    pub platform: tantivy::schema::Field,
    pub kind: tantivy::schema::Field,
    pub source: tantivy::schema::Field,
    pub published: tantivy::schema::Field,
    pub verified: tantivy::schema::Field,
    pub group: tantivy::schema::Field,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Payload {
    pub seq: i64,
    #[serde(default)]
    pub version: Option<u32>,
    /// Whether the indexed text was folded traditional → simplified.
    #[serde(default)]
    pub fold_traditional: Option<bool>,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ngram = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(crate::tokenizer::NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        seq: b.add_u64_field("seq", INDEXED | FAST),
        title: b.add_text_field("title", ngram.clone()),
        text: b.add_text_field("text", ngram),
        words: b.add_text_field(
            "words",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(crate::tokenizer::WORDS)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
        platform: b.add_text_field("platform", STRING | FAST),
        kind: b.add_text_field("kind", STRING),
        source: b.add_text_field("source", STRING),
        published: b.add_i64_field("published", INDEXED | FAST),
        verified: b.add_u64_field("verified", INDEXED),
        group: b.add_i64_field("group", FAST),
    };
    (b.build(), fields)
}
