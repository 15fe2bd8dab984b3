//! The alert message ([`AlertMessage`]) and its renderings: plain text, Markdown, the
//! e-mail subject and body, in Chinese (default) or English.
//!
//! Titles, plan names and publisher names come from the web or from users, so they are
//! untrusted: every rendering folds them onto one line and cuts them to a budget, and the
//! Markdown rendering neutralises the characters that would make links, emphasis, headings,
//! code, HTML tags or mentions ([`escape_markdown`]). The robots' Markdown dialects (WeCom,
//! DingTalk) do not document backslash escapes, so those characters are replaced with their
//! full-width forms (`[` → `［`, `*` → `＊`, `<` → `＜` …), which read the same to a person
//! and mean nothing to a renderer. A link is only rendered as a link when it is an
//! `http(s)` URL, with `(`, `)`, `<`, `>`, `[`, `]` and spaces percent-encoded.
//!
//! Every renderer can be held to a size ([`AlertMessage::render_markdown_within`]): the
//! explanation, then the title, are cut harder until the whole fits; a cut is marked `…`.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use yuqing_core::Lang;
use yuqing_judge::grading::Level;

/// Who first published the item (首发), as far as the system knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    /// Account or site name.
    pub name: String,
    /// First publication time, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
}

/// One alert, as sent to every channel. Built by the workflow from a graded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertMessage {
    /// Stable id of the alert; receivers use it to drop a repeated delivery.
    #[serde(default)]
    pub alert_id: String,
    pub level: Level,
    /// The monitoring plan (监测方案) that matched.
    pub plan: String,
    /// The item's title (untrusted: from the web).
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_publisher: Option<Publisher>,
    /// Link to the original item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Why it has this level: the grading explanation (Chinese).
    #[serde(default)]
    pub why: String,
    /// The grading explanation in English, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_en: Option<String>,
    /// When the system found the item.
    pub found_at: DateTime<Utc>,
    /// An alert (the default) or a case deadline reminder (催办/督办), which names its case
    /// and answerable unit in `plan` and has no publisher.
    #[serde(default, skip_serializing_if = "MessageKind::is_alert")]
    pub kind: MessageKind,
    /// What to do next when not the level's (a reminder's), in Chinese and in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_en: Option<String>,
    /// Mobile numbers of the people to @ where the channel can (DingTalk, WeCom): the first
    /// on duty for an alert, the person an escalation notice tells, the liaisons a
    /// reminder chases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mention: Vec<String>,
    /// E-mail addresses of the same people (those who have one): e-mail channels copy the
    /// message to them (Cc) unless set `cc_mentioned = false`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mention_email: Vec<String>,
    /// Feishu ids (open_id or user_id) of the same people: Feishu robots @ them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mention_feishu: Vec<String>,
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// 舆情预警 (or an escalation notice of one).
    #[default]
    Alert,
    /// 催办: a case deadline is near.
    Urge,
    /// 督办: a case deadline has passed.
    Supervise,
    /// 通知: not about an item but for the office: the announcement of a scheduled report,
    /// or word that one could not be made. Channels send it as a notice
    /// ([`Channel::send_notice`](crate::Channel::send_notice)), not as an alert.
    Notice,
}

impl MessageKind {
    pub fn is_alert(&self) -> bool {
        *self == MessageKind::Alert
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Alert => "alert",
            MessageKind::Urge => "urge",
            MessageKind::Supervise => "supervise",
            MessageKind::Notice => "notice",
        }
    }
}

