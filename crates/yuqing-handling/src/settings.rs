//! What the handling service is configured with: deadline rules (`[deadlines]`), alert
//! settings (`[alerts]`), alert rules (`[[alert_rules]]`) and channels (`[[channels]]`).

use serde::{Deserialize, Serialize};
use yuqing_alert::ChannelConfig;
use yuqing_alert::rules::{AlertRule, AlertSettings};
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
}
