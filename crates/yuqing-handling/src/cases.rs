//! The case workflow over a store (`docs/specs/case-workflow.md` §8): [`Cases`] loads the
//! organisation and cases, runs the pure `yuqing-workflow` steps with the injected clock's
//! time, and writes the result together with its audit entries in one store transaction.
//!
//! - organisation: [`Cases::org`], [`Cases::put_org`] (merged with what is stored and
//!   validated as a whole), [`Cases::import_org`] (a TOML or JSON file);
//! - duty roster: [`Cases::add_duty`], [`Cases::duty`], [`Cases::remove_duty`],
//!   [`Cases::on_duty`];
//! - cases: [`Cases::register`] (numbered `YYYY-NNNN` per Beijing year; from a stored
//!   document, an alert, or by hand), [`Cases::apply`] (optimistic version check: a
//!   concurrent write is a `conflict`), [`Cases::case`] / [`Cases::list`] within the
//!   viewer's scope, [`Cases::timeline`] (timeline, audit entries, reminders, the times that
//!   prove timeliness and every deadline's status);
//! - deadlines: [`Cases::tick`] sends each 催办/督办 once (the stored keys are the memory);
//! - statistics: [`Cases::stats`];
//! - audit: [`Cases::verify_audit`] checks the whole hash chain (and an anchor).
//!
//! **Who may do what.** Case steps are checked by the workflow (roles and scope from the
//! stored organisation, never from the caller). Changing the organisation needs an
//! administrator once one exists (the first import bootstraps it). Changing the duty
//! roster of a unit needs an administrator, leader or analyst there. Reads are scoped: a
//! user sees the cases of the units under the units where they hold a role, and the cases
//! assigned to a department they are liaison of; [`Principal::Operator`] (the local operator of the
//! CLI) sees everything.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yuqing_core::{Clock, Code};
use yuqing_judge::grading::beijing;
use yuqing_store::handling::{AlertQuery, CaseQuery, DutySlot, NewDutySlot, ReminderRow};
use yuqing_store::{HandlingStore, Store};
use yuqing_workflow::audit::{self, Anchor, AuditEntry, NewEntry, TamperKind, Tampered};
use yuqing_workflow::case::{
    Action, ActionKind, Actor, Case, CaseSource, CaseState, ManualChannel, Registration,
    TimelineEntry,
};
use yuqing_workflow::deadlines::{DeadlineKind, DeadlineRules, DeadlineStatus, deadlines_for};
use yuqing_workflow::org::{Org, Role, Unit, User};
use yuqing_workflow::points::{self, MonitorPoints, PassedAlert, PointRules};
use yuqing_workflow::stats::{self, DepartmentStats, MonitorStats, OverdueItem, Period};

use crate::error::{HandlingError, Result};

mod assessment;
pub use assessment::{AdjustPoints, in_force};

/// Who asks: the local operator (the CLI, which holds the database file anyway: sees
/// everything, may change the organisation and the duty roster, is audited as `cli`), or
/// a user of the organisation, whose roles decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator,
    User(String),
}

impl Principal {
    pub fn user(id: impl Into<String>) -> Self {
        Principal::User(id.into())
    }
    /// The name written to the audit log.
    pub fn name(&self) -> &str {
        match self {
            Principal::Operator => "cli",
            Principal::User(u) => u,
        }
    }
}

/// An organisation file (`yuqing org import`, `PUT /api/v1/org`): units and users, each
/// merged by id with what is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFile {
    #[serde(default)]
    pub units: Vec<Unit>,
    #[serde(default)]
    pub users: Vec<User>,
}

impl OrgFile {
    /// Parses JSON (when the text starts with `{`) or TOML (`[[units]]`, `[[users]]`).
    pub fn parse(text: &str) -> Result<OrgFile> {
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            serde_json::from_str(t).map_err(|e| {
                HandlingError::invalid(
                    format!("组织架构 JSON 无效：{e}"),
                    format!("invalid organisation JSON: {e}"),
                )
            })
        } else {
            toml::from_str(t).map_err(|e| {
                let e = e.to_string().replace('\n', " ");
                HandlingError::invalid(
                    format!("组织架构 TOML 无效：{e}"),
                    format!("invalid organisation TOML: {e}"),
                )
            })
        }
    }
}

/// Where a new case comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Origin {
    /// A stored document.
    Document { platform: String, id: String },
    /// A stored alert.
    Alert { id: i64 },
    /// Entered by hand (hotline, mailbox, message board, …).
    Manual { channel: ManualChannel },
}

/// What registering a case takes. Title, link and times are filled from the document or
/// alert when not given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The unit that owns the case.
    pub unit: String,
    pub source: Origin,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub negative: bool,
    #[serde(default)]
    pub media_report: bool,
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only these states; empty: all.
    pub states: Vec<CaseState>,
    /// Only cases owned by this unit or a unit below it.
    pub unit: Option<String>,
    /// At most this many (0: no limit), most recently updated first.
    pub limit: usize,
}

