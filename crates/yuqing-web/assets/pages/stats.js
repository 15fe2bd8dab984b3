// 统计考核: a period, the figures per department (assigned, replied, closed, on time,
// overdue, median time to reply, 回复率/办结率/按时率, satisfaction) and per monitor (found,
// found first, reported, late, alerts let pass on duty, performance points 绩效考核分 with
// their items), a bar chart of the departments, the overdue items (督办事项) with links
// to their cases, and the leaders' 加减分 of the period (a form and revocation for
// leaders; the server checks who is over whom).

import { h, mount, api, t, go, guard, toast, fmtTime, fmtNum, chart, loadOrg, orgIndex, inOffice } from '../app.js';
import { define } from '../i18n.js';

define({
  'stats.title': ['统计考核', 'Statistics'],
  'stats.from': ['从', 'From'],
  'stats.to': ['至', 'To'],
  'stats.apply': ['统计', 'Show'],
  'stats.this_month': ['本月', 'This month'],
  'stats.last_month': ['上月', 'Last month'],
  'stats.this_quarter': ['本季度', 'This quarter'],
  'stats.this_year': ['本年', 'This year'],
  'stats.as_of': ['统计截至 {at}（北京时间）', 'As of {at} (Beijing time)'],
  'stats.departments': ['部门考核', 'Departments'],
  'stats.monitors': ['监测员考核', 'Monitors'],
  'stats.unit': ['部门', 'Department'],
  'stats.assigned': ['交办', 'Assigned'],
  'stats.replied': ['已回复', 'Replied'],
  'stats.closed': ['办结', 'Closed'],
  'stats.on_time': ['按时', 'On time'],
  'stats.overdue': ['超时', 'Overdue'],
  'stats.median_reply': ['回复用时（中位数）', 'Median time to reply'],
  'stats.reply_rate': ['回复率', 'Reply rate'],
  'stats.completion_rate': ['办结率', 'Completion rate'],
  'stats.on_time_rate': ['按时率', 'On-time rate'],
  'stats.satisfaction': ['满意度', 'Satisfaction'],
  'stats.user': ['监测员', 'Monitor'],
  'stats.found': ['发现', 'Found'],
  'stats.found_first': ['首报', 'Found first'],
  'stats.reported': ['上报', 'Reported'],
  'stats.late': ['迟报', 'Late'],
  'stats.unacknowledged': ['预警未及时确认', 'Alerts let pass'],
  'stats.points': ['考核分', 'Points'],
  'stats.points_detail': ['绩效考核分明细', 'Performance points, item by item'],
  'stats.points_note': ['首先发现按案件等级加分，按时上报加分，迟报扣分；值班时预警未在时限内确认、已通知下一位值班人员的扣分；另计领导加减分（见下）。分值见配置 [assessment]。', 'Finding an item first earns points by its level, reporting upward in time earns points, a late report loses points, and so does an alert that went past one on duty unacknowledged (the next person was told); leaders\' adjustments count too (below). Weights: [assessment] in the config.'],
  'stats.time': ['时间', 'Time'],
  'stats.alert_no': ['预警 {id}', 'Alert {id}'],
  'stats.kind': ['项目', 'For'],
  'stats.target': ['对象', 'Item'],
  'stats.kind.found_first': ['首先发现', 'Found first'],
  'stats.kind.reported': ['按时上报', 'Reported in time'],
  'stats.kind.late': ['迟报', 'Late'],
  'stats.kind.unacknowledged': ['预警未及时确认', 'Alert let pass'],
  'stats.kind.adjusted': ['领导加减分', 'Leader\'s adjustment'],
  'stats.adjusted': ['领导加减分', 'Adjusted'],
  'stats.adj.title': ['领导加减分', 'Leaders\' adjustments'],
  'stats.adj.note': ['领导可对所辖单位人员的绩效考核分加分或扣分（如正面引导效果好、漏报或应对不力），须写明理由；记入审计日志，撤销后保留记录、不再计分。', 'A leader may add or take away points of the people of their units (good results, a missed item, poor handling), with the reason; audited; a revoked one is kept and counts for nothing.'],
  'stats.adj.user': ['人员', 'Person'],
  'stats.adj.points': ['分值（正数加分，负数扣分）', 'Points (positive adds, negative takes away)'],
  'stats.adj.reason': ['理由', 'Reason'],
  'stats.adj.case': ['案件编号（可选）', 'Case (optional)'],
  'stats.adj.at': ['计分日期（可选，默认现在）', 'Counts on (optional, default now)'],
  'stats.adj.submit': ['记分', 'Record'],
  'stats.adj.done': ['已记分', 'Recorded'],
  'stats.adj.by': ['记分人', 'By'],
  'stats.adj.revoke': ['撤销', 'Revoke'],
  'stats.adj.revoked': ['已撤销（{by}，{at}）', 'Revoked ({by}, {at})'],
  'stats.adj.revoked_ok': ['已撤销', 'Revoked'],
  'stats.adj.none': ['本期没有加减分。', 'No adjustments in this period.'],
  'stats.chart': ['部门办理情况', 'Handling by department'],
  'stats.bad_period': ['请选择开始和结束日期', 'Choose a start and an end date'],
  'stats.overdue_items': ['督办事项（逾期）', 'Overdue items'],
  'stats.overdue_note': ['承办部门的办理时限已过而未办（不论何时交办），或在本区间内逾期办理的案件。', 'Cases whose lead department let its deadline pass: still unmet (whenever assigned), or met late in this period.'],
  'stats.case': ['案件', 'Case'],
  'stats.item': ['事项', 'Item'],
  'stats.due': ['办理时限', 'Deadline'],
  'stats.state': ['状态', 'State'],
  'stats.unmet': ['逾期未办', 'Unmet'],
  'stats.met_late': ['逾期办理', 'Met late'],
  'stats.late_by': ['超时', 'Late by'],
  'stats.make_circular': ['生成本期网络舆情通报', 'Make the circular of this period'],
  'stats.export': ['导出 Excel', 'Export to Excel'],
  'stats.note': ['按案件的首次批办时间计入区间；比率分母为 0 时显示“-”。', 'Cases count by first assignment time; a rate with a zero denominator shows "-".'],
});

