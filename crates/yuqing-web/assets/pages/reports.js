// 报告: the saved reports (日报, 周报, 月报, 快报, 摘报, 专报, 年度统计), a form to make one,
// and one report: shown as the server renders it (HTML in a sandboxed frame, no scripts),
// downloads as Word, Excel, PDF and JSON, the analyst's commentary editor, and rebuild; a
// scheduled report says where its announcement went (delivered, or failing and retried).
//
// Routes: #/reports, #/reports/new?kind=…&event=…|alert=…|doc=…, #/reports/{id}.

import { h, mount, api, t, go, guard, fmtTime, toast, loadOrg, orgIndex, inOffice } from '../app.js';
import { define } from '../i18n.js';

define({
  'reports.title': ['报告', 'Reports'],
  'reports.make': ['生成报告', 'Make a report'],
  'reports.kind': ['类型', 'Type'],
  'reports.kind.daily': ['日报', 'Daily'],
  'reports.kind.weekly': ['周报', 'Weekly'],
  'reports.kind.monthly': ['月报', 'Monthly'],
  'reports.kind.event': ['舆情分析报告（专报）', 'Event analysis'],
  'reports.kind.flash': ['快报', 'Flash report'],
  'reports.kind.digest': ['重要舆情摘报', 'Digest'],
  'reports.kind.yearly': ['年度统计', 'Year-end statistics'],
  'reports.kind.circular': ['网络舆情通报', 'Circular to the departments'],
  'reports.date': ['日期', 'Date'],
  'reports.week': ['周（如 2026-W47，或该周内任一日期）', 'Week (2026-W47, or a date in it)'],
  'reports.month': ['月份', 'Month'],
  'reports.event': ['事件编号', 'Event id'],
  'reports.alert': ['预警编号', 'Alert id'],
  'reports.doc': ['或文档（平台:编号）', 'or document (platform:id)'],
  'reports.issue': ['期号（留空为下一期）', 'Issue number (empty: the next one)'],
  'reports.items': ['条目：每行一条，“平台:编号 摘要”（摘要可省略）', 'Items: one per line, "platform:id summary" (summary optional)'],
  'reports.year': ['年份', 'Year'],
  'reports.period': ['期间：周 2026-W47、月 2026-11、季度 2026-Q4 或年 2026', 'Period: week 2026-W47, month 2026-11, quarter 2026-Q4 or year 2026'],
  'reports.plan': ['监测方案（专题）', 'Monitoring plan (topic)'],
  'reports.plan.all': ['全部信息', 'All documents'],
  'reports.submit': ['生成', 'Make'],
  'reports.making': ['正在生成…', 'Making…'],
  'reports.saved': ['已生成的报告', 'Reports made'],
  'reports.none': ['还没有报告。', 'No reports yet.'],
  'reports.id': ['编号', 'No.'],
  'reports.subject': ['标题', 'Title'],
  'reports.created': ['生成时间', 'Made at'],
  'reports.by': ['生成人', 'Made by'],
  'reports.download': ['下载', 'Download'],
  'reports.commentary': ['分析点评（可编辑；留空恢复为系统根据数据生成的草稿）', 'Commentary (editable; empty restores the computed draft)'],
  'reports.save': ['保存点评', 'Save commentary'],
  'reports.saved_ok': ['点评已保存', 'Commentary saved'],
  'reports.rebuild': ['按原参数重新生成', 'Rebuild from its inputs'],
  'reports.rebuilt': ['已重新生成', 'Rebuilt'],
  'reports.back': ['返回报告列表', 'Back to reports'],
  'reports.draft': ['草稿', 'draft'],
  'reports.edited': ['已编辑', 'edited'],
  'reports.announced': ['定时发送', 'Sent'],
  'reports.announced.ok': ['{channel}：{at} 已送达', '{channel}: delivered {at}'],
  'reports.announced.pending': ['{channel}：发送中，已尝试 {n} 次', '{channel}: being sent, {n} attempts'],
  'reports.announced.failed': ['{channel}：第 {n} 次发送失败（{error}），将自动重试', '{channel}: attempt {n} failed ({error}); retried automatically'],
  'reports.readonly': ['报告由舆情工作人员（领导、分析员、发言人）生成和查阅；您的角色不能查看报告。', 'Reports are made and read by the office (leaders, analysts, spokespersons); your role cannot see them.'],
});