/// The first time of each milestone, never overwritten (what proves timeliness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimingFacts {
    /// First collected (by the system or a person).
    pub first_collected: DateTime<Utc>,
    /// First seen by a person: the registration.
    pub first_registered: DateTime<Utc>,
    pub first_reported: Option<DateTime<Utc>>,
    pub first_assigned: Option<DateTime<Utc>>,
    pub first_drafted: Option<DateTime<Utc>>,
    pub first_replied: Option<DateTime<Utc>>,
    pub first_closed: Option<DateTime<Utc>>,
}

/// One deadline of a case and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineView {
    pub what: DeadlineKind,
    pub label_zh: &'static str,
    pub due_at: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
    /// `met_on_time`, `met_late`, `pending` or `overdue` at the time of the view.
    pub status: DeadlineStatus,
    /// Met late, or unmet and past due.
    pub late: bool,
    pub unit: String,
}

impl DeadlineView {
    /// Every deadline of `case` under `rules`, as it stands at `as_of`.
    pub fn of(case: &Case, rules: &DeadlineRules, as_of: DateTime<Utc>) -> Vec<DeadlineView> {
        deadlines_for(case, rules)
            .into_iter()
            .map(|d| DeadlineView {
                what: d.what,
                label_zh: d.what.label_zh(),
                due_at: d.due_at,
                met_at: d.met_at,
                status: d.status(as_of),
                late: d.missed(as_of),
                unit: d.unit,
            })
            .collect()
    }
}

/// A case with everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    /// The case (with its own timeline).
    pub case: Case,
    pub facts: TimingFacts,
    pub deadlines: Vec<DeadlineView>,
    /// The reminders sent (催办/督办), oldest first.
    pub reminders: Vec<ReminderRow>,
    /// Where each reminder was sent on the channels (`[deadlines] remind_channels`), and
    /// whether it arrived: the office can show when it chased the department.
    pub reminders_sent: Vec<ReminderSent>,
    /// Whether a 督办 (overdue supervision) was sent for it.
    pub supervised: bool,
    /// The audit entries about the case, in order.
    pub audit: Vec<AuditEntry>,
    /// When the view was computed.
    pub as_of: DateTime<Utc>,
}

/// One reminder's message to one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReminderSent {
    /// The reminder's key ([`ReminderRow::key`]).
    pub key: String,
    pub channel: String,
    /// When the channel accepted it (none yet: still being tried).
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts so far.
    pub attempts: i64,
}

/// Department and monitor figures of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub period: Period,
    pub as_of: DateTime<Utc>,
    pub departments: Vec<DepartmentStats>,
    pub monitors: Vec<MonitorStats>,
    /// The monitors' performance points (绩效考核分), itemised.
    pub points: Vec<MonitorPoints>,
    /// The leaders' adjustments (领导加减分) that count in the period, revoked ones too.
    pub adjustments: Vec<yuqing_store::handling::PointAdjustment>,
    /// The people whose points the viewer may adjust, and whose adjustments they may revoke
    /// (the form offers only these).
    pub adjustable: Vec<String>,
    /// Missed department deadlines (督办事项): unmet at `as_of`, or met late in the period.
    pub overdue: Vec<OverdueItem>,
}

/// What verifying the audit chain found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// No tampering found (and the anchor, if given, still matches).
    pub ok: bool,
    /// Entries read.
    pub entries: u64,
    /// The last entry (keep it elsewhere as an anchor).
    pub head: Option<Anchor>,
    /// The anchor checked, if any.
    pub anchor: Option<Anchor>,
    /// The first problem found.
    pub tampered: Option<Finding>,
}

/// A problem in the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: TamperKind,
    pub seq: u64,
    /// "zh / en".
    pub message: String,
    pub message_zh: String,
    pub message_en: String,
}

impl From<Tampered> for Finding {
    fn from(t: Tampered) -> Self {
        Finding {
            kind: t.kind,
            seq: t.seq,
            message: t.to_string(),
            message_zh: t.reason.zh,
            message_en: t.reason.en,
        }
    }
}

/// The case service.
pub struct Cases<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    rules: DeadlineRules,
    points: PointRules,
    reminders: Option<crate::reminders::ReminderDelivery>,
    evidence: Option<crate::evidence::Evidence>,
    reply_mail: Option<Arc<yuqing_alert::ReplyMailer>>,
}

/// The audit entry of one timeline step.
pub fn audit_entry(case_id: &str, e: &TimelineEntry) -> NewEntry {
    NewEntry {
        at: e.at,
        actor: e.actor.clone(),
        action: e.action.clone(),
        target: format!("case:{case_id}"),
        before: e
            .before
            .map(|s| json!({"state": s, "version": e.version.saturating_sub(1)})),
        after: Some(json!({
            "state": e.after,
            "version": e.version,
            "unit": e.unit,
            "detail": e.detail,
        })),
    }
}

fn open_states() -> Vec<String> {
    CaseState::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str().to_string())
        .collect()
}

/// Whether `user` may see `case`: a role at the case's unit (or above), or liaison of a
/// department handling it.
pub fn visible(org: &Org, user: &str, case: &Case) -> bool {
    if org.in_scope(user, &case.unit) {
        return true;
    }
    case.assignment.as_ref().is_some_and(|a| {
        std::iter::once(&a.lead)
            .chain(a.co.iter())
            .any(|d| org.has_role(user, d, Role::Liaison))
    })
}

