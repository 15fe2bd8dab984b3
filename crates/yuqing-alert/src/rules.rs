//! Alert rules (预警规则) and quiet hours (免打扰时段): which judged items raise an alert,
//! to which channels, and when a message may go out.
//!
//! - [`AlertRule`] is one `[[alert_rules]]` table: conditions on the plans an item hit, its
//!   event's level, its sentiment, its content type and whether a hit plan is spiking, plus
//!   the channels to deliver to. [`AlertRule::matches`] tests it against a [`Candidate`],
//!   which is what the ingest side knows about one judged item.
//! - [`default_rules`] are the built-in rules (`major_any_plan`, `negative_behaviour`,
//!   `plan_spike`); their names are stable because they are stored with each alert.
//! - [`AlertSettings`] is the `[alerts]` table: on/off, whether the built-in rules apply,
//!   the maximum age of an item that may alert, quiet hours, escalation, outbox and in-app
//!   notices. [`AlertSettings::effective_rules`] merges built-in and configured rules and
//!   [`AlertSettings::validate`] checks them against the configured plans and channels.
//! - [`QuietHours`] is `[alerts.quiet_hours]` as written; [`QuietHours::parse`] gives the
//!   validated [`QuietWindow`], whose [`QuietWindow::release_at`] says when a held message
//!   may go out (especially major alerts ignore quiet hours).
//!
//! Everything here is pure: no IO, and time is passed in.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Days, FixedOffset, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use yuqing_judge::content::ContentType;
use yuqing_judge::grading::Level;

use crate::duration::Span;
use crate::error::AlertError;
use crate::escalation::EscalationPolicy;
use crate::outbox::OutboxSettings;

/// Name of the built-in rule "any plan hit and level ≥ major".
pub const RULE_MAJOR_ANY_PLAN: &str = "major_any_plan";
/// Name of the built-in rule "negative behaviour-tendency item, plan hit or not".
pub const RULE_NEGATIVE_BEHAVIOUR: &str = "negative_behaviour";
/// Name of the built-in rule "volume spike of a hit plan".
pub const RULE_PLAN_SPIKE: &str = "plan_spike";

/// Which sentiment a rule requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentFilter {
    /// Sentiment −1 (负面).
    Negative,
    /// Sentiment 0 (中性).
    Neutral,
    /// Sentiment 1 (正面).
    Positive,
}

impl SentimentFilter {
    /// Whether `sentiment` (−1, 0 or 1; any negative or positive number counts as such)
    /// passes the filter.
    pub fn accepts(self, sentiment: i8) -> bool {
        match self {
            SentimentFilter::Negative => sentiment < 0,
            SentimentFilter::Neutral => sentiment == 0,
            SentimentFilter::Positive => sentiment > 0,
        }
    }

    /// Chinese label (负面, 中性, 正面).
    pub fn label_zh(self) -> &'static str {
        match self {
            SentimentFilter::Negative => "负面",
            SentimentFilter::Neutral => "中性",
            SentimentFilter::Positive => "正面",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            SentimentFilter::Negative => "negative",
            SentimentFilter::Neutral => "neutral",
            SentimentFilter::Positive => "positive",
        }
    }
}

/// What the ingest side knows about one judged item when deciding whether it alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Names of the monitoring plans the item hit (empty: none).
    pub plans: &'a [&'a str],
    /// The current level of the item's event, if it has been graded.
    pub level: Option<Level>,
    /// 1 positive, 0 neutral, −1 negative.
    pub sentiment: i8,
    pub content_type: ContentType,
    /// Whether any plan the item hit is spiking now.
    pub spike: bool,
}

fn yes() -> bool {
    true
}

