//! The handling service of yuqing (预警与处置) over a store: the IO around the pure
//! `yuqing-workflow` and `yuqing-alert` libraries.
//!
//! - [`access`]: passwords (argon2id), sessions with idle and absolute expiry, lockout,
//!   personal API tokens, and the first administrator created on first start;
//! - [`alerting`]: follows the stored documents, applies the alert rules and raises one
//!   alert per event and level, queueing its messages (quiet hours respected);
//! - [`delivery`]: sends queued messages through the channels, with retries, from the
//!   stored outbox;
//! - [`escalation`]: tells the next person on duty about unacknowledged alerts;
//! - [`cases`]: the case workflow (register, act, list within scope), deadlines and
//!   reminders, statistics and audit verification;
//! - [`evidence`]: the evidence files of cases, stored by content hash;
//! - [`reports`]: the report products (日报 … 年度统计) built from the store, and the
//!   reports made;
//! - [`verdicts`]: people's verdicts on alerts (属实/误报) counted per monitoring plan.
//!
//! Time always comes from an injected `yuqing_core::Clock`, so tests walk through days.

pub mod access;
pub mod alerting;
pub mod cases;
pub mod delivery;
pub mod error;
pub mod escalation;
pub mod evidence;
pub mod reminders;
pub mod reports;
pub mod settings;
pub mod verdicts;

pub use error::{HandlingError, Result};
pub use settings::HandlingSettings;
