//! The case (案件/工单) and its workflow: 登记 → 研判 → 上报 → 批办 → 办理 → 回复起草 → 审定 →
//! 回复 → 办结 → 归档, with send-back, reopen, escalation, follow-up watching, satisfaction
//! and attachments. The contract is `docs/specs/case-workflow.md`; this module owns it.
//!
//! [`Case::register`] creates a case; [`Case::apply`] is the only way to change one. `apply`
//! checks, in this order, the expected version (stale → `Conflict`), that the action is
//! allowed from the current state (`InvalidInput`, reason `illegal_transition`), who the
//! actor is and where (`Forbidden`: `role_not_permitted`, `out_of_scope`, `self_approval`),
//! and the action's data (`InvalidInput`). Nothing is changed unless every check passes;
//! on success the version goes up by one and the new [`TimelineEntry`] is both kept on the
//! case and returned (for the caller to store and audit).
//!
//! Times come from the caller (`now`, read from an injected `yuqing_core::Clock`); the
//! first time of each milestone (collected, seen, reported, assigned, answered, closed) is
//! kept on the case and never overwritten, so lateness stays provable after a reopen.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use yuqing_judge::grading::Level;

use crate::error::{Result, WorkflowError, require_text};
use crate::org::{Org, Role, UnitId, UserId};

/// Where a case is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 登记
    Registered,
    /// 研判
    Judged,
    /// 上报
    Reported,
    /// 批办
    Assigned,
    /// 办理
    Handling,
    /// 回复已起草
    ReplyDrafted,
    /// 回复已审定
    ReplyApproved,
    /// 已回复
    ReplyRecorded,
    /// 办结
    Closed,
    /// 归档
    Archived,
}

impl CaseState {
    pub const ALL: [CaseState; 10] = [
        CaseState::Registered,
        CaseState::Judged,
        CaseState::Reported,
        CaseState::Assigned,
        CaseState::Handling,
        CaseState::ReplyDrafted,
        CaseState::ReplyApproved,
        CaseState::ReplyRecorded,
        CaseState::Closed,
        CaseState::Archived,
    ];
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Registered => "registered",
            CaseState::Judged => "judged",
            CaseState::Reported => "reported",
            CaseState::Assigned => "assigned",
            CaseState::Handling => "handling",
            CaseState::ReplyDrafted => "reply_drafted",
            CaseState::ReplyApproved => "reply_approved",
            CaseState::ReplyRecorded => "reply_recorded",
            CaseState::Closed => "closed",
            CaseState::Archived => "archived",
        }
    }
    /// Parses the stable name or the Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s) || c.label_zh() == s)
    }
    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            CaseState::Registered => "登记",
            CaseState::Judged => "研判",
            CaseState::Reported => "上报",
            CaseState::Assigned => "批办",
            CaseState::Handling => "办理",
            CaseState::ReplyDrafted => "回复待审定",
            CaseState::ReplyApproved => "回复已审定",
            CaseState::ReplyRecorded => "已回复",
            CaseState::Closed => "办结",
            CaseState::Archived => "归档",
        }
    }
    /// Open = not yet closed or archived.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseState::Closed | CaseState::Archived)
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an item reached the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CaseSource {
    /// From an alert of the monitoring system.
    Alert { alert_id: String },
    /// From a stored document (its identity, e.g. `weibo:123` or the store seq).
    Document { document: String },
    /// Entered by hand from a channel.
    Manual { channel: ManualChannel },
}

impl CaseSource {
    /// The key under which two cases are "the same item" (for "found first" statistics);
    /// `None` for manual entries, each of which is its own item.
    pub fn item_key(&self) -> Option<String> {
        match self {
            CaseSource::Alert { alert_id } => Some(format!("alert:{alert_id}")),
            CaseSource::Document { document } => Some(format!("document:{document}")),
            CaseSource::Manual { .. } => None,
        }
    }
}

/// Channels of hand-entered items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualChannel {
    /// 12345 热线
    Hotline,
    /// 县长信箱 / 书记信箱
    Mailbox,
    /// 留言板
    MessageBoard,
    /// 电话报告
    Phone,
    /// 电子邮件
    Email,
    /// 来访
    Visit,
    /// 其他
    Other,
}

/// Verified outcome of handling (domain.md "Outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 属实: the department plans and fixes it within a deadline.
    True,
    /// 不实: publish the facts, clear up the misunderstanding.
    Untrue,
    /// 恶意诽谤: hand to the competent authority.
    Defamation,
    /// 工作人员违纪: hand to discipline inspection (纪检监察).
    StaffMisconduct,
    /// 合理建议: feed into improving rules and work.
    Suggestion,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::True,
        Outcome::Untrue,
        Outcome::Defamation,
        Outcome::StaffMisconduct,
        Outcome::Suggestion,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::True => "true",
            Outcome::Untrue => "untrue",
            Outcome::Defamation => "defamation",
            Outcome::StaffMisconduct => "staff_misconduct",
            Outcome::Suggestion => "suggestion",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s) || o.label_zh() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Outcome::True => "属实",
            Outcome::Untrue => "不实",
            Outcome::Defamation => "恶意诽谤",
            Outcome::StaffMisconduct => "工作人员违纪",
            Outcome::Suggestion => "合理建议",
        }
    }
}

/// To whom an item was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The unit's own leading group (领导小组).
    LeadingGroup,
    /// The parent organisation (上级).
    ParentUnit,
}

/// Where a reply was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyChannel {
    OfficialWebsite,
    Weibo,
    Wechat,
    MessageBoard,
    Hotline,
    Media,
    Letter,
    Other,
}

/// Kind of an attached file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Text,
    Image,
    Audio,
    Video,
}

/// Metadata of an evidence file (the bytes live elsewhere, addressed by `sha256`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub name: String,
    /// Lower-case hex SHA-256 of the content (64 characters).
    pub sha256: String,
    pub size: u64,
}

/// An attachment with who added it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedFile {
    pub file: Attachment,
    pub at: DateTime<Utc>,
    pub by: UserId,
}

/// What a registration records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Case id chosen by the caller (e.g. from a store sequence).
    pub id: String,
    /// The unit that owns the case (an organisation, or a liaison's own department).
    pub unit: UnitId,
    pub source: CaseSource,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub link: Option<String>,
    /// Negative item (must reach the leading group within the notify deadline).
    #[serde(default)]
    pub negative: bool,
    /// A critical media report (feedback to the media is due).
    #[serde(default)]
    pub media_report: bool,
    /// When it happened / was first published online, if known.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    /// When the system (or a person) first collected it; `now` if absent.
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
}

