//! Case handling from the command line (docs/specs/case-workflow.md §8): `yuqing org`,
//! `yuqing duty`, `yuqing case`, `yuqing audit` and `yuqing stats`, over
//! `yuqing_handling::cases::Cases` on the data directory's store; `yuqing user` (passwords
//! and personal API tokens, docs/security.md) over `yuqing_handling::access::Access`.
//!
//! These commands only touch the database (SQLite serialises writers), so they run beside
//! `yuqing serve`. The CLI user is the local operator: without `--as` they see every case
//! and may change the organisation and the duty roster; case steps always name the acting
//! user (`--as`), whose roles the workflow checks.

use crate::config::Config;
use crate::output::outln;
use anyhow::{Context, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Subcommand;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use yuqing_core::SystemClock;
use yuqing_handling::HandlingError;
use yuqing_handling::cases::{CaseFilter, CaseView, Cases, NewCase, Origin, Principal};
use yuqing_judge::grading::beijing;
use yuqing_store::SqliteStore;
use yuqing_store::handling::NewDutySlot;
use yuqing_workflow::audit::Anchor;
use yuqing_workflow::case::{Action, ActionKind, Case, CaseState, ManualChannel};
use yuqing_workflow::stats::Period;

#[derive(Debug, Subcommand)]
pub enum HandlingCommand {
    /// The organisation (组织架构): units, users and their roles.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The duty roster (值班表).
    Duty {
        #[command(subcommand)]
        command: DutyCommand,
    },
    /// Cases (处置案件): register, act, show, list, run deadlines.
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Alerts (预警): the inbox, one alert with its deliveries, acknowledgement.
    Alert {
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// The audit log (审计日志): verify the hash chain, print its head.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Users' logins (登录与令牌): set a password, personal API tokens.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Leaders' adjustments of the monitors' points (领导加减分): add, revoke, list.
    Points {
        #[command(subcommand)]
        command: PointsCommand,
    },
    /// Handling statistics (考核统计) per department and per monitor.
    Stats {
        /// Start of the period (inclusive): RFC 3339 or YYYY-MM-DD (Beijing time).
        #[arg(long)]
        from: String,
        /// End of the period: a bare date includes that whole day.
        #[arg(long)]
        to: String,
        /// Judge replies and deadlines as of this time (default: now).
        #[arg(long)]
        as_of: Option<String>,
        /// Only the cases this user may see.
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PointsCommand {
    /// Add (> 0) or take away (< 0) points of a person, with the reason (audited).
    Adjust {
        /// Whose points (a user id).
        user: String,
        /// The points: 1 to 100, or -1 to -100.
        #[arg(allow_negative_numbers = true)]
        points: i32,
        #[arg(long)]
        reason: String,
        /// The case it is about.
        #[arg(long)]
        case: Option<String>,
        /// When it counts (default: now): RFC 3339 or YYYY-MM-DD[ HH:MM] (Beijing time).
        #[arg(long)]
        at: Option<String>,
        /// The leader making it (must be over the person's unit); the operator when absent.
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// Revoke an adjustment: it is kept, and counts for nothing (audited).
    Revoke {
        id: i64,
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// The adjustments that count in a period, revoked ones too.
    List {
        /// Start of the period (inclusive): RFC 3339 or YYYY-MM-DD (Beijing time).
        #[arg(long)]
        from: String,
        /// End of the period: a bare date includes that whole day.
        #[arg(long)]
        to: String,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Alerts, newest first; with --json one object per line.
    List {
        /// Only those nobody acknowledged.
        #[arg(long)]
        unacked: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// One alert with every delivery attempt and escalation notice.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an alert (stops escalation; the first acknowledgement stands).
    Ack {
        id: i64,
        /// The acknowledging user (must be in the organisation).
        #[arg(long = "as")]
        as_user: String,
    },
    /// Give a verdict on an alert: confirmed (属实) or false_alarm (误报); the last one
    /// stands, and it acknowledges the alert if nobody had.
    Verdict {
        id: i64,
        /// confirmed or false_alarm.
        verdict: String,
        #[arg(long, default_value = "")]
        note: String,
        /// The user giving it (must be in the organisation).
        #[arg(long = "as")]
        as_user: String,
    },
    /// Per monitoring plan: alerts raised, confirmed, false alarms (most false alarms first).
    Quality {
        /// Alerts raised at or after (YYYY-MM-DD or RFC 3339, Beijing time).
        #[arg(long)]
        since: Option<String>,
        /// Alerts raised before (RFC 3339, or YYYY-MM-DD: to the end of that day).
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Set a user's password, read from the first line of standard input (for an
    /// operator: a forgotten or locked password). The user must change it at the next
    /// login; their sessions end.
    Passwd { user: String },
    /// Create a personal API token for a user; it is printed once (stdout), never again.
    Token {
        user: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
    },
    /// List a user's API tokens (never the tokens themselves).
    Tokens {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API token by id.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create or replace units and users from a TOML (`[[units]]`, `[[users]]`) or JSON
    /// (`{"units": [...], "users": [...]}`) file; merged with what is stored by id.
    Import {
        file: PathBuf,
        /// The acting user, checked and recorded in the audit log (default: the local
        /// operator, who may always change the organisation).
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// Show units (as a tree) and users with their roles.
    Show {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DutyCommand {
    /// Add a duty slot.
    Add {
        #[arg(long)]
        user: String,
        #[arg(long)]
        unit: String,
        /// Start (RFC 3339 or YYYY-MM-DD[ HH:MM], Beijing time when no offset).
        #[arg(long)]
        from: String,
        /// End (exclusive).
        #[arg(long)]
        to: String,
        /// Order among the people on duty at once (0 is told first).
        #[arg(long, default_value_t = 0)]
        position: i64,
        #[arg(long, default_value = "")]
        note: String,
        /// The acting user (default: the local operator).
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// List duty slots (default: those of the next 7 days; with --at, who is on duty then).
    List {
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a duty slot.
    Remove {
        id: i64,
        /// The acting user (default: the local operator).
        #[arg(long = "as")]
        as_user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Register a case (登记), from a document, an alert, or by hand.
    New {
        /// The registering user (analyst, leader or liaison of the unit).
        #[arg(long = "as")]
        as_user: String,
        /// The unit that owns the case.
        #[arg(long)]
        unit: String,
        /// Title (default: from the document or alert).
        #[arg(long)]
        title: Option<String>,
        #[arg(long, default_value = "")]
        summary: String,
        #[arg(long)]
        link: Option<String>,
        /// From a stored document: PLATFORM:ID.
        #[arg(long, conflicts_with_all = ["alert", "channel"])]
        document: Option<String>,
        /// From a stored alert.
        #[arg(long, conflicts_with = "channel")]
        alert: Option<i64>,
        /// By hand: hotline|mailbox|message_board|phone|email|visit|other (default other).
        #[arg(long)]
        channel: Option<String>,
        /// A negative item (must reach the leading group within the notify deadline).
        #[arg(long)]
        negative: bool,
        /// A critical media report (feedback to the media is due).
        #[arg(long)]
        media_report: bool,
        /// When it happened or was first published.
        #[arg(long)]
        occurred: Option<String>,
        /// When it was first collected (default: now, or the document's/alert's time).
        #[arg(long)]
        collected: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Apply a workflow step: ACTION_JSON is the action, e.g.
    /// '{"type":"judge","level":"major","facts":"…","negative":true}'.
    Act {
        id: String,
        #[arg(long = "as")]
        as_user: String,
        /// The case version you saw (`case show`); a stale one is refused.
        #[arg(long)]
        version: u64,
        action: String,
        #[arg(long)]
        json: bool,
    },
    /// 研判: judge the level and facts.
    Judge {
        id: String,
        #[arg(long = "as")]
        as_user: String,
        #[arg(long)]
        version: u64,
        /// general|large|major|especially_major (一般|较大|重大|特别重大).
        #[arg(long)]
        level: String,
        #[arg(long)]
        facts: String,
        #[arg(long)]
        negative: bool,
        #[arg(long)]
        emergency: bool,
    },
    /// 批办: assign a lead department (and co-handling ones) with a deadline.
    Assign {
        id: String,
        #[arg(long = "as")]
        as_user: String,
        #[arg(long)]
        version: u64,
        #[arg(long)]
        lead: String,
        #[arg(long)]
        co: Vec<String>,
        /// The handling deadline (RFC 3339 or YYYY-MM-DD HH:MM, Beijing time).
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        instruction: String,
    },
    /// 办结: close with a summary.
    Close {
        id: String,
        #[arg(long = "as")]
        as_user: String,
        #[arg(long)]
        version: u64,
        #[arg(long)]
        summary: String,
    },
    /// Attach an evidence file (text, image, audio, video) to a case.
    Attach {
        id: String,
        #[arg(long = "as")]
        as_user: String,
        #[arg(long)]
        version: u64,
        file: PathBuf,
        /// text, image, audio or video (default: from the file's extension).
        #[arg(long)]
        kind: Option<String>,
        /// The name to record (default: the file's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Write an evidence file of a case to OUT, checked against its hash.
    Attachment {
        id: String,
        sha256: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// Show a case with its timeline, deadlines, reminders and audit entries.
    Show {
        id: String,
        /// Only if this user may see it (default: the local operator sees all).
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List cases, most recently updated first.
    List {
        #[arg(long = "as")]
        as_user: Option<String>,
        /// Only this state (repeatable): registered, judged, …, closed, archived.
        #[arg(long)]
        state: Vec<String>,
        /// Only cases of this unit and the units below it.
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per case.
        #[arg(long)]
        json: bool,
    },
    /// Run the deadlines: send (record and print) the 催办/督办 reminders due now.
    Tick {
        /// Pretend it is this time (default: now).
        #[arg(long)]
        now: Option<String>,
        /// One JSON object per reminder.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the whole hash chain (and an anchor kept elsewhere); exits with 1 when the
    /// log was tampered with.
    Verify {
        /// A head printed earlier by `yuqing audit anchor`: SEQ:HASH.
        #[arg(long)]
        anchor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the current head of the chain (SEQ:HASH), to keep somewhere else.
    Anchor,
    /// Print audit entries (one JSON object per line).
    Log {
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// Parses a time: RFC 3339, or a date / date and time in Beijing time when no offset.
pub fn parse_when(s: &str) -> anyhow::Result<DateTime<Utc>> {
    yuqing_core::document::parse_time_str(s.trim(), beijing())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            anyhow::anyhow!(
                "无法解析时间 {s:?}：请用 RFC 3339（如 2027-03-01T09:00:00+08:00）或 YYYY-MM-DD[ HH:MM]（北京时间） / \
                 cannot parse time {s:?}: use RFC 3339 (e.g. 2027-03-01T09:00:00+08:00) or YYYY-MM-DD[ HH:MM] (Beijing time)"
            )
        })
}

/// The end of a period: a bare date means the end of that day.
fn parse_end(s: &str) -> anyhow::Result<DateTime<Utc>> {
    let t = parse_when(s)?;
    Ok(if NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok() {
        t + Duration::days(1)
    } else {
        t
    })
}

fn principal(as_user: Option<String>) -> Principal {
    as_user.map_or(Principal::Operator, Principal::User)
}

fn bj(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn bj_opt(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), bj)
}

async fn open(root: &Path, cfg: &Config, create: bool) -> anyhow::Result<Cases<SqliteStore>> {
    let db = root.join("yuqing.db");
    if !create && !db.exists() {
        bail!(
            "数据目录 {} 中没有数据库：请检查 --data，或先运行 yuqing org import / \
             no database in data directory {}: check --data, or run yuqing org import first",
            root.display(),
            root.display()
        );
    }
    let store = SqliteStore::open(&db).await.with_context(|| {
        format!(
            "无法打开数据库 {} / cannot open {}",
            db.display(),
            db.display()
        )
    })?;
    let cases = Cases::new(
        Arc::new(store),
        Arc::new(SystemClock),
        cfg.deadlines.clone(),
    )
    .with_evidence(root.join("evidence"))
    .with_points(cfg.assessment.clone())
    .with_reminder_channels(&cfg.handling())
    .map_err(refused)?;
    Ok(match cfg.reply_mailer()? {
        Some(mailer) => cases.with_reply_mail(mailer),
        None => cases,
    })
}

/// A refusal of the service as an error with its "zh / en" message.
fn refused(e: HandlingError) -> anyhow::Error {
    match e.reason() {
        Some(r) => anyhow::anyhow!("{e}（{r}）"),
        None => anyhow::anyhow!("{e}"),
    }
}

pub async fn run(root: &Path, cfg: &Config, cmd: HandlingCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HandlingCommand::Org { command } => org(root, cfg, command).await,
        HandlingCommand::Duty { command } => duty(root, cfg, command).await,
        HandlingCommand::Case { command } => case(root, cfg, command).await,
        HandlingCommand::Audit { command } => audit(root, cfg, command).await,
        HandlingCommand::Alert { command } => alert(root, cfg, command).await,
        HandlingCommand::User { command } => user(root, cfg, command).await,
        HandlingCommand::Points { command } => points(root, cfg, command).await,
        HandlingCommand::Stats {
            from,
            to,
            as_of,
            as_user,
            json,
        } => {
            let svc = open(root, cfg, false).await?;
            let period = Period {
                from: parse_when(&from).context("--from")?,
                to: parse_end(&to).context("--to")?,
            };
            let as_of = match as_of {
                Some(s) => parse_when(&s).context("--as-of")?,
                None => svc.now(),
            };
            let s = svc
                .stats(&principal(as_user), period, as_of)
                .await
                .map_err(refused)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let pct =
                |r: Option<f64>| r.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0));
            writeln!(
                out,
                "统计区间 / period: {} — {}（截至 / as of {}）",
                bj(period.from),
                bj(period.to),
                bj(as_of)
            )?;
            writeln!(
                out,
                "部门 / departments: 批办 assigned, 回复 replied, 办结 closed, 按时 on time, 超时 overdue, 回复率, 办结率, 按时率, 满意度"
            )?;
            for d in &s.departments {
                writeln!(
                    out,
                    "  {}  {} {} {} {} {}  {} {} {}  {}",
                    d.unit,
                    d.assigned,
                    d.replied,
                    d.closed,
                    d.on_time,
                    d.overdue,
                    pct(d.reply_rate),
                    pct(d.completion_rate),
                    pct(d.on_time_rate),
                    d.mean_satisfaction
                        .map_or_else(|| "-".into(), |m| format!("{m:.2}")),
                )?;
            }
            writeln!(
                out,
                "监测员 / monitors: 发现 found, 首报 found first, 上报 reported, 迟报 late"
            )?;
            for m in &s.monitors {
                writeln!(
                    out,
                    "  {}  {} {} {} {}",
                    m.user, m.found, m.found_first, m.reported, m.late
                )?;
            }
            writeln!(
                out,
                "绩效考核分 / points: 合计 total; 时间 time, 项目 kind, 分值 points, 对象 target, 标题 title"
            )?;
            for m in &s.points {
                writeln!(out, "  {}  {:+}", m.user, m.total)?;
                for e in &m.entries {
                    writeln!(
                        out,
                        "    {}  {}  {:+}  {}  {}{}",
                        bj(e.at),
                        e.kind.label_zh(),
                        e.points,
                        e.target,
                        e.title,
                        e.by.as_deref()
                            .map(|b| format!("（{b}）"))
                            .unwrap_or_default()
                    )?;
                }
            }
            writeln!(
                out,
                "督办事项 / overdue: 案件 case, 承办 lead, 时限 due, 状态 state, 超时 hours late, 事项 title"
            )?;
            for o in &s.overdue {
                writeln!(
                    out,
                    "  {}  {}  {}  {}  {:.1}  {}",
                    o.case,
                    o.unit,
                    bj(o.due_at),
                    if o.met_at.is_some() {
                        "逾期办理/met late"
                    } else {
                        "逾期未办/unmet"
                    },
                    o.late_secs as f64 / 3600.0,
                    o.title
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn points(root: &Path, cfg: &Config, cmd: PointsCommand) -> anyhow::Result<ExitCode> {
    let svc = open(root, cfg, false).await?;
    let line = |a: &yuqing_store::handling::PointAdjustment| {
        format!(
            "{}  {}  {:+}  {}  {}  {}{}{}",
            a.id,
            bj(a.at),
            a.points,
            a.user,
            a.reason,
            a.by,
            a.case_id
                .as_deref()
                .map(|c| format!("  case:{c}"))
                .unwrap_or_default(),
            a.revoked_at
                .map(|t| format!("  已撤销 / revoked {}", bj(t)))
                .unwrap_or_default()
        )
    };
    match cmd {
        PointsCommand::Adjust {
            user,
            points,
            reason,
            case,
            at,
            as_user,
        } => {
            let at = at.as_deref().map(parse_when).transpose().context("--at")?;
            let a = svc
                .adjust_points(
                    yuqing_handling::cases::AdjustPoints {
                        user,
                        points,
                        reason,
                        case,
                        at,
                    },
                    &principal(as_user),
                )
                .await
                .map_err(refused)?;
            outln!("{}", line(&a));
        }
        PointsCommand::Revoke { id, as_user } => {
            let a = svc
                .revoke_adjustment(id, &principal(as_user))
                .await
                .map_err(refused)?;
            outln!("{}", line(&a));
        }
        PointsCommand::List { from, to, json } => {
            let period = Period {
                from: parse_when(&from).context("--from")?,
                to: parse_end(&to).context("--to")?,
            };
            let mut out = std::io::stdout().lock();
            for a in svc.adjustments(period).await.map_err(refused)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&a)?)?;
                } else {
                    writeln!(out, "{}", line(&a))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn org(root: &Path, cfg: &Config, cmd: OrgCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OrgCommand::Import { file, as_user } => {
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!(
                    "无法读取 {} / cannot read {}",
                    file.display(),
                    file.display()
                )
            })?;
            let svc = open(root, cfg, true).await?;
            let org = svc
                .import_org(&text, &principal(as_user))
                .await
                .map_err(refused)?;
            outln!(
                "组织架构已更新：{} 个单位，{} 个用户 / organisation updated: {} units, {} users",
                org.units().count(),
                org.users().count(),
                org.units().count(),
                org.users().count()
            );
            Ok(ExitCode::SUCCESS)
        }
        OrgCommand::Show { json } => {
            let svc = open(root, cfg, false).await?;
            let org = svc.org().await.map_err(refused)?;
            let mut out = std::io::stdout().lock();
            if json {
                let v = json!({
                    "units": org.units().collect::<Vec<_>>(),
                    "users": org.users().collect::<Vec<_>>(),
                });
                writeln!(out, "{v}")?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(out, "单位 / units:")?;
            fn walk(
                org: &yuqing_workflow::Org,
                parent: Option<&str>,
                depth: usize,
                out: &mut impl Write,
            ) -> std::io::Result<()> {
                for u in org.units().filter(|u| u.parent.as_deref() == parent) {
                    writeln!(
                        out,
                        "{}{}  {}（{}）",
                        "  ".repeat(depth + 1),
                        u.id,
                        u.name,
                        u.kind.label_zh()
                    )?;
                    walk(org, Some(&u.id), depth + 1, out)?;
                }
                Ok(())
            }
            walk(&org, None, 0, &mut out)?;
            writeln!(out, "用户 / users:")?;
            for u in org.users() {
                let grants: Vec<String> = u
                    .grants
                    .iter()
                    .map(|g| format!("{}@{}", g.role.label_zh(), g.unit))
                    .collect();
                writeln!(out, "  {}  {}  {}", u.id, u.name, grants.join("，"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn duty(root: &Path, cfg: &Config, cmd: DutyCommand) -> anyhow::Result<ExitCode> {
    let svc = open(root, cfg, false).await?;
    match cmd {
        DutyCommand::Add {
            user,
            unit,
            from,
            to,
            position,
            note,
            as_user,
        } => {
            let slot = NewDutySlot {
                unit,
                user,
                starts_at: parse_when(&from).context("--from")?,
                ends_at: parse_when(&to).context("--to")?,
                position,
                note,
            };
            let added = svc
                .add_duty(vec![slot], &principal(as_user))
                .await
                .map_err(refused)?;
            for s in added {
                outln!(
                    "已添加值班 {} / duty slot {} added: {} @ {}  {} — {}",
                    s.id,
                    s.id,
                    s.user,
                    s.unit,
                    bj(s.starts_at),
                    bj(s.ends_at)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DutyCommand::List { at, json } => {
            let slots = match at {
                Some(t) => svc
                    .on_duty(parse_when(&t).context("--at")?)
                    .await
                    .map_err(refused)?,
                None => {
                    let now = svc.now();
                    svc.duty(now, now + Duration::days(7))
                        .await
                        .map_err(refused)?
                }
            };
            let mut out = std::io::stdout().lock();
            for s in &slots {
                if json {
                    writeln!(out, "{}", serde_json::to_string(s)?)?;
                } else {
                    writeln!(
                        out,
                        "{}  {} @ {}  {} — {}  #{}  {}",
                        s.id,
                        s.user,
                        s.unit,
                        bj(s.starts_at),
                        bj(s.ends_at),
                        s.position,
                        s.note
                    )?;
                }
            }
            if slots.is_empty() && !json {
                writeln!(out, "没有值班安排 / no duty slots")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DutyCommand::Remove { id, as_user } => {
            svc.remove_duty(id, &principal(as_user))
                .await
                .map_err(refused)?;
            outln!("已删除值班 {id} / duty slot {id} removed");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_case_line(out: &mut impl Write, c: &Case) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  v{}  {}（{}）  {}  {}  {}",
        c.id,
        c.version,
        c.state.label_zh(),
        c.state.as_str(),
        c.level.map_or("-", |l| l.label_zh()),
        c.unit,
        c.title
    )
}

fn print_view(out: &mut impl Write, v: &CaseView) -> std::io::Result<()> {
    let c = &v.case;
    writeln!(
        out,
        "案件 / case {}  第 {} 版 / version {}",
        c.id, c.version, c.version
    )?;
    writeln!(out, "  标题 / title: {}", c.title)?;
    writeln!(
        out,
        "  状态 / state: {}（{}）  单位 / unit: {}  级别 / level: {}",
        c.state.label_zh(),
        c.state.as_str(),
        c.unit,
        c.level.map_or("-", |l| l.label_zh())
    )?;
    if let Some(l) = &c.link {
        writeln!(out, "  链接 / link: {l}")?;
    }
    let f = &v.facts;
    writeln!(out, "时间（北京时间）/ times (Beijing):")?;
    writeln!(
        out,
        "  首次采集 / first collected: {}",
        bj(f.first_collected)
    )?;
    writeln!(out, "  登记 / registered: {}", bj(f.first_registered))?;
    writeln!(
        out,
        "  首次上报 / first reported: {}",
        bj_opt(f.first_reported)
    )?;
    writeln!(
        out,
        "  首次批办 / first assigned: {}",
        bj_opt(f.first_assigned)
    )?;
    writeln!(
        out,
        "  首次回复 / first replied: {}",
        bj_opt(f.first_replied)
    )?;
    writeln!(out, "  首次办结 / first closed: {}", bj_opt(f.first_closed))?;
    if !v.deadlines.is_empty() {
        writeln!(out, "时限 / deadlines:")?;
        for d in &v.deadlines {
            let status = match d.status {
                yuqing_workflow::deadlines::DeadlineStatus::MetOnTime => "按时 / on time",
                yuqing_workflow::deadlines::DeadlineStatus::MetLate => "超时完成 / met late",
                yuqing_workflow::deadlines::DeadlineStatus::Pending => "未到期 / pending",
                yuqing_workflow::deadlines::DeadlineStatus::Overdue => "已超时 / overdue",
            };
            writeln!(
                out,
                "  {}（{}）  到期 / due {}  完成 / met {}  {}",
                d.label_zh,
                d.what.as_str(),
                bj(d.due_at),
                bj_opt(d.met_at),
                status
            )?;
        }
    }
    writeln!(out, "经过 / timeline:")?;
    for e in &c.timeline {
        writeln!(
            out,
            "  v{}  {}  {}  {}  {} → {}",
            e.version,
            bj(e.at),
            e.actor,
            e.action,
            e.before.map_or("-", |s| s.as_str()),
            e.after.as_str()
        )?;
    }
    if !v.reminders.is_empty() {
        writeln!(out, "催办 / reminders:")?;
        for r in &v.reminders {
            writeln!(
                out,
                "  {}  {}",
                bj(r.sent_at),
                r.message["zh"].as_str().unwrap_or_default()
            )?;
        }
    }
    writeln!(out, "审计记录 / audit entries: {}", v.audit.len())?;
    Ok(())
}

async fn act(
    svc: &Cases<SqliteStore>,
    id: &str,
    as_user: &str,
    version: u64,
    kind: ActionKind,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let name = kind.label_zh();
    let case = svc
        .apply(id, Action::new(version, kind), as_user)
        .await
        .map_err(refused)?;
    if json {
        outln!("{}", serde_json::to_string(&case)?);
    } else {
        outln!(
            "{name}：案件 {} 现为“{}”，第 {} 版 / case {} is now {}, version {}",
            case.id,
            case.state.label_zh(),
            case.version,
            case.id,
            case.state.as_str(),
            case.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn case(root: &Path, cfg: &Config, cmd: CaseCommand) -> anyhow::Result<ExitCode> {
    let svc = open(root, cfg, false).await?;
    match cmd {
        CaseCommand::New {
            as_user,
            unit,
            title,
            summary,
            link,
            document,
            alert,
            channel,
            negative,
            media_report,
            occurred,
            collected,
            json,
        } => {
            let source = match (document, alert) {
                (Some(d), _) => {
                    let Some((platform, id)) = d.split_once(':') else {
                        bail!(
                            "--document 应写成 平台:编号，如 weibo:123 / --document must be PLATFORM:ID, e.g. weibo:123"
                        );
                    };
                    Origin::Document {
                        platform: platform.into(),
                        id: id.into(),
                    }
                }
                (None, Some(id)) => Origin::Alert { id },
                (None, None) => {
                    let c = channel.as_deref().unwrap_or("other");
                    let channel: ManualChannel = serde_json::from_value(json!(c)).map_err(|_| {
                        anyhow::anyhow!(
                            "未知的来源渠道 {c}：可用 hotline|mailbox|message_board|phone|email|visit|other / \
                             unknown channel {c}: use hotline|mailbox|message_board|phone|email|visit|other"
                        )
                    })?;
                    Origin::Manual { channel }
                }
            };
            let input = NewCase {
                unit,
                source,
                title,
                summary,
                link,
                negative,
                media_report,
                occurred_at: occurred
                    .as_deref()
                    .map(parse_when)
                    .transpose()
                    .context("--occurred")?,
                collected_at: collected
                    .as_deref()
                    .map(parse_when)
                    .transpose()
                    .context("--collected")?,
            };
            let case = svc.register(input, &as_user).await.map_err(refused)?;
            if json {
                outln!("{}", serde_json::to_string(&case)?);
            } else {
                outln!(
                    "已登记案件 {}（第 1 版）/ case {} registered (version 1): {}",
                    case.id,
                    case.id,
                    case.title
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCommand::Act {
            id,
            as_user,
            version,
            action,
            json,
        } => {
            let kind: ActionKind = serde_json::from_str(&action).map_err(|e| {
                anyhow::anyhow!(
                    "动作 JSON 无效：{e}；例如 {{\"type\":\"judge\",\"level\":\"major\",\"facts\":\"…\",\"negative\":true}} / \
                     invalid action JSON: {e}; e.g. {{\"type\":\"judge\",\"level\":\"major\",\"facts\":\"…\",\"negative\":true}}"
                )
            })?;
            act(&svc, &id, &as_user, version, kind, json).await
        }
        CaseCommand::Judge {
            id,
            as_user,
            version,
            level,
            facts,
            negative,
            emergency,
        } => {
            let Some(level) = yuqing_judge::grading::Level::parse(&level) else {
                bail!(
                    "未知的级别 {level}：可用 general|large|major|especially_major / unknown level {level}: use general|large|major|especially_major"
                );
            };
            let kind = ActionKind::Judge {
                level,
                facts,
                negative,
                emergency,
            };
            act(&svc, &id, &as_user, version, kind, false).await
        }
        CaseCommand::Assign {
            id,
            as_user,
            version,
            lead,
            co,
            due,
            instruction,
        } => {
            let kind = ActionKind::Assign {
                lead,
                co,
                due_at: due
                    .as_deref()
                    .map(parse_when)
                    .transpose()
                    .context("--due")?,
                instruction,
            };
            act(&svc, &id, &as_user, version, kind, false).await
        }
        CaseCommand::Close {
            id,
            as_user,
            version,
            summary,
        } => {
            act(
                &svc,
                &id,
                &as_user,
                version,
                ActionKind::Close { summary },
                false,
            )
            .await
        }
        CaseCommand::Attach {
            id,
            as_user,
            version,
            file,
            kind,
            name,
        } => {
            let bytes = std::fs::read(&file).with_context(|| {
                format!(
                    "无法读取 {} / cannot read {}",
                    file.display(),
                    file.display()
                )
            })?;
            let name = name.unwrap_or_else(|| {
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "附件".into())
            });
            let kind = match kind {
                Some(k) => serde_json::from_value(json!(k)).map_err(|_| {
                    anyhow::anyhow!(
                        "--kind {k:?} 无效：可用 text、image、audio、video / invalid --kind {k:?}: use text, image, audio or video"
                    )
                })?,
                None => yuqing_handling::evidence::guess_kind(&name),
            };
            let case = svc
                .attach(&id, &as_user, version, &name, kind, bytes)
                .await
                .map_err(refused)?;
            let a = case.attachments.last().map(|a| a.file.sha256.clone());
            outln!(
                "已添加附件 {name}（sha256 {}），案件 {id} 现为第 {} 版 / attached {name} (sha256 {}), case {id} is now at version {}",
                a.as_deref().unwrap_or("?"),
                case.version,
                a.as_deref().unwrap_or("?"),
                case.version
            );
            Ok(ExitCode::SUCCESS)
        }
        CaseCommand::Attachment {
            id,
            sha256,
            out,
            as_user,
        } => {
            let (a, bytes) = svc
                .attachment(&id, &sha256, &principal(as_user))
                .await
                .map_err(refused)?;
            std::fs::write(&out, &bytes).with_context(|| {
                format!(
                    "无法写入 {} / cannot write {}",
                    out.display(),
                    out.display()
                )
            })?;
            outln!("{}（{} 字节）→ {}", a.name, a.size, out.display());
            Ok(ExitCode::SUCCESS)
        }
        CaseCommand::Show { id, as_user, json } => {
            let v = svc
                .timeline(&id, &principal(as_user))
                .await
                .map_err(refused)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string(&v)?)?;
            } else {
                print_view(&mut out, &v)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCommand::List {
            as_user,
            state,
            unit,
            limit,
            json,
        } => {
            let mut states = Vec::new();
            for s in &state {
                match CaseState::parse(s) {
                    Some(s) => states.push(s),
                    None => bail!(
                        "未知的状态 {s}：可用 registered|judged|reported|assigned|handling|reply_drafted|reply_approved|reply_recorded|closed|archived / \
                         unknown state {s}: use registered|judged|reported|assigned|handling|reply_drafted|reply_approved|reply_recorded|closed|archived"
                    ),
                }
            }
            let filter = CaseFilter {
                states,
                unit,
                limit,
            };
            let cases = svc
                .list(&principal(as_user), &filter)
                .await
                .map_err(refused)?;
            let mut out = std::io::stdout().lock();
            for c in &cases {
                if json {
                    writeln!(out, "{}", serde_json::to_string(c)?)?;
                } else {
                    print_case_line(&mut out, c)?;
                }
            }
            if !json {
                writeln!(out, "共 {} 件 / {} cases", cases.len(), cases.len())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCommand::Tick { now, json } => {
            let now = match now {
                Some(s) => parse_when(&s).context("--now")?,
                None => svc.now(),
            };
            let sent = svc.tick(now).await.map_err(refused)?;
            let mut out = std::io::stdout().lock();
            for r in &sent {
                if json {
                    writeln!(out, "{}", serde_json::to_string(r)?)?;
                } else {
                    writeln!(
                        out,
                        "{}  {}  {}",
                        r.case_id,
                        r.unit,
                        r.message["zh"].as_str().unwrap_or_default()
                    )?;
                }
            }
            if !json {
                writeln!(
                    out,
                    "发出 {} 条催办/督办 / {} reminders sent",
                    sent.len(),
                    sent.len()
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_anchor(s: &str) -> anyhow::Result<Anchor> {
    let bad = || {
        anyhow::anyhow!(
            "--anchor 应写成 序号:哈希（yuqing audit anchor 的输出）/ --anchor must be SEQ:HASH (as printed by yuqing audit anchor)"
        )
    };
    let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(Anchor {
        seq,
        hash: hash.to_ascii_lowercase(),
    })
}

async fn audit(root: &Path, cfg: &Config, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let svc = open(root, cfg, false).await?;
    match cmd {
        AuditCommand::Verify { anchor, json } => {
            let anchor = anchor.as_deref().map(parse_anchor).transpose()?;
            let r = svc.verify_audit(anchor).await.map_err(refused)?;
            if json {
                outln!("{}", serde_json::to_string(&r)?);
            }
            match &r.tampered {
                None => {
                    if !json {
                        let head = r
                            .head
                            .as_ref()
                            .map_or_else(|| "-".into(), |a| format!("{}:{}", a.seq, a.hash));
                        outln!(
                            "审计日志完好：{} 条记录，末条 {head} / audit log intact: {} entries, head {head}",
                            r.entries,
                            r.entries
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(t) => {
                    eprintln!(
                        "错误 / error: 审计日志被篡改（{}，序号 {}）：{} / audit log tampered ({:?}, seq {}): {}",
                        serde_json::to_value(t.kind)?.as_str().unwrap_or_default(),
                        t.seq,
                        t.message_zh,
                        t.kind,
                        t.seq,
                        t.message_en
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Anchor => {
            match svc.anchor().await.map_err(refused)? {
                Some(a) => outln!("{}:{}", a.seq, a.hash),
                None => bail!("审计日志为空 / the audit log is empty"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Log { after, limit } => {
            let mut out = std::io::stdout().lock();
            for e in svc.audit(after, limit).await.map_err(refused)? {
                writeln!(out, "{}", serde_json::to_string(&e)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn alert(root: &Path, cfg: &Config, cmd: AlertCommand) -> anyhow::Result<ExitCode> {
    use yuqing_store::HandlingStore;
    use yuqing_store::handling::{AlertQuery, AlertVerdict, Verdict};
    let svc = open(root, cfg, false).await?;
    let store = svc.store().clone();
    let level =
        |code: i64| yuqing_judge::grading::Level::from_code(code).map_or("?", |l| l.label_zh());
    let mut out = std::io::stdout().lock();
    match cmd {
        AlertCommand::List {
            unacked,
            limit,
            json,
        } => {
            let rows = store
                .alerts(&AlertQuery {
                    unacked,
                    limit: limit.max(1),
                    ..Default::default()
                })
                .await?;
            for a in rows {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&a)?)?;
                    continue;
                }
                writeln!(
                    out,
                    "#{}  {}  {}  事件 {}  {}  {}  命中 {} 次  {}{}",
                    a.id,
                    bj(a.raised_at),
                    level(a.level),
                    a.event_id,
                    a.plan.as_deref().unwrap_or("-"),
                    a.message["title"].as_str().unwrap_or(""),
                    a.hits,
                    a.acked_by
                        .as_deref()
                        .map_or_else(|| "未确认".to_owned(), |u| format!("已确认：{u}")),
                    a.verdict.as_ref().map_or_else(String::new, |v| format!(
                        "  研判：{}（{}）",
                        v.verdict.label_zh(),
                        v.by
                    )),
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Show { id, json } => {
            let Some(a) = store.alert(id).await? else {
                bail!("没有编号为 {id} 的预警 / no alert {id}");
            };
            let deliveries = store.outbox_of(&id.to_string()).await?;
            let notices = store.notices(&[id]).await?;
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({ "alert": a, "deliveries": deliveries, "notices": notices })
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "预警 #{id}  {}  事件 {}  规则 {}  方案 {}",
                level(a.level),
                a.event_id,
                a.rule,
                a.plan.as_deref().unwrap_or("-")
            )?;
            writeln!(out, "标题：{}", a.message["title"].as_str().unwrap_or(""))?;
            writeln!(out, "原因：{}", a.message["why"].as_str().unwrap_or(""))?;
            writeln!(
                out,
                "发出 {}，命中 {} 次，{}",
                bj(a.raised_at),
                a.hits,
                a.acked_at.map_or_else(
                    || "未确认".to_owned(),
                    |t| format!("{} 由 {} 确认", bj(t), a.acked_by.as_deref().unwrap_or("?"))
                )
            )?;
            for d in deliveries {
                writeln!(
                    out,
                    "  渠道 {}：{}",
                    d.channel,
                    d.delivered_at
                        .map_or_else(|| "待发送".to_owned(), |t| format!("{} 送达", bj(t)))
                )?;
                for l in d.body["log"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "    第 {} 次 {} {} {}",
                        l["number"],
                        l["started_at"].as_str().unwrap_or(""),
                        l["state"].as_str().unwrap_or(""),
                        l["detail"].as_str().unwrap_or("")
                    )?;
                }
            }
            for n in notices {
                writeln!(
                    out,
                    "  升级通知 第 {} 位：{}（{}）",
                    n.step + 1,
                    n.who,
                    bj(n.at)
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Ack { id, as_user } => {
            let org = svc.org().await.map_err(refused)?;
            if org.user(&as_user).is_none() {
                bail!("用户 {as_user} 不在组织架构中 / user {as_user} is not in the organisation");
            }
            let Some(a) = store.ack_alert(id, &as_user, svc.now()).await? else {
                bail!("没有编号为 {id} 的预警 / no alert {id}");
            };
            writeln!(
                out,
                "预警 #{id} 已由 {} 确认 / alert {id} acknowledged by {}",
                a.acked_by.as_deref().unwrap_or("?"),
                a.acked_by.as_deref().unwrap_or("?")
            )?;
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Verdict {
            id,
            verdict,
            note,
            as_user,
        } => {
            let Some(v) = Verdict::parse(verdict.trim()) else {
                bail!(
                    "未知的研判结论 {verdict:?}：应为 confirmed（属实）或 false_alarm（误报）/ \
                     unknown verdict {verdict:?}: confirmed or false_alarm"
                );
            };
            let org = svc.org().await.map_err(refused)?;
            if org.user(&as_user).is_none() {
                bail!("用户 {as_user} 不在组织架构中 / user {as_user} is not in the organisation");
            }
            let given = AlertVerdict::new(v, &note, &as_user, svc.now());
            if store.set_alert_verdict(id, &given).await?.is_none() {
                bail!("没有编号为 {id} 的预警 / no alert {id}");
            }
            writeln!(
                out,
                "预警 #{id}：{}（{as_user}）/ alert {id}: {}",
                v.label_zh(),
                v.as_str()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        AlertCommand::Quality { since, until, json } => {
            let since = since.as_deref().map(parse_when).transpose()?;
            let until = until.as_deref().map(parse_end).transpose()?;
            let rows = store
                .alerts(&AlertQuery {
                    since,
                    until,
                    ..Default::default()
                })
                .await?;
            let quality = yuqing_handling::verdicts::plan_quality(&rows);
            if json {
                for q in &quality {
                    writeln!(out, "{}", serde_json::to_string(q)?)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "监测方案 / plan: 预警 alerts, 属实 confirmed, 误报 false alarms, 未研判 unjudged, 误报率 rate"
            )?;
            for q in &quality {
                writeln!(
                    out,
                    "  {}  {} {} {} {}  {}",
                    if q.plan.is_empty() { "-" } else { &q.plan },
                    q.alerts,
                    q.confirmed,
                    q.false_alarms,
                    q.unjudged,
                    q.false_alarm_rate
                        .map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn user(root: &Path, cfg: &Config, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    use yuqing_handling::access::Access;
    let svc = open(root, cfg, false).await?;
    let access = Access::new(
        svc.store().clone(),
        Arc::new(SystemClock),
        Default::default(),
    );
    let mut out = std::io::stdout().lock();
    match cmd {
        UserCommand::Passwd { user } => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprint!("{user} 的新密码 / new password for {user}: ");
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("无法读取标准输入 / cannot read standard input")?;
            let pw = line.trim_end_matches(['\n', '\r']);
            access
                .set_password(&Principal::Operator, &user, pw)
                .await
                .map_err(refused)?;
            writeln!(
                out,
                "已为 {user} 设置密码；下次登录须修改，现有会话已结束 / \
                 password of {user} set: it must be changed at the next login; their sessions ended"
            )?;
        }
        UserCommand::Token { user, name } => {
            let t = access
                .create_token(&Principal::Operator, &user, &name)
                .await
                .map_err(refused)?;
            eprintln!(
                "令牌 {id}（{name}，属于 {user}）仅显示这一次，请妥善保存 / token {id} ({name}, of {user}) is shown only this once: keep it safe",
                id = t.row.id,
                name = t.row.name,
            );
            writeln!(out, "{}", t.token)?;
        }
        UserCommand::Tokens { user, json } => {
            for t in access.tokens(Some(&user)).await.map_err(refused)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&t)?)?;
                } else {
                    writeln!(
                        out,
                        "{}\t{}\t创建 / created {}\t最近使用 / last used {}\t{}",
                        t.id,
                        t.name,
                        bj(t.created_at),
                        bj_opt(t.last_used),
                        t.revoked_at.map_or_else(
                            || "有效 / active".to_string(),
                            |r| format!("已撤销 / revoked {}", bj(r))
                        ),
                    )?;
                }
            }
        }
        UserCommand::Revoke { id } => {
            let t = access
                .revoke_token(&Principal::Operator, id)
                .await
                .map_err(refused)?;
            writeln!(
                out,
                "令牌 {id}（{}，属于 {}）已撤销 / token {id} ({}, of {}) revoked",
                t.name, t.user, t.name, t.user
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
