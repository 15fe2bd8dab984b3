//! `yuqing plan …`: monitoring plans from the command line — test and lint expressions,
//! and manage the stored plans (list, add, enable, disable, remove). A running `serve`
//! picks up changes within seconds (it watches the plans' change counter).

use crate::PlanCommand;
use crate::commands::parse_time;
use crate::data::DataDir;
use crate::output::outln;
use anyhow::bail;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use yuqing_ingest::backtest::{BacktestOptions, backtest};
use yuqing_store::{NewPlan, Store};
use yuqing_text::plan::{Level, Plan, StructuredPlan, lint};

pub async fn run(root: &Path, cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCommand::List { json: as_json } => {
            let dir = DataDir::open_existing(root).await?;
            for p in dir.store.plans().await? {
                if as_json {
                    outln!("{}", serde_json::to_string(&p)?);
                } else {
                    outln!(
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
            outln!("{}", serde_json::to_string(&p)?);
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Hits {
            id,
            limit,
            json: as_json,
        } => {
            let dir = DataDir::open_existing(root).await?;
            outln!("{}", dir.store.plan_hit_count(id).await?);
            for (d, terms) in dir.store.plan_hit_docs(id, i64::MAX, limit).await? {
                if as_json {
                    outln!(
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
                    outln!("{:>8}  [{}]  {text}", d.seq, terms.join(" "));
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
            outln!(
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
            outln!("方案 {id} 已删除 / plan {id} removed");
            Ok(ExitCode::SUCCESS)
        }
        PlanCommand::Lint { expr } => {
            let msgs = lint(&expr);
            if msgs.is_empty() {
                outln!("没有发现问题 / no problems found");
                return Ok(ExitCode::SUCCESS);
            }
            let mut errors = false;
            for m in &msgs {
                errors |= m.level == Level::Error;
                outln!("{m}");
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
            let opts = BacktestOptions {
                since_ms: since,
                until_ms: until,
                samples: 10,
                deadline: None,
            };
            let b = backtest(dir.store.as_ref(), &dir.index, &plan, &opts).await?;
            let (count, daily) = (b.count, b.daily);
            // Sample ids: the id, else the URL.
            let samples: Vec<String> = b
                .samples
                .iter()
                .map(|d| {
                    d.doc
                        .id
                        .clone()
                        .unwrap_or_else(|| d.doc.url.clone().unwrap_or_default())
                })
                .collect();
            if json {
                outln!(
                    "{}",
                    json!({"count": count, "expression": plan.expression(), "daily": daily, "samples": samples})
                );
            } else {
                outln!("{count}");
                outln!("方案 / plan: {}", plan.expression());
                for (day, n) in daily.iter().rev().take(14) {
                    outln!("  {day}  {n}");
                }
                if !samples.is_empty() {
                    outln!("示例 / samples: {}", samples.join(" "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
