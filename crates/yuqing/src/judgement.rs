//! Judgement from the command line: opening the pipeline with the configured judge and
//! plans, `yuqing events`, `yuqing event ID`, `yuqing correct` and `yuqing level`.

use crate::config::Config;
use crate::data::DataDir;
use crate::output::outln;
use anyhow::{Context, bail};
use chrono::Utc;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use yuqing_ingest::Pipeline;
use yuqing_ingest::analysis::{self, EventSummary};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_judge::content::ContentType;
use yuqing_judge::grading::Level;
use yuqing_store::{EventQuery, Fix, NewPlan, SqliteStore, Store};

/// Builds the judge from `[judgement]`, syncs `[[plans]]` into the store and opens the
/// writer.
pub async fn open_pipeline(dir: &DataDir, cfg: &Config) -> anyhow::Result<Pipeline<SqliteStore>> {
    open_pipeline_over(dir.store.clone(), dir.index.clone(), cfg).await
}

/// [`open_pipeline`] over any store and index (`yuqing process`: PostgreSQL and the
/// node's own index).
pub async fn open_pipeline_over<S: Store>(
    store: Arc<S>,
    index: Arc<yuqing_search::SearchIndex>,
    cfg: &Config,
) -> anyhow::Result<Pipeline<S>> {
    let judge = Arc::new(Judge::new(cfg.judgement.clone())?);
    sync_plans(store.as_ref(), cfg).await?;
    Ok(Pipeline::open(store, index, cfg.ingest.clone(), judge).await?)
}

/// Makes the store's config-declared plans equal to `[[plans]]`: new or changed ones are
/// written, ones no longer in the file are switched off (their hits are kept).
pub async fn sync_plans<S: Store>(store: &S, cfg: &Config) -> anyhow::Result<()> {
    let existing = store.plans().await?;
    for p in &cfg.plans {
        let (expression, structured) = p.compile()?;
        let same = existing.iter().any(|e| {
            e.name == p.name
                && e.expression == expression
                && e.structured == structured
                && e.active == p.active
                && e.origin == "config"
        });
        if !same {
            store
                .put_plan(&NewPlan {
                    name: p.name.clone(),
                    expression,
                    structured,
                    active: p.active,
                    origin: "config".into(),
                    by: Some("config".into()),
                })
                .await?;
            tracing::info!(plan = %p.name, "plan from the config file written");
        }
    }
    for e in &existing {
        if e.origin == "config" && e.active && !cfg.plans.iter().any(|p| p.name == e.name) {
            store.set_plan_active(e.id, false, Some("config")).await?;
            tracing::warn!(plan = %e.name, "plan no longer in the config file: switched off");
        }
    }
    Ok(())
}