/** A point value with its sign ("+3", "-2", "0"). */
function signed(n) {
  return n > 0 ? `+${n}` : String(n);
}

/** The case or alert a point entry is for, as a link, with its title (an adjustment's
 *  reason, and who made it). */
function targetLink(e, ix) {
  const [kind, id] = e.target.split(/:(.*)/s);
  const by = e.by ? `（${t('stats.adj.by')}：${ix.userName(e.by)}）` : '';
  if (kind === 'adjustment') return [e.title, by];
  const href = kind === 'case' ? `#/cases/${encodeURIComponent(id)}` : `#/alerts?id=${encodeURIComponent(id)}`;
  return [h('a', { href }, kind === 'case' ? id : t('stats.alert_no', { id })), e.title ? ` ${e.title}` : '', by];
}

/** The period's adjustments, revoked ones struck through; for a leader, the form to add
 *  one and a button to revoke, offering only the people the server says they may adjust
 *  (`adjustable`: a leader of one of their units or above, never oneself). */
function adjustments(list, adjustable, ix, reload) {
  const may = new Set(adjustable);
  const rows = list.map((a) => h('tr', { class: a.revoked_at ? 'revoked' : '', dataset: { adjustment: a.id } },
    h('td', {}, fmtTime(a.at)),
    h('td', {}, ix.userName(a.user)),
    h('td', { class: a.points < 0 ? 'overdue' : '' }, signed(a.points)),
    h('td', {}, a.reason, a.case_id ? [' · ', h('a', { href: `#/cases/${encodeURIComponent(a.case_id)}` }, a.case_id)] : ''),
    h('td', {}, ix.userName(a.by)),
    h('td', {}, a.revoked_at ? t('stats.adj.revoked', { by: ix.userName(a.revoked_by), at: fmtTime(a.revoked_at) })
      : may.has(a.user) ? h('button', {
        type: 'button',
        class: 'link revoke',
        onclick: async () => {
          const r = await guard(() => api(`stats/adjustments/${a.id}/revoke`, { method: 'POST' }));
          if (r) { toast(t('stats.adj.revoked_ok')); reload(); }
        },
      }, t('stats.adj.revoke')) : '')));
  const form = may.size ? h('form', {
    class: 'row adjust',
    onsubmit: async (e) => {
      e.preventDefault();
      const f = e.target.elements;
      const body = { user: f.user.value, points: Number(f.points.value), reason: f.reason.value.trim() };
      if (f.case.value.trim()) body.case = f.case.value.trim();
      // A past day counts at its end; today (or nothing chosen) counts now.
      const today = new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
      if (f.at.value && f.at.value < today) body.at = `${f.at.value}T23:59:59+08:00`;
      const r = await guard(() => api('stats/adjustments', { method: 'POST', body }));
      if (r) { toast(t('stats.adj.done')); reload(); }
    },
  },
  h('label', {}, t('stats.adj.user'), ' ', h('select', { name: 'user', required: true },
    adjustable.map((id) => h('option', { value: id }, ix.userName(id))))),
  h('label', {}, t('stats.adj.points'), ' ', h('input', { name: 'points', type: 'number', min: -100, max: 100, step: 1, required: true, style: { width: '6em' } })),
  h('label', {}, t('stats.adj.reason'), ' ', h('input', { name: 'reason', required: true, maxlength: 500, style: { minWidth: '16em' } })),
  h('label', {}, t('stats.adj.case'), ' ', h('input', { name: 'case', style: { width: '9em' } })),
  h('label', {}, t('stats.adj.at'), ' ', h('input', { name: 'at', type: 'date' })),
  h('button', { class: 'primary', type: 'submit' }, t('stats.adj.submit'))) : null;
  return h('div', { class: 'card span-12 stats-adjustments' },
    h('h2', {}, t('stats.adj.title')),
    h('p', { class: 'muted small' }, t('stats.adj.note')),
    form,
    list.length ? h('table', {},
      h('thead', {}, h('tr', {}, ['time', 'adj.user', 'points', 'adj.reason', 'adj.by', 'state'].map((k) => h('th', {}, t(`stats.${k}`))))),
      h('tbody', {}, rows))
      : h('p', { class: 'muted' }, t('stats.adj.none')));
}