/// Who acts. Roles are looked up in the [`Org`], never trusted from the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: UserId,
}

impl Actor {
    pub fn new(user: impl Into<UserId>) -> Self {
        Self { user: user.into() }
    }
}

/// A change requested on a case, made against the version the caller has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub expected_version: u64,
    pub kind: ActionKind,
}

impl Action {
    pub fn new(expected_version: u64, kind: ActionKind) -> Self {
        Self {
            expected_version,
            kind,
        }
    }
}

/// Every step of the workflow (see the transitions table in the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionKind {
    /// 研判: level, facts so far. Registered → Judged.
    Judge {
        level: Level,
        facts: String,
        negative: bool,
        /// An emergency (突发事件): the upward-report deadline applies at any level.
        #[serde(default)]
        emergency: bool,
    },
    /// 重新定级 in any open state after judgement (state unchanged).
    Regrade { level: Level, reason: String },
    /// 上报. Judged → Reported; later states unchanged (follow-up reports).
    ReportUp {
        recipient: Recipient,
        summary: String,
    },
    /// 批办: lead department, co-handling departments, deadline, instruction. → Assigned.
    Assign {
        lead: UnitId,
        #[serde(default)]
        co: Vec<UnitId>,
        #[serde(default)]
        due_at: Option<DateTime<Utc>>,
        instruction: String,
    },
    /// 办理: verification outcome (once known) and actions taken. Assigned/Handling → Handling.
    RecordHandling {
        #[serde(default)]
        outcome: Option<Outcome>,
        actions: String,
    },
    /// 起草回复. Handling → ReplyDrafted (needs a verification outcome).
    DraftReply { text: String },
    /// 审定. ReplyDrafted → ReplyApproved; leader or spokesperson, never the drafter.
    ApproveReply {
        #[serde(default)]
        comment: String,
    },
    /// 退回. ReplyDrafted → Handling, with the reason.
    SendBack { reason: String },
    /// 回复 (published). ReplyApproved → ReplyRecorded; text must be the approved wording.
    RecordReply {
        channel: ReplyChannel,
        #[serde(default)]
        link: Option<String>,
        text: String,
        #[serde(default)]
        spokesperson: Option<UserId>,
        /// Also send it by e-mail to this address (the letter's writer): the channel must
        /// be `letter`; the node sends it (`[reply_mail]`) and records the outcome with
        /// [`ActionKind::ReplyMailed`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mail_to: Option<String>,
    },
    /// 重新发送: send reply `reply` (its index in `replies`) by e-mail again, after its
    /// sending failed or its outcome is unknown. Same people as [`ActionKind::RecordReply`].
    ResendReplyMail { reply: usize },
    /// The outcome of sending reply `reply` by e-mail, recorded by the node that sent it
    /// (never accepted from a client): `message_id` when the server accepted it.
    ReplyMailed {
        reply: usize,
        #[serde(default)]
        message_id: Option<String>,
        detail: String,
    },
    /// 办结. ReplyRecorded → Closed.
    Close { summary: String },
    /// 归档. Closed → Archived.
    Archive {
        #[serde(default)]
        note: String,
    },
    /// 重新办理. Closed → Handling.
    Reopen { reason: String },
    /// 提级: the case moves to the parent organisation (state unchanged). Any open state.
    Escalate { reason: String },
    /// 跟踪: start watching until the item subsides.
    StartWatch {
        #[serde(default)]
        note: String,
    },
    /// 平息: the item has subsided; watching ends.
    MarkSubsided {
        #[serde(default)]
        note: String,
    },
    /// 满意度 1–5, once a reply has been recorded (a later record replaces it).
    RecordSatisfaction {
        score: u8,
        #[serde(default)]
        note: String,
    },
    /// 附件 (metadata only).
    Attach { attachment: Attachment },
}

impl ActionKind {
    /// Stable name of the action (used in the timeline and the audit log).
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Judge { .. } => "judge",
            ActionKind::Regrade { .. } => "regrade",
            ActionKind::ReportUp { .. } => "report_up",
            ActionKind::Assign { .. } => "assign",
            ActionKind::RecordHandling { .. } => "record_handling",
            ActionKind::DraftReply { .. } => "draft_reply",
            ActionKind::ApproveReply { .. } => "approve_reply",
            ActionKind::SendBack { .. } => "send_back",
            ActionKind::RecordReply { .. } => "record_reply",
            ActionKind::ResendReplyMail { .. } => "resend_reply_mail",
            ActionKind::ReplyMailed { .. } => "reply_mailed",
            ActionKind::Close { .. } => "close",
            ActionKind::Archive { .. } => "archive",
            ActionKind::Reopen { .. } => "reopen",
            ActionKind::Escalate { .. } => "escalate",
            ActionKind::StartWatch { .. } => "start_watch",
            ActionKind::MarkSubsided { .. } => "mark_subsided",
            ActionKind::RecordSatisfaction { .. } => "record_satisfaction",
            ActionKind::Attach { .. } => "attach",
        }
    }
    /// Chinese label of the action.
    pub fn label_zh(&self) -> &'static str {
        match self {
            ActionKind::Judge { .. } => "研判",
            ActionKind::Regrade { .. } => "重新定级",
            ActionKind::ReportUp { .. } => "上报",
            ActionKind::Assign { .. } => "批办",
            ActionKind::RecordHandling { .. } => "办理",
            ActionKind::DraftReply { .. } => "起草回复",
            ActionKind::ApproveReply { .. } => "审定回复",
            ActionKind::SendBack { .. } => "退回",
            ActionKind::RecordReply { .. } => "回复",
            ActionKind::ResendReplyMail { .. } => "重新发送答复邮件",
            ActionKind::ReplyMailed { .. } => "答复邮件发送结果",
            ActionKind::Close { .. } => "办结",
            ActionKind::Archive { .. } => "归档",
            ActionKind::Reopen { .. } => "重新办理",
            ActionKind::Escalate { .. } => "提级上报",
            ActionKind::StartWatch { .. } => "跟踪",
            ActionKind::MarkSubsided { .. } => "平息",
            ActionKind::RecordSatisfaction { .. } => "满意度",
            ActionKind::Attach { .. } => "添加附件",
        }
    }
}

