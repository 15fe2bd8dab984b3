//! `yuqing report …`: make a report (daily, weekly, monthly, event, flash, digest,
//! yearly), save it with its inputs, and write it as html, docx, xlsx, pdf or json; list,
//! export and rebuild saved reports. The format comes from `--format`, else from the
//! extension of `-o`, else json (printed). Binary formats without `-o` are written to
//! `<title>-<period>.<ext>` in the current directory.

use crate::config::Config;
use crate::data::DataDir;
use crate::output::outln;
use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use yuqing_core::SystemClock;
use yuqing_handling::cases::{Cases, Principal};
use yuqing_handling::reports::{DigestItem, Inputs, ReportSettings, Reports, Spec};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_report::{Format, Report, render};
use yuqing_store::SqliteStore;

#[derive(Debug, Clone, clap::Args)]
pub struct Output {
    /// html, docx, xlsx, pdf or json (default: from -o's extension, else json).
    #[arg(long)]
    format: Option<String>,
    /// Write to this file.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Do not save the report (by default every report made is saved with its inputs).
    #[arg(long)]
    no_save: bool,
    /// Make it as this user sees it (cases within the user's scope); default: the operator.
    #[arg(long = "as")]
    as_user: Option<String>,
    /// The analyst's commentary for the report's commentary block.
    #[arg(long)]
    commentary: Option<String>,
    /// Daily, weekly and monthly: only the documents and alerts of this monitoring plan
    /// (its id or name).
    #[arg(long)]
    plan: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// 日报 of one Beijing day.
    Daily {
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<NaiveDate>,
        #[command(flatten)]
        out: Output,
    },
    /// 周报 of an ISO week: 2026-W47 or a date in it.
    Weekly {
        #[arg(long)]
        week: String,
        #[command(flatten)]
        out: Output,
    },
    /// 月报 of a month: 2026-11.
    Monthly {
        #[arg(long)]
        month: String,
        #[command(flatten)]
        out: Output,
    },
    /// 舆情分析报告 (专报) of one event.
    Event {
        id: i64,
        #[command(flatten)]
        out: Output,
    },
    /// 快报 of one alert (its id), or of one document with --doc platform:id.
    Flash {
        id: Option<i64>,
        #[arg(long)]
        doc: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// 《重要舆情摘报》: a numbered issue of chosen items.
    Digest {
        /// 期号 (default: the next number).
        #[arg(long, default_value_t = 0)]
        issue: u32,
        /// The items, platform:id separated by commas.
        #[arg(long, value_delimiter = ',', required = true)]
        items: Vec<String>,
        /// A summary per item, in the order of --items (repeat the flag).
        #[arg(long)]
        summary: Vec<String>,
        #[command(flatten)]
        out: Output,
    },
    /// 年度统计 of a year.
    Yearly {
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        out: Output,
    },
    /// 《网络舆情通报》 to the departments: handling per department and the overdue items
    /// of a period.
    Circular {
        /// 2026-W47 (or a date in the week), 2026-11, 2026-Q4 or 2026.
        #[arg(long)]
        period: String,
        #[command(flatten)]
        out: Output,
    },
    /// The saved reports, newest first.
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Write a saved report (as it was made).
    Show {
        id: i64,
        #[arg(long)]
        format: Option<String>,
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Build a saved report again from its inputs over the current data (as its maker sees
    /// the cases).
    Rebuild { id: i64 },
}

pub(crate) async fn open(
    root: &Path,
    cfg: &Config,
) -> anyhow::Result<(Reports<SqliteStore>, Arc<SqliteStore>)> {
    let dir = DataDir::open_existing(root).await?;
    let store: Arc<SqliteStore> = dir.store.clone();
    let judge = Arc::new(Judge::new(cfg.judgement.clone())?);
    let cases = Arc::new(
        Cases::new(store.clone(), Arc::new(SystemClock), cfg.deadlines.clone())
            .with_points(cfg.assessment.clone()),
    );
    let reports = Reports::new(store.clone(), judge, Arc::new(SystemClock))
        .with_cases(cases)
        .with_letterhead(cfg.report.letterhead()?);
    Ok((reports, store))
}

fn format_of(format: Option<&str>, output: Option<&Path>) -> anyhow::Result<Format> {
    if let Some(f) = format {
        return Ok(Format::parse(f)?);
    }
    match output.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        Some(ext) => Format::parse(ext).map_err(|_| {
            anyhow::anyhow!(
                "无法从文件名 {} 判断格式：请用 --format html|docx|xlsx|pdf|json / \
                 cannot tell the format from {}: use --format html|docx|xlsx|pdf|json",
                output.map(|p| p.display().to_string()).unwrap_or_default(),
                output.map(|p| p.display().to_string()).unwrap_or_default()
            )
        }),
        None => Ok(Format::Json),
    }
}

/// Writes a report where `-o` says, or to stdout (text formats) or a default file name.
fn write(
    report: &Report,
    format: Format,
    output: Option<&Path>,
    settings: &ReportSettings,
) -> anyhow::Result<()> {
    let bytes = render(report, format, &settings.render_options())?;
    match output {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(p, &bytes).with_context(|| {
                format!("无法写入 {} / cannot write {}", p.display(), p.display())
            })?;
            eprintln!("已写入 / written: {} ({} bytes)", p.display(), bytes.len());
        }
        _ if matches!(format, Format::Json | Format::Html) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            if format == Format::Json {
                out.write_all(b"\n")?;
            }
        }
        _ => {
            let p = PathBuf::from(format!("{}.{}", report.file_stem(), format.extension()));
            std::fs::write(&p, &bytes).with_context(|| {
                format!("无法写入 {} / cannot write {}", p.display(), p.display())
            })?;
            eprintln!("已写入 / written: {} ({} bytes)", p.display(), bytes.len());
        }
    }
    Ok(())
}

