// 预警 inbox: unacknowledged first, acknowledge, a verdict (属实/误报) with a note, open a
// case from an alert, the delivery log of one alert (every attempt per channel,
// escalation notices), and the alerts and false alarms per monitoring plan.
//
// Alert texts (title, plan, publisher, explanation) come from the web: they are only ever
// put into the page as text through h().

import { h, mount, api, t, go, session, guard, toast, fmtTime, fmtNum, levelBadge, pick, onLive } from '../app.js';
import { define } from '../i18n.js';

define({
  'alerts.title': ['预警', 'Alerts'],
  'alerts.only_unacked': ['只看未确认', 'Unacknowledged only'],
  'alerts.refresh': ['刷新', 'Refresh'],
  'alerts.level': ['级别', 'Level'],
  'alerts.plan': ['监测方案', 'Plan'],
  'alerts.item': ['标题', 'Title'],
  'alerts.publisher': ['首发', 'First publisher'],
  'alerts.raised': ['预警时间', 'Raised'],
  'alerts.hits': ['命中', 'Hits'],
  'alerts.status': ['状态', 'Status'],
  'alerts.actions': ['操作', 'Actions'],
  'alerts.ack': ['确认', 'Acknowledge'],
  'alerts.acked': ['已确认', 'Acknowledged'],
  'alerts.acked_by': ['{who} 于 {at} 确认', 'by {who} at {at}'],
  'alerts.unacked': ['未确认', 'Unacknowledged'],
  'alerts.open_case': ['立案处置', 'Open a case'],
  'alerts.case': ['案件 {id}', 'Case {id}'],
  'alerts.open_form': ['填写登记表立案', 'Open a case with the full form'],
  'alerts.log': ['投递记录', 'Delivery log'],
  'alerts.hide_log': ['收起', 'Hide'],
  'alerts.event': ['事件', 'Event'],
  'alerts.original': ['原文', 'Original'],
  'alerts.rule': ['规则', 'Rule'],
  'alerts.why': ['研判依据', 'Why'],
  'alerts.found': ['发现时间', 'Found'],
  'alerts.channel': ['渠道', 'Channel'],
  'alerts.enqueued': ['入队', 'Queued'],
  'alerts.next_at': ['下次尝试', 'Next try'],
  'alerts.delivered_at': ['送达', 'Delivered'],
  'alerts.attempt': ['第 {n} 次', 'Attempt {n}'],
  'alerts.attempts': ['尝试', 'Attempts'],
  'alerts.no_deliveries': ['没有投递（未配置渠道或规则未指定渠道）', 'No deliveries (no channel configured for this rule)'],
  'alerts.notices': ['升级提醒', 'Escalation notices'],
  'alerts.no_notices': ['没有升级提醒', 'No escalation notices'],
  'alerts.notice_step': ['第 {n} 级', 'Step {n}'],
  'alerts.state.in_flight': ['发送中', 'in flight'],
  'alerts.state.delivered': ['已送达', 'delivered'],
  'alerts.state.failed': ['失败', 'failed'],
  'alerts.state.abandoned': ['超时放弃', 'abandoned'],
  'alerts.pending': ['待投递', 'pending'],
  'alerts.unit': ['立案单位', 'Unit'],
  'alerts.no_unit': ['您没有可立案的单位（需要监测员、领导或信息员角色）', 'You hold no role that may register cases (analyst, leader or liaison)'],
  'alerts.acked_ok': ['已确认预警 {id}', 'Alert {id} acknowledged'],
  'alerts.case_ok': ['已立案 {id}', 'Case {id} opened'],
  'alerts.count': ['共 {n} 条，未确认 {u} 条', '{n} alerts, {u} unacknowledged'],
  'alerts.verdict': ['研判', 'Verdict'],
  'alerts.verdict.confirmed': ['属实', 'Confirmed'],
  'alerts.verdict.false_alarm': ['误报', 'False alarm'],
  'alerts.mark.confirmed': ['属实', 'Confirmed'],
  'alerts.mark.false_alarm': ['误报', 'False alarm'],
  'alerts.mark_title': ['记录研判结论（以最后一次为准；未确认的预警同时确认）', 'Record a verdict (the last one stands; it acknowledges the alert too)'],
  'alerts.note_prompt': ['说明（可不填），例如“同名不同事”', 'A note (optional), e.g. "same name, different matter"'],
  'alerts.verdict_by': ['{who} 于 {at} 判为{v}', '{v}, by {who} at {at}'],
  'alerts.verdict_ok': ['预警 {id} 已判为{v}', 'Alert {id}: {v}'],
  'alerts.quality': ['各监测方案的预警与误报', 'Alerts and false alarms per plan'],
  'alerts.quality_note': ['误报多的方案宜加排除词或收窄主体词。', 'Plans with many false alarms want an exclusion word or narrower subject words.'],
  'alerts.q.period': ['统计范围', 'Period'],
  'alerts.q.period.all': ['全部', 'All'],
  'alerts.q.period.30d': ['近 30 天', 'Last 30 days'],
  'alerts.q.period.quarter': ['本季度', 'This quarter'],
  'alerts.q.period.year': ['本年', 'This year'],
  'alerts.q.none': ['此期间没有预警。', 'No alerts in this period.'],
  'alerts.q.plan': ['监测方案', 'Plan'],
  'alerts.q.alerts': ['预警', 'Alerts'],
  'alerts.q.confirmed': ['属实', 'Confirmed'],
  'alerts.q.false_alarms': ['误报', 'False alarms'],
  'alerts.q.unjudged': ['未研判', 'Not judged'],
  'alerts.q.rate': ['误报率', 'False-alarm rate'],
});