fn first_chars(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl<S: Store + HandlingStore> Cases<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, rules: DeadlineRules) -> Self {
        Self {
            store,
            clock,
            rules,
            points: PointRules::default(),
            reminders: None,
            evidence: None,
            reply_mail: None,
        }
    }

    /// Sends replies recorded with `mail_to` (and resends) through `mailer` (`[reply_mail]`);
    /// without it such actions are refused.
    pub fn with_reply_mail(mut self, mailer: Arc<yuqing_alert::ReplyMailer>) -> Self {
        self.reply_mail = Some(mailer);
        self
    }

    /// Sends the 催办/督办 reminders to `[deadlines] remind_channels` as well (nothing
    /// changes when the list is empty); refuses a channel that is not configured.
    pub fn with_reminder_channels(mut self, settings: &crate::HandlingSettings) -> Result<Self> {
        self.reminders = crate::reminders::ReminderDelivery::new(settings)?;
        Ok(self)
    }

    /// Weighs the monitors' performance points with `rules` (`[assessment]`; the defaults
    /// otherwise).
    pub fn with_points(mut self, rules: PointRules) -> Self {
        self.points = rules;
        self
    }

    /// Keeps evidence files in `dir` (`<data>/evidence`); without it attaching is refused.
    pub fn with_evidence(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.evidence = Some(crate::evidence::Evidence::new(dir));
        self
    }

    fn evidence(&self) -> Result<&crate::evidence::Evidence> {
        self.evidence.as_ref().ok_or_else(|| {
            HandlingError::refused(
                yuqing_core::Code::Unavailable,
                "此节点未配置附件目录",
                "no evidence directory is configured on this node",
            )
        })
    }

    /// 添加附件: stores the file by its hash and records it on the case (an `attach`
    /// step, audited with the hash). The actor must be allowed to act on the case.
    pub async fn attach(
        &self,
        case_id: &str,
        actor: &str,
        expected_version: u64,
        name: &str,
        kind: yuqing_workflow::case::AttachmentKind,
        bytes: Vec<u8>,
    ) -> Result<Case> {
        // Refuse early what the workflow would refuse, before writing the file.
        let org = self.org().await?;
        let Some(case) = self.store.case(case_id).await? else {
            return Err(Self::missing(case_id));
        };
        Self::check_visible(&org, &Principal::user(actor), &case)?;
        let (sha256, size) = self.evidence()?.put(bytes).await?;
        let attachment = yuqing_workflow::case::Attachment {
            kind,
            name: name.to_owned(),
            sha256,
            size,
        };
        self.apply(
            case_id,
            Action::new(
                expected_version,
                yuqing_workflow::case::ActionKind::Attach { attachment },
            ),
            actor,
        )
        .await
    }

    /// An evidence file of a case the viewer may see, checked against its hash.
    pub async fn attachment(
        &self,
        case_id: &str,
        sha256: &str,
        viewer: &Principal,
    ) -> Result<(yuqing_workflow::case::Attachment, Vec<u8>)> {
        let case = self.case(case_id, viewer).await?;
        let Some(a) = case
            .attachments
            .iter()
            .find(|a| a.file.sha256 == sha256)
            .map(|a| a.file.clone())
        else {
            return Err(HandlingError::not_found(
                format!("案件 {case_id} 没有哈希为 {sha256} 的附件"),
                format!("case {case_id} has no attachment {sha256}"),
            ));
        };
        let bytes = self.evidence()?.get(sha256).await?;
        Ok((a, bytes))
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
    pub fn rules(&self) -> &DeadlineRules {
        &self.rules
    }
    /// The weights of the performance points.
    pub fn point_rules(&self) -> &PointRules {
        &self.points
    }
    /// The injected clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    // ---- organisation ----

    /// The stored organisation, validated.
    pub async fn org(&self) -> Result<Org> {
        let (units, users) = self.store.org().await?;
        Ok(Org::new(units, users)?)
    }

    /// Creates or replaces units and users (by id), after validating the merged whole.
    /// Once the organisation has an administrator, only an administrator may change it.
    /// Audited as `org.update` with the changed objects before and after.
    pub async fn put_org(&self, units: Vec<Unit>, users: Vec<User>, by: &Principal) -> Result<Org> {
        let (old_units, old_users) = self.store.org().await?;
        let has_admin = old_users
            .iter()
            .any(|u| u.grants.iter().any(|g| g.role == Role::Admin));
        let by_admin = old_users
            .iter()
            .any(|u| u.id == by.name() && u.grants.iter().any(|g| g.role == Role::Admin));
        if let Principal::User(by) = by
            && has_admin
            && !by_admin
        {
            return Err(HandlingError::forbidden(
                format!("{by} 不是系统管理员，不能修改组织架构；请由系统管理员操作"),
                format!("{by} is not an administrator and cannot change the organisation"),
            ));
        }
        if units.is_empty() && users.is_empty() {
            return Err(HandlingError::invalid(
                "没有要修改的单位或用户",
                "nothing to change: give units or users",
            ));
        }
        let mut merged_units = old_units.clone();
        let mut before_units = Vec::new();
        for u in &units {
            match merged_units.iter_mut().find(|x| x.id == u.id) {
                Some(x) => {
                    before_units.push(x.clone());
                    *x = u.clone();
                }
                None => merged_units.push(u.clone()),
            }
        }
        let mut merged_users = old_users.clone();
        let mut before_users = Vec::new();
        for u in &users {
            match merged_users.iter_mut().find(|x| x.id == u.id) {
                Some(x) => {
                    before_users.push(x.clone());
                    *x = u.clone();
                }
                None => merged_users.push(u.clone()),
            }
        }
        // Duplicates inside the request itself are refused by `Org::new` below only if
        // they survive the merge, so check them here.
        for (i, u) in units.iter().enumerate() {
            if units[..i].iter().any(|x| x.id == u.id) {
                return Err(HandlingError::invalid(
                    format!("单位编号 {} 重复；每个单位的编号必须唯一", u.id),
                    format!("unit id {} appears twice: unit ids must be unique", u.id),
                ));
            }
        }
        for (i, u) in users.iter().enumerate() {
            if users[..i].iter().any(|x| x.id == u.id) {
                return Err(HandlingError::invalid(
                    format!("用户账号 {} 重复", u.id),
                    format!("user id {} appears twice", u.id),
                ));
            }
        }
        let org = Org::new(merged_units, merged_users)?;
        let entry = NewEntry {
            at: self.now(),
            actor: by.name().to_string(),
            action: "org.update".into(),
            target: "org".into(),
            before: Some(json!({"units": before_units, "users": before_users})),
            after: Some(json!({"units": units, "users": users})),
        };
        self.store.put_org(&units, &users, vec![entry]).await?;
        Ok(org)
    }

    /// [`Cases::put_org`] from the text of an organisation file (TOML or JSON).
    pub async fn import_org(&self, text: &str, by: &Principal) -> Result<Org> {
        let f = OrgFile::parse(text)?;
        self.put_org(f.units, f.users, by).await
    }

    // ---- duty roster ----

    /// Whether `by` may manage the duty roster of `unit`.
    fn require_duty_manager(org: &Org, by: &Principal, unit: &str) -> Result<()> {
        org.require_unit(unit)?;
        let Principal::User(by) = by else {
            return Ok(());
        };
        org.require_user(by)?;
        let roles = org.roles_at(by, unit);
        if [Role::Admin, Role::Leader, Role::Analyst]
            .iter()
            .any(|r| roles.contains(r))
        {
            return Ok(());
        }
        Err(HandlingError::forbidden(
            format!(
                "{by} 不能安排单位 {unit} 的值班；只有该单位的系统管理员、领导小组或舆情办可以"
            ),
            format!(
                "{by} may not manage the duty roster of {unit}: only its administrators, leaders or analysts may"
            ),
        ))
    }

    /// Adds duty slots (audited as `duty.add`).
    pub async fn add_duty(&self, slots: Vec<NewDutySlot>, by: &Principal) -> Result<Vec<DutySlot>> {
        let org = self.org().await?;
        for s in &slots {
            Self::require_duty_manager(&org, by, &s.unit)?;
            org.require_user(&s.user)?;
            if s.ends_at <= s.starts_at {
                return Err(HandlingError::invalid(
                    "值班结束时间必须晚于开始时间",
                    "a duty slot must end after it starts",
                ));
            }
        }
        let now = self.now();
        let audit = slots
            .iter()
            .map(|s| NewEntry {
                at: now,
                actor: by.name().to_string(),
                action: "duty.add".into(),
                target: format!("duty:{}", s.unit),
                before: None,
                after: Some(json!({
                    "unit": s.unit, "user": s.user, "starts_at": s.starts_at,
                    "ends_at": s.ends_at, "position": s.position, "note": s.note,
                })),
            })
            .collect();
        Ok(self.store.add_duty(&slots, audit).await?)
    }

    /// Duty slots overlapping `[from, to)`.
    pub async fn duty(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DutySlot>> {
        Ok(self.store.duty(from, to).await?)
    }

    /// Who is on duty at `at`, by position.
    pub async fn on_duty(&self, at: DateTime<Utc>) -> Result<Vec<DutySlot>> {
        let mut v = self.store.duty(at, at + Duration::milliseconds(1)).await?;
        v.sort_by_key(|s| (s.position, s.starts_at, s.id));
        Ok(v)
    }

    /// Removes a duty slot (audited as `duty.remove`).
    pub async fn remove_duty(&self, id: i64, by: &Principal) -> Result<()> {
        let org = self.org().await?;
        // Find the slot to check the remover's rights on its unit and to audit it.
        let all = self
            .store
            .duty(
                DateTime::<Utc>::MIN_UTC,
                DateTime::<Utc>::MAX_UTC - Duration::days(1),
            )
            .await?;
        let Some(slot) = all.into_iter().find(|s| s.id == id) else {
            return Err(HandlingError::not_found(
                format!("没有编号为 {id} 的值班安排"),
                format!("no duty slot {id}"),
            ));
        };
        Self::require_duty_manager(&org, by, &slot.unit)?;
        let entry = NewEntry {
            at: self.now(),
            actor: by.name().to_string(),
            action: "duty.remove".into(),
            target: format!("duty:{}", slot.unit),
            before: Some(serde_json::to_value(&slot).unwrap_or(Value::Null)),
            after: None,
        };
        if !self.store.remove_duty(id, vec![entry]).await? {
            return Err(HandlingError::not_found(
                format!("没有编号为 {id} 的值班安排"),
                format!("no duty slot {id}"),
            ));
        }
        Ok(())
    }

    // ---- cases ----

    /// 登记: registers a case with the next number of the (Beijing) year.
    pub async fn register(&self, input: NewCase, actor: &str) -> Result<Case> {
        let org = self.org().await?;
        let now = self.now();
        let NewCase {
            unit,
            source,
            title,
            summary,
            mut link,
            negative,
            media_report,
            mut occurred_at,
            mut collected_at,
        } = input;
        let title = title.filter(|t| !t.trim().is_empty());
        let mut fill_title = None;
        let (case_source, item_key, alert_id) = match &source {
            Origin::Document { platform, id } => {
                let Some(d) = self.store.get(platform, id).await? else {
                    return Err(HandlingError::not_found(
                        format!("没有文档 {platform}:{id}"),
                        format!("no document {platform}:{id}"),
                    ));
                };
                fill_title = Some(
                    d.doc
                        .title
                        .clone()
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or_else(|| first_chars(&d.doc.text, 60)),
                );
                link = link.or(d.doc.url.clone());
                occurred_at = occurred_at.or(d.doc.published_at.map(|t| t.with_timezone(&Utc)));
                collected_at = collected_at.or(Some(d.ingested_at));
                (
                    CaseSource::Document {
                        document: format!("{platform}:{id}"),
                    },
                    Some(format!("doc:{platform}:{id}")),
                    None,
                )
            }
            Origin::Alert { id } => {
                let Some(a) = self.store.alert(*id).await? else {
                    return Err(HandlingError::not_found(
                        format!("没有预警 {id}"),
                        format!("no alert {id}"),
                    ));
                };
                let m = &a.message;
                fill_title = m["title"].as_str().map(str::to_string);
                link = link.or(m["link"].as_str().map(str::to_string));
                let time = |v: &Value| {
                    v.as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| t.with_timezone(&Utc))
                };
                collected_at = collected_at.or(time(&m["found_at"])).or(Some(a.raised_at));
                occurred_at = occurred_at.or(time(&m["first_publisher"]["time"]));
                (
                    CaseSource::Alert {
                        alert_id: id.to_string(),
                    },
                    Some(format!("alert:{id}")),
                    Some((*id, a.case_id)),
                )
            }
            Origin::Manual { channel } => (CaseSource::Manual { channel: *channel }, None, None),
        };
        let title = title.or(fill_title).unwrap_or_default();
        // A publication time after the collection time (clock skew at a site) would make
        // the registration fail; such an item was collected when it was published at best.
        if let (Some(o), Some(c)) = (occurred_at, collected_at)
            && o > c
            && !matches!(source, Origin::Manual { .. })
        {
            occurred_at = Some(c);
        }
        let mut reg = Registration {
            id: "check".into(),
            unit,
            source: case_source,
            title,
            summary,
            link,
            negative,
            media_report,
            occurred_at,
            collected_at,
        };
        let who = Actor::new(actor);
        // Check first, so a refused registration does not use up a case number.
        Case::register(reg.clone(), &who, &org, now)?;
        let year = now.with_timezone(&beijing()).year();
        for _ in 0..100 {
            let n = self.store.next_number(&format!("case:{year}")).await?;
            reg.id = format!("{year}-{n:04}");
            let (case, entry) = Case::register(reg.clone(), &who, &org, now)?;
            let audit = vec![audit_entry(&case.id, &entry)];
            if self
                .store
                .create_case(&case, item_key.as_deref(), audit)
                .await?
            {
                if let Some((alert, None)) = alert_id {
                    self.store.link_alert_case(alert, &case.id).await?;
                }
                return Ok(case);
            }
        }
        Err(HandlingError::refused(
            Code::Internal,
            "无法分配案件编号（编号均已被占用）",
            "cannot allocate a case number (all taken)",
        ))
    }

    fn missing(id: &str) -> HandlingError {
        HandlingError::not_found(format!("没有案件 {id}"), format!("no case {id}"))
    }

    /// Applies one workflow step as `actor`, against the version they saw.
    ///
    /// A reply recorded with `mail_to`, and `resend_reply_mail`, also send the reply by
    /// e-mail (`[reply_mail]`) once the step is stored, then record the outcome
    /// (`reply_mailed`): the case returned says whether the server accepted it. A mail is
    /// only ever sent after the step that asks for it is stored, so a node that stops in
    /// between leaves the reply `sending` (maybe sent) for a person to resend, never a second
    /// mail on its own. `reply_mailed` itself is the node's, never a client's.
    pub async fn apply(&self, case_id: &str, action: Action, actor: &str) -> Result<Case> {
        // Which reply to e-mail: `Some(None)` the one this step records (the last),
        // `Some(Some(i))` reply `i` again.
        let mail_reply = match &action.kind {
            ActionKind::ReplyMailed { .. } => {
                return Err(HandlingError::invalid(
                    "邮件发送结果由系统记录，不能手工提交",
                    "how sending went is recorded by the system, not submitted",
                ));
            }
            ActionKind::RecordReply {
                mail_to: Some(to), ..
            } if !to.trim().is_empty() => Some(None),
            ActionKind::ResendReplyMail { reply } => Some(Some(*reply)),
            _ => None,
        };
        let Some(which) = mail_reply else {
            return self.apply_step(case_id, action, actor).await;
        };
        let Some(mailer) = self.reply_mail.clone() else {
            return Err(HandlingError::refused(
                Code::Unavailable,
                "未配置答复邮件（[reply_mail]）：不能用邮件发送答复；请在配置文件中设置发件服务器，或去掉收件地址后只记录答复",
                "no [reply_mail] is configured: replies cannot be sent by e-mail; configure the sending server, or record the reply without an address",
            ));
        };
        let case = self.apply_step(case_id, action, actor).await?;
        let reply = which.unwrap_or(case.replies.len().saturating_sub(1));
        self.send_reply_mail(case, reply, actor, &mailer).await
    }

    /// Sends reply `reply` of `case` (just marked `sending`) and records the outcome.
    async fn send_reply_mail(
        &self,
        mut case: Case,
        reply: usize,
        actor: &str,
        mailer: &yuqing_alert::ReplyMailer,
    ) -> Result<Case> {
        let Some(published) = case.replies.get(reply) else {
            return Ok(case);
        };
        let Some(mail) = &published.mail else {
            return Ok(case);
        };
        // The letter it answers: its Message-ID threads the reply.
        let mut in_reply_to = None;
        if let CaseSource::Document { document } = &case.source
            && let Some((platform, id)) = document.split_once(':')
            && let Some(d) = self.store.get(platform, id).await?
            && d.doc.kind == yuqing_core::Kind::Message
        {
            in_reply_to = d.doc.id.clone();
        }
        let outgoing = yuqing_alert::OutgoingReply {
            to: mail.to.clone(),
            subject: format!("Re: {}", case.title),
            body: published.text.clone(),
            in_reply_to,
            message_id: mailer.message_id(&case.id, reply, mail.attempts),
        };
        let (message_id, detail) = match mailer.send(&outgoing, self.now()).await {
            Ok(answer) => (Some(outgoing.message_id.clone()), answer),
            Err(e) => {
                tracing::warn!(case = %case.id, reply, error = %e, "a reply could not be sent by e-mail");
                (None, e.to_string())
            }
        };
        // Someone may act on the case meanwhile: record on the version there is.
        for _ in 0..5 {
            let kind = ActionKind::ReplyMailed {
                reply,
                message_id: message_id.clone(),
                detail: detail.clone(),
            };
            let step = Action {
                expected_version: case.version,
                kind,
            };
            match self.apply_step(&case.id, step, actor).await {
                Ok(done) => return Ok(done),
                Err(e) if e.code() == Code::Conflict => {
                    let Some(fresh) = self.store.case(&case.id).await? else {
                        return Err(Self::missing(&case.id));
                    };
                    case = fresh;
                }
                Err(e) => return Err(e),
            }
        }
        Err(HandlingError::conflict(
            format!(
                "案件 {} 正被频繁修改，未能记录邮件发送结果；请刷新后查看",
                case.id
            ),
            format!(
                "case {} kept changing: how sending went is not recorded; reload it",
                case.id
            ),
        ))
    }

    /// One step, stored with its audit entries (optimistic on the case version).
    async fn apply_step(&self, case_id: &str, action: Action, actor: &str) -> Result<Case> {
        let org = self.org().await?;
        let Some(mut case) = self.store.case(case_id).await? else {
            return Err(Self::missing(case_id));
        };
        let expected = action.expected_version;
        let entries = case.apply(action, &Actor::new(actor), &org, self.now())?;
        let audit = entries.iter().map(|e| audit_entry(&case.id, e)).collect();
        if !self.store.update_case(&case, expected, audit).await? {
            return Err(HandlingError::conflict(
                format!("案件 {case_id} 已被他人修改（您看到的是第 {expected} 版）；请刷新后重试"),
                format!(
                    "case {case_id} was changed by someone else (you saw version {expected}): reload and retry"
                ),
            ));
        }
        Ok(case)
    }

    fn check_visible(org: &Org, viewer: &Principal, case: &Case) -> Result<()> {
        match viewer {
            Principal::Operator => Ok(()),
            Principal::User(u) => {
                org.require_user(u)?;
                if visible(org, u, case) {
                    Ok(())
                } else {
                    Err(HandlingError::forbidden(
                        format!(
                            "{u} 无权查看案件 {}：案件属于单位 {}，不在其所属单位及下级单位之内",
                            case.id, case.unit
                        ),
                        format!(
                            "{u} may not see case {}: it belongs to unit {}, outside the units they belong to",
                            case.id, case.unit
                        ),
                    ))
                }
            }
        }
    }

    /// One case, if the viewer may see it.
    pub async fn case(&self, id: &str, viewer: &Principal) -> Result<Case> {
        self.case_in(&self.org().await?, id, viewer).await
    }

    /// [`Cases::case`] over an organisation already read.
    async fn case_in(&self, org: &Org, id: &str, viewer: &Principal) -> Result<Case> {
        let Some(case) = self.store.case(id).await? else {
            return Err(Self::missing(id));
        };
        Self::check_visible(org, viewer, &case)?;
        Ok(case)
    }

    /// The cases the viewer may see, most recently updated first.
    pub async fn list(&self, viewer: &Principal, filter: &CaseFilter) -> Result<Vec<Case>> {
        self.list_in(&self.org().await?, viewer, filter).await
    }

    /// [`Cases::list`] over an organisation already read.
    async fn list_in(
        &self,
        org: &Org,
        viewer: &Principal,
        filter: &CaseFilter,
    ) -> Result<Vec<Case>> {
        if let Principal::User(u) = viewer {
            org.require_user(u)?;
        }
        if let Some(unit) = &filter.unit {
            org.require_unit(unit)?;
        }
        let q = CaseQuery {
            states: filter
                .states
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
            ..Default::default()
        };
        let mut out = Vec::new();
        for c in self.store.cases(&q).await? {
            if let Some(unit) = &filter.unit
                && !org.is_within(&c.unit, unit)
            {
                continue;
            }
            if let Principal::User(u) = viewer
                && !visible(org, u, &c)
            {
                continue;
            }
            out.push(c);
            if filter.limit > 0 && out.len() >= filter.limit {
                break;
            }
        }
        Ok(out)
    }

    /// A case with its timeline, audit entries, reminders, timing facts and deadlines.
    pub async fn timeline(&self, id: &str, viewer: &Principal) -> Result<CaseView> {
        let case = self.case(id, viewer).await?;
        let as_of = self.now();
        let audit = self.store.audit_of(&format!("case:{id}")).await?;
        let reminders = self.store.reminders(Some(id)).await?;
        let deadlines = DeadlineView::of(&case, &self.rules, as_of);
        let facts = TimingFacts {
            first_collected: case.found_at,
            first_registered: case.registered_at,
            first_reported: case.first_reported_at(),
            first_assigned: case.first_assigned_at,
            first_drafted: case.first_drafted_at(),
            first_replied: case.first_replied_at(),
            first_closed: case.first_closed_at,
        };
        let supervised = reminders.iter().any(|r| r.kind == "supervise");
        let mut reminders_sent = Vec::new();
        for r in &reminders {
            for o in self.store.outbox_of(&format!("remind:{}", r.key)).await? {
                reminders_sent.push(ReminderSent {
                    key: r.key.clone(),
                    channel: o.channel,
                    delivered_at: o.delivered_at,
                    attempts: o.attempts,
                });
            }
        }
        Ok(CaseView {
            case,
            facts,
            deadlines,
            reminders,
            reminders_sent,
            supervised,
            audit,
            as_of,
        })
    }

    // ---- deadlines ----

    /// Sends the reminders due at `now` that were not sent before: records them (each
    /// audited as `case.remind` by `system`), queues their messages to the reminder
    /// channels if any ([`Cases::with_reminder_channels`]) and returns them. A 督办 reminder row is the
    /// case's supervision mark ([`CaseView::supervised`]).
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Vec<ReminderRow>> {
        let cases = self
            .store
            .cases(&CaseQuery {
                states: open_states(),
                ..Default::default()
            })
            .await?;
        let sent: BTreeSet<String> = self.store.reminder_keys().await?.into_iter().collect();
        let due = yuqing_workflow::tick(&cases, &self.rules, now, &sent);
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ReminderRow> = due
            .iter()
            .map(|r| ReminderRow {
                key: r.key.clone(),
                case_id: r.case_id.clone(),
                kind: r.kind.as_str().to_string(),
                what: r.what.as_str().to_string(),
                due_at: r.due_at,
                unit: r.unit.clone(),
                sent_at: now,
                message: json!({"zh": r.message.zh, "en": r.message.en}),
            })
            .collect();
        let audit = rows
            .iter()
            .map(|r| NewEntry {
                at: now,
                actor: "system".into(),
                action: "case.remind".into(),
                target: format!("case:{}", r.case_id),
                before: None,
                after: Some(json!({
                    "key": r.key, "kind": r.kind, "what": r.what,
                    "due_at": r.due_at, "unit": r.unit, "message": r.message,
                })),
            })
            .collect();
        let deliveries = match &self.reminders {
            Some(d) => {
                let org = self.org().await.ok();
                d.messages(&due, &cases, org.as_ref(), now)
            }
            None => Vec::new(),
        };
        // Only those no other ticker recorded first (with their messages).
        Ok(self
            .store
            .record_reminders(&rows, audit, deliveries)
            .await?)
    }

    /// [`Cases::tick`] at the clock's time.
    pub async fn tick_now(&self) -> Result<Vec<ReminderRow>> {
        self.tick(self.now()).await
    }

    // ---- statistics ----

    /// Department and monitor figures for `period`, judged as of `as_of`, over the cases
    /// the viewer may see; points and adjustments of the people of the viewer's units.
    pub async fn stats(
        &self,
        viewer: &Principal,
        period: Period,
        as_of: DateTime<Utc>,
    ) -> Result<Stats> {
        if period.to <= period.from {
            return Err(HandlingError::invalid(
                "统计区间的结束时间必须晚于开始时间",
                "the period must end after it starts",
            ));
        }
        // Points and adjustments are about people: a viewer sees those of the people of
        // their units (and their own), as the cases are narrowed to their units.
        let org = self.org().await?;
        let cases = self.list_in(&org, viewer, &CaseFilter::default()).await?;
        let mut points = self.points_in(&cases, period, as_of).await?;
        points.retain(|p| assessment::sees_person(&org, viewer, &p.user));
        let mut adjustments = self.adjustments(period).await?;
        adjustments.retain(|a| assessment::sees_person(&org, viewer, &a.user));
        let adjustable = assessment::adjustable(&org, viewer);
        Ok(Stats {
            period,
            as_of,
            departments: stats::department_stats(&cases, &self.rules, period, as_of),
            monitors: stats::monitor_stats(&cases, &self.rules, period, as_of),
            points,
            adjustments,
            adjustable,
            overdue: stats::overdue_items(&cases, &self.rules, period, as_of),
        })
    }

    /// The alerts that went past someone on duty unacknowledged with the notice in
    /// `period` (escalation stops 7 days after an alert, so earlier alerts are read too).
    pub async fn passed_alerts(&self, period: Period) -> Result<Vec<PassedAlert>> {
        let alerts = self
            .store
            .alerts(&AlertQuery {
                since: Some(period.from - chrono::Duration::days(crate::escalation::HORIZON_DAYS)),
                until: Some(period.to),
                ..Default::default()
            })
            .await?;
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
        let notices = self.store.notices(&ids).await?;
        let titles: std::collections::HashMap<i64, &str> = alerts
            .iter()
            .map(|a| {
                let title = a.message.get("title").and_then(|t| t.as_str());
                (a.id, title.unwrap_or_default())
            })
            .collect();
        let title_of = |id: i64| titles.get(&id).copied().unwrap_or_default().to_owned();
        // Paired over all the notices (the person passed may have been told before the
        // period began), then kept by the time of the notice that passed them.
        let mut passed = points::passed_alerts(
            notices
                .iter()
                .map(|n| (n.alert_id, n.step, n.who.as_str(), n.at)),
            title_of,
        );
        passed.retain(|p| period.contains(p.at));
        Ok(passed)
    }

    // ---- audit ----

    /// Audit entries with seq > `after`, at most `limit` (0: all).
    pub async fn audit(&self, after: u64, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(self.store.audit(after, limit).await?)
    }

    /// The current head of the chain (to keep elsewhere as an anchor).
    pub async fn anchor(&self) -> Result<Option<Anchor>> {
        let all = self.store.audit(0, 0).await?;
        Ok(all.last().map(|e| Anchor {
            seq: e.seq,
            hash: e.hash.clone(),
        }))
    }

    /// Verifies the whole audit chain, and that it still reaches `anchor` if given.
    pub async fn verify_audit(&self, anchor: Option<Anchor>) -> Result<AuditReport> {
        let stored = self.store.audit(0, 0).await?;
        let entries = restore_positions(stored);
        let head = entries.last().map(|e| Anchor {
            seq: e.seq,
            hash: e.hash.clone(),
        });
        let result = match &anchor {
            Some(a) => audit::verify_anchored(&entries, a),
            None => audit::verify(&entries),
        };
        let tampered = result.err().map(Finding::from);
        Ok(AuditReport {
            ok: tampered.is_none(),
            entries: entries.len() as u64,
            head,
            anchor,
            tampered,
        })
    }
}

