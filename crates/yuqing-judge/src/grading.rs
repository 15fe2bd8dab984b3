//! Grading (分级): the level of an item from its heat, its mainstream reposts, its critical
//! category and the calendar, with an explanation in Chinese and English.
//!
//! The default rules are the school rule of the seeds (003 篇七); every threshold is a
//! setting because each organisation picks its own. The contract, every key and the
//! explanation format are specified in `docs/specs/grading.md`; this module owns it.
//!
//! Grading is a pure function of [`Facts`]; the caller re-grades as an item spreads and
//! stores the higher level only ([`raised`]): the system never lowers a level by itself, a
//! person does.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::content::{Categories, Category};
use crate::error::JudgeError;

/// The level of an item, in increasing order of gravity (`Ord` follows it).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 一般
    #[default]
    General,
    /// 较大
    Large,
    /// 重大
    Major,
    /// 特别重大
    EspeciallyMajor,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 4] = [
        Level::General,
        Level::Large,
        Level::Major,
        Level::EspeciallyMajor,
    ];

    /// Stable name (`general`, `large`, `major`, `especially_major`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::General => "general",
            Level::Large => "large",
            Level::Major => "major",
            Level::EspeciallyMajor => "especially_major",
        }
    }

    /// Parses a stable name (ASCII case-insensitive, `-` accepted for `_`) or a Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let folded = s.replace('-', "_");
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(&folded) || l.label_zh() == s)
    }

    /// Chinese label (一般, 较大, 重大, 特别重大).
    pub fn label_zh(self) -> &'static str {
        match self {
            Level::General => "一般",
            Level::Large => "较大",
            Level::Major => "重大",
            Level::EspeciallyMajor => "特别重大",
        }
    }

    /// English label (general, large, major, especially major).
    pub fn label_en(self) -> &'static str {
        match self {
            Level::General => "general",
            Level::Large => "large",
            Level::Major => "major",
            Level::EspeciallyMajor => "especially major",
        }
    }

    /// Stable integer for storage: general 1, large 2, major 3, especially major 4.
    pub fn code(self) -> i64 {
        match self {
            Level::General => 1,
            Level::Large => 2,
            Level::Major => 3,
            Level::EspeciallyMajor => 4,
        }
    }

    /// Inverse of [`Level::code`].
    pub fn from_code(code: i64) -> Option<Self> {
        Level::ALL.into_iter().find(|l| l.code() == code)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a newly computed level should replace the stored one: only when it is higher.
/// The system never lowers a level by itself (a person may, and that correction is kept).
pub fn raised(current: Option<Level>, computed: Level) -> bool {
    current.is_none_or(|c| computed > c)
}

/// Beijing time (UTC+8), in which dates of special periods are read.
pub fn beijing() -> FixedOffset {
    // 8 h is within ±24 h, so this is always Some; UTC is the harmless fallback.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// One end of a special period: a calendar date in Beijing time (inclusive: a start date
/// starts at 00:00, an end date ends at 24:00) or an exact instant (RFC 3339).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodBound {
    Date(NaiveDate),
    Instant(DateTime<FixedOffset>),
}

impl PeriodBound {
    /// Parses `2027-03-03`, an RFC 3339 datetime (`2027-03-03T08:00:00+08:00`) or a local
    /// datetime without offset (`2027-03-03T08:00:00`, `2027-03-03 08:00`), read as Beijing
    /// time.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(PeriodBound::Date(d));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(PeriodBound::Instant(t));
        }
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(s, f)
                && let Some(t) = beijing().from_local_datetime(&n).single()
            {
                return Some(PeriodBound::Instant(t));
            }
        }
        None
    }

    /// Whether `at` is on or after this bound used as a start.
    fn starts_by(self, at: DateTime<Utc>) -> bool {
        match self {
            PeriodBound::Date(d) => at.with_timezone(&beijing()).date_naive() >= d,
            PeriodBound::Instant(t) => at >= t,
        }
    }

    /// Whether `at` is on or before this bound used as an end.
    fn ends_after(self, at: DateTime<Utc>) -> bool {
        match self {
            PeriodBound::Date(d) => at.with_timezone(&beijing()).date_naive() <= d,
            PeriodBound::Instant(t) => at <= t,
        }
    }

    /// Beijing date and time-of-day key for ordering bounds (a date as a start is 00:00,
    /// as an end 23:59:59.999…).
    fn key(self, as_end: bool) -> NaiveDateTime {
        match self {
            PeriodBound::Date(d) => {
                let t = if as_end {
                    chrono::NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)
                } else {
                    chrono::NaiveTime::from_hms_opt(0, 0, 0)
                };
                d.and_time(t.unwrap_or_default())
            }
            PeriodBound::Instant(t) => t.with_timezone(&beijing()).naive_local(),
        }
    }
}

