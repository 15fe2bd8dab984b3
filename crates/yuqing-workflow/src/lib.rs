//! Warning and handling (预警处置) of yuqing: the pure core of the case workflow.
//! Pure and synchronous: no IO, no database, no clock of its own (every function takes
//! `now` from the caller, who reads an injected `yuqing_core::Clock`). Every type is serde
//! so the store can keep it as rows or JSON.
//!
//! - [`org`]: units (a forest: county → town → school, departments), users, roles per
//!   unit, and the scope rule (a role holds in the unit's subtree).
//! - [`case`]: the case state machine of `docs/specs/case-workflow.md`: [`Case::register`],
//!   [`Case::apply`] with optimistic versioning, separation of duties and a timeline.
//! - [`deadlines`]: configurable time limits with a working-day calendar, the deadlines of a
//!   case, and `tick` producing 催办/督办 reminders exactly once each.
//! - [`audit`]: an append-only, SHA-256 hash-chained log and its verification.
//! - [`stats`]: per-department and per-monitor figures (回复率, 办结率, 按时率, 满意度).
//! - [`points`]: the monitors' performance points (绩效考核分), itemised, with configurable
//!   weights.
//!
//! Nothing panics on bad input: every refusal is a [`WorkflowError`] with a stable code,
//! a stable reason and a Chinese + English message.

pub mod audit;
pub mod case;
pub mod deadlines;
pub mod error;
pub mod org;
pub mod points;
pub mod stats;

pub use audit::{AuditEntry, AuditLog, Tampered};
pub use case::{Action, ActionKind, Actor, Case, CaseState, Registration, TimelineEntry};
pub use deadlines::{Deadline, DeadlineRules, Reminder, deadlines_for, tick};
pub use error::WorkflowError;
pub use org::{Org, Role};
pub use points::PointRules;