pub async fn events(
    root: &Path,
    json: bool,
    limit: i64,
    min_level: Option<String>,
    min_documents: Option<i64>,
) -> anyhow::Result<ExitCode> {
    let min_level = match min_level.as_deref() {
        None => None,
        Some(s) => Some(Level::parse(s).with_context(|| {
            format!(
                "未知的级别 {s}：可用 general|large|major|especially_major / unknown level {s}: use general|large|major|especially_major"
            )
        })?),
    };
    let dir = DataDir::open_existing(root).await?;
    let rows = dir
        .store
        .events(&EventQuery {
            min_level: min_level.map(Level::code),
            min_documents,
            limit,
            ..Default::default()
        })
        .await?;
    for e in &rows {
        let s = EventSummary::of(e);
        if json {
            outln!("{}", serde_json::to_string(&s)?);
        } else {
            outln!(
                "{:>6}  {:<4}  {:>7} 条  {}  {}",
                s.id,
                s.level_label.unwrap_or("-"),
                s.documents,
                s.first_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into()),
                s.title.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn event(root: &Path, cfg: &Config, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open_existing(root).await?;
    let judge = Judge::new(cfg.judgement.clone())?;
    let bg = analysis::background(dir.store.as_ref()).await?;
    let a = analysis::analyse(dir.store.as_ref(), &judge, &bg, id).await?;
    if json {
        outln!("{}", serde_json::to_string(&a)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(from) = a.merged_from {
        outln!(
            "事件 {from} 已并入事件 {} / event {from} was merged into event {}",
            a.id,
            a.id
        );
    }
    outln!(
        "事件 {} / event {}: {}",
        a.id,
        a.id,
        a.title.as_deref().unwrap_or("")
    );
    outln!(
        "级别 / level: {} ({})",
        a.level_label.unwrap_or("-"),
        a.level_reason.as_deref().unwrap_or("-")
    );
    if let Some(f) = &a.first_publisher {
        outln!(
            "首发 / first publisher: {} {} {}",
            f.author_name
                .as_deref()
                .or(f.author_id.as_deref())
                .unwrap_or("-"),
            f.published_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            f.id
        );
    }
    outln!(
        "文档 / documents: {}  原创 / originals: {}  转评 / reposts+comments: {}",
        a.documents,
        a.kinds.originals,
        a.kinds.spread
    );
    if let Some(p) = &a.peak_hour {
        outln!(
            "峰值 / peak hour: {} ({} 条)",
            p.hour.format("%Y-%m-%d %H:00"),
            p.documents
        );
    }
    outln!(
        "情感 / sentiment: 正面 {:.1}%  中性 {:.1}%  负面 {:.1}%",
        a.sentiment.positive_share * 100.0,
        a.sentiment.neutral_share * 100.0,
        a.sentiment.negative_share * 100.0
    );
    outln!(
        "传播 / propagation: 最大深度 max depth {}, 各层 per depth {:?}",
        a.propagation.max_depth,
        a.propagation.per_depth
    );
    let words: Vec<&str> = a
        .hot_words
        .iter()
        .take(15)
        .map(|w| w.word.as_str())
        .collect();
    outln!("热词 / hot words: {}", words.join(" "));
    Ok(ExitCode::SUCCESS)
}

/// Finds a document by `SEQ` or `PLATFORM:ID`.
async fn find_seq(store: &SqliteStore, doc: &str) -> anyhow::Result<i64> {
    if let Ok(seq) = doc.parse::<i64>() {
        if store.by_seqs(&[seq]).await?.is_empty() {
            bail!("没有序号为 {seq} 的文档 / no document with seq {seq}");
        }
        return Ok(seq);
    }
    let Some((platform, id)) = doc.split_once(':') else {
        bail!(
            "文档写作 序号 或 平台:编号，例如 weibo:yBmepBtUB / give the document as SEQ or PLATFORM:ID, e.g. weibo:yBmepBtUB"
        );
    };
    match store.get(platform, id).await? {
        Some(d) => Ok(d.seq),
        None => bail!("没有文档 {platform}:{id} / no document {platform}:{id}"),
    }
}

pub async fn correct(
    root: &Path,
    doc: &str,
    sentiment: Option<String>,
    content_type: Option<String>,
    by: &str,
    note: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let mut fixes = Vec::new();
    if let Some(s) = sentiment.as_deref() {
        let v = match s.trim() {
            "positive" | "正面" => 1,
            "neutral" | "中性" => 0,
            "negative" | "负面" => -1,
            _ => bail!(
                "情感须为 positive|neutral|negative（正面|中性|负面）/ sentiment must be positive|neutral|negative, not {s}"
            ),
        };
        fixes.push(Fix::Sentiment(v));
    }
    if let Some(t) = content_type.as_deref() {
        let Some(ct) = ContentType::parse(t) else {
            bail!(
                "内容类型须为 behaviour|complaint|view|attitude|none / content type must be behaviour|complaint|view|attitude|none, not {t}"
            );
        };
        fixes.push(Fix::ContentType(ct.code()));
    }
    if fixes.is_empty() {
        bail!("请给出 --sentiment 或 --content-type / give --sentiment or --content-type");
    }
    let dir = DataDir::open_existing(root).await?;
    let seq = find_seq(dir.store.as_ref(), doc).await?;
    for f in fixes {
        let c = dir
            .store
            .correct(seq, f, by, note)
            .await?
            .with_context(|| format!("no document with seq {seq}"))?;
        outln!("{}", serde_json::to_string(&c)?);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn set_level(
    root: &Path,
    id: i64,
    level: &str,
    by: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let Some(level) = Level::parse(level) else {
        bail!(
            "未知的级别 {level}：可用 general|large|major|especially_major / unknown level {level}"
        );
    };
    if reason.trim().is_empty() {
        bail!("人工定级须写明理由（--reason）/ a level set by hand needs a reason (--reason)");
    }
    let dir = DataDir::open_existing(root).await?;
    // A merged event's level is set on the event it went into.
    let asked = id;
    let id = analysis::live_event(dir.store.as_ref(), id).await?.id;
    if id != asked {
        outln!("事件 {asked} 已并入事件 {id} / event {asked} was merged into event {id}");
    }
    dir.store
        .set_level(
            id,
            &yuqing_ingest::analysis::manual_level(level, by, reason, Utc::now()),
        )
        .await?;
    outln!(
        "事件 {id} 已定为{} / event {id} set to {}",
        level.label_zh(),
        level.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// The stored sentiment corrections as training rows: the last positive or negative
/// correction of each document (neutral ones are not training data).
pub async fn correction_rows(store: &SqliteStore) -> anyhow::Result<Vec<(u8, String)>> {
    let mut last: std::collections::BTreeMap<i64, (u8, String)> = Default::default();
    for (c, text) in store.corrections("sentiment").await? {
        match c.new_value.as_str() {
            "1" => {
                last.insert(c.seq, (1, text));
            }
            "-1" => {
                last.insert(c.seq, (0, text));
            }
            _ => {
                last.remove(&c.seq);
            }
        }
    }
    Ok(last.into_values().collect())
}

/// [`yuqing_text::sentiment::train_from_dir`] with the corrections as one more training
/// set, weighted double: a person's judgement on this office's own data.
pub fn train_with(
    root: &Path,
    opts: &yuqing_text::sentiment::TrainOptions,
    corrections: Vec<(u8, String)>,
) -> anyhow::Result<(
    yuqing_text::sentiment::Model,
    Vec<yuqing_text::sentiment::DevReport>,
)> {
    let mut set = yuqing_text::sentiment::TrainSet::new("corrections", corrections);
    set.weight = 2.0;
    Ok(yuqing_text::sentiment::train_from_dir_with(
        root,
        opts,
        vec![set],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_store::conformance::new_doc;

    #[tokio::test]
    async fn the_last_positive_or_negative_correction_is_training_data() {
        let store = SqliteStore::in_memory().await.expect("store");
        let ins = store
            .insert(
                &[
                    new_doc("a", "服务太差了", 0),
                    new_doc("b", "还行吧", 1),
                    new_doc("c", "非常满意", 2),
                ],
                None,
            )
            .await
            .expect("insert");
        let (a, b, c) = (ins[0].seq, ins[1].seq, ins[2].seq);
        for (seq, v) in [(a, 1), (a, -1), (b, 1), (b, 0), (c, 1)] {
            store
                .correct(seq, Fix::Sentiment(v), "张三", None)
                .await
                .expect("correct");
        }
        store
            .correct(c, Fix::ContentType(2), "张三", None)
            .await
            .expect("correct");
        let rows = correction_rows(&store).await.expect("rows");
        assert_eq!(
            rows,
            vec![(0, "服务太差了".to_owned()), (1, "非常满意".to_owned())],
            "a: last is negative; b: last is neutral (not training data); c: positive"
        );
    }
}
