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
        "无法连接 PostgreSQL 数据库 {url}：{source}。请确认服务器已启动、主机和端口正确、该用户可以登录这个数据库（可用 `pg_isready -d <URL>` 检查） / cannot connect to the PostgreSQL database {url}: {source}; check that the server is running, the host and port are right, and the user may log in to this database (`pg_isready -d <URL>` tells)"
    )]
    Connect { url: String, source: sqlx::Error },
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
            StoreError::Open { .. } | StoreError::Connect { .. } => Code::Unavailable,
            // A full disk (SQLITE_FULL) passes when space returns: the client retries.
            StoreError::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("13") => {
                Code::Unavailable
            }
            StoreError::Database(sqlx::Error::Database(d))
                if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some() =>
            {
                postgres_code(d.code().as_deref())
            }
            _ => Code::Internal,
        }
    }
}

/// The code of a PostgreSQL error, by its SQLSTATE.
fn postgres_code(state: Option<&str>) -> Code {
    let Some(state) = state.filter(|s| s.len() == 5) else {
        return Code::Internal;
    };
    match state {
        // unique_violation: the same identity written twice where no ON CONFLICT applies
        // (a session or API token hash, a case id): the caller's write conflicts.
        "23505" => Code::Conflict,
        // Class 53, insufficient resources: disk_full (53100), out_of_memory (53200),
        // too_many_connections (53300). They pass: the client retries.
        s if s.starts_with("53") => Code::Unavailable,
        // Class 08, connection exception; 57P01..57P03: the server is shutting down or
        // starting; 40001 / 40P01: serialization failure or deadlock, safe to retry.
        s if s.starts_with("08") => Code::Unavailable,
        "57P01" | "57P02" | "57P03" | "40001" | "40P01" => Code::Unavailable,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_states_map_to_codes() {
        assert_eq!(postgres_code(Some("53100")), Code::Unavailable);
        assert_eq!(postgres_code(Some("23505")), Code::Conflict);
        assert_eq!(postgres_code(Some("08006")), Code::Unavailable);
        assert_eq!(postgres_code(Some("42P01")), Code::Internal);
    }
}