/// One `[[alert_rules]]` table. All conditions must hold for the rule to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Unique, stable name (stored with each alert; a configured rule with the name of a
    /// built-in rule replaces it).
    pub name: String,
    /// Plans the item must have hit (at least one of them). Empty: any plan, but at least
    /// one, unless `any_item`.
    #[serde(default)]
    pub plans: Vec<String>,
    /// The rule also applies to items that hit no plan at all.
    #[serde(default)]
    pub any_item: bool,
    /// The item's event must be graded at least this level (an ungraded item fails).
    #[serde(default)]
    pub min_level: Option<Level>,
    /// The item's sentiment must be this one.
    #[serde(default)]
    pub sentiment: Option<SentimentFilter>,
    /// The item's content type must be one of these (empty: any).
    #[serde(default)]
    pub content_types: Vec<ContentType>,
    /// A plan the item hit must be spiking (volume 突增) now.
    #[serde(default)]
    pub spike: bool,
    /// Channel names to deliver to (empty: every configured channel).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Roles (`leader`, `analyst`, … or their Chinese labels) whose holders with a mobile
    /// number are @-mentioned besides the first on duty, e.g. the leading group for
    /// especially major items (checked against the roles when the config is read).
    #[serde(default)]
    pub mention_roles: Vec<String>,
    /// A disabled rule never matches.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl AlertRule {
    /// A rule named `name` with no condition beyond "hit any plan", enabled, to every
    /// channel; set the other fields with struct update syntax.
    pub fn new(name: impl Into<String>) -> Self {
        AlertRule {
            name: name.into(),
            plans: Vec::new(),
            any_item: false,
            min_level: None,
            sentiment: None,
            content_types: Vec::new(),
            spike: false,
            channels: Vec::new(),
            mention_roles: Vec::new(),
            enabled: true,
        }
    }

    /// Whether the rule is enabled and every one of its conditions holds for `c`.
    pub fn matches(&self, c: &Candidate<'_>) -> bool {
        self.enabled
            && self.plans_match(c.plans)
            && self
                .min_level
                .is_none_or(|min| c.level.is_some_and(|l| l >= min))
            && self.sentiment.is_none_or(|s| s.accepts(c.sentiment))
            && (self.content_types.is_empty() || self.content_types.contains(&c.content_type))
            && (!self.spike || c.spike)
    }

    fn plans_match(&self, hit: &[&str]) -> bool {
        if hit.is_empty() {
            return self.any_item;
        }
        self.plans.is_empty() || hit.iter().any(|h| self.plans.iter().any(|p| p == h))
    }

    /// Whether the rule delivers to `channel` (a rule without `channels` delivers to all).
    pub fn sends_to(&self, channel: &str) -> bool {
        self.channels.is_empty() || self.channels.iter().any(|c| c == channel)
    }

    /// A one-line Chinese summary, e.g. `任一方案命中且级别≥重大`.
    pub fn describe_zh(&self) -> String {
        let quoted = |v: &[String]| {
            v.iter()
                .map(|p| format!("「{p}」"))
                .collect::<Vec<_>>()
                .join("或")
        };
        let mut parts = vec![match (self.plans.is_empty(), self.any_item) {
            (true, false) => "任一方案命中".to_owned(),
            (true, true) => "任一条目".to_owned(),
            (false, false) => format!("命中方案{}", quoted(&self.plans)),
            (false, true) => format!("命中方案{}或未命中任何方案", quoted(&self.plans)),
        }];
        if let Some(l) = self.min_level {
            parts.push(format!("级别≥{}", l.label_zh()));
        }
        if let Some(s) = self.sentiment {
            parts.push(format!("情感{}", s.label_zh()));
        }
        if !self.content_types.is_empty() {
            let t: Vec<_> = self.content_types.iter().map(|t| t.label_zh()).collect();
            parts.push(format!("内容类型为{}", t.join("或")));
        }
        if self.spike {
            parts.push("所命中方案声量突增".to_owned());
        }
        let mut s = parts.join("且");
        if !self.channels.is_empty() {
            s.push_str(&format!("，发往{}", self.channels.join("、")));
        }
        if !self.enabled {
            s.push_str("（已停用）");
        }
        s
    }

    /// A one-line English summary, e.g. `any plan hit and level ≥ major`.
    pub fn describe_en(&self) -> String {
        let quoted = |v: &[String]| {
            v.iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let mut parts = vec![match (self.plans.is_empty(), self.any_item) {
            (true, false) => "any plan hit".to_owned(),
            (true, true) => "any item".to_owned(),
            (false, false) => format!("plan {} hit", quoted(&self.plans)),
            (false, true) => format!("plan {} hit or no plan hit", quoted(&self.plans)),
        }];
        if let Some(l) = self.min_level {
            parts.push(format!("level ≥ {}", l.label_en()));
        }
        if let Some(s) = self.sentiment {
            parts.push(format!("{} sentiment", s.label_en()));
        }
        if !self.content_types.is_empty() {
            let t: Vec<_> = self.content_types.iter().map(|t| t.label_en()).collect();
            parts.push(format!("content type {}", t.join(" or ")));
        }
        if self.spike {
            parts.push("volume spike of a hit plan".to_owned());
        }
        let mut s = parts.join(" and ");
        if !self.channels.is_empty() {
            s.push_str(&format!("; to {}", self.channels.join(", ")));
        }
        if !self.enabled {
            s.push_str(" (disabled)");
        }
        s
    }
}

/// The built-in rules, in this order: `major_any_plan` (any plan hit, level ≥ major),
/// `negative_behaviour` (negative behaviour-tendency item, plan hit or not) and
/// `plan_spike` (a hit plan is spiking). All deliver to every channel.
pub fn default_rules() -> Vec<AlertRule> {
    vec![
        AlertRule {
            min_level: Some(Level::Major),
            ..AlertRule::new(RULE_MAJOR_ANY_PLAN)
        },
        AlertRule {
            any_item: true,
            sentiment: Some(SentimentFilter::Negative),
            content_types: vec![ContentType::Behaviour],
            ..AlertRule::new(RULE_NEGATIVE_BEHAVIOUR)
        },
        AlertRule {
            spike: true,
            ..AlertRule::new(RULE_PLAN_SPIKE)
        },
    ]
}