/// The store keys the log by `seq`, so a reordering of rows shows up as rows whose `seq`
/// was renumbered. For every row whose hash does not match, this finds the number it was
/// hashed with, from the chain (the entry its `prev_hash` names, plus one): if the row
/// verifies under that number it was moved, not edited, and gets its original number back
/// in place, so `verify` reports it as `reordered`. Rows that match no number are left as
/// they are (and reported `edited`).
fn restore_positions(mut entries: Vec<AuditEntry>) -> Vec<AuditEntry> {
    use std::collections::HashMap;
    let bad: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].compute_hash() != entries[i].hash)
        .collect();
    if bad.is_empty() {
        return entries;
    }
    let mut seq_of: HashMap<String, u64> = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !bad.contains(i))
        .map(|(_, e)| (e.hash.clone(), e.seq))
        .collect();
    let mut pending = bad;
    loop {
        let mut progress = false;
        pending.retain(|&i| {
            let e = &entries[i];
            let candidate = if e.prev_hash == audit::GENESIS_HASH {
                Some(1)
            } else {
                seq_of.get(&e.prev_hash).map(|s| s + 1)
            };
            let Some(seq) = candidate.filter(|s| *s != e.seq) else {
                return true;
            };
            let mut moved = e.clone();
            moved.seq = seq;
            if moved.compute_hash() == moved.hash {
                seq_of.insert(moved.hash.clone(), seq);
                entries[i] = moved;
                progress = true;
                false
            } else {
                true
            }
        });
        if !progress || pending.is_empty() {
            break;
        }
    }
    entries
}