/// One line of a case's history: who did what, when, from which state to which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The case version this entry produced (1 for the registration).
    pub version: u64,
    pub at: DateTime<Utc>,
    pub actor: UserId,
    /// Stable action name (`register`, `judge`, `approve_reply`, ...).
    pub action: String,
    pub before: Option<CaseState>,
    pub after: CaseState,
    /// The unit owning the case after the step.
    pub unit: UnitId,
    /// The data the step recorded.
    pub detail: serde_json::Value,
}

/// A report upward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub recipient: Recipient,
    pub summary: String,
}

/// A leader's assignment (批办).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub lead: UnitId,
    pub co: Vec<UnitId>,
    pub due_at: Option<DateTime<Utc>>,
    pub instruction: String,
}

/// One handling record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingRecord {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub outcome: Option<Outcome>,
    pub actions: String,
}

/// A reply draft and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyDraft {
    /// 1 for the first draft of the case, then 2, 3, ...
    pub revision: u32,
    pub text: String,
    pub drafted_by: UserId,
    pub drafted_at: DateTime<Utc>,
    pub decision: Option<ReplyDecision>,
}

/// The approver's decision on a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReplyDecision {
    Approved {
        by: UserId,
        at: DateTime<Utc>,
        comment: String,
    },
    SentBack {
        by: UserId,
        at: DateTime<Utc>,
        reason: String,
    },
}

/// A published reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedReply {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub channel: ReplyChannel,
    pub link: Option<String>,
    pub text: String,
    pub spokesperson: Option<UserId>,
    /// The draft revision it publishes.
    pub revision: u32,
    /// The reply sent by e-mail to the person who wrote in (`mail_to`), and how that went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<ReplyMail>,
}

/// A published reply sent by e-mail to the person who wrote in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyMail {
    /// The writer's address.
    pub to: String,
    /// Sending attempts so far (the first with the reply, one more per resend).
    pub attempts: u32,
    pub status: MailStatus,
}

/// Where sending a reply by e-mail stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MailStatus {
    /// Handed to the mail server since `since`, no answer recorded yet: if it stays so, the
    /// sender stopped before it knew, and the mail may or may not have gone out.
    Sending { since: DateTime<Utc> },
    /// The server accepted it.
    Sent {
        at: DateTime<Utc>,
        message_id: String,
        response: String,
    },
    /// It did not go out (the server refused it or could not be reached).
    Failed { at: DateTime<Utc>, reason: String },
}

/// A move to the parent organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub from: UnitId,
    pub to: UnitId,
    pub reason: String,
}

/// Follow-up watching until the item subsides (平息).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    pub since: DateTime<Utc>,
    pub by: UserId,
    pub note: String,
    pub subsided_at: Option<DateTime<Utc>>,
}

/// The public's satisfaction with the handling (1 very unsatisfied … 5 very satisfied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Satisfaction {
    pub score: u8,
    pub note: String,
    pub at: DateTime<Utc>,
    pub by: UserId,
}

/// A case: one item of public opinion from registration to archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    /// Increases by one with every accepted action (1 after registration).
    pub version: u64,
    pub state: CaseState,
    /// The unit owning the case now (changes on escalation).
    pub unit: UnitId,
    /// The unit that registered it.
    pub original_unit: UnitId,
    pub source: CaseSource,
    pub title: String,
    pub summary: String,
    pub link: Option<String>,
    pub negative: bool,
    pub media_report: bool,
    pub emergency: bool,
    /// When it happened / was first published (if known).
    pub occurred_at: Option<DateTime<Utc>>,
    /// First collected (by the system or a person).
    pub found_at: DateTime<Utc>,
    /// First seen by a person: the registration.
    pub registered_at: DateTime<Utc>,
    /// The monitor who found and registered it.
    pub registered_by: UserId,
    pub level: Option<Level>,
    pub facts: String,
    pub judged_at: Option<DateTime<Utc>>,
    pub reports: Vec<Report>,
    /// The current assignment (a re-assignment replaces it; the timeline keeps all).
    pub assignment: Option<Assignment>,
    pub first_assigned_at: Option<DateTime<Utc>>,
    pub handling: Vec<HandlingRecord>,
    pub outcome: Option<Outcome>,
    pub drafts: Vec<ReplyDraft>,
    pub replies: Vec<PublishedReply>,
    pub closed_at: Option<DateTime<Utc>>,
    pub first_closed_at: Option<DateTime<Utc>>,
    pub closing_summary: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub escalations: Vec<Escalation>,
    pub watch: Option<Watch>,
    pub satisfaction: Option<Satisfaction>,
    pub attachments: Vec<AttachedFile>,
    pub timeline: Vec<TimelineEntry>,
}

fn role_list_zh(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.label_zh())
        .collect::<Vec<_>>()
        .join("、")
}
fn role_list_en(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.label_en())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The actor must hold one of `roles` at `unit` (on it or an ancestor).
fn require_role(
    org: &Org,
    actor: &Actor,
    unit: &str,
    roles: &[Role],
    what_zh: &str,
    what: &str,
) -> Result<()> {
    org.require_user(&actor.user)?;
    let held = org.roles_at(&actor.user, unit);
    if held.is_empty() {
        return Err(WorkflowError::forbidden(
            "out_of_scope",
            format!(
                "{} 在单位 {unit} 没有任何角色，不能{what_zh}；只能在本人所属单位及其下级单位办理",
                actor.user
            ),
            format!(
                "{} holds no role in unit {unit} and cannot {what}: users act only within the units they belong to and those below",
                actor.user
            ),
        ));
    }
    if roles.iter().any(|r| held.contains(r)) {
        return Ok(());
    }
    Err(WorkflowError::forbidden(
        "role_not_permitted",
        format!(
            "{}的角色不能{what_zh}；只有{}可以",
            actor.user,
            role_list_zh(roles)
        ),
        format!(
            "{}'s role may not {what}: only {} may",
            actor.user,
            role_list_en(roles)
        ),
    ))
}

