//! `[report]` in the configuration: the letterhead, the tools used to render, and the
//! schedule of the daily report.

use crate::error::{HandlingError, Result};
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
        let parsed = t
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60);
        parsed.map(Some).ok_or_else(|| {
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
}