impl fmt::Display for PeriodBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodBound::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            PeriodBound::Instant(t) => f.write_str(&t.to_rfc3339()),
        }
    }
}

impl Serialize for PeriodBound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeriodBound {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PeriodBound;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date such as \"2027-03-03\" or an RFC 3339 datetime")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PeriodBound, E> {
                PeriodBound::parse(s).ok_or_else(|| {
                    E::custom(format_args!(
                        "无效日期 {s:?}，应为 2027-03-03 或 2027-03-03T08:00:00+08:00 / invalid date {s:?}: write 2027-03-03 or 2027-03-03T08:00:00+08:00"
                    ))
                })
            }
            // TOML dates written without quotes arrive as a one-entry map.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PeriodBound, A::Error> {
                let Some((_, v)) = map.next_entry::<String, String>()? else {
                    return Err(de::Error::custom("empty date / 空日期"));
                };
                self.visit_str(&v)
            }
        }
        d.deserialize_any(V)
    }
}

/// A special period (特殊时期: 两会, major meetings and celebrations): elevated items are
/// major (重大) instead of large (较大) while it lasts. Both ends are inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialPeriod {
    /// Shown in explanations, e.g. `两会`.
    pub name: String,
    pub start: PeriodBound,
    pub end: PeriodBound,
}

impl SpecialPeriod {
    /// Whether `at` falls in the period (ends inclusive; dates read in Beijing time).
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start.starts_by(at) && self.end.ends_after(at)
    }
}

/// The grading rules (`[judge.grading]` in the configuration). Defaults are the seed rule;
/// a threshold of 0 turns its rule off. See `docs/specs/grading.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradingRules {
    /// Comments at or above which an item is especially major (500).
    pub especially_major_comments: i64,
    /// Views (clicks) at or above which an item is especially major (3000).
    pub especially_major_views: i64,
    /// Distinct mainstream sources at or above which an item is especially major (5).
    pub especially_major_mainstream: i64,
    /// Comments at or above which an item is large, or major in a special period (100).
    pub elevated_comments: i64,
    /// Views at or above which an item is large, or major in a special period (1000).
    pub elevated_views: i64,
    /// Distinct mainstream sources at or above which an item is large / major (1).
    pub elevated_mainstream: i64,
    /// Categories for which one negative item makes the event especially major (all seven).
    pub critical_categories: Categories,
    /// Mainstream sources: site hosts (`people.com.cn`, matched by suffix) or account
    /// names / ids (`人民日报`, matched exactly).
    pub mainstream: Vec<String>,
    /// Special periods, e.g. `{ name = "两会", start = "2027-03-03", end = "2027-03-15" }`.
    pub special_periods: Vec<SpecialPeriod>,
}

impl Default for GradingRules {
    fn default() -> Self {
        GradingRules {
            especially_major_comments: 500,
            especially_major_views: 3000,
            especially_major_mainstream: 5,
            elevated_comments: 100,
            elevated_views: 1000,
            elevated_mainstream: 1,
            critical_categories: Categories::all(),
            mainstream: Vec::new(),
            special_periods: Vec::new(),
        }
    }
}