/** The circular's period (`2026-11`, `2026-Q4`, `2026`) when `from`–`to` is a whole
 *  month, quarter or year; otherwise null. */
export function circularPeriod(from, to) {
  const m = /^(\d{4})-(\d{2})-01$/.exec(from);
  if (!m) return null;
  const [y, mo] = [Number(m[1]), Number(m[2])];
  const last = (months) => new Date(Date.UTC(y, mo - 1 + months, 0)).toISOString().slice(0, 10);
  if (to === last(1)) return `${m[1]}-${m[2]}`;
  if ((mo - 1) % 3 === 0 && to === last(3)) return `${m[1]}-Q${(mo - 1) / 3 + 1}`;
  if (mo === 1 && to === last(12)) return m[1];
  return null;
}

function presets() {
  const now = new Date(Date.now() + 8 * 3600000);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const day = (yy, mm, dd) => new Date(Date.UTC(yy, mm, dd)).toISOString().slice(0, 10);
  const q = Math.floor(m / 3) * 3;
  return [
    ['this_month', day(y, m, 1), day(y, m + 1, 0)],
    ['last_month', day(y, m - 1, 1), day(y, m, 0)],
    ['this_quarter', day(y, q, 1), day(y, q + 3, 0)],
    ['this_year', day(y, 0, 1), day(y, 11, 31)],
  ];
}