/** Units where the current user may register a case (analyst, leader, liaison). */
export function registerUnits() {
  const seen = new Map();
  for (const r of session.me?.roles || []) {
    if (['analyst', 'leader', 'liaison'].includes(r.role) && !seen.has(r.unit)) {
      seen.set(r.unit, r.unit_name || r.unit);
    }
  }
  return [...seen.entries()];
}

export default async function (root, _params, query) {
  const onlyUnacked = query.unacked === '1';
  let qualityPeriod = 'all';
  const list = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  const toggle = h('input', {
    type: 'checkbox',
    checked: onlyUnacked,
    onchange: (e) => go('/alerts', e.target.checked ? { unacked: '1' } : undefined),
  });
  mount(root,
    h('div', { class: 'row' },
      h('h1', {}, t('alerts.title')),
      h('label', {}, toggle, ' ', t('alerts.only_unacked')),
      h('button', { onclick: () => load() }, t('alerts.refresh'))),
    list);

  async function load() {
    await guard(async () => {
      const [data, quality] = await Promise.all([
        api('alerts', { query: { unacked: onlyUnacked ? 'true' : undefined, limit: 300 } }),
        api('alerts/quality', { query: { since: periodStart(qualityPeriod) } }),
      ]);
      const alerts = data.alerts || [];
      // Unacknowledged first, then newest first.
      alerts.sort((a, b) => (!!a.acked_at - !!b.acked_at) || (b.raised_at > a.raised_at ? 1 : b.raised_at < a.raised_at ? -1 : 0));
      const unacked = alerts.filter((a) => !a.acked_at).length;
      if (!alerts.length) {
        mount(list, h('p', { class: 'muted' }, t('common.empty')));
        return;
      }
      const tbody = h('tbody');
      for (const a of alerts) renderRow(tbody, a);
      mount(list,
        h('p', { class: 'muted' }, t('alerts.count', { n: alerts.length, u: unacked })),
        h('table', { class: 'alerts' },
          h('thead', {}, h('tr', {},
            [t('alerts.level'), t('alerts.plan'), t('alerts.item'), t('alerts.publisher'),
              t('alerts.raised'), t('alerts.hits'), t('alerts.status'), t('alerts.actions')].map((x) => h('th', {}, x)))),
          tbody),
        qualityTable(quality.plans || []));
    }, list);
  }

  function renderRow(tbody, a) {
    const m = a.message || {};
    const detail = h('tr', { class: 'alert-log', hidden: true }, h('td', { colspan: 8 }));
    const logBtn = h('button', {
      class: 'link',
      onclick: async () => {
        if (!detail.hidden) {
          detail.hidden = true;
          logBtn.textContent = t('alerts.log');
          return;
        }
        detail.hidden = false;
        logBtn.textContent = t('alerts.hide_log');
        await showLog(detail.firstChild, a.id);
      },
    }, t('alerts.log'));
    const pub = m.first_publisher;
    const row = h('tr', { class: a.acked_at ? 'acked' : 'unacked', dataset: { alert: a.id } },
      h('td', {}, levelBadge(m.level || a.level)),
      h('td', {}, a.plan || m.plan || '-'),
      h('td', {},
        h('div', {}, m.link && /^https?:\/\//i.test(m.link) ? h('a', { href: m.link, target: '_blank', rel: 'noopener noreferrer' }, m.title || '-') : (m.title || '-')),
        h('div', { class: 'muted small' },
          h('a', { href: `#/events/${a.event_id}` }, `${t('alerts.event')} ${a.event_id}`), ' · ',
          `${t('alerts.rule')}：${a.rule}`)),
      h('td', {}, pub ? [pub.name || '-', pub.time ? h('div', { class: 'muted small' }, fmtTime(pub.time)) : null] : '-'),
      h('td', {}, fmtTime(a.raised_at)),
      h('td', {}, fmtNum(a.hits)),
      h('td', {}, a.acked_at
        ? h('span', { class: 'muted' }, t('alerts.acked_by', { who: a.acked_by || '-', at: fmtTime(a.acked_at) }))
        : h('span', { class: 'badge level-especially_major' }, t('alerts.unacked')),
        a.verdict ? h('div', { class: 'verdict small', title: a.verdict.note || '' },
          h('span', { class: `badge verdict-${a.verdict.verdict}` }, t(`alerts.verdict.${a.verdict.verdict}`)), ' ',
          h('span', { class: 'muted' }, t('alerts.verdict_by', { who: a.verdict.by, at: fmtTime(a.verdict.at), v: t(`alerts.verdict.${a.verdict.verdict}`) })),
          a.verdict.note ? h('div', { class: 'muted pre' }, a.verdict.note) : null) : null),
      h('td', { class: 'actions' },
        a.acked_at ? null : h('button', {
          class: 'primary',
          onclick: async (e) => {
            e.target.disabled = true;
            const r = await guard(() => api(`alerts/${a.id}/ack`, { method: 'POST' }));
            if (r) {
              toast(t('alerts.acked_ok', { id: a.id }));
              load();
            } else e.target.disabled = false;
          },
        }, t('alerts.ack')),
        ' ',
        a.case_id
          ? h('a', { href: `#/cases/${encodeURIComponent(a.case_id)}` }, t('alerts.case', { id: a.case_id }))
          : openCaseControl(a),
        ' ',
        logBtn,
        h('span', { class: 'verdict-buttons', title: t('alerts.mark_title') },
          ['confirmed', 'false_alarm'].filter((v) => a.verdict?.verdict !== v).map((v) => h('button', {
            class: `link mark-${v}`,
            onclick: async (e) => {
              const note = window.prompt(t('alerts.note_prompt'), '');
              if (note === null) return;
              e.target.disabled = true;
              const r = await guard(() => api(`alerts/${a.id}/verdict`, { method: 'POST', body: { verdict: v, note } }));
              if (r) {
                toast(t('alerts.verdict_ok', { id: a.id, v: t(`alerts.verdict.${v}`) }));
                load();
              } else e.target.disabled = false;
            },
          }, t(`alerts.mark.${v}`))))));
    tbody.append(row, detail);
  }

  /** The first Beijing day of a quality period, YYYY-MM-DD (none for all time). */
  function periodStart(p) {
    const bj = new Date(Date.now() + 8 * 3600000);
    const pad = (n) => String(n).padStart(2, '0');
    const y = bj.getUTCFullYear();
    if (p === '30d') return new Date(bj.getTime() - 30 * 86400000).toISOString().slice(0, 10);
    if (p === 'quarter') return `${y}-${pad(Math.floor(bj.getUTCMonth() / 3) * 3 + 1)}-01`;
    if (p === 'year') return `${y}-01-01`;
    return undefined;
  }

  /** Per plan, its alerts and verdicts in the chosen period; the period can be changed in
   *  place (only the table is read again). */
  function qualityTable(plans) {
    const pct = (x) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);
    const period = h('select', {
      name: 'quality-period',
      'aria-label': t('alerts.q.period'),
      onchange: async (e) => {
        qualityPeriod = e.target.value;
        const q = await guard(() => api('alerts/quality', { query: { since: periodStart(qualityPeriod) } }));
        if (q) card.replaceWith(qualityTable(q.plans || []));
      },
    }, ['all', '30d', 'quarter', 'year'].map((p) => h('option', { value: p, selected: p === qualityPeriod }, t(`alerts.q.period.${p}`))));
    const card = h('div', { class: 'card alert-quality', dataset: { period: qualityPeriod } },
      h('div', { class: 'row' }, h('h2', {}, t('alerts.quality')), h('label', { class: 'muted' }, t('alerts.q.period'), ' ', period)),
      h('p', { class: 'muted small' }, t('alerts.quality_note')),
      plans.length ? h('table', {},
        h('thead', {}, h('tr', {}, ['plan', 'alerts', 'confirmed', 'false_alarms', 'unjudged', 'rate'].map((k) => h('th', {}, t(`alerts.q.${k}`))))),
        h('tbody', {}, plans.map((q) => h('tr', { dataset: { plan: q.plan } },
          h('td', {}, q.plan || '-'),
          h('td', {}, fmtNum(q.alerts)),
          h('td', {}, fmtNum(q.confirmed)),
          h('td', { class: q.false_alarms ? 'overdue' : '' }, fmtNum(q.false_alarms)),
          h('td', {}, fmtNum(q.unjudged)),
          h('td', {}, pct(q.false_alarm_rate))))))
        : h('p', { class: 'muted' }, t('alerts.q.none')));
    return card;
  }

  function openCaseControl(a) {
    const units = registerUnits();
    if (!units.length) return h('span', { class: 'muted small', title: t('alerts.no_unit') }, '');
    const sel = units.length > 1
      ? h('select', { 'aria-label': t('alerts.unit') }, units.map(([id, name]) => h('option', { value: id }, name)))
      : null;
    return h('span', { class: 'open-case' }, sel, h('button', {
      onclick: async (e) => {
        e.target.disabled = true;
        const unit = sel ? sel.value : units[0][0];
        const c = await guard(() => api('cases', {
          method: 'POST',
          body: { unit, source: { type: 'alert', id: a.id }, negative: true },
        }));
        e.target.disabled = false;
        if (c) {
          toast(t('alerts.case_ok', { id: c.id }));
          go(`/cases/${c.id}`);
        }
      },
    }, t('alerts.open_case')),
    ' ', h('a', { class: 'small', href: `#/cases/new?alert=${a.id}`, title: t('alerts.open_form') }, '…'));
  }

  await load();
  // A new alert appears without reloading the page.
  onLive(root, 'alert', () => load());
}