fn illegal(state: CaseState, kind: &ActionKind, allowed: &[CaseState]) -> WorkflowError {
    let zh: Vec<_> = allowed.iter().map(|s| s.label_zh()).collect();
    let en: Vec<_> = allowed.iter().map(|s| s.as_str()).collect();
    WorkflowError::invalid(
        "illegal_transition",
        format!(
            "案件处于“{}”状态，不能{}；只有在“{}”状态下才可以",
            state.label_zh(),
            kind.label_zh(),
            zh.join("”或“")
        ),
        format!(
            "the case is {}; {} is allowed only when it is {}",
            state.as_str(),
            kind.name(),
            en.join(" or ")
        ),
    )
}

fn no_draft() -> WorkflowError {
    WorkflowError::invalid(
        "no_draft",
        "案件没有回复稿；请先起草回复",
        "the case has no reply draft: draft one first",
    )
}

fn validate_attachment(a: &Attachment) -> Result<()> {
    require_text("attachment.name", "附件名称", &a.name)?;
    if a.sha256.len() != 64
        || !a
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(WorkflowError::invalid(
            "bad_sha256",
            format!(
                "附件“{}”的 sha256 应为 64 位小写十六进制，实为 {:?}",
                a.name, a.sha256
            ),
            format!(
                "attachment {:?}: sha256 must be 64 lower-case hex digits, got {:?}",
                a.name, a.sha256
            ),
        ));
    }
    Ok(())
}

impl Case {
    /// 登记: creates a case at version 1 (Analyst, Leader or Liaison in scope of `reg.unit`).
    pub fn register(
        reg: Registration,
        actor: &Actor,
        org: &Org,
        now: DateTime<Utc>,
    ) -> Result<(Case, TimelineEntry)> {
        require_text("id", "案件编号", &reg.id)?;
        require_text("title", "标题", &reg.title)?;
        org.require_unit(&reg.unit)?;
        require_role(
            org,
            actor,
            &reg.unit,
            &[Role::Analyst, Role::Leader, Role::Liaison],
            "登记舆情",
            "register an item",
        )?;
        let found_at = reg.collected_at.unwrap_or(now);
        if found_at > now {
            return Err(WorkflowError::invalid(
                "time_in_future",
                "采集时间晚于当前时间；请更正采集时间",
                "collected_at is in the future: correct it",
            ));
        }
        if let Some(o) = reg.occurred_at
            && o > found_at
        {
            return Err(WorkflowError::invalid(
                "time_order",
                "发生（首发）时间晚于采集时间；请更正",
                "occurred_at is after collected_at: correct one of them",
            ));
        }
        let mut case = Case {
            id: reg.id,
            version: 1,
            state: CaseState::Registered,
            unit: reg.unit.clone(),
            original_unit: reg.unit,
            source: reg.source,
            title: reg.title,
            summary: reg.summary,
            link: reg.link,
            negative: reg.negative,
            media_report: reg.media_report,
            emergency: false,
            occurred_at: reg.occurred_at,
            found_at,
            registered_at: now,
            registered_by: actor.user.clone(),
            level: None,
            facts: String::new(),
            judged_at: None,
            reports: vec![],
            assignment: None,
            first_assigned_at: None,
            handling: vec![],
            outcome: None,
            drafts: vec![],
            replies: vec![],
            closed_at: None,
            first_closed_at: None,
            closing_summary: String::new(),
            archived_at: None,
            escalations: vec![],
            watch: None,
            satisfaction: None,
            attachments: vec![],
            timeline: vec![],
        };
        let entry = TimelineEntry {
            version: 1,
            at: now,
            actor: actor.user.clone(),
            action: "register".into(),
            before: None,
            after: CaseState::Registered,
            unit: case.unit.clone(),
            detail: json!({
                "source": case.source,
                "title": case.title,
                "negative": case.negative,
                "media_report": case.media_report,
                "occurred_at": case.occurred_at,
                "found_at": case.found_at,
            }),
        };
        case.timeline.push(entry.clone());
        Ok((case, entry))
    }

    /// The draft awaiting a decision or last approved, if any.
    pub fn current_draft(&self) -> Option<&ReplyDraft> {
        self.drafts.last()
    }

    /// First report upward (any recipient).
    pub fn first_reported_at(&self) -> Option<DateTime<Utc>> {
        self.reports.first().map(|r| r.at)
    }
    /// First draft submitted by the department.
    pub fn first_drafted_at(&self) -> Option<DateTime<Utc>> {
        self.drafts.first().map(|d| d.drafted_at)
    }
    /// First reply published (answered).
    pub fn first_replied_at(&self) -> Option<DateTime<Utc>> {
        self.replies.first().map(|r| r.at)
    }

    /// The people who may record a reply may send it by e-mail (again).
    fn require_reply_sender(&self, org: &Org, actor: &Actor, zh: &str, en: &str) -> Result<()> {
        self.require_handler(org, actor, zh, en, true).or_else(|_| {
            require_role(
                org,
                actor,
                &self.unit,
                &[Role::Spokesperson, Role::Analyst, Role::Leader],
                zh,
                en,
            )
        })
    }

    /// The e-mail of reply `reply`, or an error saying there is none.
    fn reply_mail_mut(&mut self, reply: usize) -> Result<&mut ReplyMail> {
        self.replies
            .get_mut(reply)
            .and_then(|r| r.mail.as_mut())
            .ok_or_else(|| {
                WorkflowError::invalid(
                    "no_reply_mail",
                    format!("第 {} 条答复没有用邮件发送", reply + 1),
                    format!("reply {} was not sent by e-mail", reply + 1),
                )
            })
    }

    /// Whether the actor may act for the handling departments: a liaison of the lead or a
    /// co-handling department, or a leader/analyst of the case unit.
    fn require_handler(
        &self,
        org: &Org,
        actor: &Actor,
        what_zh: &str,
        what: &str,
        lead_only: bool,
    ) -> Result<()> {
        org.require_user(&actor.user)?;
        if let Some(a) = &self.assignment {
            let mut depts = vec![a.lead.as_str()];
            if !lead_only {
                depts.extend(a.co.iter().map(String::as_str));
            }
            if depts
                .iter()
                .any(|d| org.has_role(&actor.user, d, Role::Liaison))
            {
                return Ok(());
            }
        }
        let held = org.roles_at(&actor.user, &self.unit);
        if held.contains(&Role::Leader) || held.contains(&Role::Analyst) {
            return Ok(());
        }
        let depts = self
            .assignment
            .as_ref()
            .map(|a| a.lead.clone())
            .unwrap_or_else(|| "-".into());
        if held.is_empty() {
            return Err(WorkflowError::forbidden(
                "out_of_scope",
                format!(
                    "{} 不是承办部门（{depts}）的网络信息员，也不在案件所属单位 {} 任职，不能{what_zh}",
                    actor.user, self.unit
                ),
                format!(
                    "{} is neither a liaison of the handling department ({depts}) nor a member of the case's unit {}, so cannot {what}",
                    actor.user, self.unit
                ),
            ));
        }
        Err(WorkflowError::forbidden(
            "role_not_permitted",
            format!(
                "{}的角色不能{what_zh}；只有承办部门的网络信息员、领导小组或舆情办可以",
                actor.user
            ),
            format!(
                "{}'s role may not {what}: only a liaison of the handling department, a leader or an analyst may",
                actor.user
            ),
        ))
    }

