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
//! figures and a link; e-mail gets the report as a Word attachment. A day missed (the
//! server was down all of it) is not made up later, as a person would not write
//! yesterday's briefing today.

use super::*;
use chrono::{Datelike, NaiveTime, Weekday};
use yuqing_alert::{Channel, Delivery, ReportNotice};
use yuqing_report::{Format, render};
use yuqing_store::reports::SavedReport;

/// One report the schedule made.
#[derive(Debug)]
pub struct Ran {
    pub made: SavedReport,
    /// One entry per channel: its delivery, or why it failed.
    pub sent: Vec<std::result::Result<Delivery, String>>,
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
    /// Checks the schedule once: makes and announces each report that is due and not yet
    /// made ([`due_reports`]); returns those made now. A report that fails is logged and
    /// tried again at the next check; it does not hold up the others.
    pub async fn run_schedule(
        &self,
        settings: &ReportSettings,
        channels: &[Channel],
    ) -> Result<Vec<Ran>> {
        let mut ran = Vec::new();
        for (spec, key) in due_reports(settings, self.now())? {
            // Made already (here or by another server): not built again every minute.
            match self.store.schedule_key_taken(&key).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(report = %key, error = %e, "the report schedule could not be read");
                    continue;
                }
            }
            let inputs = Inputs::new(spec);
            let made = match self
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
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(report = %key, error = %e, "a scheduled report could not be made");
                    continue;
                }
            };
            match self.announce(&made, settings, channels).await {
                Ok(sent) => ran.push(Ran { made, sent }),
                Err(e) => {
                    tracing::error!(report = %key, error = %e, "a scheduled report could not be announced");
                    ran.push(Ran {
                        made,
                        sent: vec![Err(e.to_string())],
                    });
                }
            }
        }
        Ok(ran)
    }

    /// Sends a saved report's notice through the channels the settings name.
    async fn announce(
        &self,
        saved: &SavedReport,
        settings: &ReportSettings,
        channels: &[Channel],
    ) -> Result<Vec<std::result::Result<Delivery, String>>> {
        let report: Report = serde_json::from_value(saved.model.clone()).map_err(|e| {
            HandlingError::invalid(
                format!("报告无法读取：{e}"),
                format!("report unreadable: {e}"),
            )
        })?;
        // Rendering the Word attachment is CPU work: off the async workers.
        let (id, opts) = (saved.id, settings.clone());
        let notice = tokio::task::spawn_blocking(move || notice_of(&report, id, &opts))
            .await
            .map_err(|e| {
                HandlingError::refused(
                    Code::Internal,
                    format!("报告渲染中断：{e}"),
                    format!("rendering the report stopped: {e}"),
                )
            })?;
        let mut sent = Vec::new();
        for c in channels.iter().filter(|c| {
            settings.channels.is_empty() || settings.channels.iter().any(|n| n == c.name())
        }) {
            let r = c
                .send_notice(&notice, self.now())
                .await
                .map_err(|e| e.to_string());
            if let Err(e) = &r {
                tracing::warn!(channel = c.name(), report = saved.id, kind = %saved.kind, error = %e, "a scheduled report was not delivered");
            }
            sent.push(r);
        }
        Ok(sent)
    }
}

/// The announcement of a saved report: headline figures, a link, the DOCX attached.
pub fn notice_of(report: &Report, id: i64, settings: &ReportSettings) -> ReportNotice {
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
    let link = settings.base_url.as_deref().map(|b| {
        format!(
            "{}/api/v1/reports/{id}/export.docx",
            b.trim_end_matches('/')
        )
    });
    let attachment = match render(report, Format::Docx, &settings.render_options()) {
        Ok(bytes) => Some((
            format!("{}.docx", report.file_stem()),
            Format::Docx.mime().to_owned(),
            bytes,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "the report could not be rendered as DOCX");
            None
        }
    };
    ReportNotice {
        id: format!("report-{id}"),
        title: format!(
            "{}（{}）",
            report.title,
            report
                .subtitle
                .clone()
                .unwrap_or_else(|| report.date.clone())
        ),
        text,
        link,
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