/** The delivery log of one alert, into `cell`. */
async function showLog(cell, id) {
  mount(cell, h('p', { class: 'muted' }, t('common.loading')));
  await guard(async () => {
    const a = await api(`alerts/${id}`);
    const m = a.message || {};
    const deliveries = a.deliveries || [];
    const notices = a.notices || [];
    mount(cell,
      h('div', { class: 'alert-detail' },
        h('p', {}, h('b', {}, `${t('alerts.why')}：`), pick(m.why, m.why_en) || '-'),
        h('p', { class: 'muted' }, `${t('alerts.found')}：${fmtTime(m.found_at)}`),
        h('h2', {}, t('alerts.log')),
        deliveries.length
          ? h('table', {},
            h('thead', {}, h('tr', {}, [t('alerts.channel'), t('alerts.enqueued'), t('alerts.delivered_at'), t('alerts.next_at'), t('alerts.attempts'), t('alerts.status')].map((x) => h('th', {}, x)))),
            h('tbody', {}, deliveries.flatMap((d) => {
              const attempts = Array.isArray(d.attempts) ? d.attempts : [];
              const head = h('tr', {},
                h('td', { rowspan: Math.max(1, attempts.length) }, d.channel),
                h('td', { rowspan: Math.max(1, attempts.length) }, fmtTime(d.enqueued_at)),
                h('td', { rowspan: Math.max(1, attempts.length) }, d.delivered_at ? fmtTime(d.delivered_at) : h('span', { class: 'overdue' }, t('alerts.pending'))),
                h('td', { rowspan: Math.max(1, attempts.length) }, d.delivered_at ? '-' : fmtTime(d.next_at)));
              if (!attempts.length) {
                head.append(h('td', {}, '-'), h('td', {}, t('alerts.pending')));
                return [head];
              }
              const cells = (x) => [
                h('td', {}, t('alerts.attempt', { n: x.number }), h('div', { class: 'muted small' }, fmtTime(x.started_at))),
                h('td', { class: x.state === 'delivered' ? '' : 'error' },
                  t(`alerts.state.${x.state}`), x.detail ? h('div', { class: 'muted small pre' }, x.detail) : null),
              ];
              head.append(...cells(attempts[0]));
              return [head, ...attempts.slice(1).map((x) => h('tr', {}, cells(x)))];
            })))
          : h('p', { class: 'muted' }, t('alerts.no_deliveries')),
        h('h2', {}, t('alerts.notices')),
        notices.length
          ? h('ul', {}, notices.map((n) => h('li', {}, `${t('alerts.notice_step', { n: n.step })} · ${n.who} · ${fmtTime(n.at)}`)))
          : h('p', { class: 'muted' }, t('alerts.no_notices'))));
  }, cell);
}