/// A negative item of a critical category (the caller decides negativity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    pub category: Category,
    pub document_id: String,
}

/// What grading looks at: the current figures of an item or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub comments: i64,
    pub views: i64,
    /// Distinct mainstream sources that carried it (duplicates are counted once).
    pub mainstream_sources: Vec<String>,
    pub critical: Option<Critical>,
    /// When the grading happens (decides the special period).
    pub at: DateTime<Utc>,
}

/// The result of grading, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grade {
    pub level: Level,
    /// Stable id of the deciding rule: `comments`, `views`, `mainstream`,
    /// `critical_category` or `default` (the first of [`Grade::rules`]).
    pub rule: String,
    /// Every rule that fired at [`Grade::level`], in the order above.
    pub rules: Vec<String>,
    /// Chinese explanation with the values, e.g. `评论数 523 ≥ 500，达到特别重大`.
    pub reason: String,
    /// The same in English.
    pub reason_en: String,
    /// The special period `at` fell in, if any.
    pub special_period: Option<String>,
}

struct Fired {
    rule: &'static str,
    zh: String,
    en: String,
}

fn host_of(s: &str) -> Option<&str> {
    let s = s.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.split(['/', '?', '#']).next().unwrap_or(s);
    let s = s.rsplit_once('@').map_or(s, |(_, h)| h);
    let s = s.split(':').next().unwrap_or(s);
    let s = s.trim_end_matches('.');
    (!s.is_empty() && s.contains('.') && is_hostish(s)).then_some(s)
}

