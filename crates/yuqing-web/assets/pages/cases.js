// 处置: the board of cases by state with deadline countdowns (#/cases), one case with its
// timeline, deadlines, assignment, replies, attachments and the forms of the next steps
// (#/cases/ID), and a case entered by hand (#/cases/new, also ?alert=ID or
// ?platform=P&id=X from other pages).
//
// Every step posts {"expected_version", "kind": {...}} to /api/v1/cases/ID/actions; the
// server decides (role, scope, order, version) and its refusal is shown as it says it.
// Case texts come from documents and people: only ever set as text through h().

import { h, mount, api, t, go, session, guard, toast, fmtTime, levelBadge, pick, ApiError, loadOrg, orgIndex } from '../app.js';
import { define } from '../i18n.js';

define({
  'cases.title': ['处置', 'Cases'],
  'cases.new': ['新建案件', 'New case'],
  'cases.refresh': ['刷新', 'Refresh'],
  'cases.show_archived': ['显示归档', 'Show archived'],
  'cases.none': ['无', 'none'],
  'cases.count': ['{n} 件', '{n}'],
  'cases.back': ['返回看板', 'Back to the board'],
  'cases.version': ['版本 {v}', 'version {v}'],
  'cases.unit': ['所属单位', 'Unit'],
  'cases.source': ['来源', 'Source'],
  'cases.link': ['链接', 'Link'],
  'cases.summary': ['摘要', 'Summary'],
  'cases.facts': ['已掌握情况', 'Facts so far'],
  'cases.level': ['级别', 'Level'],
  'cases.negative': ['负面', 'Negative'],
  'cases.media_report': ['媒体报道', 'Media report'],
  'cases.emergency': ['突发事件', 'Emergency'],
  'cases.registered_by': ['登记人', 'Registered by'],
  'cases.supervised': ['督办', 'Supervised'],
  'cases.watching': ['跟踪中', 'Watching'],
  'cases.subsided': ['已平息', 'Subsided'],
  'cases.due_in': ['剩 {d}', '{d} left'],
  'cases.overdue_by': ['超时 {d}', 'overdue by {d}'],
  'cases.dur.d': ['{n} 天', '{n}d'],
  'cases.dur.h': ['{n} 小时', '{n}h'],
  'cases.dur.m': ['{n} 分', '{n}m'],
  'cases.sec.facts': ['时间证明', 'Provable times'],
  'cases.sec.deadlines': ['时限', 'Deadlines'],
  'cases.sec.assignment': ['批办', 'Assignment'],
  'cases.sec.handling': ['办理记录', 'Handling'],
  'cases.sec.replies': ['回复', 'Replies'],
  'cases.sec.attachments': ['附件', 'Attachments'],
  'cases.sec.actions': ['下一步', 'Next steps'],
  'cases.sec.timeline': ['处置时间线', 'Timeline'],
  'cases.sec.reminders': ['催办 / 督办', 'Reminders'],
  'cases.sec.audit': ['审计记录', 'Audit entries'],
  'cases.fact.first_collected': ['首次采集', 'First collected'],
  'cases.fact.first_registered': ['登记', 'Registered'],
  'cases.fact.first_reported': ['首次上报', 'First reported'],
  'cases.fact.first_assigned': ['首次批办', 'First assigned'],
  'cases.fact.first_drafted': ['首次起草回复', 'First draft'],
  'cases.fact.first_replied': ['首次回复', 'First reply'],
  'cases.fact.first_closed': ['首次办结', 'First closed'],
  'cases.dl.what': ['事项', 'What'],
  'cases.dl.due': ['截止', 'Due'],
  'cases.dl.met': ['完成', 'Met'],
  'cases.dl.status': ['状态', 'Status'],
  'cases.dl.unit': ['责任单位', 'Answerable'],
  'cases.dl.notify_leading_group': ['负面舆情报告领导小组', 'Negative item to the leading group'],
  'cases.dl.report_upward': ['上报', 'Report upward'],
  'cases.dl.forward_to_department': ['转办责任部门', 'Forward to the department'],
  'cases.dl.answer_general': ['答复', 'Answer'],
  'cases.dl.handling': ['批办时限', 'Handling deadline'],
  'cases.dl.media_feedback': ['向媒体反馈', 'Feedback to the media'],
  'cases.st.met_on_time': ['按时完成', 'met on time'],
  'cases.st.met_late': ['逾期完成', 'met late'],
  'cases.st.pending': ['进行中', 'pending'],
  'cases.st.overdue': ['已超时', 'overdue'],
  'cases.remind.urge': ['催办', 'Reminder'],
  'cases.remind.supervise': ['督办', 'Supervision'],
  'cases.remind.delivered': ['已发送至 {channel}（{at}）', 'Sent to {channel} ({at})'],
  'cases.remind.pending': ['正在发送至 {channel}（已尝试 {n} 次）', 'Being sent to {channel} ({n} attempts so far)'],
  'cases.lead': ['牵头部门', 'Lead department'],
  'cases.co': ['协办部门', 'Co-handling'],
  'cases.due_at': ['办理时限', 'Deadline'],
  'cases.instruction': ['领导批示', 'Instruction'],
  'cases.assigned_by': ['批办人', 'Assigned by'],
  'cases.outcome': ['核实结果', 'Outcome'],
  'cases.actions_taken': ['采取的措施', 'Actions taken'],
  'cases.draft': ['回复稿 第 {n} 稿', 'Draft {n}'],
  'cases.drafted_by': ['{who} 于 {at} 起草', 'drafted by {who} at {at}'],
  'cases.approved_by': ['{who} 于 {at} 审定', 'approved by {who} at {at}'],
  'cases.sent_back_by': ['{who} 于 {at} 退回：{reason}', 'sent back by {who} at {at}: {reason}'],
  'cases.awaiting': ['待审定', 'awaiting approval'],
  'cases.published': ['已发布回复', 'Published reply'],
  'cases.channel': ['发布渠道', 'Channel'],
  'cases.spokesperson': ['发言人', 'Spokesperson'],
  'cases.closing_summary': ['办结情况', 'Closing summary'],
  'cases.satisfaction': ['满意度', 'Satisfaction'],
  'cases.att.name': ['文件', 'File'],
  'cases.att.kind': ['类型', 'Kind'],
  'cases.att.size': ['大小', 'Size'],
  'cases.att.by': ['上传', 'Added'],
  'cases.att.upload': ['上传附件', 'Upload'],
  'cases.att.kind.auto': ['自动判断', 'guess from name'],
  'cases.att.kind.text': ['文本', 'text'],
  'cases.att.kind.image': ['图片', 'image'],
  'cases.att.kind.audio': ['音频', 'audio'],
  'cases.att.kind.video': ['视频', 'video'],
  'cases.att.choose': ['请选择文件', 'Choose a file'],
  'cases.att.done': ['已上传 {name}', 'Uploaded {name}'],
  'cases.tl.at': ['时间', 'When'],
  'cases.tl.actor': ['操作人', 'Who'],
  'cases.tl.action': ['动作', 'Action'],
  'cases.tl.state': ['状态', 'State'],
  'cases.tl.detail': ['内容', 'Detail'],
  'cases.no_actions': ['当前状态下您没有可办理的步骤', 'No step you may take in this state'],
  'cases.show_all_actions': ['显示全部步骤（由服务器判定权限）', 'Show every step (the server checks permissions)'],
  'cases.submit': ['提交', 'Submit'],
  'cases.done': ['{action}：已完成', '{action}: done'],
  'cases.refused': ['操作被拒绝（{status}）', 'Refused ({status})'],
  'cases.reload': ['重新载入案件', 'Reload the case'],
  'cases.required': ['必填', 'required'],
  // states
  'state.registered': ['登记', 'Registered'],
  'state.judged': ['研判', 'Judged'],
  'state.reported': ['上报', 'Reported'],
  'state.assigned': ['批办', 'Assigned'],
  'state.handling': ['办理', 'Handling'],
  'state.reply_drafted': ['回复待审定', 'Reply drafted'],
  'state.reply_approved': ['回复已审定', 'Reply approved'],
  'state.reply_recorded': ['已回复', 'Replied'],
  'state.closed': ['办结', 'Closed'],
  'state.archived': ['归档', 'Archived'],
  // actions
  'act.register': ['登记', 'Register'],
  'act.judge': ['研判', 'Judge'],
  'act.regrade': ['重新定级', 'Regrade'],
  'act.report_up': ['上报', 'Report upward'],
  'act.assign': ['批办', 'Assign'],
  'act.record_handling': ['办理', 'Record handling'],
  'act.draft_reply': ['起草回复', 'Draft a reply'],
  'act.approve_reply': ['审定回复', 'Approve the reply'],
  'act.send_back': ['退回', 'Send back'],
  'act.record_reply': ['发布回复', 'Record the published reply'],
  'act.resend_reply_mail': ['重新发送答复邮件', 'Send the reply e-mail again'],
  'act.reply_mailed': ['答复邮件发送结果', 'Reply e-mail outcome'],
  'act.close': ['办结', 'Close'],
  'act.archive': ['归档', 'Archive'],
  'act.reopen': ['重新办理', 'Reopen'],
  'act.escalate': ['提级上报', 'Escalate'],
  'act.start_watch': ['跟踪', 'Start watching'],
  'act.mark_subsided': ['平息', 'Mark subsided'],
  'act.record_satisfaction': ['满意度', 'Satisfaction'],
  'act.attach': ['添加附件', 'Attach'],
  // form fields
  'f.level': ['级别', 'Level'],
  'f.facts': ['已掌握情况', 'Facts so far'],
  'f.negative': ['负面舆情', 'Negative item'],
  'f.emergency': ['突发事件', 'Emergency'],
  'f.reason': ['理由', 'Reason'],
  'f.recipient': ['报送对象', 'Report to'],
  'f.recipient.leading_group': ['本级领导小组', 'the leading group'],
  'f.recipient.parent_unit': ['上级单位', 'the parent unit'],
  'f.summary': ['内容摘要', 'Summary'],
  'f.comment': ['审定意见', 'Comment'],
  'f.text': ['回复内容', 'Reply text'],
  'f.link': ['发布链接', 'Link'],
  'f.mail_to': ['邮件发给来信人', 'E-mail it to the writer'],
  'f.mail_to_hint': ['填写来信人的邮件地址，发布时同时用“答复邮件”（[reply_mail]）发出；渠道须为书面答复。留空则只记录。', "the writer's address: the reply is also sent by e-mail ([reply_mail]); the channel must be letter. Empty: recorded only."],
  'cases.mail': ['答复邮件', 'Reply e-mail'],
  'cases.mail.sent': ['已发送给 {to}（{at}，第 {n} 次）', 'sent to {to} ({at}, attempt {n})'],
  'cases.mail.failed': ['发送给 {to} 失败（{at}，第 {n} 次）：{reason}', 'sending to {to} failed ({at}, attempt {n}): {reason}'],
  'cases.mail.sending': ['正在发送给 {to}（自 {at}）；若长时间如此，发送结果未知，可能已发出', 'being sent to {to} (since {at}); if it stays so, the outcome is unknown: it may have gone out'],
  'f.note': ['备注', 'Note'],
  'f.score': ['满意度（1–5）', 'Score (1–5)'],
  'f.close_summary': ['办结情况', 'Closing summary'],
  'outcome.true': ['属实', 'true'],
  'outcome.untrue': ['不实', 'untrue'],
  'outcome.defamation': ['恶意诽谤', 'defamation'],
  'outcome.staff_misconduct': ['工作人员违纪', 'staff misconduct'],
  'outcome.suggestion': ['合理建议', 'reasonable suggestion'],
  'outcome.unknown': ['尚未核实', 'not yet verified'],
  'rchan.official_website': ['政府网站', 'official website'],
  'rchan.weibo': ['微博', 'Weibo'],
  'rchan.wechat': ['微信公众号', 'WeChat'],
  'rchan.message_board': ['留言板', 'message board'],
  'rchan.hotline': ['热线', 'hotline'],
  'rchan.media': ['媒体', 'media'],
  'rchan.letter': ['书面答复', 'letter'],
  'rchan.other': ['其他', 'other'],
  'mchan.hotline': ['12345 热线', 'hotline 12345'],
  'mchan.mailbox': ['领导信箱', 'mailbox'],
  'mchan.message_board': ['留言板', 'message board'],
  'mchan.phone': ['电话报告', 'phone'],
  'mchan.email': ['电子邮件', 'e-mail'],
  'mchan.visit': ['来访', 'visit'],
  'mchan.other': ['其他', 'other'],
  'src.alert': ['预警 {id}', 'alert {id}'],
  'src.document': ['文档 {id}', 'document {id}'],
  'src.manual': ['人工登记：{channel}', 'by hand: {channel}'],
  'new.title': ['新建案件（人工登记）', 'New case (by hand)'],
  'new.from_alert': ['从预警 {id} 立案', 'Case from alert {id}'],
  'new.from_document': ['从文档 {id} 立案', 'Case from document {id}'],
  'new.channel': ['来源渠道', 'Channel'],
  'new.case_title': ['标题', 'Title'],
  'new.occurred_at': ['发生时间（北京时间）', 'Occurred (Beijing time)'],
  'new.title_auto': ['留空则取自来源', 'empty: taken from the source'],
  'new.submit': ['登记', 'Register'],
  'new.ok': ['已立案 {id}', 'Case {id} registered'],
  'new.no_unit': ['您没有可登记案件的单位（需要监测员、领导或信息员角色）', 'You hold no role that may register cases (analyst, leader or liaison)'],
});

