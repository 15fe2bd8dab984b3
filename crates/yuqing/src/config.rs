//! The configuration tree: one typed struct, defaults in one place, unknown keys refused.
//!
//! The fully commented example (`config/yuqing.example.toml`) is embedded in the binary
//! and printed by `yuqing default-config`; a test parses it.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use yuqing_core::Lang;
use yuqing_ingest::IngestSettings;
use yuqing_ingest::sources::SourceConfig;
use yuqing_ingest::transforms::judge::JudgeSettings;
use yuqing_text::plan::{Plan, StructuredPlan};

/// The example config, as shipped.
pub const EXAMPLE: &str = include_str!("../../../config/yuqing.example.toml");

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub lang: Lang,
    pub text: TextConfig,
    pub server: ServerConfig,
    pub ingest: IngestSettings,
    pub import_dir: ImportDirConfig,
    pub sources: Vec<SourceConfig>,
    /// Sentiment, content types, grading, clustering and spikes (`[judgement]`).
    pub judgement: JudgeSettings,
    /// Monitoring plans declared in the file (`[[plans]]`); synced into the store at start.
    pub plans: Vec<PlanConfig>,
    /// Case deadlines (`[deadlines]`, docs/specs/case-workflow.md).
    pub deadlines: yuqing_workflow::DeadlineRules,
    /// Weights of the monitors' performance points (`[assessment]`, 绩效考核分).
    pub assessment: yuqing_workflow::PointRules,
    /// Alerting (`[alerts]`, docs/specs/alerts.md).
    pub alerts: yuqing_alert::rules::AlertSettings,
    /// Alert rules (`[[alert_rules]]`) besides (or replacing) the built-in ones.
    pub alert_rules: Vec<yuqing_alert::rules::AlertRule>,
    /// Alert channels (`[[channels]]`).
    pub channels: Vec<yuqing_alert::ChannelConfig>,
    /// Reports: letterhead, rendering tools, the daily schedule (`[report]`).
    pub report: yuqing_handling::reports::ReportSettings,
    /// How long documents are kept (`[retention]`).
    pub retention: RetentionConfig,
    /// Limits of the NATS JetStream streams (`[bus]`): `collect` and `process` only.
    pub bus: BusConfig,
    /// Sending approved replies by e-mail to the people who wrote in (`[reply_mail]`);
    /// without it a reply can only be recorded.
    pub reply_mail: Option<yuqing_alert::ReplyMailConfig>,
}

/// How long documents are kept (`[retention]`), by month of ingestion. `serve` deletes the
/// older documents from its SQLite store (`SqliteStore::drop_documents_before`); on a
/// PostgreSQL store (`process`, `serve --stateless`) the node holding the `handling` lease
/// drops whole monthly partitions. Indexes forget the deleted documents by themselves.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Whole months kept before the current one (0: keep everything). With 6, on any
    /// day of July the documents ingested from January 1st on are kept.
    pub keep_months: u32,
}

impl RetentionConfig {
    /// The cut-off for `today`: documents ingested before the first of its month are
    /// dropped; `None` when nothing is dropped.
    pub fn cutoff(&self, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        use chrono::Datelike;
        if self.keep_months == 0 {
            return None;
        }
        let first = today.with_day(1)?;
        first.checked_sub_months(chrono::Months::new(self.keep_months))
    }
}

/// Limits of the bus's streams (`[bus]`), put on the streams each time a collector or
/// processor starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// How long a document stays in the stream (acked or not).
    pub max_age: yuqing_core::HumanDuration,
    /// Largest size of the documents' stream in bytes; the oldest go first (0: no limit).
    pub max_bytes: u64,
    /// A repeated message id within this window is dropped by the server.
    pub duplicate_window: yuqing_core::HumanDuration,
    /// How long a dead letter (a document no processor could take) is kept.
    pub dead_max_age: yuqing_core::HumanDuration,
}

impl Default for BusConfig {
    fn default() -> Self {
        let d = yuqing_bus::StreamSettings::default();
        Self {
            max_age: d.max_age.into(),
            max_bytes: 0,
            duplicate_window: d.duplicate_window.into(),
            dead_max_age: d.dead_max_age.into(),
        }
    }
}