export function pct(x) {
  return x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`;
}

function dur(secs) {
  if (secs === null || secs === undefined) return '-';
  const m = Math.round(secs / 60);
  if (m < 60) return `${m} ${t('stats.min')}`;
  const hh = Math.floor(m / 60);
  if (hh < 48) return `${hh} ${t('stats.hours')} ${m % 60} ${t('stats.min')}`;
  return `${(hh / 24).toFixed(1)} ${t('stats.days')}`;
}

define({
  'stats.min': ['分', 'min'],
  'stats.hours': ['小时', 'h'],
  'stats.days': ['天', 'days'],
});

export default async function (root, _params, query) {
  const [, defFrom, defTo] = presets()[0];
  const fromV = query.from || defFrom;
  const toV = query.to || defTo;
  const from = h('input', { type: 'date', name: 'from', value: fromV });
  const to = h('input', { type: 'date', name: 'to', value: toV });
  const out = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  mount(root,
    h('h1', {}, t('stats.title')),
    h('form', {
      class: 'row',
      onsubmit: (e) => {
        e.preventDefault();
        if (!from.value || !to.value) return;
        go('/stats', { from: from.value, to: to.value });
      },
    },
    h('label', {}, t('stats.from'), ' ', from),
    h('label', {}, t('stats.to'), ' ', to),
    h('button', { class: 'primary', type: 'submit' }, t('stats.apply')),
    presets().map(([k, f, tt]) => h('button', { type: 'button', class: f === fromV && tt === toV ? 'link active' : 'link', onclick: () => go('/stats', { from: f, to: tt }) }, t(`stats.${k}`)))),
    out);

  await guard(async () => {
    const [s, org] = await Promise.all([
      api('stats', { query: { from: fromV, to: toV } }),
      loadOrg(),
    ]);
    const ix = orgIndex(org);
    const depts = s.departments || [];
    const mons = s.monitors || [];
    const overdue = s.overdue || [];
    const points = s.points || [];
    // Everyone with figures or points (a person on duty may have only points).
    const people = [...new Set([...mons.map((m) => m.user), ...points.map((p) => p.user)])].sort();
    const chartEl = h('div', { class: 'chart', style: { height: `${Math.max(240, 40 + depts.length * 36)}px` } });
    // Reports are the office's: others are not offered the circular.
    const period = inOffice() ? circularPeriod(fromV, toV) : null;
    mount(out,
      h('p', { class: 'muted' }, t('stats.as_of', { at: fmtTime(s.as_of) }), ' · ', t('stats.note'), ' · ',
        h('a', { class: 'export-xlsx', href: `/api/v1/stats/export.xlsx?${new URLSearchParams({ from: fromV, to: toV })}`, download: `yuqing-stats-${fromV}-${toV}.xlsx` }, t('stats.export')),
        period ? [' · ', h('a', { class: 'make-circular', href: `#/reports?kind=circular&period=${encodeURIComponent(period)}` }, t('stats.make_circular'))] : null),
      h('div', { class: 'grid' },
        h('div', { class: 'card span-12' },
          h('h2', {}, t('stats.departments')),
          depts.length ? h('table', { class: 'stats-departments' },
            h('thead', {}, h('tr', {}, ['unit', 'assigned', 'replied', 'closed', 'on_time', 'overdue', 'median_reply', 'reply_rate', 'completion_rate', 'on_time_rate', 'satisfaction']
              .map((k) => h('th', {}, t(`stats.${k}`))))),
            h('tbody', {}, depts.map((d) => h('tr', { dataset: { unit: d.unit } },
              h('td', {}, ix.unitName(d.unit)),
              h('td', {}, fmtNum(d.assigned)),
              h('td', {}, fmtNum(d.replied)),
              h('td', {}, fmtNum(d.closed)),
              h('td', {}, fmtNum(d.on_time)),
              h('td', { class: d.overdue ? 'overdue' : '' }, fmtNum(d.overdue)),
              h('td', {}, dur(d.median_reply_secs)),
              h('td', {}, pct(d.reply_rate)),
              h('td', {}, pct(d.completion_rate)),
              h('td', {}, pct(d.on_time_rate)),
              h('td', {}, d.mean_satisfaction == null ? '-' : `${d.mean_satisfaction.toFixed(2)}（${d.satisfaction_count}）`)))))
            : h('p', { class: 'muted' }, t('common.empty'))),
        depts.length ? h('div', { class: 'card span-12' }, h('h2', {}, t('stats.chart')), chartEl) : null,
        h('div', { class: 'card span-12' },
          h('h2', {}, t('stats.monitors')),
          people.length ? h('table', { class: 'stats-monitors' },
            h('thead', {}, h('tr', {}, ['user', 'found', 'found_first', 'reported', 'late', 'unacknowledged', 'adjusted', 'points'].map((k) => h('th', {}, t(`stats.${k}`))))),
            h('tbody', {}, people.map((u) => {
              const m = mons.find((x) => x.user === u) || {};
              const p = points.find((x) => x.user === u);
              const passed = p ? p.entries.filter((e) => e.kind === 'unacknowledged').length : 0;
              const adjusted = p ? p.entries.filter((e) => e.kind === 'adjusted').reduce((n, e) => n + e.points, 0) : 0;
              return h('tr', { dataset: { user: u } },
                h('td', {}, ix.userName(u)),
                h('td', {}, fmtNum(m.found || 0)),
                h('td', {}, fmtNum(m.found_first || 0)),
                h('td', {}, fmtNum(m.reported || 0)),
                h('td', { class: m.late ? 'overdue' : '' }, fmtNum(m.late || 0)),
                h('td', { class: passed ? 'overdue' : '' }, fmtNum(passed)),
                h('td', { class: 'adjusted' }, signed(adjusted)),
                h('td', { class: 'points' }, signed(p ? p.total : 0)));
            })))
            : h('p', { class: 'muted' }, t('common.empty')),
          points.length ? h('details', { class: 'stats-points' },
            h('summary', {}, t('stats.points_detail')),
            h('p', { class: 'muted small' }, t('stats.points_note')),
            h('table', {},
              h('thead', {}, h('tr', {}, ['user', 'time', 'kind', 'points', 'target'].map((k) => h('th', {}, t(`stats.${k}`))))),
              h('tbody', {}, points.flatMap((p) => p.entries.map((e) => h('tr', { dataset: { user: p.user, kind: e.kind } },
                h('td', {}, ix.userName(p.user)),
                h('td', {}, fmtTime(e.at)),
                h('td', {}, t(`stats.kind.${e.kind}`)),
                h('td', { class: e.points < 0 ? 'overdue' : '' }, signed(e.points)),
                h('td', {}, targetLink(e, ix))))))))
            : null),
        h('div', { class: 'card span-12' },
          h('h2', {}, t('stats.overdue_items')),
          h('p', { class: 'muted small' }, t('stats.overdue_note')),
          overdue.length ? h('table', { class: 'stats-overdue' },
            h('thead', {}, h('tr', {}, ['case', 'item', 'unit', 'due', 'state', 'late_by'].map((k) => h('th', {}, t(`stats.${k}`))))),
            h('tbody', {}, overdue.map((o) => h('tr', { dataset: { case: o.case } },
              h('td', {}, h('a', { href: `#/cases/${encodeURIComponent(o.case)}` }, o.case)),
              h('td', {}, o.title),
              h('td', {}, ix.unitName(o.unit)),
              h('td', {}, fmtTime(o.due_at)),
              h('td', { class: o.met_at ? '' : 'overdue' }, t(o.met_at ? 'stats.met_late' : 'stats.unmet')),
              h('td', {}, dur(o.late_secs))))))
            : h('p', { class: 'muted' }, t('common.empty'))),
        adjustments(s.adjustments || [], s.adjustable || [], ix, () => go('/stats', { from: fromV, to: toV, r: Date.now() }))));
    if (depts.length) {
      const names = depts.map((d) => ix.unitName(d.unit));
      const series = ['assigned', 'replied', 'closed', 'on_time', 'overdue'].map((k) => ({
        name: t(`stats.${k}`),
        type: 'bar',
        data: depts.map((d) => d[k] || 0),
        itemStyle: k === 'overdue' ? { color: '#c62828' } : undefined,
      }));
      chart(chartEl, {
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: 'value', minInterval: 1 },
        yAxis: { type: 'category', data: names, inverse: true },
        series,
      });
    }
  }, out);
}
