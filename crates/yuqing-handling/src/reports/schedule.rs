//! The scheduled 日报: once the configured time (`[report] daily_at`, Beijing) has passed
//! on a working day (or any day with `weekends`), `serve` makes that day's daily report,
//! saves it under the key `daily:<date>` (made once, even across restarts or several
//! servers on one database), and announces it through the channels: robots get the title,
//! the headline figures and a link; e-mail gets the report as a Word attachment.

use super::*;
use chrono::{Datelike, NaiveTime, Weekday};
use yuqing_alert::{Channel, Delivery, ReportNotice};
use yuqing_report::{Format, render};
use yuqing_store::reports::SavedReport;

/// What one check of the schedule did.
#[derive(Debug, Default)]
pub struct Ran {
    /// The report made now (None: not due, or already made).
    pub made: Option<SavedReport>,
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

impl<S: Store + HandlingStore + ReportStore + Send + Sync + 'static> Reports<S> {
    /// Checks the schedule once: makes and announces the day's report when due.
    pub async fn run_schedule(
        &self,
        settings: &ReportSettings,
        channels: &[Channel],
    ) -> Result<Ran> {
        let now = self.now();
        let Some(date) = due(settings, now)? else {
            return Ok(Ran::default());
        };
        let inputs = Inputs::new(Spec::Daily { date });
        let key = format!("daily:{date}");
        let Some(saved) = self
            .make_keyed(&inputs, &Principal::Operator, "system", None, Some(key))
            .await?
        else {
            return Ok(Ran::default());
        };
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
                tracing::warn!(channel = c.name(), error = %e, "the daily report was not delivered");
            }
            sent.push(r);
        }
        Ok(Ran {
            made: Some(saved),
            sent,
        })
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
            tracing::warn!(error = %e, "the daily report could not be rendered as DOCX");
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
}
