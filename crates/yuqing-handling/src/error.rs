//! The crate's one error type: a refusal of the workflow, a store or channel failure, or a
//! missing object, each with a stable [`Code`] and a "zh / en" message.

use yuqing_core::Code;

#[derive(Debug, thiserror::Error)]
pub enum HandlingError {
    #[error("{0}")]
    Workflow(#[from] yuqing_workflow::WorkflowError),
    #[error("{0}")]
    Store(#[from] yuqing_store::StoreError),
    #[error("{0}")]
    Alert(#[from] yuqing_alert::AlertError),
    /// Something asked for that does not exist, or a refusal with its own code.
    #[error("{zh} / {en}")]
    Refused { code: Code, zh: String, en: String },
}

impl HandlingError {
    pub fn code(&self) -> Code {
        match self {
            HandlingError::Workflow(e) => e.code(),
            HandlingError::Store(e) => e.code(),
            HandlingError::Alert(e) => e.code(),
            HandlingError::Refused { code, .. } => *code,
        }
    }
    pub fn refused(code: Code, zh: impl Into<String>, en: impl Into<String>) -> Self {
        HandlingError::Refused {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }
    pub fn not_found(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::refused(Code::NotFound, zh, en)
    }
    pub fn conflict(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::refused(Code::Conflict, zh, en)
    }
    pub fn forbidden(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::refused(Code::Forbidden, zh, en)
    }
    pub fn invalid(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::refused(Code::InvalidInput, zh, en)
    }
    /// The stable reason of a workflow refusal (`self_approval`, `out_of_scope`, ...).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            HandlingError::Workflow(e) => Some(e.reason()),
            _ => None,
        }
    }
}

pub type Result<T, E = HandlingError> = std::result::Result<T, E>;