/** The states of docs/specs/case-workflow.md §2, in order. */
export const STATES = ['registered', 'judged', 'reported', 'assigned', 'handling',
  'reply_drafted', 'reply_approved', 'reply_recorded', 'closed', 'archived'];
const OPEN = STATES.filter((s) => s !== 'closed' && s !== 'archived');
const LEVELS = ['general', 'large', 'major', 'especially_major'];
const OUTCOMES = ['true', 'untrue', 'defamation', 'staff_misconduct', 'suggestion'];
const REPLY_CHANNELS = ['official_website', 'weibo', 'wechat', 'message_board', 'hotline', 'media', 'letter', 'other'];
const MANUAL_CHANNELS = ['hotline', 'mailbox', 'message_board', 'phone', 'email', 'visit', 'other'];
const SPAN = (from, to) => STATES.slice(STATES.indexOf(from), STATES.indexOf(to) + 1);

/**
 * Each step: the states it may start from and the roles that may take it (the spec's
 * transitions table). `liaison` is checked against the lead/co departments, the others
 * against the case unit; the server checks again and has the last word.
 */
const STEPS = {
  judge: { from: ['registered'], roles: ['analyst', 'leader'] },
  regrade: { from: SPAN('judged', 'reply_recorded'), roles: ['analyst', 'leader'] },
  report_up: { from: SPAN('judged', 'reply_recorded'), roles: ['analyst', 'leader'] },
  assign: { from: ['judged', 'reported', 'assigned', 'handling'], roles: ['leader'] },
  record_handling: { from: ['assigned', 'handling'], roles: ['leader', 'analyst'], liaison: 'any' },
  draft_reply: { from: ['handling'], roles: ['leader', 'analyst', 'spokesperson'], liaison: 'lead' },
  approve_reply: { from: ['reply_drafted'], roles: ['leader', 'spokesperson'] },
  send_back: { from: ['reply_drafted'], roles: ['leader', 'spokesperson'] },
  record_reply: { from: ['reply_approved'], roles: ['spokesperson', 'leader', 'analyst'], liaison: 'lead' },
  close: { from: ['reply_recorded'], roles: ['analyst', 'leader'] },
  archive: { from: ['closed'], roles: ['analyst', 'leader'] },
  reopen: { from: ['closed'], roles: ['leader'] },
  escalate: { from: OPEN, roles: ['analyst', 'leader'] },
  start_watch: { from: STATES.filter((s) => s !== 'archived'), roles: ['analyst', 'leader'], when: (c) => !c.watch || c.watch.subsided_at },
  mark_subsided: { from: STATES.filter((s) => s !== 'archived'), roles: ['analyst', 'leader'], when: (c) => c.watch && !c.watch.subsided_at },
  record_satisfaction: { from: ['reply_recorded', 'closed', 'archived'], roles: ['analyst', 'leader', 'spokesperson'] },
};