const KINDS = ['daily', 'weekly', 'monthly', 'event', 'flash', 'digest', 'circular', 'yearly'];
const FORMATS = [['docx', 'Word'], ['xlsx', 'Excel'], ['pdf', 'PDF'], ['html', 'HTML'], ['json', 'JSON']];

function today() {
  return new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
}

function downloads(id) {
  return h('span', { class: 'downloads' },
    FORMATS.map(([f, label]) => h('a', { class: 'btn', href: `/api/v1/reports/${id}/export.${f}`, download: '' }, label)));
}

/** The monitoring plans a periodic report may be limited to (专题). */
function planSelect(plans, q) {
  return h('label', {}, t('reports.plan'),
    h('select', { name: 'plan' },
      h('option', { value: '' }, t('reports.plan.all')),
      plans.map((p) => h('option', { value: String(p.id), selected: String(p.id) === q.plan }, p.name))));
}

/** The fields of one kind of report. */
function fields(kind, q, plans) {
  const input = (name, attrs) => h('label', {}, t(`reports.${name}`), h('input', { name, ...attrs }));
  switch (kind) {
    case 'daily': return [input('date', { type: 'date', value: q.date || today(), required: true }), planSelect(plans, q)];
    case 'weekly': return [input('week', { value: q.week || today(), required: true }), planSelect(plans, q)];
    case 'monthly': return [input('month', { type: 'month', value: q.month || today().slice(0, 7), required: true }), planSelect(plans, q)];
    case 'event': return [input('event', { type: 'number', min: 1, value: q.event || '', required: true })];
    case 'flash': return [input('alert', { type: 'number', min: 1, value: q.alert || '' }), input('doc', { value: q.doc || '', placeholder: 'weibo:4001234567890123' })];
    case 'digest': return [
      input('issue', { type: 'number', min: 1, value: q.issue || '' }),
      h('label', {}, t('reports.items'), h('textarea', { name: 'items', rows: 6, required: true }, q.doc ? `${q.doc} ` : '')),
    ];
    case 'yearly': return [input('year', { type: 'number', min: 2000, max: 2100, value: q.year || today().slice(0, 4), required: true })];
    case 'circular': return [input('period', { value: q.period || today().slice(0, 7), required: true })];
    default: return [];
  }
}

function inputsOf(kind, form) {
  const v = (n) => (form.elements[n]?.value || '').trim();
  const plan = v('plan') ? { plan: Number(v('plan')) } : {};
  switch (kind) {
    case 'daily': return { kind, date: v('date'), ...plan };
    case 'weekly': return { kind, week: v('week'), ...plan };
    case 'monthly': return { kind, month: v('month'), ...plan };
    case 'event': return { kind, event: Number(v('event')) };
    case 'flash': return v('alert') ? { kind, alert: Number(v('alert')) } : { kind, doc: v('doc') };
    case 'digest': return {
      kind,
      issue: v('issue') ? Number(v('issue')) : 0,
      items: v('items').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
        const [doc, ...rest] = l.split(/\s+/);
        const summary = rest.join(' ').trim();
        return summary ? { doc, summary } : { doc };
      }),
    };
    case 'yearly': return { kind, year: Number(v('year')) };
    case 'circular': return { kind, period: v('period') };
    default: return { kind };
  }
}

function makeForm(q, plans) {
  let kind = KINDS.includes(q.kind) ? q.kind : 'daily';
  const box = h('div', { class: 'fields' });
  const sel = h('select', { name: 'kind', onchange: () => { kind = sel.value; mount(box, fields(kind, {}, plans)); } },
    KINDS.map((k) => h('option', { value: k, selected: k === kind }, t(`reports.kind.${k}`))));
  mount(box, fields(kind, q, plans));
  const status = h('span', { class: 'muted' });
  const form = h('form', {
    class: 'report-form card',
    onsubmit: async (e) => {
      e.preventDefault();
      status.textContent = t('reports.making');
      const r = await guard(() => api('reports', { method: 'POST', body: inputsOf(kind, form) }));
      status.textContent = '';
      if (r?.report) go(`/reports/${r.report.id}`);
    },
  },
  h('h2', {}, t('reports.make')),
  h('div', { class: 'row' },
    h('label', {}, t('reports.kind'), sel),
    box,
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, t('reports.submit')), status)));
  return form;
}

