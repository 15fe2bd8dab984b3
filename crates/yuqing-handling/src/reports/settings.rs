//! `[report]` in the configuration: the letterhead, the tools used to render, and the
//! schedule of the daily, weekly and monthly reports.

use crate::error::{HandlingError, Result};
use chrono::Weekday;
use serde::Deserialize;
use std::path::PathBuf;
use yuqing_report::{Letterhead, RenderOptions};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// Issuing unit printed on every report (e.g. "某某县委网信办").
    pub organisation: String,
    /// Line above the title; "" prints none.
    pub header: String,
    /// A PNG or JPEG logo printed left of the title.
    pub logo: Option<PathBuf>,
    /// A font file with Chinese glyphs for chart images (default: the system's fonts).
    pub font: Option<PathBuf>,
    /// LibreOffice's `soffice` for PDF (default: `soffice` or `libreoffice` on PATH).
    pub soffice: Option<PathBuf>,
    /// Where people reach yuqing (e.g. `http://10.0.0.5:8080`): links in reports and in
    /// the messages that deliver them.
    pub base_url: Option<String>,
    /// When `serve` makes the day's 日报 (Beijing time, "HH:MM"); "" turns it off.
    pub daily_at: String,
    /// Make the scheduled 日报 on Saturdays and Sundays too.
    pub weekends: bool,
    /// When `serve` makes the week before's 周报: a weekday and a Beijing time,
    /// "mon 09:00" (mon … sun); "" turns it off.
    pub weekly_at: String,
    /// When `serve` makes the month before's 月报: a day of the month (1–28) and a
    /// Beijing time, "1 09:00"; "" turns it off.
    pub monthly_at: String,
    /// Channels (by name) the scheduled reports are sent through; empty: every channel.
    pub channels: Vec<String>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        let l = Letterhead::default();
        ReportSettings {
            organisation: l.organisation,
            header: l.header.unwrap_or_default(),
            logo: None,
            font: None,
            soffice: None,
            base_url: None,
            daily_at: "17:00".into(),
            weekends: false,
            weekly_at: "mon 09:00".into(),
            monthly_at: "1 09:00".into(),
            channels: Vec::new(),
        }
    }
}

impl ReportSettings {
    /// The letterhead, with the logo read from its file.
    pub fn letterhead(&self) -> Result<Letterhead> {
        let logo = match &self.logo {
            Some(p) => Some(std::fs::read(p).map_err(|e| {
                HandlingError::invalid(
                    format!("[report] logo {} 无法读取：{e}", p.display()),
                    format!("[report] logo {} cannot be read: {e}", p.display()),
                )
            })?),
            None => None,
        };
        Ok(Letterhead {
            organisation: self.organisation.clone(),
            header: Some(self.header.clone()).filter(|h| !h.trim().is_empty()),
            logo,
        })
    }

    pub fn render_options(&self) -> RenderOptions {
        RenderOptions {
            font: self.font.clone(),
            soffice: self.soffice.clone(),
            base_url: self.base_url.clone(),
        }
    }

    /// The daily time as (hour, minute), `None` when the schedule is off.
    pub fn daily_time(&self) -> Result<Option<(u32, u32)>> {
        let t = self.daily_at.trim();
        if t.is_empty() {
            return Ok(None);
        }
        hh_mm(t).map(Some).ok_or_else(|| {
            HandlingError::invalid(
                format!(
                    "[report] daily_at 应写作 HH:MM（如 17:00），收到 {t:?}；\"\" 关闭定时日报"
                ),
                format!(
                    "[report] daily_at is written HH:MM (e.g. 17:00), got {t:?}; \"\" turns it off"
                ),
            )
        })
    }

    /// The weekly report's weekday and time, `None` when it is off.
    pub fn weekly_time(&self) -> Result<Option<(Weekday, u32, u32)>> {
        let t = self.weekly_at.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let parsed = t.split_once(' ').and_then(|(d, hm)| {
            let (h, m) = hh_mm(hm.trim())?;
            let day = match d.to_ascii_lowercase().as_str() {
                "mon" => Weekday::Mon,
                "tue" => Weekday::Tue,
                "wed" => Weekday::Wed,
                "thu" => Weekday::Thu,
                "fri" => Weekday::Fri,
                "sat" => Weekday::Sat,
                "sun" => Weekday::Sun,
                _ => return None,
            };
            Some((day, h, m))
        });
        parsed.map(Some).ok_or_else(|| {
            HandlingError::invalid(
                format!(
                    "[report] weekly_at 应写作 星期 HH:MM（如 mon 09:00，星期为 mon…sun），收到 {t:?}；\"\" 关闭定时周报"
                ),
                format!(
                    "[report] weekly_at is written DAY HH:MM (e.g. mon 09:00, DAY one of mon…sun), got {t:?}; \"\" turns it off"
                ),
            )
        })
    }

    /// The monthly report's day of the month and time, `None` when it is off.
    pub fn monthly_time(&self) -> Result<Option<(u32, u32, u32)>> {
        let t = self.monthly_at.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let parsed = t.split_once(' ').and_then(|(d, hm)| {
            let (h, m) = hh_mm(hm.trim())?;
            let day: u32 = d.parse().ok().filter(|d| (1..=28).contains(d))?;
            Some((day, h, m))
        });
        parsed.map(Some).ok_or_else(|| {
            HandlingError::invalid(
                format!(
                    "[report] monthly_at 应写作 日 HH:MM（如 1 09:00，日为 1–28），收到 {t:?}；\"\" 关闭定时月报"
                ),
                format!(
                    "[report] monthly_at is written DAY HH:MM (e.g. 1 09:00, DAY 1–28), got {t:?}; \"\" turns it off"
                ),
            )
        })
    }

    /// Checks every schedule setting (at start, so that a typo stops `serve` at once).
    pub fn check(&self) -> Result<()> {
        self.daily_time()?;
        self.weekly_time()?;
        self.monthly_time()?;
        Ok(())
    }

    /// The channels the scheduled reports go to, of the `configured` ones (by name):
    /// those `channels` names, or every one when it names none. A name that is not
    /// configured is refused.
    pub fn channels_of(&self, configured: &[&str]) -> Result<Vec<String>> {
        if let Some(c) = self
            .channels
            .iter()
            .find(|c| !configured.contains(&c.as_str()))
        {
            return Err(HandlingError::invalid(
                format!(
                    "[report] channels 中的 {c:?} 不是已配置的预警渠道；请先在 [[channels]] 中配置，或从列表中删去"
                ),
                format!(
                    "[report] channels names {c:?}, which is no configured channel: add it under [[channels]] or remove it"
                ),
            ));
        }
        Ok(if self.channels.is_empty() {
            configured.iter().map(|c| (*c).to_owned()).collect()
        } else {
            self.channels.clone()
        })
    }
}

/// "HH:MM" → (hour, minute).
fn hh_mm(t: &str) -> Option<(u32, u32)> {
    t.split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(h, m)| *h < 24 && *m < 60)
}