// ---- helpers --------------------------------------------------------------------------

// The page's own layout rules (static text; the shared style.css holds the common ones).
const CSS = `
.board { display: grid; grid-auto-flow: column; grid-auto-columns: minmax(180px, 1fr); gap: 8px; overflow-x: auto; align-items: start; }
.board .column { background: #e9eef4; border-radius: 6px; padding: 6px; min-height: 120px; }
.board .column h2 { font-size: 14px; margin: 2px 4px 8px; }
.case-card { display: block; background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--blue); border-radius: 4px; padding: 6px 8px; margin-bottom: 6px; color: var(--ink); }
.case-card:hover { text-decoration: none; border-color: var(--accent); }
.case-card.is-overdue { border-left-color: var(--red); }
.case-card .case-title { margin: 4px 0; overflow-wrap: anywhere; }
.case-id { font-family: ui-monospace, monospace; color: var(--muted); }
.small { font-size: 12px; }
.soon { color: var(--orange); font-weight: 600; }
.pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.quote { background: #f6f8fb; border-left: 3px solid var(--line); padding: 6px 8px; margin: 4px 0; }
.ok { color: var(--green); }
a.button { display: inline-block; border: 1px solid var(--line); border-radius: 4px; padding: 4px 12px; background: #fff; }
a.button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
.refusal { border: 1px solid var(--red); background: #fdecec; color: var(--red); padding: 8px 12px; border-radius: 4px; margin-bottom: 12px; }
.refusal .reason { margin: 0 8px; padding: 1px 6px; background: #fff; border-radius: 3px; }
table.kv th { width: 9em; background: none; }
tr.is-overdue td { background: #fdf0f0; }
.steps { display: flex; flex-direction: column; gap: 6px; }
.step { border: 1px solid var(--line); border-radius: 4px; padding: 6px 10px; }
.step summary { cursor: pointer; font-weight: 600; }
.step-form, .new-case { display: flex; flex-direction: column; gap: 8px; margin-top: 8px; max-width: 760px; }
.field { display: flex; flex-direction: column; gap: 2px; }
.field .label { font-weight: 600; }
.checks { display: flex; flex-wrap: wrap; gap: 4px 12px; }
.state { background: #e3eefc; color: var(--accent); }
.timeline td.detail div { overflow-wrap: anywhere; }
.page-cases .card h2:not(:first-child) { margin-top: 14px; }
`;

/** Adds the page's style rules once. */
export function pageStyle(id, css) {
  if (document.getElementById(id)) return;
  const el = document.createElement('style');
  el.id = id;
  el.textContent = css;
  document.head.appendChild(el);
}

