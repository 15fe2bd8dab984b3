//! Text processing for yuqing. Pure and synchronous: nothing here does IO or awaits.
//!
//! - [`normalize`]: the one normalisation every matcher uses (search index, `count`, plans):
//!   HTML stripped and entities decoded, full-width → half-width (NFKC), lower case,
//!   traditional → simplified, whitespace folded. The original text is always kept
//!   elsewhere; normalised text is for matching only.
//! - [`url`]: URL canonicalisation (tracking parameters dropped).
//! - [`fingerprint`]: content hashes and 64-bit SimHash for reprint grouping.
//! - [`ngram`]: the character n-gram tokens of the full-text index, shared by the indexer
//!   and the query builder so that both always cut text the same way.

pub mod fingerprint;
pub mod ngram;
pub mod normalize;
pub mod plan;
pub mod sentiment;
pub mod url;

pub use normalize::{
    breaks_line, fold_traditional, html_to_text, normalize, normalize_into, set_fold_traditional,
};
