//! Event analysis (事件分析): everything an analyst reads about one event, computed from
//! the store on demand — the facts behind `yuqing event ID --json`, the event page and the
//! event analysis report. Field names are specified in `docs/specs/events.md`.
//!
//! Only computed facts: counts, shares, series, the propagation tree, hot words and the
//! level with its explanation. Nothing here writes.

use crate::transforms::judge::{Judge, category_of_code};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use yuqing_judge::content::ContentType;
use yuqing_judge::grading::Level;
use yuqing_judge::hotwords::{Background, HotWord, hot_words};
use yuqing_judge::propagation::{Node, Propagation};
use yuqing_judge::spike::{Spike, detect, hourly_series};
use yuqing_store::{EventMember, EventRow, LevelRecord, Store, StoreError};

/// Hot words listed per event.
const HOT_WORDS: usize = 30;
/// Top spreaders listed.
const TOP_SPREADERS: usize = 10;
/// Documents sampled from the store as the hot-word background.
const BACKGROUND_SAMPLE: i64 = 4000;

/// One event as `yuqing events` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct EventSummary {
    pub id: i64,
    pub title: Option<String>,
    /// The first publisher's document id (the earliest original).
    pub root_id: String,
    pub documents: i64,
    pub level: Option<&'static str>,
    pub level_label: Option<&'static str>,
    pub first_at: Option<DateTime<FixedOffset>>,
    pub last_at: Option<DateTime<FixedOffset>>,
    pub comments: i64,
    pub views: i64,
    pub negative: i64,
}

impl EventSummary {
    pub fn of(e: &EventRow) -> EventSummary {
        let level = e.level.as_ref().and_then(|l| Level::from_code(l.level));
        EventSummary {
            id: e.id,
            title: e.title.clone(),
            root_id: e.first_id.clone().unwrap_or_else(|| e.root_id.clone()),
            documents: e.documents,
            level: level.map(Level::as_str),
            level_label: level.map(Level::label_zh),
            first_at: e.first_at.map(bj),
            last_at: e.last_at.map(bj),
            comments: e.comments,
            views: e.views,
            negative: e.negative,
        }
    }
}

fn bj(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&yuqing_core::document::beijing())
}

fn ms_bj(ms: i64) -> Option<DateTime<FixedOffset>> {
    Utc.timestamp_millis_opt(ms).single().map(bj)
}

/// A count and its share of the whole.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub name: String,
    pub label: String,
    pub documents: u64,
    pub share: f64,
}

fn shares(counts: impl IntoIterator<Item = (String, String, u64)>, total: u64) -> Vec<Share> {
    let mut v: Vec<Share> = counts
        .into_iter()
        .map(|(name, label, n)| Share {
            name,
            label,
            documents: n,
            share: ratio(n, total),
        })
        .collect();
    v.sort_by(|a, b| b.documents.cmp(&a.documents).then(a.name.cmp(&b.name)));
    v
}