/** "2 天 3 小时", "45 分" for a number of milliseconds. */
export function fmtSpan(ms) {
  const m = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const d = Math.floor(m / 1440);
  const hh = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  const parts = [];
  if (d) parts.push(t('cases.dur.d', { n: d }));
  if (hh) parts.push(t('cases.dur.h', { n: hh }));
  if (!d && (mm || !hh)) parts.push(t('cases.dur.m', { n: mm }));
  return parts.join(' ');
}

/** A countdown element for a deadline: red once overdue. */
export function countdown(dl, now = Date.now()) {
  if (dl.met_at) return h('span', { class: dl.late ? 'overdue' : 'muted' }, t(`cases.st.${dl.status}`));
  const left = new Date(dl.due_at).getTime() - now;
  return left < 0
    ? h('span', { class: 'overdue', title: fmtTime(dl.due_at) }, t('cases.overdue_by', { d: fmtSpan(left) }))
    : h('span', { class: left < 3600000 ? 'soon' : '', title: fmtTime(dl.due_at) }, t('cases.due_in', { d: fmtSpan(left) }));
}

/** The Beijing wall time `YYYY-MM-DDTHH:MM` (for datetime-local inputs) of an instant. */
function bjLocal(ms) {
  return new Date(ms + 8 * 3600000).toISOString().slice(0, 16);
}

/** A datetime-local value read as Beijing time → RFC 3339. */
function fromBjLocal(v) {
  return v ? `${v}:00+08:00` : null;
}

/** A link to an outside page, or the URL as plain text when it is not http(s). */
export function extLink(url, text = url) {
  return /^https?:\/\//i.test(String(url || '').trim())
    ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, text)
    : h('span', { class: 'unsafe-link' }, text || url || '-');
}

function sourceText(src) {
  if (!src) return '-';
  if (src.type === 'alert') return t('src.alert', { id: src.alert_id });
  if (src.type === 'document') return t('src.document', { id: src.document });
  return t('src.manual', { channel: t(`mchan.${src.channel}`) });
}

function stateBadge(s) {
  return h('span', { class: `badge state state-${s}` }, t(`state.${s}`));
}

function myRolesAt(ix, unit) {
  return new Set((session.me?.roles || []).filter((r) => ix.within(unit, r.unit)).map((r) => r.role));
}

function permitted(step, c, ix) {
  const s = STEPS[step];
  if (!s.from.includes(c.state) || (s.when && !s.when(c))) return false;
  const held = myRolesAt(ix, c.unit);
  if (s.roles.some((r) => held.has(r))) return true;
  if (s.liaison && c.assignment) {
    const depts = s.liaison === 'lead' ? [c.assignment.lead] : [c.assignment.lead, ...(c.assignment.co || [])];
    return depts.some((d) => myRolesAt(ix, d).has('liaison'));
  }
  return false;
}

function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, hint ? h('span', { class: 'muted small' }, hint) : null);
}

// ---- the router -----------------------------------------------------------------------

export default async function (root, params, query) {
  pageStyle('style-cases', CSS);
  if (params[0] === 'new') return newCase(root, query);
  if (params[0]) return casePage(root, params[0]);
  return board(root, query);
}

// ---- board ----------------------------------------------------------------------------

async function board(root, query) {
  const showArchived = query.archived === '1';
  const body = h('div', { class: 'board' }, h('p', { class: 'muted' }, t('common.loading')));
  mount(root,
    h('div', { class: 'row' },
      h('h1', {}, t('cases.title')),
      h('a', { class: 'button primary', href: '#/cases/new' }, t('cases.new')),
      h('label', {}, h('input', {
        type: 'checkbox', checked: showArchived,
        onchange: (e) => go('/cases', e.target.checked ? { archived: '1' } : undefined),
      }), ' ', t('cases.show_archived')),
      h('button', { onclick: () => draw() }, t('cases.refresh'))),
    body);

  async function draw() {
    await guard(async () => {
      const [list, board, org] = await Promise.all([
        api('cases', { query: { limit: 1000 } }),
        api('deadlines').catch((e) => { if (e.status === 401) throw e; return { cases: {} }; }),
        loadOrg(),
      ]);
      const ix = orgIndex(org);
      const now = Date.now();
      const states = showArchived ? STATES : STATES.filter((s) => s !== 'archived');
      const byState = new Map(states.map((s) => [s, []]));
      for (const c of list.cases || []) byState.get(c.state)?.push(c);
      const columns = states.map((s) => {
        const cases = byState.get(s);
        // The most urgent first: nearest unmet deadline.
        const next = (c) => {
          const dls = (board.cases?.[c.id]?.deadlines || []).filter((d) => !d.met_at);
          return dls.length ? Math.min(...dls.map((d) => new Date(d.due_at).getTime())) : Infinity;
        };
        cases.sort((a, b) => next(a) - next(b));
        return h('section', { class: `column col-${s}`, dataset: { state: s } },
          h('h2', {}, t(`state.${s}`), ' ', h('span', { class: 'muted' }, t('cases.count', { n: cases.length }))),
          cases.map((c) => card(c, board.cases?.[c.id], ix, now)));
      });
      mount(body, columns);
    }, body);
  }
  await draw();
}

function card(c, info, ix, now) {
  const open = (info?.deadlines || []).filter((d) => !d.met_at);
  open.sort((a, b) => new Date(a.due_at) - new Date(b.due_at));
  const overdue = open.some((d) => new Date(d.due_at).getTime() < now);
  return h('a', { class: `case-card${overdue ? ' is-overdue' : ''}`, href: `#/cases/${encodeURIComponent(c.id)}`, dataset: { case: c.id } },
    h('div', { class: 'case-head' }, h('span', { class: 'case-id' }, c.id), ' ', c.level ? levelBadge(c.level) : null,
      c.negative ? h('span', { class: 'badge sent-negative' }, t('cases.negative')) : null,
      info?.supervised ? h('span', { class: 'badge level-especially_major' }, t('cases.supervised')) : null),
    h('div', { class: 'case-title' }, c.title || '-'),
    h('div', { class: 'muted small' }, ix.unitName(c.assignment?.lead || c.unit)),
    open.slice(0, 2).map((d) => h('div', { class: 'small' }, `${t(`cases.dl.${d.what}`)}：`, countdown(d, now))));
}

// ---- one case -------------------------------------------------------------------------