impl BusConfig {
    /// These limits on `settings` (names kept), checked.
    pub fn apply(
        &self,
        mut settings: yuqing_bus::StreamSettings,
    ) -> anyhow::Result<yuqing_bus::StreamSettings> {
        if self.max_age.0.is_zero() || self.dead_max_age.0.is_zero() {
            anyhow::bail!(
                "[bus] max_age 与 dead_max_age 必须大于 0 / [bus] max_age and dead_max_age must be above 0"
            );
        }
        if self.duplicate_window.0 > self.max_age.0 {
            anyhow::bail!(
                "[bus] duplicate_window ({}) 不能超过 max_age ({}) / [bus] duplicate_window ({}) cannot exceed max_age ({})",
                self.duplicate_window,
                self.max_age,
                self.duplicate_window,
                self.max_age
            );
        }
        settings.max_age = self.max_age.0;
        settings.dead_max_age = self.dead_max_age.0;
        settings.duplicate_window = self.duplicate_window.0;
        settings.max_bytes = if self.max_bytes == 0 {
            -1
        } else {
            i64::try_from(self.max_bytes).unwrap_or(i64::MAX)
        };
        Ok(settings)
    }
}

/// A monitoring plan in the config file: an expression, or the structured form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    pub name: String,
    /// The plan language (docs/specs/plan-language.md).
    pub expression: Option<String>,
    /// 地域词
    #[serde(default)]
    pub region: Vec<String>,
    /// 主体词
    #[serde(default)]
    pub subject: Vec<String>,
    /// 事件词
    #[serde(default)]
    pub event: Vec<String>,
    /// 排除词
    #[serde(default)]
    pub exclusion: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl PlanConfig {
    fn structured(&self) -> Option<StructuredPlan> {
        let s = StructuredPlan {
            region: self.region.clone(),
            subject: self.subject.clone(),
            event: self.event.clone(),
            exclusion: self.exclusion.clone(),
        };
        (s != StructuredPlan::default()).then_some(s)
    }

    /// The expression to store and the structured form as JSON, checked.
    pub fn compile(&self) -> anyhow::Result<(String, Option<serde_json::Value>)> {
        let name = &self.name;
        let (expr, structured) = match (&self.expression, self.structured()) {
            (Some(_), Some(_)) => anyhow::bail!(
                "监测方案 {name}：expression 与 region/subject/event/exclusion 只能二选一 / \
                 plan {name}: give either expression or region/subject/event/exclusion, not both"
            ),
            (None, None) => anyhow::bail!(
                "监测方案 {name}：缺少 expression 或 region/subject/event/exclusion / \
                 plan {name}: needs an expression or region/subject/event/exclusion words"
            ),
            (Some(e), None) => (e.clone(), None),
            (None, Some(s)) => (s.to_expression(), Some(serde_json::to_value(&s)?)),
        };
        if let Err(e) = Plan::parse(&expr) {
            anyhow::bail!(
                "监测方案 {name} 的表达式有误 / plan {name} has an invalid expression: {e}"
            );
        }
        Ok((expr, structured))
    }
}

/// How text is normalised for matching (`[text]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextConfig {
    /// Fold traditional Chinese to simplified (with mainland vocabulary) for matching.
    pub fold_traditional: bool,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            fold_traditional: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub push_tokens: Vec<yuqing_ingest::sources::Secret>,
    /// Mark the session cookie `Secure` (only sent over HTTPS). Off by default because
    /// serve listens on 127.0.0.1 without TLS; turn it on behind a TLS reverse proxy.
    pub secure_cookies: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            push_tokens: vec![],
            secure_cookies: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportDirConfig {
    pub enabled: bool,
    pub path: PathBuf,
    pub interval: yuqing_ingest::sources::HumanDuration,
}

impl Default for ImportDirConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: PathBuf::from("inbox"),
            interval: yuqing_ingest::sources::HumanDuration(Duration::from_secs(10)),
        }
    }
}