/// What to do next at a level, from the deadlines of the seeds (002, 003 篇七).
pub fn next_step(level: Level, lang: Lang) -> &'static str {
    match (level, lang) {
        (Level::General, Lang::Zh) => "2 小时内转交责任部门，1 日内给出解释或解决办法",
        (Level::General, Lang::En) => {
            "forward to the responsible department within 2 h; give an explanation or solution within 1 day"
        }
        (Level::Large, Lang::Zh) => "1 小时内报告领导小组，3 小时内向上级报告，核实情况并跟踪",
        (Level::Large, Lang::En) => {
            "tell the leading group within 1 h and report upward within 3 h; verify the facts and keep watching"
        }
        (Level::Major, Lang::Zh) => {
            "1 小时内报告领导小组，2 小时内向上级报告，持续跟踪并续报，拟定处置措施"
        }
        (Level::Major, Lang::En) => {
            "tell the leading group within 1 h and report upward within 2 h; follow up with continuous reports and proposed measures"
        }
        (Level::EspeciallyMajor, Lang::Zh) => {
            "立即报告领导小组（1 小时内）并在 2 小时内向上级报告；启动重大舆情处置流程，统一口径"
        }
        (Level::EspeciallyMajor, Lang::En) => {
            "tell the leading group at once (within 1 h) and report upward within 2 h; start the major-incident procedure with one agreed wording"
        }
    }
}

/// How much of each untrusted field a rendering keeps, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub title: usize,
    pub why: usize,
    /// Plan and publisher names.
    pub name: usize,
    /// Longest link kept, in bytes; a longer one is left out.
    pub link: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            title: 200,
            why: 500,
            name: 60,
            link: 1024,
        }
    }
}

/// Budgets tried in turn when a rendering must fit a size.
const SHRINK: [Budget; 5] = [
    Budget {
        title: 200,
        why: 500,
        name: 60,
        link: 1024,
    },
    Budget {
        title: 120,
        why: 200,
        name: 40,
        link: 1024,
    },
    Budget {
        title: 60,
        why: 60,
        name: 30,
        link: 512,
    },
    Budget {
        title: 40,
        why: 0,
        name: 20,
        link: 256,
    },
    Budget {
        title: 20,
        why: 0,
        name: 10,
        link: 0,
    },
];

/// Folds whitespace and control characters to single spaces and trims: one line.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
            )
        {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Keeps at most `max` characters; a cut string ends with `…` (counted in `max`).
pub fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Keeps at most `max` bytes of UTF-8, cut at a character boundary; a cut string ends with
/// `…` (counted in `max`).
pub fn cut_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let ell = '…'.len_utf8();
    if max < ell {
        return String::new();
    }
    let mut end = max - ell;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s[..end].to_owned();
    out.push('…');
    out
}

/// Neutralises Markdown (and the robots' HTML-ish tags) in untrusted text by replacing
/// the active characters with their full-width forms. Newlines are folded first.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in one_line(s).chars() {
        out.push(match c {
            '\\' => '＼',
            '`' => '｀',
            '*' => '＊',
            '_' => '＿',
            '[' => '［',
            ']' => '］',
            '<' => '＜',
            '>' => '＞',
            '#' => '＃',
            '~' => '～',
            '|' => '｜',
            '!' => '！',
            '@' => '＠',
            other => other,
        });
    }
    out
}

/// The link as a safe Markdown destination, or `None` when it is not an `http(s)` URL.
pub fn markdown_link_target(link: &str) -> Option<String> {
    let url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let mut out = String::with_capacity(url.as_str().len());
    for c in url.as_str().chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    Some(out)
}

/// A time as Beijing time (UTC+8), the users' clock.
pub fn beijing(t: DateTime<Utc>, lang: Lang) -> String {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix());
    let local = t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S");
    match lang {
        Lang::Zh => format!("{local}（北京时间）"),
        Lang::En => format!("{local} (UTC+8)"),
    }
}

struct Labels {
    head: &'static str,
    plan: &'static str,
    title: &'static str,
    publisher: &'static str,
    link: &'static str,
    open: &'static str,
    why: &'static str,
    next: &'static str,
    found: &'static str,
    unknown: &'static str,
    none: &'static str,
    sep: &'static str,
}

const ZH: Labels = Labels {
    head: "舆情预警",
    plan: "监测方案",
    title: "标题",
    publisher: "首发",
    link: "链接",
    open: "查看原文",
    why: "研判依据",
    next: "处置要求",
    found: "发现时间",
    unknown: "未知",
    none: "无",
    sep: "：",
};