async function casePage(root, id) {
  const [view, org] = await Promise.all([api(`cases/${encodeURIComponent(id)}`), loadOrg()]);
  const ix = orgIndex(org);
  const c = view.case;
  const reload = () => casePage(root, id);
  const now = Date.now();

  const msg = h('div', { class: 'refusal', role: 'alert', hidden: true });
  /** Posts a step; shows the server's refusal (403/409 with its reason) in `msg`. */
  async function act(kind, button) {
    msg.hidden = true;
    if (button) button.disabled = true;
    try {
      await api(`cases/${encodeURIComponent(c.id)}/actions`, { method: 'POST', body: { expected_version: c.version, kind } });
      toast(t('cases.done', { action: t(`act.${kind.type}`) }));
      await reload();
    } catch (e) {
      if (button) button.disabled = false;
      if (e instanceof ApiError && e.status === 401) return;
      showRefusal(e);
    }
  }
  function showRefusal(e) {
    msg.hidden = false;
    mount(msg,
      h('b', {}, t('cases.refused', { status: e.status || '' })), ' ',
      h('span', { class: 'refusal-message' }, e.message),
      e.reason ? h('code', { class: 'reason' }, e.reason) : null,
      e.status === 409 ? h('button', { onclick: reload }, t('cases.reload')) : null);
    msg.scrollIntoView({ block: 'nearest' });
  }

  const dl = view.deadlines || [];
  const a = c.assignment;
  mount(root,
    h('p', {}, h('a', { href: '#/cases' }, `← ${t('cases.back')}`)),
    h('div', { class: 'row case-header' },
      h('h1', {}, h('span', { class: 'case-id' }, c.id), ' ', c.title || '-'),
      stateBadge(c.state), c.level ? levelBadge(c.level) : null,
      c.negative ? h('span', { class: 'badge sent-negative' }, t('cases.negative')) : null,
      c.emergency ? h('span', { class: 'badge level-major' }, t('cases.emergency')) : null,
      view.supervised ? h('span', { class: 'badge level-especially_major' }, t('cases.supervised')) : null,
      c.watch ? h('span', { class: 'badge' }, c.watch.subsided_at ? t('cases.subsided') : t('cases.watching')) : null,
      h('span', { class: 'muted' }, t('cases.version', { v: c.version }))),
    msg,
    h('div', { class: 'grid' },
      h('div', { class: 'card span-8' },
        h('table', { class: 'kv' }, h('tbody', {},
          kv(t('cases.unit'), ix.unitName(c.unit)),
          kv(t('cases.source'), sourceText(c.source)),
          kv(t('cases.link'), c.link ? extLink(c.link) : '-'),
          kv(t('cases.summary'), h('span', { class: 'pre' }, c.summary || '-')),
          kv(t('cases.facts'), h('span', { class: 'pre' }, c.facts || '-')),
          kv(t('cases.registered_by'), `${ix.userName(c.registered_by)} · ${fmtTime(c.registered_at)}`),
          c.media_report ? kv(t('cases.media_report'), '✓') : null,
          c.closing_summary ? kv(t('cases.closing_summary'), h('span', { class: 'pre' }, c.closing_summary)) : null,
          c.satisfaction ? kv(t('cases.satisfaction'), `${c.satisfaction.score} / 5 ${c.satisfaction.note || ''}`) : null))),
      h('div', { class: 'card span-4' },
        h('h2', {}, t('cases.sec.facts')),
        h('table', { class: 'kv' }, h('tbody', {},
          Object.entries(view.facts || {}).map(([k, v]) => kv(t(`cases.fact.${k}`), v ? fmtTime(v) : '-'))))),
      h('div', { class: 'card span-12' },
        h('h2', {}, t('cases.sec.deadlines')),
        dl.length ? h('table', { class: 'deadlines' },
          h('thead', {}, h('tr', {}, [t('cases.dl.what'), t('cases.dl.unit'), t('cases.dl.due'), t('cases.dl.met'), t('cases.dl.status'), ''].map((x) => h('th', {}, x)))),
          h('tbody', {}, dl.map((d) => h('tr', { class: d.status === 'overdue' ? 'is-overdue' : '', dataset: { status: d.status } },
            h('td', {}, t(`cases.dl.${d.what}`)),
            h('td', {}, ix.unitName(d.unit)),
            h('td', {}, fmtTime(d.due_at)),
            h('td', {}, d.met_at ? fmtTime(d.met_at) : '-'),
            h('td', { class: d.late ? 'overdue' : '' }, t(`cases.st.${d.status}`)),
            h('td', {}, d.met_at ? '' : countdown(d, now))))))
          : h('p', { class: 'muted' }, t('common.empty')),
        (view.reminders || []).length ? [h('h2', {}, t('cases.sec.reminders')),
          h('ul', {}, view.reminders.map((r) => h('li', { class: r.kind === 'supervise' ? 'overdue' : '' },
            `${t(`cases.remind.${r.kind}`)} · ${fmtTime(r.sent_at)} · `, pick(r.message?.zh, r.message?.en) || '',
            (view.reminders_sent || []).filter((x) => x.key === r.key).map((x) => h('div', { class: 'muted small reminder-sent' },
              x.delivered_at ? t('cases.remind.delivered', { channel: x.channel, at: fmtTime(x.delivered_at) })
                : t('cases.remind.pending', { channel: x.channel, n: x.attempts }))))))] : null),
      h('div', { class: 'card span-6' },
        h('h2', {}, t('cases.sec.assignment')),
        a ? h('table', { class: 'kv' }, h('tbody', {},
          kv(t('cases.lead'), ix.unitName(a.lead)),
          kv(t('cases.co'), (a.co || []).map(ix.unitName).join('、') || '-'),
          kv(t('cases.due_at'), a.due_at ? fmtTime(a.due_at) : '-'),
          kv(t('cases.instruction'), h('span', { class: 'pre' }, a.instruction || '-')),
          kv(t('cases.assigned_by'), `${ix.userName(a.by)} · ${fmtTime(a.at)}`)))
          : h('p', { class: 'muted' }, t('cases.none')),
        h('h2', {}, t('cases.sec.handling')),
        (c.handling || []).length ? h('ul', {}, c.handling.map((x) => h('li', {},
          h('b', {}, x.outcome ? t(`outcome.${x.outcome}`) : t('outcome.unknown')), ' · ',
          h('span', { class: 'pre' }, x.actions), h('div', { class: 'muted small' }, `${ix.userName(x.by)} · ${fmtTime(x.at)}`))))
          : h('p', { class: 'muted' }, t('cases.none'))),
      h('div', { class: 'card span-6' },
        h('h2', {}, t('cases.sec.replies')),
        (c.drafts || []).length ? c.drafts.map((d) => h('div', { class: 'draft' },
          h('b', {}, t('cases.draft', { n: d.revision })), ' ',
          h('span', { class: 'muted small' }, t('cases.drafted_by', { who: ix.userName(d.drafted_by), at: fmtTime(d.drafted_at) })),
          h('div', { class: 'pre quote' }, d.text),
          !d.decision ? h('div', { class: 'muted' }, t('cases.awaiting'))
            : d.decision.type === 'approved'
              ? h('div', { class: 'ok' }, t('cases.approved_by', { who: ix.userName(d.decision.by), at: fmtTime(d.decision.at) }), d.decision.comment ? `：${d.decision.comment}` : '')
              : h('div', { class: 'error' }, t('cases.sent_back_by', { who: ix.userName(d.decision.by), at: fmtTime(d.decision.at), reason: d.decision.reason }))))
          : h('p', { class: 'muted' }, t('cases.none')),
        (c.replies || []).map((r, i) => h('div', { class: 'published' },
          h('h2', {}, t('cases.published')),
          h('table', { class: 'kv' }, h('tbody', {},
            kv(t('cases.channel'), t(`rchan.${r.channel}`)),
            kv(t('f.link'), r.link ? extLink(r.link) : '-'),
            kv(t('cases.spokesperson'), r.spokesperson ? ix.userName(r.spokesperson) : '-'),
            kv(t('cases.tl.at'), `${ix.userName(r.by)} · ${fmtTime(r.at)}`),
            r.mail ? kv(t('cases.mail'), replyMail(r.mail, i, c, ix, act)) : null)),
          h('div', { class: 'pre quote' }, r.text)))),
      h('div', { class: 'card span-12 actions-card' },
        h('h2', {}, t('cases.sec.actions')),
        actionForms(c, ix, act)),
      h('div', { class: 'card span-12' },
        h('h2', {}, t('cases.sec.attachments')),
        attachments(c, ix, reload, showRefusal)),
      h('div', { class: 'card span-12' },
        h('h2', {}, t('cases.sec.timeline')),
        timeline(c, ix)),
      h('div', { class: 'card span-12' },
        h('details', {},
          h('summary', {}, `${t('cases.sec.audit')}（${(view.audit || []).length}）`),
          h('table', { class: 'audit small' },
            h('thead', {}, h('tr', {}, ['#', t('cases.tl.at'), t('cases.tl.actor'), t('cases.tl.action'), 'hash'].map((x) => h('th', {}, x)))),
            h('tbody', {}, (view.audit || []).map((e) => h('tr', {},
              h('td', {}, e.seq), h('td', {}, fmtTime(e.at)), h('td', {}, e.actor), h('td', {}, e.action),
              h('td', {}, h('code', {}, String(e.hash).slice(0, 16)))))))))));
}