fn default_max_age() -> Span {
    Span(Duration::from_secs(3 * 86_400))
}

/// The `[alerts]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// Off: nothing alerts (the caller checks it; the rules are still listed).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The built-in rules ([`default_rules`]) apply besides `[[alert_rules]]`.
    #[serde(default = "yes")]
    pub default_rules: bool,
    /// Items published longer ago than this never alert, so importing history pages nobody.
    #[serde(default = "default_max_age")]
    pub max_age: Span,
    /// Hold messages during these hours (especially major alerts go out anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// `[alerts.escalation]`: who to tell next when nobody acknowledges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationPolicy>,
    /// `[alerts.outbox]`: retry schedule and lease.
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// Also show alerts in the web UI (站内通知).
    #[serde(default = "yes")]
    pub inapp: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            enabled: true,
            default_rules: true,
            max_age: default_max_age(),
            quiet_hours: None,
            escalation: None,
            outbox: OutboxSettings::default(),
            inapp: true,
        }
    }
}

impl AlertSettings {
    /// The rules in force: the built-in rules first (when `default_rules`), then the
    /// configured ones in their order. A configured rule named like a built-in rule takes
    /// its place (so `enabled = false` under that name switches one built-in rule off).
    pub fn effective_rules(&self, configured: &[AlertRule]) -> Vec<AlertRule> {
        let mut rules = if self.default_rules {
            default_rules()
        } else {
            Vec::new()
        };
        for rule in configured {
            match rules.iter_mut().find(|r| r.name == rule.name) {
                Some(slot) => *slot = rule.clone(),
                None => rules.push(rule.clone()),
            }
        }
        rules
    }

    /// Whether an item published at `published_at` is recent enough to alert at `now`
    /// (within `max_age`; an item dated in the future counts as recent).
    pub fn is_recent(&self, published_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(published_at) <= self.max_age.chrono()
    }