fn is_hostish(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

fn host_matches(host: &str, entry: &str) -> bool {
    let (h, e) = (host.as_bytes(), entry.as_bytes());
    h.len() >= e.len()
        && h[h.len() - e.len()..].eq_ignore_ascii_case(e)
        && (h.len() == e.len() || h[h.len() - e.len() - 1] == b'.')
}

fn list_names(names: &[&str]) -> String {
    const MAX: usize = 5;
    let mut s = names
        .iter()
        .take(MAX)
        .copied()
        .collect::<Vec<_>>()
        .join("、");
    if names.len() > MAX {
        s.push_str(" …");
    }
    s
}

impl GradingRules {
    /// Checks what serde cannot: no negative thresholds, elevated thresholds not above the
    /// especially-major ones, named special periods that do not end before they start, no
    /// empty mainstream entries. Returns the first problem found.
    pub fn validate(&self) -> Result<(), JudgeError> {
        let pairs = [
            (
                "elevated_comments",
                self.elevated_comments,
                "especially_major_comments",
                self.especially_major_comments,
            ),
            (
                "elevated_views",
                self.elevated_views,
                "especially_major_views",
                self.especially_major_views,
            ),
            (
                "elevated_mainstream",
                self.elevated_mainstream,
                "especially_major_mainstream",
                self.especially_major_mainstream,
            ),
        ];
        for (ek, ev, sk, sv) in pairs {
            for (k, v) in [(sk, sv), (ek, ev)] {
                if v < 0 {
                    return Err(JudgeError::NegativeThreshold { key: k, value: v });
                }
            }
        }
        for (ek, ev, sk, sv) in pairs {
            if ev > 0 && sv > 0 && ev > sv {
                return Err(JudgeError::Thresholds {
                    elevated_key: ek,
                    elevated: ev,
                    especially_key: sk,
                    especially: sv,
                });
            }
        }
        for (i, m) in self.mainstream.iter().enumerate() {
            if m.trim().is_empty() {
                return Err(JudgeError::EmptyWord {
                    field: "mainstream".into(),
                    index: i + 1,
                });
            }
        }
        for p in &self.special_periods {
            if p.name.trim().is_empty() {
                return Err(JudgeError::BadPeriod {
                    name: p.name.clone(),
                    zh: "名称为空，请填写 name（如 两会）",
                    en: "the name is empty: set name (e.g. 两会)",
                });
            }
            if p.start.key(false) > p.end.key(true) {
                return Err(JudgeError::BadPeriod {
                    name: p.name.clone(),
                    zh: "结束时间早于开始时间，请检查 start 与 end",
                    en: "it ends before it starts: check start and end",
                });
            }
        }
        Ok(())
    }

    /// The first special period that contains `at`, if any.
    pub fn special_period(&self, at: DateTime<Utc>) -> Option<&SpecialPeriod> {
        self.special_periods.iter().find(|p| p.contains(at))
    }

    /// The configured mainstream entry that a document's origin matches, if any (use it as
    /// the source's name in [`Facts::mainstream_sources`]). Hosts match by suffix on `site`
    /// or `source` (a host or URL: `news.people.com.cn` matches `people.com.cn`); other
    /// entries match `author_id`, `author_name` or `source` exactly (ASCII case ignored).
    pub fn is_mainstream(
        &self,
        site: Option<&str>,
        author_name: Option<&str>,
        author_id: Option<&str>,
        source: Option<&str>,
    ) -> Option<String> {
        let hosts: Vec<&str> = [site, source]
            .into_iter()
            .flatten()
            .filter_map(host_of)
            .collect();
        let names: Vec<&str> = [author_id, author_name, source]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        self.mainstream.iter().find_map(|entry| {
            let e = entry.trim();
            if e.is_empty() {
                return None;
            }
            let hit = if e.contains('.') && is_hostish(e) {
                let e = e.trim_start_matches("www.");
                hosts.iter().any(|h| host_matches(h, e))
            } else {
                names.iter().any(|n| n.eq_ignore_ascii_case(e))
            };
            hit.then(|| e.to_owned())
        })
    }

    /// Grades `facts`. The highest level whose rule fires wins; the explanation lists every
    /// rule that fired at that level.
    pub fn grade(&self, facts: &Facts) -> Grade {
        let period = self.special_period(facts.at).map(|p| p.name.clone());
        let sources: BTreeSet<&str> = facts
            .mainstream_sources
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        let mut ordered: Vec<&str> = Vec::with_capacity(sources.len());
        for s in &facts.mainstream_sources {
            let s = s.trim();
            if !s.is_empty() && !ordered.contains(&s) {
                ordered.push(s);
            }
        }
        let n_main = sources.len() as i64;

        let measures = |comments: i64, views: i64, main: i64| {
            let mut fired = Vec::new();
            if comments > 0 && facts.comments >= comments {
                fired.push(Fired {
                    rule: "comments",
                    zh: format!("评论数 {} ≥ {comments}", facts.comments),
                    en: format!("comments {} ≥ {comments}", facts.comments),
                });
            }
            if views > 0 && facts.views >= views {
                fired.push(Fired {
                    rule: "views",
                    zh: format!("浏览数 {} ≥ {views}", facts.views),
                    en: format!("views {} ≥ {views}", facts.views),
                });
            }
            if main > 0 && n_main >= main {
                fired.push(Fired {
                    rule: "mainstream",
                    zh: format!("主流媒体 {n_main} 家 ≥ {main}（{}）", list_names(&ordered)),
                    en: format!(
                        "mainstream sources {n_main} ≥ {main} ({})",
                        list_names(&ordered).replace('、', ", ")
                    ),
                });
            }
            fired
        };

        let mut fired = measures(
            self.especially_major_comments,
            self.especially_major_views,
            self.especially_major_mainstream,
        );
        if let Some(c) = &facts.critical
            && self.critical_categories.contains(c.category)
        {
            fired.push(Fired {
                rule: "critical_category",
                zh: format!(
                    "负面信息属于关键类别「{}」（文档 {}）",
                    c.category.label_zh(),
                    c.document_id
                ),
                en: format!(
                    "negative item in critical category {} (document {})",
                    c.category.as_str(),
                    c.document_id
                ),
            });
        }
        let (level, suffix_zh, suffix_en) = if !fired.is_empty() {
            (
                Level::EspeciallyMajor,
                "，达到特别重大".to_owned(),
                ": especially major".to_owned(),
            )
        } else {
            fired = measures(
                self.elevated_comments,
                self.elevated_views,
                self.elevated_mainstream,
            );
            match (&period, fired.is_empty()) {
                (_, true) => (Level::General, String::new(), String::new()),
                (Some(p), false) => (
                    Level::Major,
                    format!("，处于特殊时期「{p}」，达到重大"),
                    format!(", during special period {p}: major"),
                ),
                (None, false) => (
                    Level::Large,
                    "，非特殊时期，达到较大".to_owned(),
                    ", not in a special period: large".to_owned(),
                ),
            }
        };
        if fired.is_empty() {
            return Grade {
                level: Level::General,
                rule: "default".into(),
                rules: vec!["default".into()],
                reason: format!(
                    "评论数 {}、浏览数 {}、主流媒体 {n_main} 家，均未达到较大门槛，为一般",
                    facts.comments, facts.views
                ),
                reason_en: format!(
                    "comments {}, views {}, mainstream sources {n_main}: below every threshold, general",
                    facts.comments, facts.views
                ),
                special_period: period,
            };
        }
        let zh: Vec<&str> = fired.iter().map(|f| f.zh.as_str()).collect();
        let en: Vec<&str> = fired.iter().map(|f| f.en.as_str()).collect();
        Grade {
            level,
            rule: fired.first().map_or("default", |f| f.rule).to_owned(),
            rules: fired.iter().map(|f| f.rule.to_owned()).collect(),
            reason: format!("{}{suffix_zh}", zh.join("；")),
            reason_en: format!("{}{suffix_en}", en.join("; ")),
            special_period: period,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bj(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn facts(comments: i64, views: i64, main: &[&str]) -> Facts {
        Facts {
            comments,
            views,
            mainstream_sources: main.iter().map(|s| s.to_string()).collect(),
            critical: None,
            at: bj("2027-01-10T12:00:00+08:00"),
        }
    }

    fn lianghui() -> GradingRules {
        toml::from_str(
            r#"
            mainstream = ["people.com.cn", "xinhuanet.com", "人民日报", "1234567890"]
            special_periods = [
              { name = "两会", start = "2027-03-03", end = "2027-03-15" },
              { name = "校庆", start = 2027-05-01, end = "2027-05-02T12:00:00+08:00" },
            ]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn levels_are_ordered_and_named() {
        assert!(Level::General < Level::Large);
        assert!(Level::Large < Level::Major);
        assert!(Level::Major < Level::EspeciallyMajor);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
            assert_eq!(Level::parse(l.label_zh()), Some(l));
            assert_eq!(Level::from_code(l.code()), Some(l));
            assert_eq!(
                serde_json::to_string(&l).unwrap(),
                format!("\"{}\"", l.as_str())
            );
        }
        assert_eq!(
            Level::parse("especially-major"),
            Some(Level::EspeciallyMajor)
        );
        assert_eq!(Level::from_code(0), None);
        assert_eq!(Level::parse("huge"), None);
    }

    #[test]
    fn comment_thresholds() {
        let r = GradingRules::default();
        let cases = [
            (0, Level::General),
            (99, Level::General),
            (100, Level::Large),
            (101, Level::Large),
            (499, Level::Large),
            (500, Level::EspeciallyMajor),
            (501, Level::EspeciallyMajor),
        ];
        for (c, want) in cases {
            let g = r.grade(&facts(c, 0, &[]));
            assert_eq!(g.level, want, "comments {c}: {}", g.reason);
            if want != Level::General {
                assert_eq!(g.rule, "comments");
            }
        }
        let g = r.grade(&facts(523, 0, &[]));
        assert_eq!(g.reason, "评论数 523 ≥ 500，达到特别重大");
        assert_eq!(g.reason_en, "comments 523 ≥ 500: especially major");
        let g = r.grade(&facts(120, 0, &[]));
        assert_eq!(g.reason, "评论数 120 ≥ 100，非特殊时期，达到较大");
    }

    #[test]
    fn view_thresholds() {
        let r = GradingRules::default();
        for (v, want) in [
            (999, Level::General),
            (1000, Level::Large),
            (1001, Level::Large),
            (2999, Level::Large),
            (3000, Level::EspeciallyMajor),
            (3001, Level::EspeciallyMajor),
        ] {
            let g = r.grade(&facts(0, v, &[]));
            assert_eq!(g.level, want, "views {v}");
            if want != Level::General {
                assert_eq!(g.rule, "views");
            }
        }
    }

    #[test]
    fn mainstream_thresholds_count_distinct_sources() {
        let r = GradingRules::default();
        let g = r.grade(&facts(0, 0, &[]));
        assert_eq!(g.level, Level::General);
        assert_eq!(g.rule, "default");
        assert!(g.reason.contains("为一般"), "{}", g.reason);
        let g = r.grade(&facts(0, 0, &["人民网"]));
        assert_eq!((g.level, g.rule.as_str()), (Level::Large, "mainstream"));
        let four = ["人民网", "新华网", "央视网", "光明网"];
        assert_eq!(r.grade(&facts(0, 0, &four)).level, Level::Large);
        // Duplicates count once.
        let dup = ["人民网", "新华网", "央视网", "光明网", "人民网", " 新华网 "];
        assert_eq!(r.grade(&facts(0, 0, &dup)).level, Level::Large);
        let five = ["人民网", "新华网", "央视网", "光明网", "中新网"];
        let g = r.grade(&facts(0, 0, &five));
        assert_eq!(g.level, Level::EspeciallyMajor);
        assert_eq!(
            g.reason,
            "主流媒体 5 家 ≥ 5（人民网、新华网、央视网、光明网、中新网），达到特别重大"
        );
        let six = ["a", "b", "c", "d", "e", "f"];
        let g = r.grade(&facts(0, 0, &six));
        assert!(g.reason.contains("a、b、c、d、e …"), "{}", g.reason);
    }

    #[test]
    fn critical_category() {
        let mut r = GradingRules::default();
        let mut f = facts(3, 10, &[]);
        f.critical = Some(Critical {
            category: Category::Food,
            document_id: "weibo:123".into(),
        });
        let g = r.grade(&f);
        assert_eq!(g.level, Level::EspeciallyMajor);
        assert_eq!(g.rule, "critical_category");
        assert_eq!(
            g.reason,
            "负面信息属于关键类别「食品」（文档 weibo:123），达到特别重大"
        );
        // Not critical for this organisation: ignored.
        r.critical_categories = [Category::Secrecy].into_iter().collect();
        assert_eq!(r.grade(&f).level, Level::General);
    }

    #[test]
    fn several_rules_highest_level_wins_and_all_are_listed() {
        let r = GradingRules::default();
        let mut f = facts(800, 3500, &["人民网"]);
        f.critical = Some(Critical {
            category: Category::Health,
            document_id: "d1".into(),
        });
        let g = r.grade(&f);
        assert_eq!(g.level, Level::EspeciallyMajor);
        assert_eq!(g.rule, "comments");
        assert_eq!(g.rules, ["comments", "views", "critical_category"]);
        assert_eq!(
            g.reason,
            "评论数 800 ≥ 500；浏览数 3500 ≥ 3000；负面信息属于关键类别「卫生健康」（文档 d1），达到特别重大"
        );
        // Elevated rules are not listed when a higher one fired.
        let g = r.grade(&facts(150, 3000, &[]));
        assert_eq!(g.rules, ["views"]);
        // Two elevated rules.
        let g = r.grade(&facts(150, 1200, &[]));
        assert_eq!((g.level, g.rules.len()), (Level::Large, 2));
        assert_eq!(
            g.reason,
            "评论数 150 ≥ 100；浏览数 1200 ≥ 1000，非特殊时期，达到较大"
        );
    }

    #[test]
    fn special_periods_make_elevated_items_major() {
        let r = lianghui();
        let mut f = facts(150, 0, &[]);
        for (at, want, period) in [
            ("2027-03-02T23:59:59+08:00", Level::Large, None),
            ("2027-03-03T00:00:00+08:00", Level::Major, Some("两会")),
            // 2027-03-02 16:00 UTC is already 03-03 in Beijing.
            ("2027-03-02T16:00:00Z", Level::Major, Some("两会")),
            ("2027-03-02T15:59:59Z", Level::Large, None),
            ("2027-03-15T23:59:59+08:00", Level::Major, Some("两会")),
            ("2027-03-16T00:00:00+08:00", Level::Large, None),
            ("2027-05-01T00:00:00+08:00", Level::Major, Some("校庆")),
            ("2027-05-02T12:00:00+08:00", Level::Major, Some("校庆")),
            ("2027-05-02T12:00:01+08:00", Level::Large, None),
        ] {
            f.at = bj(at);
            let g = r.grade(&f);
            assert_eq!(g.level, want, "{at}: {}", g.reason);
            assert_eq!(g.special_period.as_deref(), period, "{at}");
        }
        f.at = bj("2027-03-10T10:00:00+08:00");
        let g = r.grade(&f);
        assert_eq!(g.reason, "评论数 150 ≥ 100，处于特殊时期「两会」，达到重大");
        assert_eq!(
            g.reason_en,
            "comments 150 ≥ 100, during special period 两会: major"
        );
        // Especially major and general do not depend on the period.
        f.comments = 600;
        assert_eq!(r.grade(&f).level, Level::EspeciallyMajor);
        f.comments = 10;
        let g = r.grade(&f);
        assert_eq!(g.level, Level::General);
        assert_eq!(g.special_period.as_deref(), Some("两会"));
        assert_eq!(
            r.special_period(f.at).map(|p| p.name.as_str()),
            Some("两会")
        );
    }

    #[test]
    fn period_bounds_parse_and_round_trip() {
        assert_eq!(
            PeriodBound::parse("2027-03-03"),
            NaiveDate::from_ymd_opt(2027, 3, 3).map(PeriodBound::Date)
        );
        let t = PeriodBound::parse("2027-03-03 08:00").unwrap();
        assert_eq!(t.to_string(), "2027-03-03T08:00:00+08:00");
        assert!(PeriodBound::parse("2027-03-03T08:00:00Z").is_some());
        assert!(PeriodBound::parse("03/03/2027").is_none());
        let r = lianghui();
        let back: GradingRules = toml::from_str(&toml::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let e = toml::from_str::<GradingRules>(
            "special_periods = [{ name = \"x\", start = \"soon\", end = \"2027-01-01\" }]",
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid date"), "{e}");
    }

    #[test]
    fn zero_threshold_turns_a_rule_off() {
        let r = GradingRules {
            elevated_views: 0,
            especially_major_views: 0,
            ..Default::default()
        };
        assert!(r.validate().is_ok());
        assert_eq!(r.grade(&facts(0, 1_000_000, &[])).level, Level::General);
    }

    #[test]
    fn validate_reports_inconsistent_rules() {
        assert!(GradingRules::default().validate().is_ok());
        assert!(lianghui().validate().is_ok());
        let r = GradingRules {
            elevated_comments: 600,
            ..Default::default()
        };
        let e = r.validate().unwrap_err();
        assert_eq!(
            e,
            JudgeError::Thresholds {
                elevated_key: "elevated_comments",
                elevated: 600,
                especially_key: "especially_major_comments",
                especially: 500,
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("elevated_comments = 600 大于 especially_major_comments = 500"),
            "{msg}"
        );
        assert!(msg.contains("inconsistent thresholds"), "{msg}");
        let r = GradingRules {
            elevated_views: 3001,
            ..Default::default()
        };
        assert!(matches!(
            r.validate(),
            Err(JudgeError::Thresholds {
                elevated_key: "elevated_views",
                ..
            })
        ));
        let r = GradingRules {
            especially_major_mainstream: -1,
            ..Default::default()
        };
        assert!(matches!(
            r.validate(),
            Err(JudgeError::NegativeThreshold { .. })
        ));
        let r: GradingRules = toml::from_str(
            "special_periods = [{ name = \"两会\", start = \"2027-03-15\", end = \"2027-03-03\" }]",
        )
        .unwrap();
        let e = r.validate().unwrap_err();
        assert!(e.to_string().contains("两会"), "{e}");
        // Same day start and end is fine (inclusive).
        let r: GradingRules = toml::from_str(
            "special_periods = [{ name = \"国庆\", start = \"2027-10-01\", end = \"2027-10-01\" }]",
        )
        .unwrap();
        assert!(r.validate().is_ok());
        let r = GradingRules {
            mainstream: vec!["人民日报".into(), " ".into()],
            ..Default::default()
        };
        assert!(matches!(
            r.validate(),
            Err(JudgeError::EmptyWord { index: 2, .. })
        ));
        assert!(toml::from_str::<GradingRules>("elevated_comment = 3").is_err());
        assert!(
            toml::from_str::<GradingRules>("critical_categories = [\"food\", \"fod\"]").is_err()
        );
    }

    #[test]
    fn mainstream_matching() {
        let r = lianghui();
        let m = |site, name, id, source| r.is_mainstream(site, name, id, source);
        assert_eq!(
            m(Some("news.people.com.cn"), None, None, None).as_deref(),
            Some("people.com.cn")
        );
        assert_eq!(
            m(Some("people.com.cn"), None, None, None).as_deref(),
            Some("people.com.cn")
        );
        assert_eq!(
            m(
                Some("https://WWW.Xinhuanet.com/politics/1.htm"),
                None,
                None,
                None
            )
            .as_deref(),
            Some("xinhuanet.com")
        );
        assert_eq!(m(Some("notpeople.com.cn"), None, None, None), None);
        assert_eq!(m(Some("people.com.cn.evil.org"), None, None, None), None);
        assert_eq!(
            m(None, Some("人民日报"), None, None).as_deref(),
            Some("人民日报")
        );
        assert_eq!(m(None, Some("人民日报评论"), None, None), None);
        assert_eq!(
            m(None, None, Some("1234567890"), None).as_deref(),
            Some("1234567890")
        );
        assert_eq!(
            m(None, None, None, Some("人民日报")).as_deref(),
            Some("人民日报")
        );
        assert_eq!(
            m(None, None, None, Some("http://m.people.com.cn/x")).as_deref(),
            Some("people.com.cn")
        );
        assert_eq!(m(None, None, None, None), None);
        assert_eq!(
            GradingRules::default().is_mainstream(Some("people.com.cn"), None, None, None),
            None
        );
    }

    #[test]
    fn never_lowered_automatically() {
        assert!(raised(None, Level::General));
        assert!(raised(Some(Level::General), Level::Large));
        assert!(raised(Some(Level::Major), Level::EspeciallyMajor));
        assert!(!raised(Some(Level::Major), Level::Major));
        assert!(!raised(Some(Level::Major), Level::Large));
        assert!(!raised(Some(Level::EspeciallyMajor), Level::General));
    }
}