/** Where sending reply `i` by e-mail stands, with a resend button when it did not go out. */
function replyMail(m, i, c, ix, act) {
  const st = m.status || {};
  const args = { to: m.to, n: m.attempts };
  const line = st.state === 'sent'
    ? h('span', { class: 'ok mail-status', dataset: { state: 'sent' } }, t('cases.mail.sent', { ...args, at: fmtTime(st.at) }))
    : st.state === 'failed'
      ? h('span', { class: 'error mail-status', dataset: { state: 'failed' } }, t('cases.mail.failed', { ...args, at: fmtTime(st.at), reason: st.reason || '' }))
      : h('span', { class: 'muted mail-status', dataset: { state: 'sending' } }, t('cases.mail.sending', { ...args, at: fmtTime(st.since) }));
  const canResend = st.state !== 'sent' && ['reply_recorded', 'closed'].includes(c.state) && permitted('record_reply', { ...c, state: 'reply_approved' }, ix);
  const button = canResend ? h('button', {
    type: 'button',
    class: 'resend-mail',
    onclick: () => act({ type: 'resend_reply_mail', reply: i }, button),
  }, t('act.resend_reply_mail')) : null;
  return h('div', {}, line, button ? [' ', button] : null);
}

function kv(k, v) {
  return h('tr', {}, h('th', {}, k), h('td', {}, v));
}

function timeline(c, ix) {
  const entries = [...(c.timeline || [])].reverse();
  return h('table', { class: 'timeline' },
    h('thead', {}, h('tr', {}, [t('cases.tl.at'), t('cases.tl.actor'), t('cases.tl.action'), t('cases.tl.state'), t('cases.tl.detail')].map((x) => h('th', {}, x)))),
    h('tbody', {}, entries.map((e) => h('tr', { dataset: { version: e.version } },
      h('td', {}, fmtTime(e.at)),
      h('td', {}, ix.userName(e.actor)),
      h('td', {}, t(`act.${e.action}`)),
      h('td', {}, e.before && e.before !== e.after ? [t(`state.${e.before}`), ' → '] : null, t(`state.${e.after}`)),
      h('td', { class: 'detail' }, detailText(e.detail, ix))))));
}

/** The detail object of a timeline entry, as "key: value" lines of text. */
function detailText(d, ix) {
  if (!d || typeof d !== 'object') return d == null ? '' : String(d);
  return Object.entries(d).filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length)).map(([k, v]) => {
    let s;
    if (k === 'lead' || k === 'from' || k === 'to') s = ix.unitName(v);
    else if (k === 'co' && Array.isArray(v)) s = v.map(ix.unitName).join('、');
    else if (k === 'outcome') s = t(`outcome.${v}`);
    else if (k === 'level' || k === 'old' || k === 'new') s = LEVELS.includes(v) ? t(`level.${v}`) : String(v);
    else if (/_at$/.test(k) && typeof v === 'string') s = fmtTime(v);
    else if (typeof v === 'object') s = JSON.stringify(v);
    else s = String(v);
    return h('div', {}, h('span', { class: 'muted' }, `${k}：`), s);
  });
}

// ---- the forms of the next steps ------------------------------------------------------

function actionForms(c, ix, act) {
  const wrap = h('div', { class: 'steps' });
  let all = false;
  const draw = () => {
    const steps = Object.keys(STEPS).filter((s) => STEPS[s].from.includes(c.state) && (all || permitted(s, c, ix)));
    mount(wrap,
      steps.length ? steps.map((s) => stepForm(s, c, ix, act)) : h('p', { class: 'muted' }, t('cases.no_actions')),
      h('label', { class: 'muted small' }, h('input', { type: 'checkbox', checked: all, onchange: (e) => { all = e.target.checked; draw(); } }), ' ', t('cases.show_all_actions')));
  };
  draw();
  return wrap;
}

