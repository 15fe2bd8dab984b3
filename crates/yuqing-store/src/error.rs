//! The store's error type.

use yuqing_core::Code;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误 / database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("数据库迁移失败 / database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("无法打开数据目录 {path}：{source} / cannot open data directory {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "存储的数据无法解析（seq {seq}，字段 {field}）：{reason} / stored data cannot be read (seq {seq}, field {field}): {reason}"
    )]
    Corrupt {
        seq: i64,
        field: &'static str,
        reason: String,
    },
}

impl StoreError {
    pub fn code(&self) -> Code {
        match self {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                Code::Unavailable
            }
            StoreError::Open { .. } => Code::Unavailable,
            // A full disk (SQLITE_FULL) passes when space returns: the client retries.
            StoreError::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("13") => {
                Code::Unavailable
            }
            _ => Code::Internal,
        }
    }
}
