//! The scheduled reports: once the configured time has passed on its day (Beijing time),
//! `serve` makes
//!
//! - the day's 日报 (`[report] daily_at`, working days, or every day with `weekends`),
//!   key `daily:<date>`;
//! - on `[report] weekly_at`'s weekday, the week before's 周报, key `weekly:<YYYY-Www>`;
//! - on `[report] monthly_at`'s day, the month before's 月报, key `monthly:<YYYY-MM>`;
//!
//! each saved under its key (made once, even across restarts or several servers on one
//! database), and announces it through the channels: robots get the title, the headline
//! figures and a link; e-mail gets the report as a Word attachment. The announcements go
//! through the stored outbox (`report:{key}` per channel), so they are retried, kept in
//! order with the alerts and logged like them; a report that cannot be made is announced
//! as such (`report-failed:{key}`), once. A day missed (the server was down all of it) is
//! not made up later, as a person would not write yesterday's briefing today.

use super::*;
use chrono::{Datelike, NaiveTime, Weekday};
use yuqing_alert::message::{AlertMessage, MessageKind};
use yuqing_alert::outbox::{AttemptState, Entry};
use yuqing_alert::{NoticeKind, ReportNotice};
use yuqing_report::{Format, render};
use yuqing_store::handling::NewOutboxEntry;
use yuqing_store::reports::SavedReport;

/// One channel's announcement of a scheduled report ([`Reports::announced`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Announced {
    pub channel: String,
    /// When the channel accepted it (none yet: still being tried).
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts so far.
    pub attempts: i64,
    /// While not delivered, why the last attempt failed.
    pub error: Option<String>,
}

/// What one check of the schedule did for one due report.
#[derive(Debug)]
pub struct Ran {
    /// The schedule key (`daily:2026-11-20`).
    pub key: String,
    /// The report made now (or made before but announced only now: the server stopped in
    /// between), or why it could not be made.
    pub made: std::result::Result<SavedReport, String>,
    /// Notices queued in the outbox, one per channel: the announcement, or word that the
    /// report could not be made.
    pub queued: usize,
}

/// Whether the daily report of `now`'s Beijing day is due at `now`.
pub fn due(settings: &ReportSettings, now: DateTime<Utc>) -> Result<Option<chrono::NaiveDate>> {
    let Some((h, m)) = settings.daily_time()? else {
        return Ok(None);
    };
    let local = bj(now);
    let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
    let at = NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    Ok((local.time() >= at && (settings.weekends || !weekend)).then(|| local.date_naive()))
}

/// Every scheduled report due at `now` with its key: the month before's 月报 (on its
/// day), the week before's 周报 (on its weekday), the day's 日报.
pub fn due_reports(settings: &ReportSettings, now: DateTime<Utc>) -> Result<Vec<(Spec, String)>> {
    let local = bj(now);
    let (today, time) = (local.date_naive(), local.time());
    let after = |h: u32, m: u32| time >= NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    let mut out = Vec::new();
    if let Some((day, h, m)) = settings.monthly_time()?
        && today.day() == day
        && after(h, m)
    {
        let prev = today
            .with_day(1)
            .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
            .unwrap_or(today);
        let month = format!("{}-{:02}", prev.year(), prev.month());
        out.push((
            Spec::Monthly {
                month: month.clone(),
            },
            format!("monthly:{month}"),
        ));
    }
    if let Some((weekday, h, m)) = settings.weekly_time()?
        && local.weekday() == weekday
        && after(h, m)
    {
        let w = (today - chrono::Duration::days(7)).iso_week();
        let week = format!("{}-W{:02}", w.year(), w.week());
        out.push((
            Spec::Weekly { week: week.clone() },
            format!("weekly:{week}"),
        ));
    }
    if let Some(date) = due(settings, now)? {
        out.push((Spec::Daily { date }, format!("daily:{date}")));
    }
    Ok(out)
}