function select(name, options, value) {
  return h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

function text(name, required = true, multiline = false, value = '') {
  return multiline
    ? h('textarea', { name, required, value })
    : h('input', { name, required, value });
}

function departmentsUnder(ix, unit) {
  return [...ix.units.values()].filter((u) => u.kind === 'department' && ix.within(u.id, unit));
}

function stepForm(step, c, ix, act) {
  const fields = [];
  let kind;
  const approved = [...(c.drafts || [])].reverse().find((d) => d.decision?.type === 'approved');
  switch (step) {
    case 'judge': {
      const level = select('level', LEVELS.map((l) => [l, t(`level.${l}`)]), c.level || 'general');
      const facts = text('facts', true, true);
      const neg = h('input', { type: 'checkbox', name: 'negative', checked: c.negative });
      const emg = h('input', { type: 'checkbox', name: 'emergency', checked: c.emergency });
      fields.push(field(t('f.level'), level), field(t('f.facts'), facts),
        h('label', {}, neg, ' ', t('f.negative')), h('label', {}, emg, ' ', t('f.emergency')));
      kind = () => ({ type: 'judge', level: level.value, facts: facts.value, negative: neg.checked, emergency: emg.checked });
      break;
    }
    case 'regrade': {
      const level = select('level', LEVELS.map((l) => [l, t(`level.${l}`)]), c.level || 'general');
      const reason = text('reason');
      fields.push(field(t('f.level'), level), field(t('f.reason'), reason));
      kind = () => ({ type: 'regrade', level: level.value, reason: reason.value });
      break;
    }
    case 'report_up': {
      const rec = select('recipient', ['leading_group', 'parent_unit'].map((r) => [r, t(`f.recipient.${r}`)]));
      const summary = text('summary', true, true);
      fields.push(field(t('f.recipient'), rec), field(t('f.summary'), summary));
      kind = () => ({ type: 'report_up', recipient: rec.value, summary: summary.value });
      break;
    }
    case 'assign': {
      const depts = departmentsUnder(ix, c.unit);
      const cur = c.assignment;
      const lead = select('lead', depts.map((u) => [u.id, u.name]), cur?.lead);
      const co = h('div', { class: 'checks' }, depts.map((u) => h('label', {},
        h('input', { type: 'checkbox', name: 'co', value: u.id, checked: (cur?.co || []).includes(u.id) }), ' ', u.name)));
      const due = h('input', { type: 'datetime-local', name: 'due_at', value: bjLocal(Date.now() + 24 * 3600000) });
      const instr = text('instruction', true, true);
      fields.push(field(t('cases.lead'), lead), field(t('cases.co'), co),
        field(t('cases.due_at'), due, '北京时间 / Beijing time'), field(t('cases.instruction'), instr));
      kind = () => ({
        type: 'assign',
        lead: lead.value,
        co: [...co.querySelectorAll('input:checked')].map((x) => x.value).filter((x) => x !== lead.value),
        due_at: fromBjLocal(due.value),
        instruction: instr.value,
      });
      break;
    }
    case 'record_handling': {
      const outcome = select('outcome', [['', t('outcome.unknown')], ...OUTCOMES.map((o) => [o, t(`outcome.${o}`)])], c.outcome || '');
      const actions = text('actions', true, true);
      fields.push(field(t('cases.outcome'), outcome), field(t('cases.actions_taken'), actions));
      kind = () => ({ type: 'record_handling', outcome: outcome.value || null, actions: actions.value });
      break;
    }
    case 'draft_reply': {
      const last = c.drafts?.length ? c.drafts[c.drafts.length - 1].text : '';
      const body = text('text', true, true, last);
      fields.push(field(t('f.text'), body));
      kind = () => ({ type: 'draft_reply', text: body.value });
      break;
    }
    case 'approve_reply': {
      const comment = text('comment', false);
      fields.push(field(t('f.comment'), comment));
      kind = () => ({ type: 'approve_reply', comment: comment.value });
      break;
    }
    case 'send_back': {
      const reason = text('reason', true, true);
      fields.push(field(t('f.reason'), reason));
      kind = () => ({ type: 'send_back', reason: reason.value });
      break;
    }
    case 'record_reply': {
      const ch = select('channel', REPLY_CHANNELS.map((x) => [x, t(`rchan.${x}`)]));
      const link = h('input', { name: 'link', type: 'url', placeholder: 'https://' });
      const body = text('text', true, true, approved?.text || '');
      const spokes = [...ix.users.values()].filter((u) => (u.grants || []).some((g) => g.role === 'spokesperson'));
      const sp = select('spokesperson', [['', '-'], ...spokes.map((u) => [u.id, `${u.name}（${u.id}）`])]);
      const mailTo = h('input', { name: 'mail_to', type: 'email', autocomplete: 'off' });
      fields.push(field(t('cases.channel'), ch), field(t('f.link'), link), field(t('f.text'), body), field(t('cases.spokesperson'), sp),
        field(t('f.mail_to'), mailTo, t('f.mail_to_hint')));
      // A case from a letter (a message with a sender's address): answer the writer.
      const [platform, ...rest] = c.source?.type === 'document' ? c.source.document.split(':') : [];
      if (platform && rest.length) {
        api(`documents/${encodeURIComponent(platform)}/${encodeURIComponent(rest.join(':'))}`).then((d) => {
          const from = d?.author?.id;
          if (d?.kind === 'message' && typeof from === 'string' && from.includes('@') && !mailTo.value) {
            mailTo.value = from;
            ch.value = 'letter';
          }
        }).catch(() => {});
      }
      kind = () => ({ type: 'record_reply', channel: ch.value, link: link.value || null, text: body.value, spokesperson: sp.value || null, mail_to: mailTo.value.trim() || null });
      break;
    }
    case 'close': {
      const s = text('summary', true, true);
      fields.push(field(t('f.close_summary'), s));
      kind = () => ({ type: 'close', summary: s.value });
      break;
    }
    case 'reopen':
    case 'escalate': {
      const reason = text('reason', true, true);
      fields.push(field(t('f.reason'), reason));
      kind = () => ({ type: step, reason: reason.value });
      break;
    }
    case 'archive':
    case 'start_watch':
    case 'mark_subsided': {
      const note = text('note', false);
      fields.push(field(t('f.note'), note));
      kind = () => ({ type: step, note: note.value });
      break;
    }
    case 'record_satisfaction': {
      const score = select('score', [5, 4, 3, 2, 1].map((n) => [String(n), String(n)]), String(c.satisfaction?.score || 5));
      const note = text('note', false);
      fields.push(field(t('f.score'), score), field(t('f.note'), note));
      kind = () => ({ type: 'record_satisfaction', score: Number(score.value), note: note.value });
      break;
    }
    default:
      return null;
  }
  const submit = h('button', { class: step === 'send_back' ? 'danger' : 'primary', type: 'submit' }, t(`act.${step}`));
  return h('details', { class: 'step', dataset: { step } },
    h('summary', {}, t(`act.${step}`)),
    h('form', {
      class: 'step-form',
      onsubmit: (e) => { e.preventDefault(); act(kind(), submit); },
    }, fields, h('div', {}, submit)));
}

// ---- attachments ----------------------------------------------------------------------

function fmtSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function attachments(c, ix, reload, showRefusal) {
  const list = c.attachments || [];
  const file = h('input', { type: 'file', name: 'file' });
  const kind = select('kind', [['', t('cases.att.kind.auto')], ...['text', 'image', 'audio', 'video'].map((k) => [k, t(`cases.att.kind.${k}`)])]);
  const btn = h('button', { type: 'submit' }, t('cases.att.upload'));
  const form = h('form', {
    class: 'row upload',
    onsubmit: async (e) => {
      e.preventDefault();
      const f = file.files?.[0];
      if (!f) { toast(t('cases.att.choose'), 'error'); return; }
      btn.disabled = true;
      try {
        await api(`cases/${encodeURIComponent(c.id)}/attachments`, {
          method: 'POST',
          query: { name: f.name, kind: kind.value || undefined, expected_version: c.version },
          body: f,
        });
        toast(t('cases.att.done', { name: f.name }));
        await reload();
      } catch (err) {
        btn.disabled = false;
        if (!(err instanceof ApiError && err.status === 401)) showRefusal(err);
      }
    },
  }, file, kind, btn);
  return [
    list.length ? h('table', { class: 'attachments' },
      h('thead', {}, h('tr', {}, [t('cases.att.name'), t('cases.att.kind'), t('cases.att.size'), t('cases.att.by'), 'SHA-256'].map((x) => h('th', {}, x)))),
      h('tbody', {}, list.map((x) => h('tr', {},
        // A link to the API route, served as a download (never rendered).
        h('td', {}, h('a', { href: `/api/v1/cases/${encodeURIComponent(c.id)}/attachments/${encodeURIComponent(x.file.sha256)}`, download: x.file.name }, x.file.name)),
        h('td', {}, t(`cases.att.kind.${x.file.kind}`)),
        h('td', {}, fmtSize(x.file.size)),
        h('td', {}, `${ix.userName(x.by)} · ${fmtTime(x.at)}`),
        h('td', {}, h('code', { class: 'small' }, x.file.sha256.slice(0, 16))))))) : h('p', { class: 'muted' }, t('cases.none')),
    c.state !== 'archived' ? form : null,
  ];
}

// ---- a new case -----------------------------------------------------------------------

async function newCase(root, query) {
  const org = await loadOrg();
  const ix = orgIndex(org);
  // Units under the user's analyst/leader/liaison grants.
  const mine = (session.me?.roles || []).filter((r) => ['analyst', 'leader', 'liaison'].includes(r.role));
  const units = [...ix.units.values()].filter((u) => mine.some((r) => ix.within(u.id, r.unit)));
  for (const r of mine) if (!ix.units.has(r.unit)) units.push({ id: r.unit, name: r.unit_name || r.unit });
  const alertId = query.alert ? Number(query.alert) : null;
  const doc = query.platform && query.id ? { platform: query.platform, id: query.id } : null;

  const unit = select('unit', units.map((u) => [u.id, u.name]));
  const channel = select('channel', MANUAL_CHANNELS.map((x) => [x, t(`mchan.${x}`)]));
  const title = h('input', { name: 'title', required: !alertId && !doc, value: query.title || '', placeholder: alertId || doc ? t('new.title_auto') : '' });
  const summary = h('textarea', { name: 'summary' });
  const link = h('input', { name: 'link', type: 'url', placeholder: 'https://' });
  const occurred = h('input', { name: 'occurred_at', type: 'datetime-local' });
  const negative = h('input', { type: 'checkbox', name: 'negative', checked: !!alertId });
  const media = h('input', { type: 'checkbox', name: 'media_report' });
  const msg = h('div', { class: 'refusal', role: 'alert', hidden: true });
  const heading = alertId ? t('new.from_alert', { id: alertId }) : doc ? t('new.from_document', { id: `${doc.platform}:${doc.id}` }) : t('new.title');
  mount(root,
    h('p', {}, h('a', { href: '#/cases' }, `← ${t('cases.back')}`)),
    h('h1', {}, heading),
    msg,
    h('form', {
      class: 'card new-case',
      onsubmit: async (e) => {
        e.preventDefault();
        msg.hidden = true;
        const source = alertId ? { type: 'alert', id: alertId } : doc ? { type: 'document', ...doc } : { type: 'manual', channel: channel.value };
        const body = {
          unit: unit.value,
          source,
          title: title.value.trim() || undefined,
          summary: summary.value,
          link: link.value.trim() || undefined,
          negative: negative.checked,
          media_report: media.checked,
          occurred_at: fromBjLocal(occurred.value) || undefined,
        };
        try {
          const c = await api('cases', { method: 'POST', body });
          toast(t('new.ok', { id: c.id }));
          go(`/cases/${c.id}`);
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) return;
          msg.hidden = false;
          mount(msg, h('b', {}, t('cases.refused', { status: err.status || '' })), ' ', err.message, err.reason ? h('code', { class: 'reason' }, err.reason) : null);
        }
      },
    },
    units.length ? null : h('p', { class: 'error' }, t('new.no_unit')),
    field(t('cases.unit'), unit),
    alertId || doc ? null : field(t('new.channel'), channel),
    field(t('new.case_title'), title),
    field(t('cases.summary'), summary),
    field(t('cases.link'), link),
    field(t('new.occurred_at'), occurred),
    h('label', {}, negative, ' ', t('f.negative')),
    h('label', {}, media, ' ', t('cases.media_report')),
    h('div', {}, h('button', { class: 'primary', type: 'submit' }, t('new.submit')))));
}