    /// Applies one action. See the module docs for the order of checks.
    pub fn apply(
        &mut self,
        action: Action,
        actor: &Actor,
        org: &Org,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimelineEntry>> {
        use CaseState as S;
        if action.expected_version != self.version {
            return Err(WorkflowError::conflict(
                "version_conflict",
                format!(
                    "案件 {} 已被他人修改（您看到的是第 {} 版，当前为第 {} 版）；请刷新后重试",
                    self.id, action.expected_version, self.version
                ),
                format!(
                    "case {} was changed by someone else (you saw version {}, it is now {}): reload and retry",
                    self.id, action.expected_version, self.version
                ),
            ));
        }
        if let Some(last) = self.timeline.last()
            && now < last.at
        {
            return Err(WorkflowError::invalid(
                "time_order",
                "操作时间早于案件的上一条记录；请检查服务器时钟",
                "the action time is before the case's last entry: check the clock",
            ));
        }
        let before = self.state;
        let kind = action.kind;
        let open_after_judged = [
            S::Judged,
            S::Reported,
            S::Assigned,
            S::Handling,
            S::ReplyDrafted,
            S::ReplyApproved,
            S::ReplyRecorded,
        ];
        let allowed: &[CaseState] = match &kind {
            ActionKind::Judge { .. } => &[S::Registered],
            ActionKind::Regrade { .. } | ActionKind::ReportUp { .. } => &open_after_judged,
            ActionKind::Assign { .. } => &[S::Judged, S::Reported, S::Assigned, S::Handling],
            ActionKind::RecordHandling { .. } => &[S::Assigned, S::Handling],
            ActionKind::DraftReply { .. } => &[S::Handling],
            ActionKind::ApproveReply { .. } | ActionKind::SendBack { .. } => &[S::ReplyDrafted],
            ActionKind::RecordReply { .. } => &[S::ReplyApproved],
            ActionKind::ResendReplyMail { .. } => &[S::ReplyRecorded, S::Closed],
            ActionKind::ReplyMailed { .. } => &[S::ReplyRecorded, S::Closed, S::Archived],
            ActionKind::Close { .. } => &[S::ReplyRecorded],
            ActionKind::Archive { .. } => &[S::Closed],
            ActionKind::Reopen { .. } => &[S::Closed],
            ActionKind::Escalate { .. } => &[
                S::Registered,
                S::Judged,
                S::Reported,
                S::Assigned,
                S::Handling,
                S::ReplyDrafted,
                S::ReplyApproved,
                S::ReplyRecorded,
            ],
            ActionKind::StartWatch { .. }
            | ActionKind::MarkSubsided { .. }
            | ActionKind::Attach { .. } => &[
                S::Registered,
                S::Judged,
                S::Reported,
                S::Assigned,
                S::Handling,
                S::ReplyDrafted,
                S::ReplyApproved,
                S::ReplyRecorded,
                S::Closed,
            ],
            ActionKind::RecordSatisfaction { .. } => &[S::ReplyRecorded, S::Closed, S::Archived],
        };
        if !allowed.contains(&self.state) {
            return Err(illegal(self.state, &kind, allowed));
        }

        let office = [Role::Analyst, Role::Leader];
        let name = kind.name();
        let (after, detail) = match kind {
            ActionKind::Judge {
                level,
                facts,
                negative,
                emergency,
            } => {
                require_role(org, actor, &self.unit, &office, "研判", "judge")?;
                require_text("facts", "已掌握的事实", &facts)?;
                let detail = json!({"level": level, "facts": facts, "negative": negative, "emergency": emergency});
                self.level = Some(level);
                self.facts = facts;
                self.negative = negative;
                self.emergency = emergency;
                self.judged_at = Some(now);
                (S::Judged, detail)
            }
            ActionKind::Regrade { level, reason } => {
                require_role(org, actor, &self.unit, &office, "重新定级", "regrade")?;
                require_text("reason", "定级理由", &reason)?;
                let detail = json!({"from": self.level, "to": level, "reason": reason});
                self.level = Some(level);
                (self.state, detail)
            }
            ActionKind::ReportUp { recipient, summary } => {
                require_role(org, actor, &self.unit, &office, "上报", "report upward")?;
                require_text("summary", "上报内容", &summary)?;
                if recipient == Recipient::ParentUnit
                    && org.parent_organisation(&self.unit).is_none()
                {
                    return Err(WorkflowError::invalid(
                        "no_parent_unit",
                        format!(
                            "单位 {} 没有上级单位，无法向上级上报；请上报领导小组",
                            self.unit
                        ),
                        format!(
                            "unit {} has no parent organisation: report to the leading group instead",
                            self.unit
                        ),
                    ));
                }
                let detail = json!({"recipient": recipient, "summary": summary});
                self.reports.push(Report {
                    at: now,
                    by: actor.user.clone(),
                    recipient,
                    summary,
                });
                let after = if self.state == S::Judged {
                    S::Reported
                } else {
                    self.state
                };
                (after, detail)
            }
            ActionKind::Assign {
                lead,
                co,
                due_at,
                instruction,
            } => {
                require_role(org, actor, &self.unit, &[Role::Leader], "批办", "assign")?;
                require_text("instruction", "领导批示", &instruction)?;
                for d in std::iter::once(&lead).chain(co.iter()) {
                    org.require_unit(d)?;
                    if !org.is_within(d, &self.unit) {
                        return Err(WorkflowError::invalid(
                            "department_out_of_scope",
                            format!(
                                "部门 {d} 不在案件所属单位 {} 之下，不能承办；请提级或选择本单位的部门",
                                self.unit
                            ),
                            format!(
                                "department {d} is not under the case's unit {}: escalate or pick a department of this unit",
                                self.unit
                            ),
                        ));
                    }
                }
                if co.contains(&lead) {
                    return Err(WorkflowError::invalid(
                        "lead_in_co",
                        format!("牵头部门 {lead} 不能同时是协办部门"),
                        format!(
                            "the lead department {lead} cannot also be a co-handling department"
                        ),
                    ));
                }
                if let Some(d) = due_at
                    && d <= now
                {
                    return Err(WorkflowError::invalid(
                        "deadline_in_past",
                        "办理时限早于当前时间；请给出将来的时间",
                        "the handling deadline is not in the future: give a later time",
                    ));
                }
                let detail =
                    json!({"lead": lead, "co": co, "due_at": due_at, "instruction": instruction});
                self.assignment = Some(Assignment {
                    at: now,
                    by: actor.user.clone(),
                    lead,
                    co,
                    due_at,
                    instruction,
                });
                self.first_assigned_at.get_or_insert(now);
                (S::Assigned, detail)
            }
            ActionKind::RecordHandling { outcome, actions } => {
                self.require_handler(org, actor, "办理", "record handling", false)?;
                require_text("actions", "办理情况", &actions)?;
                let detail = json!({"outcome": outcome, "actions": actions});
                if outcome.is_some() {
                    self.outcome = outcome;
                }
                self.handling.push(HandlingRecord {
                    at: now,
                    by: actor.user.clone(),
                    outcome,
                    actions,
                });
                (S::Handling, detail)
            }
            ActionKind::DraftReply { text } => {
                self.require_handler(org, actor, "起草回复", "draft a reply", true)
                    .or_else(|e| {
                        // A spokesperson of the case unit may draft too.
                        if org.has_role(&actor.user, &self.unit, Role::Spokesperson) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })?;
                require_text("text", "回复内容", &text)?;
                if self.outcome.is_none() {
                    return Err(WorkflowError::invalid(
                        "outcome_required",
                        "尚未记录核实结论（属实/不实/恶意诽谤/工作人员违纪/合理建议），不能起草回复；请先记录办理情况",
                        "no verification outcome recorded yet: record handling with an outcome before drafting a reply",
                    ));
                }
                let revision = self.drafts.len() as u32 + 1;
                let detail = json!({"revision": revision, "text": text});
                self.drafts.push(ReplyDraft {
                    revision,
                    text,
                    drafted_by: actor.user.clone(),
                    drafted_at: now,
                    decision: None,
                });
                (S::ReplyDrafted, detail)
            }
            ActionKind::ApproveReply { comment } => {
                let Some(draft) = self.drafts.last() else {
                    return Err(no_draft());
                };
                if draft.drafted_by == actor.user {
                    return Err(WorkflowError::forbidden(
                        "self_approval",
                        format!(
                            "{} 起草了这份回复，不能审定自己起草的回复；请由领导或新闻发言人审定",
                            actor.user
                        ),
                        format!(
                            "{} drafted this reply and cannot approve their own draft: a leader or the spokesperson must approve it",
                            actor.user
                        ),
                    ));
                }
                require_role(
                    org,
                    actor,
                    &self.unit,
                    &[Role::Leader, Role::Spokesperson],
                    "审定回复",
                    "approve a reply",
                )?;
                let revision = draft.revision;
                if let Some(d) = self.drafts.last_mut() {
                    d.decision = Some(ReplyDecision::Approved {
                        by: actor.user.clone(),
                        at: now,
                        comment: comment.clone(),
                    });
                }
                (
                    S::ReplyApproved,
                    json!({"revision": revision, "comment": comment}),
                )
            }
            ActionKind::SendBack { reason } => {
                require_role(
                    org,
                    actor,
                    &self.unit,
                    &[Role::Leader, Role::Spokesperson],
                    "退回回复",
                    "send a reply back",
                )?;
                require_text("reason", "退回理由", &reason)?;
                let revision = self.drafts.last().map(|d| d.revision).unwrap_or(0);
                if let Some(d) = self.drafts.last_mut() {
                    d.decision = Some(ReplyDecision::SentBack {
                        by: actor.user.clone(),
                        at: now,
                        reason: reason.clone(),
                    });
                }
                (S::Handling, json!({"revision": revision, "reason": reason}))
            }
            ActionKind::RecordReply {
                channel,
                link,
                text,
                spokesperson,
                mail_to,
            } => {
                let allowed_roles = [Role::Spokesperson, Role::Analyst, Role::Leader];
                self.require_handler(org, actor, "发布回复", "record a reply", true)
                    .or_else(|_| {
                        require_role(
                            org,
                            actor,
                            &self.unit,
                            &allowed_roles,
                            "发布回复",
                            "record a reply",
                        )
                    })?;
                require_text("text", "回复内容", &text)?;
                let Some(draft) = self.drafts.last() else {
                    return Err(no_draft());
                };
                if draft.text.trim() != text.trim() {
                    return Err(WorkflowError::invalid(
                        "reply_text_mismatch",
                        format!(
                            "发布的回复与审定稿（第 {} 稿）不一致；统一口径要求按审定稿发布，如需修改请重新起草并审定",
                            draft.revision
                        ),
                        format!(
                            "the published text differs from approved draft {}: publish the approved wording, or draft and approve a new one",
                            draft.revision
                        ),
                    ));
                }
                if let Some(s) = &spokesperson
                    && !org.has_role(s, &self.unit, Role::Spokesperson)
                {
                    return Err(WorkflowError::invalid(
                        "not_a_spokesperson",
                        format!("{s} 不是单位 {} 的新闻发言人", self.unit),
                        format!("{s} is not a spokesperson of unit {}", self.unit),
                    ));
                }
                let mail_to = mail_to
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty());
                if let Some(to) = &mail_to {
                    if channel != ReplyChannel::Letter {
                        return Err(WorkflowError::invalid(
                            "mail_needs_letter",
                            "用邮件答复来信人时，发布渠道应为“书面答复”（letter）",
                            "a reply sent by e-mail to the writer is published on the letter channel",
                        ));
                    }
                    if !crate::org::valid_email(to) {
                        return Err(WorkflowError::invalid(
                            "bad_email",
                            format!("{to:?} 不是有效的邮件地址"),
                            format!("{to:?} is not a valid e-mail address"),
                        ));
                    }
                }
                let revision = draft.revision;
                let detail = json!({"channel": channel, "link": link, "text": text, "spokesperson": spokesperson, "revision": revision, "mail_to": mail_to});
                self.replies.push(PublishedReply {
                    at: now,
                    by: actor.user.clone(),
                    channel,
                    link,
                    text,
                    spokesperson,
                    revision,
                    mail: mail_to.map(|to| ReplyMail {
                        to,
                        attempts: 1,
                        status: MailStatus::Sending { since: now },
                    }),
                });
                (S::ReplyRecorded, detail)
            }
            ActionKind::ResendReplyMail { reply } => {
                self.require_reply_sender(
                    org,
                    actor,
                    "重新发送答复邮件",
                    "resend a reply by e-mail",
                )?;
                let mail = self.reply_mail_mut(reply)?;
                if matches!(mail.status, MailStatus::Sent { .. }) {
                    return Err(WorkflowError::invalid(
                        "mail_already_sent",
                        format!("第 {} 条答复已由邮件服务器接收，不再重发", reply + 1),
                        format!(
                            "reply {} was accepted by the mail server: it is not sent again",
                            reply + 1
                        ),
                    ));
                }
                let previous = mail.status.clone();
                mail.attempts += 1;
                mail.status = MailStatus::Sending { since: now };
                let detail = json!({"reply": reply, "to": mail.to, "attempt": mail.attempts, "previous": previous});
                (self.state, detail)
            }
            ActionKind::ReplyMailed {
                reply,
                message_id,
                detail,
            } => {
                self.require_reply_sender(
                    org,
                    actor,
                    "记录邮件发送结果",
                    "record how sending went",
                )?;
                let mail = self.reply_mail_mut(reply)?;
                if !matches!(mail.status, MailStatus::Sending { .. }) {
                    return Err(WorkflowError::invalid(
                        "mail_not_sending",
                        format!("第 {} 条答复没有正在发送的邮件", reply + 1),
                        format!("reply {} has no mail being sent", reply + 1),
                    ));
                }
                mail.status = match &message_id {
                    Some(id) => MailStatus::Sent {
                        at: now,
                        message_id: id.clone(),
                        response: detail.clone(),
                    },
                    None => MailStatus::Failed {
                        at: now,
                        reason: detail.clone(),
                    },
                };
                let out = json!({"reply": reply, "to": mail.to, "attempt": mail.attempts, "sent": message_id.is_some(), "message_id": message_id, "detail": detail});
                (self.state, out)
            }
            ActionKind::Close { summary } => {
                require_role(org, actor, &self.unit, &office, "办结", "close the case")?;
                require_text("summary", "办结情况", &summary)?;
                let detail = json!({"summary": summary});
                self.closed_at = Some(now);
                self.first_closed_at.get_or_insert(now);
                self.closing_summary = summary;
                (S::Closed, detail)
            }
            ActionKind::Archive { note } => {
                require_role(org, actor, &self.unit, &office, "归档", "archive the case")?;
                self.archived_at = Some(now);
                (S::Archived, json!({"note": note}))
            }
            ActionKind::Reopen { reason } => {
                require_role(
                    org,
                    actor,
                    &self.unit,
                    &[Role::Leader],
                    "重新办理",
                    "reopen the case",
                )?;
                require_text("reason", "重新办理的理由", &reason)?;
                self.closed_at = None;
                (S::Handling, json!({"reason": reason}))
            }
            ActionKind::Escalate { reason } => {
                require_role(org, actor, &self.unit, &office, "提级", "escalate")?;
                require_text("reason", "提级理由", &reason)?;
                let Some(parent) = org.parent_organisation(&self.unit) else {
                    return Err(WorkflowError::invalid(
                        "no_parent_unit",
                        format!("单位 {} 已是最上级，无法再提级", self.unit),
                        format!(
                            "unit {} has no parent organisation to escalate to",
                            self.unit
                        ),
                    ));
                };
                let to = parent.id.clone();
                let from = std::mem::replace(&mut self.unit, to.clone());
                let detail = json!({"from": from, "to": to, "reason": reason});
                self.escalations.push(Escalation {
                    at: now,
                    by: actor.user.clone(),
                    from,
                    to,
                    reason,
                });
                (self.state, detail)
            }
            ActionKind::StartWatch { note } => {
                require_role(org, actor, &self.unit, &office, "跟踪", "start watching")?;
                if self.watch.as_ref().is_some_and(|w| w.subsided_at.is_none()) {
                    return Err(WorkflowError::invalid(
                        "already_watching",
                        "该案件已在跟踪中",
                        "the case is already being watched",
                    ));
                }
                self.watch = Some(Watch {
                    since: now,
                    by: actor.user.clone(),
                    note: note.clone(),
                    subsided_at: None,
                });
                (self.state, json!({"note": note}))
            }
            ActionKind::MarkSubsided { note } => {
                require_role(
                    org,
                    actor,
                    &self.unit,
                    &office,
                    "标记平息",
                    "mark as subsided",
                )?;
                let Some(w) = self.watch.as_mut().filter(|w| w.subsided_at.is_none()) else {
                    return Err(WorkflowError::invalid(
                        "not_watching",
                        "该案件未在跟踪中，不能标记平息；请先开始跟踪",
                        "the case is not being watched: start watching first",
                    ));
                };
                w.subsided_at = Some(now);
                (self.state, json!({"note": note, "watched_since": w.since}))
            }
            ActionKind::RecordSatisfaction { score, note } => {
                require_role(
                    org,
                    actor,
                    &self.unit,
                    &[Role::Analyst, Role::Leader, Role::Spokesperson],
                    "记录满意度",
                    "record satisfaction",
                )?;
                if !(1..=5).contains(&score) {
                    return Err(WorkflowError::invalid(
                        "bad_score",
                        format!("满意度应为 1 到 5，实为 {score}"),
                        format!("satisfaction must be 1 to 5, got {score}"),
                    ));
                }
                let detail = json!({"score": score, "note": note, "previous": self.satisfaction.as_ref().map(|s| s.score)});
                self.satisfaction = Some(Satisfaction {
                    score,
                    note,
                    at: now,
                    by: actor.user.clone(),
                });
                (self.state, detail)
            }
            ActionKind::Attach { attachment } => {
                if !org.in_scope(&actor.user, &self.unit) {
                    self.require_handler(org, actor, "添加附件", "attach a file", false)?;
                } else {
                    require_role(
                        org,
                        actor,
                        &self.unit,
                        &[
                            Role::Analyst,
                            Role::Leader,
                            Role::Liaison,
                            Role::Spokesperson,
                        ],
                        "添加附件",
                        "attach a file",
                    )?;
                }
                validate_attachment(&attachment)?;
                let detail = json!({"attachment": attachment});
                self.attachments.push(AttachedFile {
                    file: attachment,
                    at: now,
                    by: actor.user.clone(),
                });
                (self.state, detail)
            }
        };
        self.state = after;
        self.version += 1;
        let entry = TimelineEntry {
            version: self.version,
            at: now,
            actor: actor.user.clone(),
            action: name.into(),
            before: Some(before),
            after,
            unit: self.unit.clone(),
            detail,
        };
        self.timeline.push(entry.clone());
        Ok(vec![entry])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::tests::sample;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 1, 0, 0).unwrap()
    }
    fn registered(org: &Org) -> Case {
        let reg = Registration {
            id: "c1".into(),
            unit: "town".into(),
            source: CaseSource::Manual {
                channel: ManualChannel::Mailbox,
            },
            title: "路灯不亮".into(),
            summary: String::new(),
            link: None,
            negative: true,
            media_report: false,
            occurred_at: None,
            collected_at: None,
        };
        Case::register(reg, &Actor::new("analyst"), org, now())
            .unwrap()
            .0
    }

    #[test]
    fn register_records_who_and_when() {
        let org = sample();
        let c = registered(&org);
        assert_eq!((c.version, c.state), (1, CaseState::Registered));
        assert_eq!(c.registered_by, "analyst");
        assert_eq!(c.found_at, now());
        assert_eq!(c.timeline.len(), 1);
        assert_eq!(c.timeline[0].before, None);
    }

    #[test]
    fn register_refuses_bad_input() {
        let org = sample();
        let mut reg = Registration {
            id: " ".into(),
            unit: "town".into(),
            source: CaseSource::Alert {
                alert_id: "1".into(),
            },
            title: "t".into(),
            summary: String::new(),
            link: None,
            negative: false,
            media_report: false,
            occurred_at: None,
            collected_at: None,
        };
        let a = Actor::new("analyst");
        assert_eq!(
            Case::register(reg.clone(), &a, &org, now())
                .unwrap_err()
                .reason(),
            "missing_field"
        );
        reg.id = "x".into();
        reg.collected_at = Some(now() + chrono::Duration::hours(1));
        assert_eq!(
            Case::register(reg.clone(), &a, &org, now())
                .unwrap_err()
                .reason(),
            "time_in_future"
        );
        reg.collected_at = None;
        reg.unit = "nowhere".into();
        assert_eq!(
            Case::register(reg, &a, &org, now()).unwrap_err().code(),
            yuqing_core::Code::NotFound
        );
    }

    #[test]
    fn a_refused_action_changes_nothing() {
        let org = sample();
        let mut c = registered(&org);
        let before = c.clone();
        // Judging without facts: refused after the role check passed.
        let e = c
            .apply(
                Action::new(
                    1,
                    ActionKind::Judge {
                        level: Level::Major,
                        facts: "".into(),
                        negative: true,
                        emergency: false,
                    },
                ),
                &Actor::new("analyst"),
                &org,
                now(),
            )
            .unwrap_err();
        assert_eq!(e.reason(), "missing_field");
        assert_eq!(c, before);
        // A bad attachment hash.
        let e = c
            .apply(
                Action::new(
                    1,
                    ActionKind::Attach {
                        attachment: Attachment {
                            kind: AttachmentKind::Audio,
                            name: "录音.mp3".into(),
                            sha256: "XYZ".into(),
                            size: 1,
                        },
                    },
                ),
                &Actor::new("analyst"),
                &org,
                now(),
            )
            .unwrap_err();
        assert_eq!(e.reason(), "bad_sha256");
        assert_eq!(c, before);
        // Time running backwards.
        let e = c
            .apply(
                Action::new(
                    1,
                    ActionKind::StartWatch {
                        note: String::new(),
                    },
                ),
                &Actor::new("analyst"),
                &org,
                now() - chrono::Duration::seconds(1),
            )
            .unwrap_err();
        assert_eq!(e.reason(), "time_order");
    }

    #[test]
    fn admins_have_no_case_powers_and_roots_cannot_escalate() {
        let org = sample();
        let mut c = registered(&org);
        let e = c
            .apply(
                Action::new(1, ActionKind::Escalate { reason: "r".into() }),
                &Actor::new("admin"),
                &org,
                now(),
            )
            .unwrap_err();
        assert_eq!(e.reason(), "role_not_permitted");
        c.apply(
            Action::new(1, ActionKind::Escalate { reason: "r".into() }),
            &Actor::new("analyst"),
            &org,
            now(),
        )
        .unwrap();
        assert_eq!(c.unit, "county");
        let e = c
            .apply(
                Action::new(2, ActionKind::Escalate { reason: "r".into() }),
                &Actor::new("county-leader"),
                &org,
                now(),
            )
            .unwrap_err();
        assert_eq!(e.reason(), "no_parent_unit");
    }

    #[test]
    fn cases_and_actions_round_trip_through_json() {
        let org = sample();
        let mut c = registered(&org);
        c.apply(
            Action::new(
                1,
                ActionKind::Judge {
                    level: Level::Large,
                    facts: "f".into(),
                    negative: true,
                    emergency: true,
                },
            ),
            &Actor::new("analyst"),
            &org,
            now(),
        )
        .unwrap();
        let json = serde_json::to_string(&c).unwrap();
        let back: Case = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let a: Action = serde_json::from_str(
            r#"{"expected_version": 2, "kind": {"type": "assign", "lead": "town-edu", "instruction": "办"}}"#,
        )
        .unwrap();
        assert_eq!(a.kind.name(), "assign");
        let bad = serde_json::from_str::<Action>(
            r#"{"expected_version": 2, "kind": {"type": "close", "summary": "s", "extra": 1}}"#,
        );
        assert!(bad.is_err());
        for s in CaseState::ALL {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
            assert_eq!(CaseState::parse(s.label_zh()), Some(s));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.label_zh()), Some(o));
        }
    }
}