fn ratio(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (n as f64 / total as f64 * 10_000.0).round() / 10_000.0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FirstPublisher {
    pub id: String,
    pub platform: String,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub verified: bool,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub site: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HourCount {
    pub hour: DateTime<FixedOffset>,
    pub documents: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SentimentShares {
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    /// Empty texts (plain reposts): nothing to judge.
    pub unjudged: u64,
    /// Shares among the judged documents.
    pub positive_share: f64,
    pub neutral_share: f64,
    pub negative_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Authors {
    pub distinct: u64,
    /// Documents by verified accounts (认证用户) and by everyone else (草根).
    pub verified: u64,
    pub grassroots: u64,
    pub verified_share: f64,
    pub grassroots_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kinds {
    pub originals: u64,
    /// Reposts, comments and replies.
    pub spread: u64,
    pub originals_share: f64,
    pub spread_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupCount {
    pub group_id: i64,
    pub members: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelInfo {
    pub level: &'static str,
    pub label: &'static str,
    pub rule: String,
    pub reason: String,
    pub reason_en: String,
    pub at: DateTime<FixedOffset>,
    /// `null`: set by the rules; else the person who set it.
    pub by: Option<String>,
}

impl LevelInfo {
    fn of(l: &LevelRecord) -> Option<LevelInfo> {
        let level = Level::from_code(l.level)?;
        Some(LevelInfo {
            level: level.as_str(),
            label: level.label_zh(),
            rule: l.rule.clone(),
            reason: l.reason.clone(),
            reason_en: l.reason_en.clone(),
            at: bj(l.at),
            by: l.by.clone(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub comments: i64,
    pub views: i64,
    pub reposts: i64,
    pub likes: i64,
}

/// The full analysis of one event.
#[derive(Debug, Clone, Serialize)]
pub struct EventAnalysis {
    pub id: i64,
    pub title: Option<String>,
    pub root_id: String,
    pub first_publisher: Option<FirstPublisher>,
    pub first_at: Option<DateTime<FixedOffset>>,
    pub last_at: Option<DateTime<FixedOffset>>,
    pub peak_hour: Option<HourCount>,
    pub documents: u64,
    pub level: Option<&'static str>,
    pub level_label: Option<&'static str>,
    pub level_reason: Option<String>,
    pub level_reason_en: Option<String>,
    pub level_rule: Option<String>,
    pub level_history: Vec<LevelInfo>,
    pub totals: Totals,
    pub mainstream: Vec<String>,
    /// The negative original of a critical category that made the event especially major.
    pub critical: Option<serde_json::Value>,
    pub platforms: Vec<Share>,
    pub sentiment: SentimentShares,
    pub content_types: Vec<Share>,
    pub hot_words: Vec<HotWord>,
    pub regions: Vec<Share>,
    pub authors: Authors,
    pub kinds: Kinds,
    pub trend: Vec<HourCount>,
    pub propagation: Propagation,
    pub reprint_groups: Vec<GroupCount>,
    /// The last hour against the 24 hours before it (the event's own time).
    pub spike: Spike,
    pub computed_ms: u64,
    /// The event asked for, when it had been merged into this one (its replies adopted by
    /// their parent's event): links kept in alerts, cases and reports lead here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<i64>,
}

/// Why an analysis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("没有编号为 {0} 的事件 / no event with id {0}")]
    NotFound(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The record of a level a person sets (rule `manual`), with the explanation the event's
/// history shows. The CLI and the API both use it.
pub fn manual_level(level: Level, by: &str, reason: &str, at: DateTime<Utc>) -> LevelRecord {
    LevelRecord {
        level: level.code(),
        rule: "manual".into(),
        reason: format!("{by} 人工定为{}：{reason}", level.label_zh()),
        reason_en: format!("set to {} by {by}: {reason}", level.label_en()),
        at,
        by: Some(by.to_owned()),
    }
}

/// A sample of stored texts, the background hot words are weighed against.
pub async fn background<S: Store>(store: &S) -> Result<Background, StoreError> {
    let max = store.max_seq().await?;
    let mut texts: Vec<String> = Vec::new();
    // Eight windows spread over the store.
    let per = BACKGROUND_SAMPLE / 8;
    for k in 0..8 {
        let after = max * k / 8;
        for d in store.scan(after, per).await? {
            texts.push(yuqing_text::normalize(&d.doc.text));
        }
    }
    Ok(Background::from_texts(texts.iter().map(String::as_str)))
}

/// Analyses event `id`.
pub async fn analyse<S: Store>(
    store: &S,
    judge: &Judge,
    bg: &Background,
    id: i64,
) -> Result<EventAnalysis, AnalysisError> {
    Ok(analyse_with_members(store, judge, bg, id).await?.0)
}

/// Analyses event `id`, and returns its members too (the event report quotes them).
pub async fn analyse_with_members<S: Store>(
    store: &S,
    judge: &Judge,
    bg: &Background,
    id: i64,
) -> Result<(EventAnalysis, Vec<EventMember>), AnalysisError> {
    let started = Instant::now();
    let e = live_event(store, id).await?;
    let members = store.event_members(e.id).await?;
    let history = store.level_history(e.id).await?;
    let mut a = tokio::task::block_in_place(|| compute(&e, &members, judge, bg));
    a.level_history = history.iter().filter_map(LevelInfo::of).collect();
    a.merged_from = (e.id != id).then_some(id);
    a.computed_ms = started.elapsed().as_millis() as u64;
    Ok((a, members))
}

/// Most merges followed from one event (a merged event points at a live one; the bound
/// only guards against a damaged store).
const MAX_MERGE_HOPS: usize = 64;

/// Event `id`, or the event it was merged into (followed to the live one).
pub async fn live_event<S: Store>(store: &S, id: i64) -> Result<EventRow, AnalysisError> {
    let mut at = id;
    for _ in 0..=MAX_MERGE_HOPS {
        let Some(e) = store.events_by_id(&[at]).await?.into_iter().next() else {
            return Err(AnalysisError::NotFound(id));
        };
        match e.merged_into {
            Some(next) if next != e.id => at = next,
            _ => return Ok(e),
        }
    }
    Err(AnalysisError::NotFound(id))
}

fn region_of(location: &str) -> Option<String> {
    let first = location.split_whitespace().next()?;
    (!first.is_empty()).then(|| first.to_owned())
}

fn compute(e: &EventRow, members: &[EventMember], judge: &Judge, bg: &Background) -> EventAnalysis {
    let n = members.len() as u64;
    let level = e.level.as_ref().and_then(|l| Level::from_code(l.level));
    let root_id = e.first_id.clone().unwrap_or_else(|| e.root_id.clone());
    let first = members.iter().find(|m| m.id == root_id);
    // Platforms, sentiment, content types, regions, authors, kinds, groups.
    let mut platforms: HashMap<&str, u64> = HashMap::new();
    let (mut pos, mut neu, mut neg, mut unj) = (0u64, 0u64, 0u64, 0u64);
    let mut types: HashMap<i64, u64> = HashMap::new();
    let mut regions: HashMap<String, u64> = HashMap::new();
    let mut authors: HashSet<&str> = HashSet::new();
    let (mut verified, mut originals) = (0u64, 0u64);
    let mut groups: HashMap<i64, u64> = HashMap::new();
    for m in members {
        *platforms.entry(m.platform.as_str()).or_default() += 1;
        match m.sentiment {
            Some(1) => pos += 1,
            Some(0) => neu += 1,
            Some(-1) => neg += 1,
            _ => unj += 1,
        }
        if let Some(t) = m.content_type {
            *types.entry(t).or_default() += 1;
        }
        if let Some(r) = m.location.as_deref().and_then(region_of) {
            *regions.entry(r).or_default() += 1;
        }
        if let Some(a) = m.author_id.as_deref().or(m.author_name.as_deref()) {
            authors.insert(a);
        }
        verified += u64::from(m.verified);
        let original = m.parent_id.is_none() && !yuqing_core::Kind::parse(&m.kind).is_spread();
        originals += u64::from(original);
        if let Some(g) = m.group_id {
            *groups.entry(g).or_default() += 1;
        }
    }
    let judged = pos + neu + neg;
    let with_region: u64 = regions.values().sum();
    // Trend and peak.
    let series = hourly_series(members.iter().filter_map(|m| m.published_ms));
    let trend: Vec<HourCount> = series
        .iter()
        .filter_map(|&(h, c)| ms_bj(h * 3_600_000).map(|hour| HourCount { hour, documents: c }))
        .collect();
    let peak_hour = trend
        .iter()
        .max_by(|a, b| a.documents.cmp(&b.documents).then(b.hour.cmp(&a.hour)))
        .cloned();
    let now_hour = series.last().map_or(0, |h| h.0);
    let spike = detect(&series, now_hour, &judge.settings().spike);
    // Propagation tree.
    let nodes: Vec<Node> = members
        .iter()
        .map(|m| Node {
            id: m.id.as_str(),
            parent: m.parent_id.as_deref(),
            author: m.author_name.as_deref().or(m.author_id.as_deref()),
            published_ms: m.published_ms,
        })
        .collect();
    let propagation = yuqing_judge::propagation::analyse(&nodes, &e.root_id, TOP_SPREADERS);
    // Hot words over the distinct texts.
    let texts: Vec<String> = members
        .iter()
        .filter(|m| !m.text.trim().is_empty() || m.title.is_some())
        .map(|m| {
            let t = match &m.title {
                Some(t) => format!("{t} {}", m.text),
                None => m.text.clone(),
            };
            yuqing_text::normalize(&t)
        })
        .collect();
    let hot = hot_words(texts.iter().map(String::as_str), bg, HOT_WORDS);
    let mut reprint: Vec<GroupCount> = groups
        .into_iter()
        .filter(|(_, c)| *c > 1)
        .map(|(group_id, members)| GroupCount { group_id, members })
        .collect();
    reprint.sort_by(|a, b| b.members.cmp(&a.members).then(a.group_id.cmp(&b.group_id)));
    reprint.truncate(20);
    let critical = e.critical_category.and_then(category_of_code).map(|c| {
        serde_json::json!({
            "category": c.as_str(),
            "label": c.label_zh(),
            "document_id": e.critical_id,
        })
    });
    EventAnalysis {
        id: e.id,
        title: e.title.clone(),
        root_id,
        first_publisher: first.map(|m| FirstPublisher {
            id: m.id.clone(),
            platform: m.platform.clone(),
            author_id: m.author_id.clone(),
            author_name: m.author_name.clone(),
            verified: m.verified,
            published_at: m.published_ms.and_then(ms_bj),
            site: m.site.clone(),
        }),
        first_at: e.first_at.map(bj),
        last_at: e.last_at.map(bj),
        peak_hour,
        documents: n,
        level: level.map(Level::as_str),
        level_label: level.map(Level::label_zh),
        level_reason: e.level.as_ref().map(|l| l.reason.clone()),
        level_reason_en: e.level.as_ref().map(|l| l.reason_en.clone()),
        level_rule: e.level.as_ref().map(|l| l.rule.clone()),
        level_history: Vec::new(),
        totals: Totals {
            comments: e.comments,
            views: e.views,
            reposts: e.reposts,
            likes: e.likes,
        },
        mainstream: e.mainstream.clone(),
        critical,
        platforms: shares(
            platforms
                .into_iter()
                .map(|(p, c)| (p.to_owned(), p.to_owned(), c)),
            n,
        ),
        sentiment: SentimentShares {
            positive: pos,
            neutral: neu,
            negative: neg,
            unjudged: unj,
            positive_share: ratio(pos, judged),
            neutral_share: ratio(neu, judged),
            negative_share: ratio(neg, judged),
        },
        content_types: shares(
            types.into_iter().filter_map(|(code, c)| {
                let t = ContentType::from_code(code)?;
                Some((t.as_str().to_owned(), t.label_zh().to_owned(), c))
            }),
            judged.max(1),
        ),
        hot_words: hot,
        regions: shares(
            regions.into_iter().map(|(r, c)| (r.clone(), r, c)),
            with_region,
        ),
        authors: Authors {
            distinct: authors.len() as u64,
            verified,
            grassroots: n - verified,
            verified_share: ratio(verified, n),
            grassroots_share: ratio(n - verified, n),
        },
        kinds: Kinds {
            originals,
            spread: n - originals,
            originals_share: ratio(originals, n),
            spread_share: ratio(n - originals, n),
        },
        trend,
        propagation,
        reprint_groups: reprint,
        spike,
        computed_ms: 0,
        merged_from: None,
    }
}