    /// The rules of `rules` that `c` matches, in order; none when alerts are off or the
    /// item is older than `max_age`.
    pub fn matching<'r>(
        &self,
        rules: &'r [AlertRule],
        c: &Candidate<'_>,
        published_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<&'r AlertRule> {
        if !self.enabled || !self.is_recent(published_at, now) {
            return Vec::new();
        }
        rules.iter().filter(|r| r.matches(c)).collect()
    }

    /// Checks the configured `[[alert_rules]]` (pass the configured rules, or
    /// [`Self::effective_rules`]) and the quiet hours: every rule has a non-empty, unique
    /// name, names only channels in `channel_names` and, when `plan_names` is given, only
    /// plans in it. The first problem found is returned, naming the rule and the key.
    pub fn validate(
        &self,
        rules: &[AlertRule],
        plan_names: Option<&[&str]>,
        channel_names: &[&str],
    ) -> Result<(), AlertError> {
        if let Some(q) = &self.quiet_hours {
            q.parse()?;
        }
        let mut seen = HashSet::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.name.trim().is_empty() {
                return Err(AlertError::settings(
                    format!("alert_rules #{} name", i + 1),
                    "规则名称为空，请给每条 [[alert_rules]] 写一个唯一的 name",
                    "the rule has no name; give every [[alert_rules]] table a unique name",
                ));
            }
            let place = |key: &str| format!("alert_rules {:?} {key}", rule.name);
            if !seen.insert(rule.name.as_str()) {
                return Err(AlertError::settings(
                    place("name"),
                    format!("规则名称 {:?} 重复，请改名或删去其中一条", rule.name),
                    format!(
                        "rule name {:?} is used twice; rename or remove one of them",
                        rule.name
                    ),
                ));
            }
            if let Some(c) = rule
                .channels
                .iter()
                .find(|c| !channel_names.contains(&c.as_str()))
            {
                let known = list(channel_names);
                return Err(AlertError::settings(
                    place("channels"),
                    format!(
                        "没有名为 {c:?} 的预警渠道（已配置：{known}），请改为某个 [[channels]] 的 name，或留空以发往全部渠道"
                    ),
                    format!(
                        "there is no alert channel named {c:?} (configured: {known}); use the name of a [[channels]] table, or leave channels empty for all channels"
                    ),
                ));
            }
            if let Some(plans) = plan_names
                && let Some(p) = rule.plans.iter().find(|p| !plans.contains(&p.as_str()))
            {
                let known = list(plans);
                return Err(AlertError::settings(
                    place("plans"),
                    format!(
                        "没有名为 {p:?} 的监测方案（已有：{known}），请改为已有方案的名称，或留空以适用于任一方案"
                    ),
                    format!(
                        "there is no monitoring plan named {p:?} (known: {known}); use an existing plan's name, or leave plans empty for any plan"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(", ")
    }
}

fn default_utc_offset() -> String {
    "+08:00".to_owned()
}

/// `[alerts.quiet_hours]` as written: messages are held from `from` until `to` (local
/// times `"HH:MM"` at `utc_offset`, Beijing time by default). The period may wrap midnight
/// (`from = "22:00"`, `to = "07:00"`); `from == to` means no quiet hours. Use
/// [`QuietHours::parse`] for the checked [`QuietWindow`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `"HH:MM"` (inclusive).
    pub from: String,
    /// End, `"HH:MM"` (exclusive: a message may go out at that minute).
    pub to: String,
    /// Fixed offset from UTC, `"+HH:MM"` or `"-HH:MM"` (no daylight saving).
    #[serde(default = "default_utc_offset")]
    pub utc_offset: String,
}

impl QuietHours {
    /// Checks the times and the offset and gives the window to test instants against.
    pub fn parse(&self) -> Result<QuietWindow, AlertError> {
        let from = parse_hhmm(&self.from, "from")?;
        let to = parse_hhmm(&self.to, "to")?;
        let offset = parse_offset(&self.utc_offset)?;
        Ok(QuietWindow { from, to, offset })
    }
}

fn parse_hhmm(s: &str, key: &str) -> Result<NaiveTime, AlertError> {
    let bad = || {
        AlertError::settings(
            format!("alerts.quiet_hours {key}"),
            format!("无法识别的时间 {s:?}，应为 HH:MM（00:00–23:59），如 \"22:00\""),
            format!("cannot read time {s:?}: expected HH:MM (00:00–23:59), e.g. \"22:00\""),
        )
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let digits = |p: &str, max_len| {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let (Some(h), Some(m)) = (digits(h, 2), digits(m, 2).filter(|_| m.len() == 2)) else {
        return Err(bad());
    };
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

fn parse_offset(s: &str) -> Result<FixedOffset, AlertError> {
    let bad = || {
        AlertError::settings(
            "alerts.quiet_hours utc_offset",
            format!("无法识别的时区偏移 {s:?}，应为 +HH:MM 或 -HH:MM，如北京时间 \"+08:00\""),
            format!(
                "cannot read UTC offset {s:?}: expected +HH:MM or -HH:MM, e.g. \"+08:00\" for Beijing time"
            ),
        )
    };
    let t = s.trim();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 || h * 60 + m > 14 * 60 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

/// Checked quiet hours: `[from, to)` in local time at a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietWindow {
    from: NaiveTime,
    to: NaiveTime,
    offset: FixedOffset,
}

impl QuietWindow {
    /// Start (inclusive), local time.
    pub fn from(&self) -> NaiveTime {
        self.from
    }

    /// End (exclusive), local time.
    pub fn to(&self) -> NaiveTime {
        self.to
    }

    /// The fixed UTC offset of `from` and `to`.
    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// Whether `now` falls in the quiet period (whatever the level).
    pub fn is_quiet(&self, now: DateTime<Utc>) -> bool {
        let t = now.with_timezone(&self.offset).time();
        // Whole seconds: 06:59:59.9 is still quiet before a 07:00 end.
        let t = t.with_nanosecond(0).unwrap_or(t);
        if self.from == self.to {
            false
        } else if self.from < self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }

    /// `None` when a message at `level` may go out at `now` (outside the quiet period, or
    /// `especially_major`, which ignores quiet hours); otherwise the instant the quiet
    /// period ends.
    pub fn release_at(&self, now: DateTime<Utc>, level: Level) -> Option<DateTime<Utc>> {
        if level == Level::EspeciallyMajor || !self.is_quiet(now) {
            return None;
        }
        let local = now.with_timezone(&self.offset);
        let mut end = local.date_naive().and_time(self.to);
        if end <= local.naive_local() {
            end = end.checked_add_days(Days::new(1))?;
        }
        end.and_local_timezone(self.offset)
            .single()
            .map(|d| d.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cand<'a>(plans: &'a [&'a str]) -> Candidate<'a> {
        Candidate {
            plans,
            level: None,
            sentiment: 0,
            content_type: ContentType::View,
            spike: false,
        }
    }

    fn rule() -> AlertRule {
        AlertRule::new("r")
    }

    #[test]
    fn plans_and_any_item() {
        let any_plan = rule();
        assert!(any_plan.matches(&cand(&["食品安全"])));
        assert!(!any_plan.matches(&cand(&[])), "no plan hit, any_item off");

        let any_item = AlertRule {
            any_item: true,
            ..rule()
        };
        assert!(any_item.matches(&cand(&[])));
        assert!(any_item.matches(&cand(&["x"])));

        let food = AlertRule {
            plans: vec!["食品安全".into(), "校园".into()],
            ..rule()
        };
        assert!(food.matches(&cand(&["交通", "校园"])));
        assert!(!food.matches(&cand(&["交通"])));
        assert!(!food.matches(&cand(&[])));

        let food_or_none = AlertRule {
            any_item: true,
            ..food
        };
        assert!(food_or_none.matches(&cand(&[])));
        assert!(food_or_none.matches(&cand(&["食品安全"])));
        assert!(
            !food_or_none.matches(&cand(&["交通"])),
            "another plan's item is not 'no plan'"
        );
    }

    #[test]
    fn level_sentiment_type_spike_enabled() {
        let r = AlertRule {
            min_level: Some(Level::Major),
            ..rule()
        };
        let mut c = cand(&["p"]);
        assert!(!r.matches(&c), "ungraded fails a level condition");
        c.level = Some(Level::Large);
        assert!(!r.matches(&c));
        c.level = Some(Level::Major);
        assert!(r.matches(&c));
        c.level = Some(Level::EspeciallyMajor);
        assert!(r.matches(&c));

        let neg = AlertRule {
            sentiment: Some(SentimentFilter::Negative),
            ..rule()
        };
        let pos = AlertRule {
            sentiment: Some(SentimentFilter::Positive),
            ..rule()
        };
        let neu = AlertRule {
            sentiment: Some(SentimentFilter::Neutral),
            ..rule()
        };
        let mut c = cand(&["p"]);
        for (s, n, z, p) in [
            (-1, true, false, false),
            (0, false, true, false),
            (1, false, false, true),
        ] {
            c.sentiment = s;
            assert_eq!(
                (neg.matches(&c), neu.matches(&c), pos.matches(&c)),
                (n, z, p),
                "sentiment {s}"
            );
        }

        let types = AlertRule {
            content_types: vec![ContentType::Behaviour, ContentType::Complaint],
            ..rule()
        };
        let mut c = cand(&["p"]);
        assert!(!types.matches(&c));
        c.content_type = ContentType::Complaint;
        assert!(types.matches(&c));
        c.content_type = ContentType::None;
        assert!(!types.matches(&c));
        assert!(rule().matches(&c), "no content_types: any type");

        let spike = AlertRule {
            spike: true,
            ..rule()
        };
        let mut c = cand(&["p"]);
        assert!(!spike.matches(&c));
        c.spike = true;
        assert!(spike.matches(&c));

        let off = AlertRule {
            enabled: false,
            ..rule()
        };
        assert!(!off.matches(&c));
    }

    #[test]
    fn all_conditions_must_hold() {
        let r = AlertRule {
            plans: vec!["p".into()],
            min_level: Some(Level::Large),
            sentiment: Some(SentimentFilter::Negative),
            content_types: vec![ContentType::Behaviour],
            spike: true,
            ..rule()
        };
        let good = Candidate {
            plans: &["p"],
            level: Some(Level::Large),
            sentiment: -1,
            content_type: ContentType::Behaviour,
            spike: true,
        };
        assert!(r.matches(&good));
        let bad = [
            Candidate {
                plans: &["q"],
                ..good
            },
            Candidate {
                level: Some(Level::General),
                ..good
            },
            Candidate {
                sentiment: 0,
                ..good
            },
            Candidate {
                content_type: ContentType::Attitude,
                ..good
            },
            Candidate {
                spike: false,
                ..good
            },
        ];
        for (i, c) in bad.iter().enumerate() {
            assert!(!r.matches(c), "case {i}");
        }
    }

    #[test]
    fn sends_to() {
        let r = AlertRule {
            channels: vec!["a".into()],
            ..rule()
        };
        assert!(r.sends_to("a") && !r.sends_to("b"));
        assert!(rule().sends_to("b"));
    }

    #[test]
    fn defaults() {
        let d = default_rules();
        let names: Vec<_> = d.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["major_any_plan", "negative_behaviour", "plan_spike"]
        );
        let [major, neg, spike] = [&d[0], &d[1], &d[2]];

        let mut c = cand(&["p"]);
        c.level = Some(Level::Major);
        assert!(major.matches(&c) && !neg.matches(&c) && !spike.matches(&c));
        c.plans = &[];
        assert!(!major.matches(&c), "major_any_plan needs a plan hit");

        let c = Candidate {
            plans: &[],
            level: None,
            sentiment: -1,
            content_type: ContentType::Behaviour,
            spike: false,
        };
        assert!(neg.matches(&c) && !major.matches(&c));
        assert!(!neg.matches(&Candidate { sentiment: 0, ..c }));
        assert!(!neg.matches(&Candidate {
            content_type: ContentType::Complaint,
            ..c
        }));

        let c = Candidate {
            spike: true,
            ..cand(&["p"])
        };
        assert!(spike.matches(&c) && !major.matches(&c));
        assert!(d.iter().all(|r| r.enabled && r.channels.is_empty()));
    }

    #[test]
    fn descriptions() {
        let d = default_rules();
        assert_eq!(d[0].describe_zh(), "任一方案命中且级别≥重大");
        assert_eq!(d[0].describe_en(), "any plan hit and level ≥ major");
        assert_eq!(d[1].describe_zh(), "任一条目且情感负面且内容类型为行为倾向");
        assert_eq!(
            d[1].describe_en(),
            "any item and negative sentiment and content type behavioural tendency"
        );
        assert_eq!(d[2].describe_zh(), "任一方案命中且所命中方案声量突增");
        let r = AlertRule {
            plans: vec!["食品安全".into(), "校园".into()],
            any_item: true,
            channels: vec!["值班群".into(), "邮箱".into()],
            enabled: false,
            ..rule()
        };
        assert_eq!(
            r.describe_zh(),
            "命中方案「食品安全」或「校园」或未命中任何方案，发往值班群、邮箱（已停用）"
        );
        assert_eq!(
            r.describe_en(),
            "plan \"食品安全\" or \"校园\" hit or no plan hit; to 值班群, 邮箱 (disabled)"
        );
    }

    #[test]
    fn effective_rules_merge() {
        let s = AlertSettings::default();
        let mine = AlertRule {
            plans: vec!["食品安全".into()],
            ..AlertRule::new("food")
        };
        let off = AlertRule {
            enabled: false,
            ..AlertRule::new(RULE_PLAN_SPIKE)
        };
        let eff = s.effective_rules(&[mine.clone(), off.clone()]);
        let names: Vec<_> = eff.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["major_any_plan", "negative_behaviour", "plan_spike", "food"]
        );
        assert_eq!(eff[2], off, "configured rule replaces the default in place");
        assert_eq!(eff[3], mine);

        let s = AlertSettings {
            default_rules: false,
            ..AlertSettings::default()
        };
        assert_eq!(s.effective_rules(std::slice::from_ref(&mine)), vec![mine]);
        assert!(s.effective_rules(&[]).is_empty());
    }

    #[test]
    fn max_age_and_matching() {
        let s = AlertSettings::default();
        let now = Utc.with_ymd_and_hms(2024, 5, 4, 0, 0, 0).unwrap();
        let rules = s.effective_rules(&[]);
        let c = Candidate {
            level: Some(Level::Major),
            ..cand(&["p"])
        };
        let edge = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
        assert!(s.is_recent(edge, now), "exactly max_age old still counts");
        assert!(!s.is_recent(edge - chrono::Duration::seconds(1), now));
        assert!(s.is_recent(now + chrono::Duration::hours(1), now));

        let m = s.matching(&rules, &c, now, now);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name, RULE_MAJOR_ANY_PLAN);
        let old = edge - chrono::Duration::hours(1);
        assert!(s.matching(&rules, &c, old, now).is_empty());
        let off = AlertSettings {
            enabled: false,
            ..AlertSettings::default()
        };
        assert!(off.matching(&rules, &c, now, now).is_empty());
    }

    #[test]
    fn validation() {
        let s = AlertSettings::default();
        let channels = ["值班群", "邮箱"];
        let plans = ["食品安全"];
        let ok = AlertRule {
            plans: vec!["食品安全".into()],
            channels: vec!["邮箱".into()],
            ..AlertRule::new("food")
        };
        s.validate(std::slice::from_ref(&ok), Some(&plans), &channels)
            .unwrap();
        // Replacing a built-in rule is not a duplicate.
        s.validate(
            &s.effective_rules(&[AlertRule::new(RULE_PLAN_SPIKE)]),
            None,
            &[],
        )
        .unwrap();

        let err = |rules: &[AlertRule], plans: Option<&[&str]>| {
            let e = s.validate(rules, plans, &channels).unwrap_err();
            assert_eq!(e.code(), yuqing_core::Code::InvalidInput);
            e.to_string()
        };

        let e = err(&[ok.clone(), ok.clone()], None);
        assert!(
            e.contains("\"food\"") && e.contains("重复") && e.contains("twice"),
            "{e}"
        );

        let bad_channel = AlertRule {
            channels: vec!["邮箱".into(), "短信".into()],
            ..AlertRule::new("night")
        };
        let e = err(&[ok.clone(), bad_channel], None);
        assert!(
            e.contains("\"night\" channels") && e.contains("短信") && e.contains("值班群, 邮箱"),
            "{e}"
        );

        let bad_plan = AlertRule {
            plans: vec!["校园".into()],
            ..AlertRule::new("school")
        };
        s.validate(std::slice::from_ref(&bad_plan), None, &channels)
            .expect("plans are not checked without plan names");
        let e = err(&[bad_plan], Some(&plans));
        assert!(
            e.contains("\"school\" plans") && e.contains("校园") && e.contains("食品安全"),
            "{e}"
        );

        let e = err(&[ok, AlertRule::new("  ")], None);
        assert!(e.contains("#2 name") && e.contains("no name"), "{e}");

        let s = AlertSettings {
            quiet_hours: Some(QuietHours {
                from: "25:00".into(),
                to: "07:00".into(),
                utc_offset: default_utc_offset(),
            }),
            ..AlertSettings::default()
        };
        let e = s.validate(&[], None, &[]).unwrap_err().to_string();
        assert!(e.contains("quiet_hours from") && e.contains("HH:MM"), "{e}");
    }

    fn qh(from: &str, to: &str, off: &str) -> Result<QuietWindow, AlertError> {
        QuietHours {
            from: from.into(),
            to: to.into(),
            utc_offset: off.into(),
        }
        .parse()
    }

    fn utc(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, d, h, m, s).unwrap()
    }

    #[test]
    fn quiet_hours_parse_errors() {
        for (from, to, key) in [
            ("25:00", "07:00", "from"),
            ("24:00", "07:00", "from"),
            ("22:60", "07:00", "from"),
            ("22", "07:00", "from"),
            ("22:0", "07:00", "from"),
            ("", "07:00", "from"),
            ("22:00", "7h", "to"),
            ("22:00", "-1:00", "to"),
            ("22:00", "07:00:00", "to"),
        ] {
            let e = qh(from, to, "+08:00").unwrap_err().to_string();
            assert!(
                e.contains(&format!("quiet_hours {key}")) && e.contains("HH:MM"),
                "{from}-{to}: {e}"
            );
        }
        for off in ["08:00", "+8", "+0800", "+15:00", "+08:60", "UTC", ""] {
            let e = qh("22:00", "07:00", off).unwrap_err().to_string();
            assert!(
                e.contains("utc_offset") && e.contains("+HH:MM"),
                "{off}: {e}"
            );
        }
        let w = qh("7:05", "23:59", "-05:30").unwrap();
        assert_eq!(w.from(), NaiveTime::from_hms_opt(7, 5, 0).unwrap());
        assert_eq!(w.offset().local_minus_utc(), -(5 * 3600 + 30 * 60));
        qh("00:00", "00:00", "+14:00").unwrap();
    }

    #[test]
    fn quiet_hours_wrapping_midnight_beijing() {
        let w = qh("22:00", "07:00", "+08:00").unwrap();
        // Beijing 23:30 on 1 May = 15:30 UTC; released 07:00 Beijing on 2 May = 23:00 UTC 1 May.
        assert_eq!(
            w.release_at(utc(1, 15, 30, 0), Level::Major),
            Some(utc(1, 23, 0, 0))
        );
        // Beijing 03:00 on 2 May = 19:00 UTC 1 May: same release.
        assert_eq!(
            w.release_at(utc(1, 19, 0, 0), Level::General),
            Some(utc(1, 23, 0, 0))
        );
        // Beijing 12:00: not quiet.
        assert_eq!(w.release_at(utc(1, 4, 0, 0), Level::General), None);
        // Boundaries: 22:00:00 Beijing (14:00 UTC) is quiet, 21:59:59 is not;
        // 06:59:59 is quiet (released one second later), 07:00:00 is not.
        assert_eq!(w.release_at(utc(1, 13, 59, 59), Level::Large), None);
        assert_eq!(
            w.release_at(utc(1, 14, 0, 0), Level::Large),
            Some(utc(1, 23, 0, 0))
        );
        assert_eq!(
            w.release_at(utc(1, 22, 59, 59), Level::Large),
            Some(utc(1, 23, 0, 0))
        );
        assert_eq!(w.release_at(utc(1, 23, 0, 0), Level::Large), None);
        // Beijing midnight exactly (16:00 UTC).
        assert_eq!(
            w.release_at(utc(1, 16, 0, 0), Level::Large),
            Some(utc(1, 23, 0, 0))
        );
    }

    #[test]
    fn especially_major_bypasses() {
        let w = qh("22:00", "07:00", "+08:00").unwrap();
        assert!(w.is_quiet(utc(1, 15, 30, 0)));
        assert_eq!(
            w.release_at(utc(1, 15, 30, 0), Level::EspeciallyMajor),
            None
        );
        assert!(w.release_at(utc(1, 15, 30, 0), Level::Major).is_some());
    }

    #[test]
    fn quiet_hours_same_day_and_offsets() {
        // 12:00–14:00 at UTC−05:30 = 17:30–19:30 UTC.
        let w = qh("12:00", "14:00", "-05:30").unwrap();
        assert_eq!(w.release_at(utc(1, 17, 29, 0), Level::General), None);
        assert_eq!(
            w.release_at(utc(1, 17, 30, 0), Level::General),
            Some(utc(1, 19, 30, 0))
        );
        assert_eq!(
            w.release_at(utc(1, 19, 29, 0), Level::General),
            Some(utc(1, 19, 30, 0))
        );
        assert_eq!(w.release_at(utc(1, 19, 30, 0), Level::General), None);

        // The local date differs from the UTC date: 01:00–03:00 at +08:00 on 2 May local
        // is 17:00–19:00 UTC on 1 May.
        let w = qh("01:00", "03:00", "+08:00").unwrap();
        assert_eq!(
            w.release_at(utc(1, 18, 0, 0), Level::General),
            Some(utc(1, 19, 0, 0))
        );
        assert_eq!(w.release_at(utc(1, 10, 0, 0), Level::General), None);

        // Same wall-clock window, UTC: a different instant.
        let w = qh("01:00", "03:00", "+00:00").unwrap();
        assert_eq!(w.release_at(utc(1, 18, 0, 0), Level::General), None);
        assert_eq!(
            w.release_at(utc(2, 1, 0, 0), Level::General),
            Some(utc(2, 3, 0, 0))
        );
    }

    #[test]
    fn equal_from_to_is_never_quiet() {
        let w = qh("07:00", "07:00", "+08:00").unwrap();
        for h in 0..24 {
            assert_eq!(w.release_at(utc(1, h, 0, 0), Level::General), None, "{h}");
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        alerts: AlertSettings,
        #[serde(default)]
        alert_rules: Vec<AlertRule>,
    }

    #[test]
    fn toml_full_example() {
        let f: File = toml::from_str(
            r#"
            [alerts]
            enabled = true
            default_rules = true
            max_age = "2d"
            inapp = false

            [alerts.quiet_hours]
            from = "22:00"
            to = "07:00"

            [alerts.escalation]
            duty = ["值班员 张三", "科长 李四"]
            after = "15m"

            [alerts.outbox]
            lease = "5m"

            [[alert_rules]]
            name = "食品安全负面"
            plans = ["食品安全"]
            min_level = "large"
            sentiment = "negative"
            content_types = ["behaviour", "complaint"]
            channels = ["舆情工作群"]

            [[alert_rules]]
            name = "major_any_plan"
            min_level = "especially_major"

            [[alert_rules]]
            name = "plan_spike"
            enabled = false
            "#,
        )
        .unwrap();
        let a = &f.alerts;
        assert!(a.enabled && a.default_rules && !a.inapp);
        assert_eq!(a.max_age, Span(Duration::from_secs(2 * 86_400)));
        let q = a.quiet_hours.as_ref().unwrap();
        assert_eq!(q.utc_offset, "+08:00", "Beijing by default");
        assert_eq!(q.parse().unwrap().offset().local_minus_utc(), 8 * 3600);
        assert_eq!(a.escalation.as_ref().unwrap().duty.len(), 2);
        assert_eq!(a.outbox.lease, Span::mins(5));

        let r = &f.alert_rules[0];
        assert_eq!(r.plans, ["食品安全"]);
        assert_eq!(r.min_level, Some(Level::Large));
        assert_eq!(r.sentiment, Some(SentimentFilter::Negative));
        assert_eq!(
            r.content_types,
            [ContentType::Behaviour, ContentType::Complaint]
        );
        assert!(r.enabled && !r.any_item && !r.spike);

        a.validate(&f.alert_rules, Some(&["食品安全"]), &["舆情工作群"])
            .unwrap();
        let eff = a.effective_rules(&f.alert_rules);
        let names: Vec<_> = eff.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "major_any_plan",
                "negative_behaviour",
                "plan_spike",
                "食品安全负面"
            ]
        );
        assert_eq!(eff[0].min_level, Some(Level::EspeciallyMajor));
        assert!(!eff[2].enabled);
    }

    #[test]
    fn toml_defaults_and_refusals() {
        let f: File = toml::from_str("").unwrap();
        assert_eq!(f.alerts, AlertSettings::default());
        assert_eq!(f.alerts.max_age, Span(Duration::from_secs(3 * 86_400)));
        assert!(f.alerts.enabled && f.alerts.default_rules && f.alerts.inapp);
        assert!(f.alerts.quiet_hours.is_none() && f.alerts.escalation.is_none());

        let r: AlertRule = toml::from_str("name = \"x\"").unwrap();
        assert_eq!(r, AlertRule::new("x"));

        for bad in [
            "name = \"x\"\nlevel = \"major\"",
            "name = \"x\"\nsentiment = \"angry\"",
            "name = \"x\"\nmin_level = \"huge\"",
            "plans = []",
        ] {
            assert!(toml::from_str::<AlertRule>(bad).is_err(), "{bad}");
        }
        assert!(toml::from_str::<AlertSettings>("quiet = true").is_err());
        assert!(
            toml::from_str::<QuietHours>("from = \"1:00\"\nto = \"2:00\"\ntz = \"x\"").is_err()
        );
    }
}
