//! What the handling service is configured with: deadline rules (`[deadlines]`), alert
//! settings (`[alerts]`), alert rules (`[[alert_rules]]`) and channels (`[[channels]]`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yuqing_alert::ChannelConfig;
use yuqing_alert::rules::{AlertRule, AlertSettings, QuietWindow};
use yuqing_judge::grading::{Level, SpecialPeriod};
use yuqing_workflow::DeadlineRules;

/// Everything the handling service reads from the config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandlingSettings {
    #[serde(default)]
    pub deadlines: DeadlineRules,
    #[serde(default)]
    pub alerts: AlertSettings,
    #[serde(default)]
    pub alert_rules: Vec<AlertRule>,
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Special periods (特殊时期, `[judgement.grading] special_periods`): 24-hour duty, so
    /// quiet hours do not hold messages while one lasts.
    #[serde(default)]
    pub special_periods: Vec<SpecialPeriod>,
}

impl HandlingSettings {
    /// Refuses an `[[alert_rules]] mention_roles` entry that names no role.
    pub fn check_mention_roles(&self) -> crate::Result<()> {
        for r in &self.alert_rules {
            if let Some(bad) = r
                .mention_roles
                .iter()
                .find(|x| yuqing_workflow::Role::parse(x).is_none())
            {
                return Err(crate::HandlingError::invalid(
                    format!(
                        "预警规则 {:?} 的 mention_roles 中 {bad:?} 不是角色；可用 leader、analyst、liaison、spokesperson、admin（或其中文名）",
                        r.name
                    ),
                    format!(
                        "alert rule {:?}: mention_roles entry {bad:?} is no role; use leader, analyst, liaison, spokesperson or admin",
                        r.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `[alerts.quiet_hours]`, validated (`None` when not set).
    pub fn quiet_window(&self) -> Result<Option<QuietWindow>, yuqing_alert::AlertError> {
        self.alerts
            .quiet_hours
            .as_ref()
            .map(|q| q.parse())
            .transpose()
    }

    /// When a message raised at `now` at `level` may go out: now, or the end of quiet
    /// hours (never held in a special period or when especially major).
    pub fn release_at(
        &self,
        quiet: Option<&QuietWindow>,
        now: DateTime<Utc>,
        level: Level,
    ) -> DateTime<Utc> {
        if self.special_periods.iter().any(|p| p.contains(now)) {
            return now;
        }
        quiet.and_then(|q| q.release_at(now, level)).unwrap_or(now)
    }
}