impl<S: Store + HandlingStore + ReportStore + Send + Sync + 'static> Reports<S> {
    /// Checks the schedule once: makes each report that is due and not yet made
    /// ([`due_reports`]) and queues its announcement for `channels` (the names of the
    /// channels the settings select, [`ReportSettings::channels_of`]) in the stored outbox,
    /// which the dispatcher sends and retries like alerts. Returns what it did. A report
    /// that fails is logged, the office is told once through the same channels
    /// (`report-failed:{key}`), and it is tried again at the next check; it does not hold
    /// up the others. A report made but not announced (the server stopped in between) is
    /// announced at the next check.
    pub async fn run_schedule(
        &self,
        settings: &ReportSettings,
        channels: &[String],
    ) -> Result<Vec<Ran>> {
        let mut ran = Vec::new();
        for (spec, key) in due_reports(settings, self.now())? {
            let announce_id = announcement_id(&key);
            let saved = match self.store.scheduled_report(&key).await {
                // Made already (here or by another server): not built again every
                // minute; announced already too, unless the server stopped in between.
                Ok(Some(id)) => match self.unannounced(id, &announce_id, channels).await {
                    Ok(Some(saved)) => saved,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!(report = %key, error = %e, "the report's announcement could not be read");
                        continue;
                    }
                },
                Ok(None) => {
                    let inputs = Inputs::new(spec.clone());
                    match self
                        .make_keyed(
                            &inputs,
                            &Principal::Operator,
                            "system",
                            None,
                            Some(key.clone()),
                        )
                        .await
                    {
                        Ok(Some(saved)) => saved,
                        // Another server saved it this moment; it announces it.
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::error!(report = %key, error = %e, "a scheduled report could not be made");
                            metrics::counter!("yuqing_report_schedule_failures_total").increment(1);
                            let msg = failure_message(&spec, &e.to_string(), settings, self.now());
                            let queued = self
                                .queue(&format!("report-failed:{key}"), msg, None, channels)
                                .await;
                            ran.push(Ran {
                                key,
                                made: Err(e.to_string()),
                                queued,
                            });
                            continue;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(report = %key, error = %e, "the report schedule could not be read");
                    continue;
                }
            };
            let msg = match serde_json::from_value::<Report>(saved.model.clone()) {
                Ok(report) => announcement(&report, saved.id, settings, self.now()),
                // Saved by another version, say: announced by its title, once, rather than
                // tried again every minute.
                Err(e) => {
                    tracing::error!(report = %key, error = %e, "a scheduled report could not be read back; announced by its title");
                    announcement_by_title(&saved, settings, self.now())
                }
            };
            let queued = self
                .queue(&announce_id, msg, Some(saved.id), channels)
                .await;
            ran.push(Ran {
                key,
                made: Ok(saved),
                queued,
            });
        }
        Ok(ran)
    }

    /// Where a scheduled report's announcement went, one entry per channel (none for a
    /// report made by hand, or while it is not queued).
    pub async fn announced(&self, saved: &SavedReport) -> Result<Vec<Announced>> {
        let Some(key) = &saved.schedule_key else {
            return Ok(Vec::new());
        };
        let rows = self.store.outbox_of(&announcement_id(key)).await?;
        Ok(rows
            .into_iter()
            .map(|o| {
                let error = o
                    .delivered_at
                    .is_none()
                    .then(|| serde_json::from_value::<Entry>(o.body).ok())
                    .flatten()
                    .and_then(|e| {
                        e.log
                            .iter()
                            .rev()
                            .find(|l| {
                                matches!(l.state, AttemptState::Failed | AttemptState::Abandoned)
                            })
                            .map(|l| l.detail.clone())
                    });
                Announced {
                    channel: o.channel,
                    delivered_at: o.delivered_at,
                    attempts: o.attempts,
                    error,
                }
            })
            .collect())
    }

    /// The saved report `id` when its announcement is still to be queued.
    async fn unannounced(
        &self,
        id: i64,
        announce_id: &str,
        channels: &[String],
    ) -> Result<Option<SavedReport>> {
        if channels.is_empty() || !self.store.outbox_of(announce_id).await?.is_empty() {
            return Ok(None);
        }
        Ok(self.store.report(id).await?)
    }

    /// Queues `msg` for every channel under `id`; returns how many entries are queued
    /// (a repeat leaves the queued ones as they are). A store error is logged: the
    /// report stays saved and the next check queues it again.
    async fn queue(
        &self,
        id: &str,
        msg: AlertMessage,
        report: Option<i64>,
        channels: &[String],
    ) -> usize {
        let now = self.now();
        let entries: Vec<NewOutboxEntry> = channels
            .iter()
            .map(|c| {
                let mut e = Entry::new(0, id, c, msg.clone(), now, now);
                e.report = report;
                NewOutboxEntry {
                    alert_id: id.to_owned(),
                    channel: c.clone(),
                    enqueued_at: now,
                    next_at: now,
                    body: serde_json::to_value(e).unwrap_or(serde_json::Value::Null),
                }
            })
            .collect();
        if entries.is_empty() {
            return 0;
        }
        match self.store.outbox_enqueue(&entries).await {
            Ok(ids) => ids.len(),
            Err(e) => {
                tracing::error!(notice = %id, error = %e, "a report notice could not be queued");
                0
            }
        }
    }
}