async function list(root, q) {
  if (!inOffice()) {
    mount(root, h('h1', {}, t('reports.title')), h('p', { class: 'muted readonly' }, t('reports.readonly')));
    return;
  }
  const [r, p, org] = await Promise.all([api('reports', { query: { limit: 200 } }), api('plans'), loadOrg()]);
  const ix = orgIndex(org);
  const plans = p.plans || [];
  const rows = r.reports.map((x) => h('tr', {},
    h('td', {}, h('a', { href: `#/reports/${x.id}` }, String(x.id))),
    h('td', {}, t(`reports.kind.${x.kind}`)),
    h('td', {}, h('a', { href: `#/reports/${x.id}` }, x.title, x.subtitle ? `（${x.subtitle}）` : '')),
    h('td', {}, fmtTime(x.created_at)),
    h('td', {}, ix.userName(x.created_by)),
    h('td', {}, downloads(x.id))));
  mount(root,
    h('h1', {}, t('reports.title')),
    makeForm(q, plans),
    h('h2', {}, t('reports.saved')),
    rows.length
      ? h('table', { class: 'report-list' },
        h('thead', {}, h('tr', {}, ['id', 'kind', 'subject', 'created', 'by', 'download'].map((k) => h('th', {}, t(`reports.${k}`))))),
        h('tbody', {}, rows))
      : h('p', { class: 'muted' }, t('reports.none')));
}

async function one(root, id) {
  const [{ report, announced }, org] = await Promise.all([api(`reports/${encodeURIComponent(id)}`), loadOrg()]);
  const ix = orgIndex(org);
  const drafts = [];
  for (const s of report.model.sections || []) {
    for (const b of s.blocks || []) if (b.type === 'draft') drafts.push({ ...b, section: s.title });
  }
  // A block is named by its section (分析点评, 处置建议…); the key only when a section has two.
  const editors = drafts.map((d) => h('label', {},
    h('span', { class: 'muted' },
      `${drafts.filter((x) => x.section === d.section).length > 1 ? `${d.section} · ${d.key}` : d.section || d.key}（${d.edited ? t('reports.edited') : t('reports.draft')}）`),
    h('textarea', { name: d.key, rows: 6 }, d.text)));
  const form = h('form', {
    class: 'card commentary',
    onsubmit: async (e) => {
      e.preventDefault();
      const commentary = {};
      for (const d of drafts) {
        const v = form.elements[d.key].value;
        // Only changed blocks are sent; an emptied one returns to the computed draft.
        if (v !== d.text) commentary[d.key] = v;
      }
      const r = await guard(() => api(`reports/${report.id}/commentary`, { method: 'PUT', body: { commentary } }));
      if (r) { toast(t('reports.saved_ok')); one(root, id); }
    },
  },
  h('h2', {}, t('reports.commentary')),
  editors,
  h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, t('reports.save'))));
  const rebuild = h('button', {
    type: 'button',
    class: 'rebuild',
    onclick: async () => {
      const r = await guard(() => api(`reports/${report.id}/rebuild`, { method: 'POST' }));
      if (r) { toast(t('reports.rebuilt')); one(root, id); }
    },
  }, t('reports.rebuild'));
  const frame = h('iframe', {
    class: 'report-frame',
    title: report.title,
    sandbox: '',
    src: `/api/v1/reports/${report.id}/export.html?v=${encodeURIComponent(report.updated_at)}`,
  });
  mount(root,
    h('p', {}, h('a', { href: '#/reports' }, `← ${t('reports.back')}`)),
    h('h1', {}, report.title, report.subtitle ? `（${report.subtitle}）` : ''),
    h('p', { class: 'muted' }, `${t('reports.created')}：${fmtTime(report.created_at)} · ${t('reports.by')}：${ix.userName(report.created_by)}`),
    (announced || []).length ? h('p', { class: 'muted small announced' }, `${t('reports.announced')}：`,
      announced.map((a, i) => h('span', { class: a.delivered_at ? '' : 'overdue', dataset: { channel: a.channel } },
        i ? '；' : '',
        a.delivered_at ? t('reports.announced.ok', { channel: a.channel, at: fmtTime(a.delivered_at) })
          : a.error ? t('reports.announced.failed', { channel: a.channel, n: a.attempts, error: a.error })
            : t('reports.announced.pending', { channel: a.channel, n: a.attempts })))) : null,
    h('div', { class: 'report-bar' },
      h('span', { class: 'muted' }, `${t('reports.download')}：`), downloads(report.id),
      inOffice() ? rebuild : null),
    drafts.length && inOffice() ? form : null,
    frame);
}

export default async function (root, params, query) {
  if (params[0] === 'new') return list(root, query);
  if (params[0]) return one(root, params[0]);
  return list(root, query);
}
