//! One error type for every handler, rendered as
//! `{"message", "message_en", "code", "type", "link"}` with a status from its code, plus
//! the fields that say where for an input that has a position (a plan expression:
//! `position`, `column`, `kind`). Internal errors are logged and never sent to the client
//! in detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use yuqing_core::Code;

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub zh: String,
    pub en: String,
    /// More fields of the body (where the input was wrong).
    pub extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ApiError {
    pub fn new(code: Code, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code,
            zh: zh.into(),
            en: en.into(),
            extra: None,
        }
    }
    /// 400 for a plan expression that does not parse (`q` of search, a plan's expression):
    /// the message with the column, and `position` (0-based characters), `column` and
    /// `kind` (the stable name of the plan error, docs/specs/plan-language.md §10).
    pub fn plan(e: &yuqing_text::plan::PlanError) -> Self {
        let col = e.column();
        let mut err = Self::invalid(
            format!("方案表达式有误：第 {col} 列：{}", e.zh),
            format!("the plan expression is invalid: column {col}: {}", e.en),
        );
        let mut extra = serde_json::Map::new();
        extra.insert("position".into(), json!(e.pos));
        extra.insert("column".into(), json!(col));
        extra.insert("kind".into(), json!(e.kind));
        err.extra = Some(Box::new(extra));
        err
    }
    pub fn invalid(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(Code::InvalidInput, zh, en)
    }
    /// From a library error whose Display is "zh / en" (our convention).
    pub fn from_display(code: Code, e: &dyn std::fmt::Display) -> Self {
        if code == Code::Internal {
            tracing::error!(error = %e, "internal error");
            return Self::new(
                code,
                "服务器内部错误，详情已记录在日志中",
                "internal error; details are in the server log",
            );
        }
        let s = e.to_string();
        match s.split_once(" / ") {
            Some((zh, en)) => Self::new(code, zh, en),
            None => Self::new(code, s.clone(), s),
        }
    }
}

pub fn status(code: Code) -> StatusCode {
    match code {
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Conflict => StatusCode::CONFLICT,
        Code::InvalidInput => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = match self.code {
            Code::Internal | Code::Unavailable => "system",
            Code::Unauthenticated | Code::Forbidden => "auth",
            _ => "invalid_request",
        };
        let mut body = json!({
            "message": self.zh,
            "message_en": self.en,
            "code": self.code.as_str(),
            "type": kind,
            "link": format!("/docs/errors#{}", self.code.as_str()),
        });
        if let (Some(extra), Some(obj)) = (self.extra, body.as_object_mut()) {
            obj.extend(*extra);
        }
        (status(self.code), Json(body)).into_response()
    }
}

macro_rules! from_lib {
    ($t:ty) => {
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::from_display(e.code(), &e)
            }
        }
    };
}
from_lib!(yuqing_store::StoreError);
from_lib!(yuqing_handling::HandlingError);
from_lib!(yuqing_search::SearchError);
from_lib!(yuqing_ingest::query::QueryError);
