//! The index's error type.

use yuqing_core::Code;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("全文索引错误 / index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("无法打开全文索引 {path}：{reason} / cannot open the index at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "全文索引 {path} 的版本与本程序不符，请运行 `yuqing reindex` 重建 / the index at {path} was built by another version: run `yuqing reindex`"
    )]
    SchemaMismatch { path: String },
    #[error(
        "全文索引 {path} 建立时的繁简转换设置（[text] fold_traditional）与当前配置不同，请运行 `yuqing reindex` / the index at {path} was built with another [text] fold_traditional setting: run `yuqing reindex`"
    )]
    NormalisationMismatch { path: String },
    #[error("读写 {path} 失败：{source} / cannot access {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "查询 {query:?} 不含文字或数字，无法检索；请加入至少一个字 / query {query:?} has no letters, digits or ideographs to search for"
    )]
    Unsearchable { query: String },
    #[error("内部错误 / internal error: {0}")]
    Internal(String),
}

impl SearchError {
    pub fn code(&self) -> Code {
        match self {
            SearchError::Unsearchable { .. } => Code::InvalidInput,
            SearchError::Io { .. } | SearchError::Open { .. } => Code::Unavailable,
            SearchError::SchemaMismatch { .. } | SearchError::NormalisationMismatch { .. } => {
                Code::Conflict
            }
            _ => Code::Internal,
        }
    }
}