const EN: Labels = Labels {
    head: "Public-opinion alert",
    plan: "Plan",
    title: "Title",
    publisher: "First published by",
    link: "Link",
    open: "open the original",
    why: "Why",
    next: "Next step",
    found: "Found at",
    unknown: "unknown",
    none: "none",
    sep: ": ",
};

fn labels(lang: Lang) -> &'static Labels {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

impl AlertMessage {
    /// The level's label in `lang` (特别重大 / especially major).
    pub fn level_label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.level.label_zh(),
            Lang::En => self.level.label_en(),
        }
    }

    /// What to do next: the message's own (a reminder's), else by level.
    pub fn next_step(&self, lang: Lang) -> &str {
        let own = match lang {
            Lang::Zh => self.next.as_deref(),
            Lang::En => self.next_en.as_deref().or(self.next.as_deref()),
        };
        own.filter(|s| !s.is_empty())
            .unwrap_or_else(|| next_step(self.level, lang))
    }

    /// The head of the message: 舆情预警, 催办 or 督办.
    fn head(&self, lang: Lang) -> &'static str {
        match (self.kind, lang) {
            (MessageKind::Alert, _) => labels(lang).head,
            (MessageKind::Urge, Lang::Zh) => "催办",
            (MessageKind::Urge, Lang::En) => "Deadline reminder",
            (MessageKind::Supervise, Lang::Zh) => "督办",
            (MessageKind::Supervise, Lang::En) => "Overdue",
            (MessageKind::Notice, Lang::Zh) => "通知",
            (MessageKind::Notice, Lang::En) => "Notice",
        }
    }

    /// The label of the `plan` field: the plan of an alert, the case of a reminder.
    fn plan_label(&self, lang: Lang) -> &'static str {
        match (self.kind, lang) {
            (MessageKind::Alert, _) => labels(lang).plan,
            (MessageKind::Notice, Lang::Zh) => "事项",
            (MessageKind::Notice, Lang::En) => "Subject",
            (_, Lang::Zh) => "案件",
            (_, Lang::En) => "Case",
        }
    }

    /// The explanation in `lang`, falling back to the Chinese one.
    pub fn why_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => self
                .why_en
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(&self.why),
            Lang::Zh => &self.why,
        }
    }

    fn publisher_text(&self, lang: Lang, b: &Budget) -> String {
        let l = labels(lang);
        match &self.first_publisher {
            None => l.unknown.to_owned(),
            Some(p) => {
                let name = cut_chars(&one_line(&p.name), b.name);
                let name = if name.is_empty() {
                    l.unknown.to_owned()
                } else {
                    name
                };
                match (p.time, lang) {
                    (Some(t), Lang::Zh) => format!("{name}（{}）", beijing(t, lang)),
                    (Some(t), Lang::En) => format!("{name} ({})", beijing(t, lang)),
                    (None, _) => name,
                }
            }
        }
    }

    /// A short one-line headline: `【舆情预警·特别重大】标题` (`【督办·一般】…` for a reminder).
    pub fn headline(&self, lang: Lang, title_chars: usize) -> String {
        let title = cut_chars(&one_line(&self.title), title_chars);
        match lang {
            Lang::Zh => format!("【{}·{}】{title}", self.head(lang), self.level_label(lang)),
            Lang::En => format!("[{} · {}] {title}", self.head(lang), self.level_label(lang)),
        }
    }

    /// Plain text, one field a line; untrusted fields folded to one line and cut.
    pub fn render_text(&self, lang: Lang) -> String {
        self.render_text_with(lang, &Budget::default())
    }

    /// [`AlertMessage::render_text`] with explicit budgets.
    pub fn render_text_with(&self, lang: Lang, b: &Budget) -> String {
        let l = labels(lang);
        let mut out = self.headline(lang, b.title);
        let mut line = |k: &str, v: &str| {
            out.push('\n');
            out.push_str(k);
            out.push_str(l.sep);
            out.push_str(v);
        };
        line(
            self.plan_label(lang),
            &cut_chars(&one_line(&self.plan), b.name),
        );
        if self.kind.is_alert() {
            line(l.publisher, &self.publisher_text(lang, b));
        }
        let link = self
            .link
            .as_deref()
            .map(one_line)
            .filter(|s| !s.is_empty() && s.len() <= b.link)
            .unwrap_or_else(|| l.none.to_owned());
        line(l.link, &link);
        let why = cut_chars(&one_line(self.why_in(lang)), b.why);
        if !why.is_empty() {
            line(l.why, &why);
        }
        line(l.next, &cut_chars(&one_line(self.next_step(lang)), 200));
        line(l.found, &beijing(self.found_at, lang));
        out
    }

    /// Plain text held to `max_bytes` of UTF-8.
    pub fn render_text_within(&self, lang: Lang, max_bytes: usize) -> String {
        fit(max_bytes, |b| self.render_text_with(lang, b))
    }

    /// Markdown (the subset WeCom, DingTalk and CommonMark share: heading, bold, link).
    pub fn render_markdown(&self, lang: Lang) -> String {
        self.render_markdown_with(lang, &Budget::default())
    }

    /// [`AlertMessage::render_markdown`] with explicit budgets.
    pub fn render_markdown_with(&self, lang: Lang, b: &Budget) -> String {
        let l = labels(lang);
        let title = escape_markdown(&cut_chars(&one_line(&self.title), b.title));
        let mut out = format!("### {}：{}\n", self.head(lang), self.level_label(lang));
        if lang == Lang::En {
            out = format!("### {}: {}\n", self.head(lang), self.level_label(lang));
        }
        let mut line = |k: &str, v: &str| {
            out.push_str("> **");
            out.push_str(k);
            out.push_str("**");
            out.push_str(l.sep);
            out.push_str(v);
            out.push_str("\n\n");
        };
        line(l.title, &title);
        line(
            self.plan_label(lang),
            &escape_markdown(&cut_chars(&one_line(&self.plan), b.name)),
        );
        if self.kind.is_alert() {
            line(l.publisher, &escape_markdown(&self.publisher_text(lang, b)));
        }
        let link = self
            .link
            .as_deref()
            .and_then(markdown_link_target)
            .filter(|u| u.len() <= b.link)
            .map(|u| format!("[{}]({u})", l.open))
            .unwrap_or_else(|| l.none.to_owned());
        line(l.link, &link);
        let why = escape_markdown(&cut_chars(&one_line(self.why_in(lang)), b.why));
        if !why.is_empty() {
            line(l.why, &why);
        }
        line(
            l.next,
            &escape_markdown(&cut_chars(&one_line(self.next_step(lang)), 200)),
        );
        line(l.found, &beijing(self.found_at, lang));
        while out.ends_with('\n') {
            out.pop();
        }
        out
    }

    /// Markdown held to `max_bytes` of UTF-8 (WeCom: 4096).
    pub fn render_markdown_within(&self, lang: Lang, max_bytes: usize) -> String {
        fit(max_bytes, |b| self.render_markdown_with(lang, b))
    }

    /// The e-mail subject: the headline, at most 80 characters.
    pub fn email_subject(&self, lang: Lang) -> String {
        cut_chars(&self.headline(lang, 80), 80)
    }

    /// The e-mail body: the plain text and a footer.
    pub fn email_body(&self, lang: Lang) -> String {
        let footer = match lang {
            Lang::Zh => "此邮件由 yuqing 舆情系统自动发送，请勿直接回复。",
            Lang::En => "Sent automatically by the yuqing public-opinion system; do not reply.",
        };
        format!("{}\n\n--\n{footer}\n", self.render_text(lang))
    }
}