impl Config {
    /// Reads a config file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "无法读取配置文件 {} / cannot read config file {}",
                path.display(),
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| {
            format!(
                "配置文件 {} 有误 / config file {} is invalid",
                path.display(),
                path.display()
            )
        })
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let cfg: Config = toml::from_str(text)?;
        anyhow::ensure!(
            cfg.ingest.grouping.max_distance <= 3,
            "ingest.grouping.max_distance = {} 过大：最多为 3（四段 16 位分桶只保证找全 3 位以内的相似）/ \
             ingest.grouping.max_distance = {} is too large: at most 3 (the 4×16-bit bands only guarantee finding near-duplicates within 3 bits)",
            cfg.ingest.grouping.max_distance,
            cfg.ingest.grouping.max_distance
        );
        let mut names = std::collections::HashSet::new();
        for s in &cfg.sources {
            anyhow::ensure!(
                names.insert(s.name()),
                "数据源名称重复：{} / duplicate source name: {}",
                s.name(),
                s.name()
            );
        }
        let mut plan_names = std::collections::HashSet::new();
        for p in &cfg.plans {
            anyhow::ensure!(
                plan_names.insert(p.name.as_str()),
                "监测方案名称重复：{} / duplicate plan name: {}",
                p.name,
                p.name
            );
            p.compile()?;
        }
        cfg.judgement
            .grading
            .validate()
            .map_err(|e| anyhow::anyhow!("[judgement.grading]: {e}"))?;
        cfg.deadlines
            .validate()
            .map_err(|e| anyhow::anyhow!("[deadlines]: {e}"))?;
        cfg.assessment
            .validate()
            .map_err(|e| anyhow::anyhow!("[assessment]: {e}"))?;
        let mut channel_names = std::collections::HashSet::new();
        for c in &cfg.channels {
            anyhow::ensure!(
                channel_names.insert(c.name()),
                "预警渠道名称重复：{} / duplicate channel name: {}",
                c.name(),
                c.name()
            );
            c.build()?;
        }
        let channels: Vec<&str> = cfg.channels.iter().map(|c| c.name()).collect();
        cfg.alerts.validate(&cfg.alert_rules, None, &channels)?;
        yuqing_handling::reminders::ReminderDelivery::new(&cfg.handling())?;
        cfg.handling().check_mention_roles()?;
        cfg.report.channels_of(&channels)?;
        cfg.reply_mailer()?;
        Ok(cfg)
    }

    /// The `[reply_mail]` sender, if configured (checked by [`Config::parse`]).
    pub fn reply_mailer(&self) -> anyhow::Result<Option<Arc<yuqing_alert::ReplyMailer>>> {
        self.reply_mail
            .as_ref()
            .map(|c| yuqing_alert::ReplyMailer::new(c).map(Arc::new))
            .transpose()
            .map_err(|e| anyhow::anyhow!("[reply_mail]: {e}"))
    }

    /// What the handling service (alerts, cases) is configured with.
    pub fn handling(&self) -> yuqing_handling::HandlingSettings {
        yuqing_handling::HandlingSettings {
            deadlines: self.deadlines.clone(),
            alerts: self.alerts.clone(),
            alert_rules: self.alert_rules.clone(),
            channels: self.channels.clone(),
            special_periods: self.judgement.grading.special_periods.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults() {
        let cfg = Config::parse(EXAMPLE).expect("example parses");
        let d = Config::default();
        assert_eq!(cfg.server.bind, d.server.bind);
        assert_eq!(cfg.server.secure_cookies, d.server.secure_cookies);
        assert_eq!(cfg.text.fold_traditional, d.text.fold_traditional);
        assert_eq!(cfg.ingest.batch_size, d.ingest.batch_size);
        assert_eq!(cfg.ingest.word_ranking, d.ingest.word_ranking);
        assert_eq!(cfg.ingest.max_text_bytes, d.ingest.max_text_bytes);
        assert_eq!(cfg.ingest.grouping.min_chars, d.ingest.grouping.min_chars);
        assert_eq!(cfg.import_dir.interval.0, d.import_dir.interval.0);
        assert_eq!(cfg.sources.len(), 4);
        for s in &cfg.sources {
            assert!(!s.enabled, "{} is an example: disabled", s.name);
            s.build()
                .unwrap_or_else(|e| panic!("example source {} is valid: {e}", s.name));
        }
        assert_eq!(cfg.plans.len(), 2);
        assert!(cfg.plans.iter().all(|p| !p.active && p.compile().is_ok()));
        let (g, dg) = (&cfg.judgement.grading, &d.judgement.grading);
        assert_eq!(g.especially_major_comments, dg.especially_major_comments);
        assert_eq!(g.elevated_views, dg.elevated_views);
        assert_eq!(g.critical_categories, dg.critical_categories);
        assert_eq!(
            cfg.judgement.cluster.threshold,
            d.judgement.cluster.threshold
        );
        assert_eq!(cfg.judgement.spike.k, d.judgement.spike.k);
        // The documented deadlines and alert settings are the built-in defaults.
        assert_eq!(cfg.deadlines, d.deadlines);
        assert_eq!(cfg.alerts, d.alerts);
        assert!(cfg.alert_rules.is_empty() && cfg.channels.is_empty());
        assert_eq!(cfg.retention.keep_months, d.retention.keep_months);
        let (b, db) = (&cfg.bus, &d.bus);
        assert_eq!(
            (b.max_age, b.max_bytes, b.duplicate_window, b.dead_max_age),
            (
                db.max_age,
                db.max_bytes,
                db.duplicate_window,
                db.dead_max_age
            )
        );
        for s in &cfg.sources {
            s.build()
                .unwrap_or_else(|e| panic!("example source {} is invalid: {e}", s.name()));
        }
    }

    #[test]
    fn retention_keeps_whole_months_before_the_current_one() {
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let r = Config::parse("[retention]\nkeep_months = 6\n").expect("parses");
        assert_eq!(r.retention.cutoff(day(2026, 7, 31)), Some(day(2026, 1, 1)));
        assert_eq!(r.retention.cutoff(day(2026, 2, 1)), Some(day(2025, 8, 1)));
        assert_eq!(Config::default().retention.cutoff(day(2026, 7, 1)), None);
    }

    #[test]
    fn bus_limits_reach_the_stream_settings_and_bad_ones_are_refused() {
        let c = Config::parse(
            "[bus]\nmax_age = \"2d\"\nmax_bytes = 1000000\nduplicate_window = \"2m\"\n",
        )
        .expect("parses");
        let s = c
            .bus
            .apply(yuqing_bus::StreamSettings::namespaced("t"))
            .expect("valid");
        assert_eq!(s.max_age, Duration::from_secs(2 * 86400));
        assert_eq!(s.max_bytes, 1_000_000);
        assert_eq!(s.duplicate_window, Duration::from_secs(120));
        assert_eq!(s.stream, "YUQING_DOCS_T", "names are kept");
        let d = Config::default()
            .bus
            .apply(Default::default())
            .expect("defaults");
        assert_eq!(d.max_bytes, -1, "0 means no limit");
        let bad = Config::parse("[bus]\nmax_age = \"1m\"\n").expect("parses");
        let e = bad
            .bus
            .apply(Default::default())
            .expect_err("window above max age");
        assert!(format!("{e:#}").contains("duplicate_window"), "{e:#}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let e = Config::parse("[server]\nbnid = \"x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("bnid"), "{e:#}");
    }

    #[test]
    fn plans_in_the_config_are_checked() {
        let cfg = Config::parse(
            "[[plans]]\nname='学校'\nsubject=['学校','中学']\nevent=['食堂']\nexclusion=['招聘']\n\
             [[plans]]\nname='火灾'\nexpression='火灾|起火'\nactive=false\n",
        )
        .expect("valid plans");
        assert_eq!(cfg.plans.len(), 2);
        let (expr, structured) = cfg.plans[0].compile().expect("compiles");
        assert_eq!(expr, "(学校|中学)+食堂-招聘");
        assert!(structured.is_some());
        assert!(!cfg.plans[1].active);
        let e = Config::parse("[[plans]]\nname='x'\nexpression='学校+(食堂'\n").unwrap_err();
        assert!(format!("{e:#}").contains("plan x"), "{e:#}");
        let e = Config::parse("[[plans]]\nname='x'\n").unwrap_err();
        assert!(format!("{e:#}").contains("needs an expression"), "{e:#}");
        let e = Config::parse(
            "[[plans]]\nname='x'\nexpression='a'\n[[plans]]\nname='x'\nexpression='b'\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("duplicate plan"), "{e:#}");
    }

    #[test]
    fn alert_channels_and_rules_are_checked_together() {
        let base =
            "[[channels]]\ntype = \"webhook\"\nname = \"hook\"\nurl = \"http://127.0.0.1:9/x\"\n";
        let ok = format!("{base}[[alert_rules]]\nname = \"r\"\nchannels = [\"hook\"]\n");
        let cfg = Config::parse(&ok).expect("valid");
        assert_eq!(cfg.handling().alert_rules.len(), 1);
        let e = Config::parse(&format!(
            "{base}[[alert_rules]]\nname = \"r\"\nchannels = [\"nope\"]\n"
        ))
        .expect_err("unknown channel");
        assert!(format!("{e:#}").contains("nope"), "{e:#}");
        let e = Config::parse(&format!("{base}{base}")).expect_err("duplicate channel");
        assert!(format!("{e:#}").contains("hook"), "{e:#}");
        let e = Config::parse("[alerts.quiet_hours]\nfrom = \"25:00\"\nto = \"07:00\"\n")
            .expect_err("bad quiet hours");
        assert!(format!("{e:#}").contains("quiet_hours"), "{e:#}");
        let e = Config::parse("[deadlines]\nremind_before = \"soon\"\n").expect_err("bad span");
        assert!(format!("{e:#}").contains("soon"), "{e:#}");
    }

    #[test]
    fn reply_mail_is_read_and_checked() {
        let cfg = Config::parse(
            "[reply_mail]\nhost = \"smtp.example.org\"\ntls = \"tls\"\nfrom = \"县长信箱 <xzxx@county.gov.cn>\"\nusername = \"xzxx\"\npassword = \"pw\"\n",
        )
        .expect("parse");
        let mailer = cfg.reply_mailer().expect("built").expect("configured");
        assert_eq!(mailer.endpoint(), "smtp://smtp.example.org:465");
        assert!(
            mailer
                .message_id("2027-0001", 0, 1)
                .ends_with("@county.gov.cn")
        );
        assert!(
            Config::parse("")
                .expect("empty")
                .reply_mailer()
                .expect("ok")
                .is_none()
        );
        let e =
            Config::parse("[reply_mail]\nhost = \"smtp.example.org\"\nfrom = \"not an address\"\n")
                .expect_err("bad from");
        assert!(
            format!("{e:#}").contains("[reply_mail]") && format!("{e:#}").contains("from"),
            "{e:#}"
        );
        let e = Config::parse("[reply_mail]\nhost = \"smtp.example.org\"\ntls = \"none\"\nfrom = \"a@b.cn\"\nusername = \"u\"\n")
            .expect_err("credentials in clear");
        assert!(format!("{e:#}").contains("tls"), "{e:#}");
        let e = Config::parse(
            "[reply_mail]\nhost = \"smtp.example.org\"\nfrom = \"a@b.cn\"\nto = [\"x@y.cn\"]\n",
        )
        .expect_err("unknown key");
        assert!(format!("{e:#}").contains("to"), "{e:#}");
        let e = Config::parse("[reply_mail]\nhost = \"smtp.example.org:465\"\nfrom = \"a@b.cn\"\n")
            .expect_err("port in host");
        assert!(format!("{e:#}").contains("port"), "{e:#}");
    }

    #[test]
    fn assessment_weights_and_reminder_channels_are_read_and_checked() {
        let cfg = Config::parse("[assessment]\nlate = -5\n[assessment.found_first]\nmajor = 8\n")
            .expect("valid");
        assert_eq!(
            (cfg.assessment.late, cfg.assessment.found_first.major),
            (-5, 8)
        );
        assert_eq!(cfg.assessment.reported, 1, "the rest keep their defaults");
        let e = Config::parse("[assessment]\nlate = 2\n").expect_err("a positive penalty");
        let e = format!("{e:#}");
        assert!(e.contains("[assessment]") && e.contains("late = 2"), "{e}");
        let e = Config::parse("[deadlines]\nremind_channels = [\"值班群\"]\n")
            .expect_err("a reminder channel that is not configured");
        assert!(format!("{e:#}").contains("值班群"), "{e:#}");
        let ok = "[deadlines]\nremind_channels = [\"值班群\"]\n[[channels]]\ntype = \"webhook\"\nname = \"值班群\"\nurl = \"https://hooks.example.org/x\"\n";
        let cfg = Config::parse(ok).expect("a configured channel");
        assert_eq!(cfg.handling().deadlines.remind_channels, ["值班群"]);
        let e = Config::parse("[report]\nchannels = [\"领导邮箱\"]\n")
            .expect_err("a report channel that is not configured");
        assert!(
            format!("{e:#}").contains("[report] channels") && format!("{e:#}").contains("领导邮箱"),
            "{e:#}"
        );
        let e = Config::parse("[[alert_rules]]\nname = \"x\"\nmention_roles = [\"boss\"]\n")
            .expect_err("no such role");
        assert!(format!("{e:#}").contains("\"boss\""), "{e:#}");
        Config::parse(
            "[[alert_rules]]\nname = \"x\"\nmention_roles = [\"leader\", \"新闻发言人\"]\n",
        )
        .expect("roles by name or label");
        let e = Config::parse("[assessment]\nlat = -2\n").expect_err("an unknown key");
        assert!(format!("{e:#}").contains("lat"), "{e:#}");
    }

    #[test]
    fn grading_rules_are_validated() {
        let e = Config::parse(
            "[judgement.grading]\nelevated_comments = 900\nespecially_major_comments = 500\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("judgement.grading"), "{e:#}");
        let cfg = Config::parse(
            "[judgement.grading]\nmainstream = ['people.com.cn', '人民日报']\n\
             special_periods = [{ name = '两会', start = '2027-03-03', end = '2027-03-15' }]\n",
        )
        .expect("valid");
        assert_eq!(cfg.judgement.grading.mainstream.len(), 2);
    }

    #[test]
    fn duplicate_source_names_are_refused() {
        let src = "[[sources]]\nname='a'\ntype='feed'\nurl='http://example.com/f'\n";
        let e = Config::parse(&format!("{src}{src}")).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}
