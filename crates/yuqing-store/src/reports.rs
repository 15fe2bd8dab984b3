//! [`ReportStore`]: the reports made (issue 6), with their inputs and rendered model
//! (migration `0006_reports.sql`). The store keeps JSON as given; building and checking
//! reports is `yuqing_handling::reports`.

use crate::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::future::Future;

/// A report to save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub kind: String,
    pub title: String,
    pub subtitle: Option<String>,
    /// 期号 of a digest.
    pub issue: Option<i64>,
    pub inputs: serde_json::Value,
    pub model: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// The unit whose office made it; `None`: the whole organisation's.
    pub unit: Option<String>,
    /// Reports made by the schedule carry a key (e.g. `daily:2026-11-21`), made once.
    pub schedule_key: Option<String>,
}

/// A saved report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedReport {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub issue: Option<i64>,
    pub inputs: serde_json::Value,
    /// Left out of lists (`Null` there).
    pub model: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub unit: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub schedule_key: Option<String>,
}

pub trait ReportStore: Send + Sync {
    /// Saves a report. With a `schedule_key` already saved, nothing is written and
    /// `None` is returned (the schedule makes each report once); so too for a digest
    /// whose 期号 (`issue`) a saved digest has: the check and the insert are one step, so
    /// two digests made at once never share a number.
    fn put_report(&self, r: &NewReport)
    -> impl Future<Output = Result<Option<SavedReport>>> + Send;
    /// Replaces a report's inputs and model (the analyst edited its commentary).
    fn update_report(
        &self,
        id: i64,
        inputs: &serde_json::Value,
        model: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SavedReport>>> + Send;
    fn report(&self, id: i64) -> impl Future<Output = Result<Option<SavedReport>>> + Send;
    /// Reports newest first, without their model; `kind` filters.
    fn reports(
        &self,
        kind: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<SavedReport>>> + Send;
    /// The id of the report saved under this schedule key, if any (the schedule asks
    /// before it builds a report it may already have made, and to find the report whose
    /// announcement is still to be queued).
    fn scheduled_report(&self, key: &str) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// The highest 期号 of saved digests.
    fn last_digest_issue(&self) -> impl Future<Output = Result<Option<u32>>> + Send;
}