/// Renders with shrinking budgets until the result fits; then cuts hard.
fn fit(max_bytes: usize, render: impl Fn(&Budget) -> String) -> String {
    let mut last = String::new();
    for b in &SHRINK {
        last = render(b);
        if last.len() <= max_bytes {
            return last;
        }
    }
    cut_bytes(&last, max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn msg() -> AlertMessage {
        AlertMessage {
            alert_id: "a-1".into(),
            level: Level::EspeciallyMajor,
            plan: "食品安全".into(),
            title: "某校食堂*疑似*食物中毒 [图](javascript:alert(1))".into(),
            first_publisher: Some(Publisher {
                name: "网友@小明".into(),
                time: Some(Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0).unwrap()),
            }),
            link: Some("https://weibo.com/123/Abc(1)".into()),
            why: "评论数 ≥ 500".into(),
            why_en: Some("comments ≥ 500".into()),
            found_at: Utc.with_ymd_and_hms(2024, 5, 1, 2, 30, 0).unwrap(),
            kind: MessageKind::Alert,
            next: None,
            next_en: None,
            mention: Vec::new(),
            mention_email: Vec::new(),
            mention_feishu: Vec::new(),
        }
    }

    #[test]
    fn text_has_every_field_in_chinese() {
        let t = msg().render_text(Lang::Zh);
        assert!(t.starts_with("【舆情预警·特别重大】某校食堂"), "{t}");
        assert!(t.contains("监测方案：食品安全"));
        assert!(
            t.contains("首发：网友@小明（2024-05-01 10:00:00（北京时间））"),
            "{t}"
        );
        assert!(t.contains("链接：https://weibo.com/123/Abc(1)"));
        assert!(t.contains("研判依据：评论数 ≥ 500"));
        assert!(t.contains("立即报告领导小组（1 小时内）并在 2 小时内向上级报告"));
        assert!(t.contains("发现时间：2024-05-01 10:30:00（北京时间）"));
    }

    #[test]
    fn english_is_available() {
        let t = msg().render_text(Lang::En);
        assert!(
            t.starts_with("[Public-opinion alert · especially major]"),
            "{t}"
        );
        assert!(t.contains("Why: comments ≥ 500"));
        assert!(t.contains("report upward within 2 h"));
    }

    #[test]
    fn next_step_by_level() {
        assert_eq!(
            next_step(Level::General, Lang::Zh),
            "2 小时内转交责任部门，1 日内给出解释或解决办法"
        );
        for l in Level::ALL {
            assert!(!next_step(l, Lang::Zh).is_empty());
            assert!(!next_step(l, Lang::En).is_empty());
        }
    }

    #[test]
    fn markdown_neutralises_untrusted_text() {
        let md = msg().render_markdown(Lang::Zh);
        // The title cannot open a link, emphasis or mention.
        assert!(
            md.contains("某校食堂＊疑似＊食物中毒 ［图］(javascript:alert(1))"),
            "{md}"
        );
        assert!(!md.contains("[图]"));
        assert!(md.contains("网友＠小明"));
        // Our own link is a link, with parentheses encoded.
        assert!(
            md.contains("[查看原文](https://weibo.com/123/Abc%281%29)"),
            "{md}"
        );
        assert_eq!(md.matches("](").count(), 1, "{md}");
    }

    #[test]
    fn only_http_links_become_links() {
        assert_eq!(markdown_link_target("javascript:alert(1)"), None);
        assert_eq!(markdown_link_target("ftp://x.org/a"), None);
        assert_eq!(markdown_link_target("not a url"), None);
        assert_eq!(
            markdown_link_target("http://x.org/a b[1]"),
            Some("http://x.org/a%20b%5B1%5D".to_owned())
        );
        let mut m = msg();
        m.link = Some("javascript:alert(1)".into());
        let md = m.render_markdown(Lang::Zh);
        assert!(md.contains("**链接**：无"), "{md}");
    }

    #[test]
    fn newlines_cannot_inject_lines() {
        let mut m = msg();
        m.title = "标题\n### 伪造\r\n> **处置要求**：无需处理".into();
        let md = m.render_markdown(Lang::Zh);
        assert!(
            md.contains("标题 ＃＃＃ 伪造 ＞ ＊＊处置要求＊＊：无需处理"),
            "{md}"
        );
        let t = m.render_text(Lang::Zh);
        assert_eq!(
            t.lines().filter(|l| l.starts_with("处置要求")).count(),
            1,
            "{t}"
        );
    }

    #[test]
    fn cutting_respects_chars_and_bytes() {
        assert_eq!(cut_chars("一二三四五", 3), "一二…");
        assert_eq!(cut_chars("一二三", 3), "一二三");
        assert_eq!(cut_chars("abc", 0), "");
        let s = cut_bytes("一二三四五", 10); // 3 bytes each, … is 3
        assert_eq!(s, "一二…");
        assert!(s.len() <= 10);
        assert_eq!(cut_bytes("abc", 2), "");
    }

    #[test]
    fn long_messages_fit_the_limit() {
        let mut m = msg();
        m.title = "很长的标题".repeat(500);
        m.why = "理由".repeat(3000);
        m.plan = "方案".repeat(300);
        for limit in [4096usize, 2000, 600, 100] {
            let md = m.render_markdown_within(Lang::Zh, limit);
            assert!(md.len() <= limit, "{limit}: {}", md.len());
            let t = m.render_text_within(Lang::Zh, limit);
            assert!(t.len() <= limit);
        }
        let md = m.render_markdown_within(Lang::Zh, 4096);
        assert!(md.contains("…"));
        assert!(
            md.contains("立即报告领导小组"),
            "the next step survives: {md}"
        );
        assert!(md.contains("[查看原文]("));
        let subject = m.email_subject(Lang::Zh);
        assert_eq!(subject.chars().count(), 80);
    }

    #[test]
    fn serde_round_trip() {
        let m = msg();
        let j = serde_json::to_string(&m).unwrap();
        assert!(j.contains("\"level\":\"especially_major\""));
        let back: AlertMessage = serde_json::from_str(&j).unwrap();
        assert_eq!(back, m);
    }
    #[test]
    fn a_reminder_names_its_case_and_asks_its_own_next_step() {
        let m = AlertMessage {
            alert_id: "remind:2027-0003/answer_general/1/supervise".into(),
            level: Level::General,
            plan: "2027-0003 · 承办：县水务局".into(),
            title: "热线：某小区停水*三天*".into(),
            first_publisher: None,
            link: None,
            why: "督办：案件“热线：某小区停水三天”的“答复”已于 2027-03-02 09:00（北京时间）超时"
                .into(),
            why_en: Some("overdue: answer_general was due".into()),
            found_at: Utc.with_ymd_and_hms(2027, 3, 1, 1, 0, 0).unwrap(),
            kind: MessageKind::Supervise,
            next: Some("请县水务局尽快办理".into()),
            next_en: Some("县水务局: act now".into()),
            mention: Vec::new(),
            mention_email: Vec::new(),
            mention_feishu: Vec::new(),
        };
        let text = m.render_text(Lang::Zh);
        assert!(text.starts_with("【督办·一般】热线"), "{text}");
        assert!(text.contains("案件：2027-0003 · 承办：县水务局"), "{text}");
        assert!(text.contains("处置要求：请县水务局尽快办理"), "{text}");
        assert!(
            !text.contains("首发") && !text.contains("监测方案"),
            "{text}"
        );
        let md = m.render_markdown(Lang::Zh);
        assert!(md.starts_with("### 督办：一般"), "{md}");
        assert!(md.contains("＊三天＊"), "the title stays escaped: {md}");
        let en = m.render_text(Lang::En);
        assert!(en.starts_with("[Overdue · general]"), "{en}");
        assert!(en.contains("Next step: 县水务局: act now"), "{en}");
        // An alert without a next step of its own keeps its level's.
        let mut a = m.clone();
        (a.kind, a.next, a.next_en) = (MessageKind::Alert, None, None);
        assert!(
            a.render_text(Lang::Zh)
                .contains(next_step(Level::General, Lang::Zh))
        );
        // The kind survives the outbox's JSON; an alert's JSON has no kind at all.
        let back: AlertMessage = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert!(serde_json::to_value(&a).unwrap().get("kind").is_none());
    }
}