/// The Word file of the saved report `id`, for e-mail to attach (`None`, logged, when
/// the report is gone or cannot be rendered: the notice goes without it).
pub async fn attachment_of<R: ReportStore>(
    store: &R,
    id: i64,
    options: yuqing_report::RenderOptions,
) -> Option<(String, String, Vec<u8>)> {
    let saved = match store.report(id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::warn!(report = id, "the announced report is gone; sent without it");
            return None;
        }
        Err(e) => {
            tracing::warn!(report = id, error = %e, "the announced report could not be read");
            return None;
        }
    };
    let report: Report = match serde_json::from_value(saved.model) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(report = id, error = %e, "the announced report could not be read back; sent without it");
            return None;
        }
    };
    // Rendering is CPU work: off the async workers.
    tokio::task::spawn_blocking(move || match render(&report, Format::Docx, &options) {
        Ok(bytes) => Some((
            format!("{}.docx", report.file_stem()),
            Format::Docx.mime().to_owned(),
            bytes,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "the report could not be rendered as DOCX");
            None
        }
    })
    .await
    .ok()
    .flatten()
}

/// The outbox id of the announcement of the report scheduled under `key`.
pub fn announcement_id(key: &str) -> String {
    format!("report:{key}")
}

/// The announcement of a saved report, as queued: its title with the period, the
/// headline figures (the first paragraph, or the report's own notice) and a link.
pub fn announcement(
    report: &Report,
    id: i64,
    settings: &ReportSettings,
    now: DateTime<Utc>,
) -> AlertMessage {
    let mut text = report
        .blocks()
        .find_map(|b| match b {
            Block::Paragraph { text } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default();
    if let Some(n) = &report.notice {
        text = n.clone();
    }
    let link = report_link(settings, id);
    notice_message(
        report.title.clone(),
        format!(
            "{}（{}）",
            report.title,
            report
                .subtitle
                .clone()
                .unwrap_or_else(|| report.date.clone())
        ),
        text,
        link,
        now,
    )
}

/// The announcement of a saved report whose model cannot be read back: its title and where
/// to open it.
pub fn announcement_by_title(
    saved: &SavedReport,
    settings: &ReportSettings,
    now: DateTime<Utc>,
) -> AlertMessage {
    let title = match &saved.subtitle {
        Some(s) => format!("{}（{s}）", saved.title),
        None => saved.title.clone(),
    };
    notice_message(
        saved.title.clone(),
        title,
        format!(
            "报告已生成（编号 {}），请在 yuqing 的“报告”页面查看。",
            saved.id
        ),
        report_link(settings, saved.id),
        now,
    )
}

/// The Word download of report `id`, when `[report] base_url` is set.
fn report_link(settings: &ReportSettings, id: i64) -> Option<String> {
    settings.base_url.as_deref().map(|b| {
        format!(
            "{}/api/v1/reports/{id}/export.docx",
            b.trim_end_matches('/')
        )
    })
}

/// Word to the office that a scheduled report could not be made.
pub fn failure_message(
    spec: &Spec,
    error: &str,
    settings: &ReportSettings,
    now: DateTime<Utc>,
) -> AlertMessage {
    let (name, period) = match spec {
        Spec::Daily { date } => ("舆情日报", date.to_string()),
        Spec::Weekly { week } => ("舆情周报", week.clone()),
        Spec::Monthly { month } => ("舆情月报", month.clone()),
        _ => ("报告", String::new()),
    };
    let link = settings
        .base_url
        .as_deref()
        .map(|b| format!("{}/#/reports", b.trim_end_matches('/')));
    notice_message(
        "定时报告".to_owned(),
        format!("{name}（{period}）未能生成"),
        format!(
            "系统未能按时生成{name}（{period}）：{error}。系统每分钟重试，生成后照常发送；\
             请查看服务日志，或在“报告”页手工生成。"
        ),
        link,
        now,
    )
}

fn notice_message(
    subject: String,
    title: String,
    text: String,
    link: Option<String>,
    now: DateTime<Utc>,
) -> AlertMessage {
    AlertMessage {
        alert_id: String::new(),
        level: Level::General,
        plan: subject,
        title,
        first_publisher: None,
        link,
        why: text,
        why_en: None,
        found_at: now,
        kind: MessageKind::Notice,
        next: None,
        next_en: None,
        mention: Vec::new(),
        mention_email: Vec::new(),
        mention_feishu: Vec::new(),
    }
}

/// The notice a channel sends for a queued notice entry (`attachment`: the report's Word
/// file, [`attachment_of`]).
pub fn notice_of(entry: &Entry, attachment: Option<(String, String, Vec<u8>)>) -> ReportNotice {
    ReportNotice {
        id: entry.alert_id.clone(),
        kind: if entry.report.is_some() {
            NoticeKind::Report
        } else {
            NoticeKind::System
        },
        title: entry.message.title.clone(),
        text: entry.message.why.clone(),
        link: entry.message.link.clone(),
        attachment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_daily_report_is_due_after_its_time_on_working_days() {
        let s = ReportSettings::default(); // 17:00, no weekends
        // Friday 2026-11-20 16:59 and 17:00 Beijing.
        let at = |d, h, m| {
            beijing()
                .with_ymd_and_hms(2026, 11, d, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(due(&s, at(20, 16, 59)).unwrap(), None);
        assert_eq!(
            due(&s, at(20, 17, 0)).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
        );
        // Saturday: not without weekends.
        assert_eq!(due(&s, at(21, 18, 0)).unwrap(), None);
        let w = ReportSettings {
            weekends: true,
            ..ReportSettings::default()
        };
        assert!(due(&w, at(21, 18, 0)).unwrap().is_some());
        let off = ReportSettings {
            daily_at: String::new(),
            ..ReportSettings::default()
        };
        assert_eq!(due(&off, at(20, 23, 0)).unwrap(), None);
        let bad = ReportSettings {
            daily_at: "25:00".into(),
            ..ReportSettings::default()
        };
        assert!(
            due(&bad, at(20, 23, 0))
                .unwrap_err()
                .to_string()
                .contains("HH:MM")
        );
    }

    #[test]
    fn the_weekly_and_monthly_reports_are_due_on_their_day_after_their_time() {
        let s = ReportSettings {
            daily_at: String::new(),
            ..ReportSettings::default() // mon 09:00, 1 09:00
        };
        let at = |y, mo, d, h, m| {
            beijing()
                .with_ymd_and_hms(y, mo, d, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let keys = |s: &ReportSettings, t| {
            due_reports(s, t)
                .unwrap()
                .into_iter()
                .map(|(_, k)| k)
                .collect::<Vec<_>>()
        };
        // Monday 2026-11-23 08:59 and 09:00: the week before is 2026-W47.
        assert!(keys(&s, at(2026, 11, 23, 8, 59)).is_empty());
        assert_eq!(keys(&s, at(2026, 11, 23, 9, 0)), ["weekly:2026-W47"]);
        // Tuesday: not made up.
        assert!(keys(&s, at(2026, 11, 24, 10, 0)).is_empty());
        // Monday 2027-01-04: the week before is 2026-W53; the 1st of January (a
        // Friday) makes December's report.
        assert_eq!(keys(&s, at(2027, 1, 4, 9, 30)), ["weekly:2026-W53"]);
        assert_eq!(keys(&s, at(2027, 1, 1, 9, 30)), ["monthly:2026-12"]);
        // Monday 2026-06-01 after 17:00 with the daily on too: all three, the month first.
        let all = ReportSettings::default();
        assert_eq!(
            keys(&all, at(2026, 6, 1, 17, 30)),
            ["monthly:2026-05", "weekly:2026-W22", "daily:2026-06-01"]
        );
        let specs: Vec<Spec> = due_reports(&all, at(2026, 6, 1, 17, 30))
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        for spec in &specs {
            Inputs::new(spec.clone()).check().unwrap();
        }
        // Off, and wrong.
        let off = ReportSettings {
            daily_at: String::new(),
            weekly_at: String::new(),
            monthly_at: String::new(),
            ..ReportSettings::default()
        };
        assert!(keys(&off, at(2026, 6, 1, 17, 30)).is_empty());
        for (weekly, monthly) in [
            ("monday 09:00", "1 09:00"),
            ("mon 9", "1 09:00"),
            ("mon 09:00", "31 09:00"),
            ("mon 09:00", "1"),
        ] {
            let bad = ReportSettings {
                weekly_at: weekly.into(),
                monthly_at: monthly.into(),
                ..ReportSettings::default()
            };
            let e = bad.check().unwrap_err().to_string();
            assert!(e.contains("weekly_at") || e.contains("monthly_at"), "{e}");
        }
    }
}
