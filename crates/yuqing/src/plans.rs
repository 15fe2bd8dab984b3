//! `yuqing plan …`: monitoring plans from the command line — test and lint expressions,
//! and manage the stored plans (list, add, enable, disable, remove). A running `serve`
//! picks up changes within seconds (it watches the plans' change counter).

use crate::PlanCommand;
use crate::commands::parse_time;
use crate::data::DataDir;
use anyhow::bail;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use yuqing_store::{NewPlan, Store};
use yuqing_text::normalize;
use yuqing_text::plan::{Level, MatchInput, Plan, StructuredPlan, lint};

pub async fn run(root: &Path, cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCommand::List { json: as_json } => {
            let dir = DataDir::open_existing(root).await?;
            for p in dir.store.plans().await? {
                if as_json {
                    println!("{}", serde_json::to_string(&p)?);
                } else {
                    println!(
                        "{:>4}  {}  {:<16}  {:<6}  {}",
                        p.id,
                        if p.active { "启用 on " } else { "停用 off" },
                        p.name,
                        p.origin,
                        p.expression
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Add {
            name,
            expr,
            region,
            subject,
            event,
            exclusion,
            by,
        } => {
            let structured = StructuredPlan {
                region,
                subject,
                event,
                exclusion,
            };
            let (expression, structured) = match (expr, structured == StructuredPlan::default()) {
                (Some(_), false) => bail!(
                    "表达式与 --region/--subject/--event/--exclusion 只能二选一 / give either an expression or the structured flags, not both"
                ),
                (None, true) => bail!(
                    "缺少表达式或 --region/--subject/--event/--exclusion / give an expression or the structured flags"
                ),
                (Some(e), true) => (e, None),
                (None, false) => (
                    structured.to_expression(),
                    Some(serde_json::to_value(&structured)?),
                ),
            };
            if name.trim().is_empty() {
                bail!("方案名称不能为空 / the plan needs a name");
            }
            if let Err(e) = Plan::parse(&expression) {
                bail!("{e}");
            }
            for m in lint(&expression) {
                eprintln!("{m}");
            }
            let dir = DataDir::open(root).await?;
            let p = dir
                .store
                .put_plan(&NewPlan {
                    name,
                    expression,
                    structured,
                    active: true,
                    origin: "cli".into(),
                    by: Some(by),
                })
                .await?;
            println!("{}", serde_json::to_string(&p)?);
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Hits {
            id,
            limit,
            json: as_json,
        } => {
            let dir = DataDir::open_existing(root).await?;
            println!("{}", dir.store.plan_hit_count(id).await?);
            for (d, terms) in dir.store.plan_hit_docs(id, i64::MAX, limit).await? {
                if as_json {
                    println!(
                        "{}",
                        json!({
                            "seq": d.seq,
                            "id": d.doc.id,
                            "platform": d.doc.platform,
                            "published_at": d.doc.published_at,
                            "terms": terms,
                            "text": d.doc.text,
                        })
                    );
                } else {
                    let text: String = d.doc.text.chars().take(60).collect();
                    println!("{:>8}  [{}]  {text}", d.seq, terms.join(" "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Enable { id } | PlanCommand::Disable { id } => {
            let on = matches!(cmd, PlanCommand::Enable { .. });
            let dir = DataDir::open_existing(root).await?;
            if !dir.store.set_plan_active(id, on, Some("cli")).await? {
                bail!("没有编号为 {id} 的监测方案 / no plan with id {id}");
            }
            println!(
                "方案 {id} 已{} / plan {id} {}",
                if on { "启用" } else { "停用" },
                if on { "enabled" } else { "disabled" }
            );
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Remove { id } => {
            let dir = DataDir::open_existing(root).await?;
            if !dir.store.delete_plan(id).await? {
                bail!("没有编号为 {id} 的监测方案 / no plan with id {id}");
            }
            println!("方案 {id} 已删除 / plan {id} removed");
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Lint { expr } => {
            let msgs = lint(&expr);
            if msgs.is_empty() {
                println!("没有发现问题 / no problems found");
                return Ok(ExitCode::SUCCESS);
            }
            let mut errors = false;
            for m in &msgs {
                errors |= m.level == Level::Error;
                println!("{m}");
            }
            Ok(if errors {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        PlanCommand::Test {
            expr,
            since,
            until,
            json,
        } => {
            let plan = match Plan::parse(&expr) {
                Ok(p) => p,
                Err(e) => bail!("{e}"),
            };
            let since = since.as_deref().map(parse_time).transpose()?;
            let until = until.as_deref().map(parse_time).transpose()?;
            let dir = DataDir::open_existing(root).await?;
            let (count, daily, samples) = backtest(&dir, &plan, since, until).await?;
            if json {
                println!(
                    "{}",
                    json!({"count": count, "expression": plan.expression(), "daily": daily, "samples": samples})
                );
            } else {
                println!("{count}");
                println!("方案 / plan: {}", plan.expression());
                for (day, n) in daily.iter().rev().take(14) {
                    println!("  {day}  {n}");
                }
                if !samples.is_empty() {
                    println!("示例 / samples: {}", samples.join(" "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Documents matching `plan` (published in [since, until) when given): the count, daily
/// counts (Beijing dates) and up to ten sample ids.
///
/// When every anchor of the plan (terms of which one must occur) can be looked up in the
/// full-text index, only the index's candidates are read and verified; documents newer
/// than the index are scanned. Otherwise every stored document is scanned. Either way each
/// candidate is checked with the plan itself, so the result equals a full scan.
async fn backtest(
    dir: &DataDir,
    plan: &Plan,
    since: Option<i64>,
    until: Option<i64>,
) -> anyhow::Result<(u64, BTreeMap<String, u64>, Vec<String>)> {
    use yuqing_search::SearchRequest;
    use yuqing_text::ngram::{QueryPlan, plan_query};
    use yuqing_text::plan::Field;
    let anchors = plan.anchors();
    let indexable = !anchors.is_empty()
        && anchors.iter().all(|a| {
            matches!(a.field, Field::Any | Field::Title)
                && !matches!(plan_query(&a.text), QueryPlan::Scan)
        });
    let mut candidates: Option<Vec<i64>> = None;
    let mut tail_after = 0;
    if indexable {
        let mut all: Vec<i64> = Vec::new();
        for a in &anchors {
            let req = SearchRequest {
                query: a.text.clone(),
                since_ms: since,
                until_ms: until,
                ..Default::default()
            };
            all.extend(dir.index.seqs(&req)?.0);
        }
        all.sort_unstable();
        all.dedup();
        candidates = Some(all);
        tail_after = dir.index.indexed_seq()?;
    }
    let mut count = 0u64;
    let mut daily: BTreeMap<String, u64> = BTreeMap::new();
    let mut samples: Vec<String> = Vec::new();
    let mut check = |docs: &[yuqing_core::StoredDocument]| {
        let hits = tokio::task::block_in_place(|| matching(plan, docs, since, until));
        for i in hits {
            let d = &docs[i];
            count += 1;
            let day = d
                .doc
                .published_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "unknown".into());
            *daily.entry(day).or_default() += 1;
            if samples.len() < 10 {
                samples.push(
                    d.doc
                        .id
                        .clone()
                        .unwrap_or_else(|| d.doc.url.clone().unwrap_or_default()),
                );
            }
        }
    };
    if let Some(c) = &candidates {
        for chunk in c.chunks(5000) {
            check(&dir.store.by_seqs(chunk).await?);
        }
    }
    // Full scan, or the documents the index does not hold yet.
    let mut after = tail_after;
    loop {
        let docs = dir.store.scan(after, 5000).await?;
        let Some(last) = docs.last() else { break };
        after = last.seq;
        check(&docs);
    }
    Ok((count, daily, samples))
}

/// Indices of the documents `plan` matches, checked on two threads.
fn matching(
    plan: &Plan,
    docs: &[yuqing_core::StoredDocument],
    since: Option<i64>,
    until: Option<i64>,
) -> Vec<usize> {
    let test = |d: &yuqing_core::StoredDocument| {
        let t = d.doc.published_at.map(|t| t.timestamp_millis());
        if !(since.is_none_or(|s| t.is_some_and(|t| t >= s))
            && until.is_none_or(|u| t.is_some_and(|t| t < u)))
        {
            return false;
        }
        let title = d.doc.title.as_deref().map(normalize).unwrap_or_default();
        let text = normalize(&d.doc.text);
        let author = d
            .doc
            .author
            .as_ref()
            .and_then(|a| a.name.as_deref())
            .map(normalize)
            .unwrap_or_default();
        plan.matches(&MatchInput {
            title: &title,
            text: &text,
            author: &author,
            platform: &d.doc.platform,
        })
    };
    let half = docs.len() / 2;
    let (a, b) = docs.split_at(half);
    let (ha, hb) = std::thread::scope(|sc| {
        let h = sc.spawn(|| a.iter().map(test).collect::<Vec<bool>>());
        let hb: Vec<bool> = b.iter().map(test).collect();
        match h.join() {
            Ok(ha) => (ha, hb),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    ha.into_iter()
        .chain(hb)
        .enumerate()
        .filter_map(|(i, ok)| ok.then_some(i))
        .collect()
}
