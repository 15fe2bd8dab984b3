//! The one error type of the crate, [`WorkflowError`]. Every refusal carries a stable
//! [`Code`] (mapped to HTTP only by the web crate), a stable machine-readable `reason`
//! (`self_approval`, `out_of_scope`, ...; clients and tests match on it) and a message that
//! says what was wrong and how to fix it, in Chinese first and English after a ` / `.

use yuqing_core::{Code, Message};

/// Why an organisation, a case action, a rule set or a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// Malformed input or a step the workflow does not allow from the current state.
    #[error("{} / {}", message.zh, message.en)]
    InvalidInput {
        reason: &'static str,
        message: Message,
    },
    /// A unit, user or case that does not exist.
    #[error("{} / {}", message.zh, message.en)]
    NotFound {
        reason: &'static str,
        message: Message,
    },
    /// The case was changed by someone else since the caller read it (stale version).
    #[error("{} / {}", message.zh, message.en)]
    Conflict {
        reason: &'static str,
        message: Message,
    },
    /// The actor's role or unit does not allow the action (or separation of duties forbids it).
    #[error("{} / {}", message.zh, message.en)]
    Forbidden {
        reason: &'static str,
        message: Message,
    },
}

impl WorkflowError {
    pub(crate) fn invalid(
        reason: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self::InvalidInput {
            reason,
            message: Message::new(zh, en),
        }
    }
    pub(crate) fn not_found(
        reason: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self::NotFound {
            reason,
            message: Message::new(zh, en),
        }
    }
    pub(crate) fn conflict(
        reason: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self::Conflict {
            reason,
            message: Message::new(zh, en),
        }
    }
    pub(crate) fn forbidden(
        reason: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self::Forbidden {
            reason,
            message: Message::new(zh, en),
        }
    }

    /// The stable error code.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidInput { .. } => Code::InvalidInput,
            Self::NotFound { .. } => Code::NotFound,
            Self::Conflict { .. } => Code::Conflict,
            Self::Forbidden { .. } => Code::Forbidden,
        }
    }

    /// The stable, machine-readable reason (`version_conflict`, `illegal_transition`,
    /// `role_not_permitted`, `out_of_scope`, `self_approval`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidInput { reason, .. }
            | Self::NotFound { reason, .. }
            | Self::Conflict { reason, .. }
            | Self::Forbidden { reason, .. } => reason,
        }
    }

    /// The bilingual message.
    pub fn message(&self) -> &Message {
        match self {
            Self::InvalidInput { message, .. }
            | Self::NotFound { message, .. }
            | Self::Conflict { message, .. }
            | Self::Forbidden { message, .. } => message,
        }
    }
}

/// Result alias of the crate.
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

/// Refuses an empty (or all-space) required text field.
pub(crate) fn require_text(field: &'static str, zh_name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(WorkflowError::invalid(
            "missing_field",
            format!("“{zh_name}”（{field}）不能为空；请填写后重试"),
            format!("{field} must not be empty: fill it in and retry"),
        ));
    }
    Ok(())
}