async fn make(root: &Path, cfg: &Config, spec: Spec, out: Output) -> anyhow::Result<ExitCode> {
    let format = format_of(out.format.as_deref(), out.output.as_deref())?;
    let (reports, store) = open(root, cfg).await?;
    let mut inputs = Inputs::new(spec);
    if let Some(p) = out.plan.as_deref().map(str::trim) {
        use yuqing_store::Store;
        let plans = store.plans().await?;
        let found = plans
            .iter()
            .find(|x| x.name == p || x.id.to_string() == p)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "没有名为或编号为 {p:?} 的监测方案（yuqing plan list 列出方案）/ \
                     no monitoring plan named or numbered {p:?} (yuqing plan list lists them)"
                )
            })?;
        inputs.plan = Some(found.id);
    }
    if let Some(c) = out.commentary {
        inputs.commentary.insert("commentary".into(), c);
    }
    let viewer = match &out.as_user {
        Some(u) => Principal::user(u.clone()),
        None => Principal::Operator,
    };
    let report = if out.no_save {
        reports.build(&inputs, &viewer).await.map_err(refused)?
    } else {
        let by = out.as_user.clone().unwrap_or_else(|| "operator".into());
        let saved = reports
            .make(&inputs, &viewer, &by, None)
            .await
            .map_err(refused)?;
        eprintln!(
            "报告已保存，编号 {} / report saved as {}",
            saved.id, saved.id
        );
        serde_json::from_value(saved.model)?
    };
    write(&report, format, out.output.as_deref(), &cfg.report)?;
    Ok(ExitCode::SUCCESS)
}

fn refused(e: yuqing_handling::HandlingError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub async fn run(root: &Path, cfg: &Config, cmd: ReportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ReportCommand::Daily { date, out } => {
            let date = date.unwrap_or_else(|| {
                chrono::Utc::now()
                    .with_timezone(&yuqing_judge::grading::beijing())
                    .date_naive()
            });
            make(root, cfg, Spec::Daily { date }, out).await
        }
        ReportCommand::Weekly { week, out } => make(root, cfg, Spec::Weekly { week }, out).await,
        ReportCommand::Monthly { month, out } => {
            make(root, cfg, Spec::Monthly { month }, out).await
        }
        ReportCommand::Event { id, out } => make(root, cfg, Spec::Event { event: id }, out).await,
        ReportCommand::Flash { id, doc, out } => {
            if id.is_some() == doc.is_some() {
                bail!(
                    "请给出预警编号（yuqing report flash 12）或 --doc 平台:编号，二选一 / \
                     give an alert id (yuqing report flash 12) or --doc platform:id, one of them"
                );
            }
            make(root, cfg, Spec::Flash { alert: id, doc }, out).await
        }
        ReportCommand::Digest {
            issue,
            items,
            summary,
            out,
        } => {
            if summary.len() > items.len() {
                bail!(
                    "--summary 比 --items 多（{} > {}）/ more --summary than --items ({} > {})",
                    summary.len(),
                    items.len(),
                    summary.len(),
                    items.len()
                );
            }
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, doc)| DigestItem {
                    doc: doc.trim().to_owned(),
                    summary: summary.get(i).cloned(),
                })
                .collect();
            make(root, cfg, Spec::Digest { issue, items }, out).await
        }
        ReportCommand::Yearly { year, out } => make(root, cfg, Spec::Yearly { year }, out).await,
        ReportCommand::Circular { period, out } => {
            make(root, cfg, Spec::Circular { period }, out).await
        }
        ReportCommand::List { kind, limit } => {
            let kind = match kind.as_deref() {
                None => None,
                Some(k) => Some(yuqing_report::Kind::parse(k).ok_or_else(|| {
                    anyhow::anyhow!(
                        "未知的报告类型 {k:?}：daily、weekly、monthly、flash、digest、event、yearly、circular / \
                         unknown report kind {k:?}"
                    )
                })?),
            };
            let (reports, _) = open(root, cfg).await?;
            for r in reports.list(kind, limit).await.map_err(refused)? {
                outln!(
                    "{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.kind,
                    r.title,
                    r.subtitle.unwrap_or_default(),
                    r.created_at
                        .with_timezone(&yuqing_judge::grading::beijing())
                        .format("%Y-%m-%d %H:%M")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::Show { id, format, output } => {
            let format = format_of(format.as_deref(), output.as_deref())?;
            let (reports, _) = open(root, cfg).await?;
            let report = reports.saved_model(id).await.map_err(refused)?;
            write(&report, format, output.as_deref(), &cfg.report)?;
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::Rebuild { id } => {
            let (reports, _) = open(root, cfg).await?;
            let saved = reports.rebuild(id).await.map_err(refused)?;
            eprintln!(
                "报告 {} 已按原参数重新生成 / report {} rebuilt",
                saved.id, saved.id
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
