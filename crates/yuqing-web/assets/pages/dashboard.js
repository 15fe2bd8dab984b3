// 总览 dashboard and 大屏 (route `screen`: no shell, dark, refreshes itself every 60 s).
// Everything comes from one call: GET /api/v1/dashboard?range=today|week&at=.
// Text from documents and alerts is only ever put in as text (h() children); charts get
// plain data.

import {
  h, mount, api, t, go, guard, fmtTime, fmtNum, levelBadge, chart, onLive,
} from '../app.js';
import { define } from '../i18n.js';

define({
  'dash.today': ['今日', 'Today'],
  'dash.week': ['近7日', 'Last 7 days'],
  'dash.volume': ['信息总量', 'Volume'],
  'dash.previous': ['上期', 'previous period'],
  'dash.change': ['较上期', 'vs previous'],
  'dash.negative': ['负面信息', 'Negative'],
  'dash.negative_share': ['负面占比 {p}%', '{p}% negative'],
  'dash.alerts_open': ['未确认预警', 'Unacknowledged alerts'],
  'dash.overdue_count': ['逾期案件', 'Overdue cases'],
  'dash.trend': ['信息走势（按小时）', 'Volume by hour'],
  'dash.trend_now': ['本期', 'This period'],
  'dash.trend_prev': ['上期同时段', 'Previous period'],
  'dash.sentiment': ['情感分布', 'Sentiment'],
  'dash.unjudged': ['未研判', 'Not judged'],
  'dash.platforms': ['平台分布', 'Platforms'],
  'dash.hotwords': ['热词', 'Hot words'],
  'dash.hotwords_sample': ['基于最新 {n} 条', 'from the newest {n}'],
  'dash.events': ['重点事件', 'Top events'],
  'dash.alerts': ['最新预警', 'Latest alerts'],
  'dash.overdue': ['逾期案件', 'Overdue cases'],
  'dash.sources': ['信息源状态', 'Source health'],
  'dash.col.level': ['级别', 'Level'],
  'dash.col.title': ['标题', 'Title'],
  'dash.col.docs': ['信息量', 'Documents'],
  'dash.col.last': ['最近', 'Latest'],
  'dash.col.time': ['时间', 'Time'],
  'dash.col.rule': ['规则', 'Rule'],
  'dash.col.state': ['状态', 'State'],
  'dash.col.case': ['案件', 'Case'],
  'dash.col.deadline': ['时限', 'Deadline'],
  'dash.col.due': ['到期', 'Due'],
  'dash.col.source': ['信息源', 'Source'],
  'dash.col.success': ['最近成功', 'Last success'],
  'dash.col.failures': ['连续失败', 'Failures in a row'],
  'dash.col.lasthour': ['近1小时', 'Last hour'],
  'dash.acked': ['已确认', 'acknowledged'],
  'dash.unacked': ['未确认', 'open'],
  'dash.overdue_by': ['逾期 {d}', '{d} overdue'],
  'dash.hours': ['{n} 小时', '{n} h'],
  'dash.minutes': ['{n} 分钟', '{n} min'],
  'dash.days': ['{n} 天', '{n} d'],
  'dash.no_data': ['本期没有发布时间在此范围内的信息。', 'No documents were published in this period.'],
  'dash.latest_at': ['最新信息发布于 {t}', 'The newest document was published {t}'],
  'dash.view_latest': ['查看该时段', 'Show that period'],
  'dash.view_now': ['回到当前', 'Back to now'],
  'dash.as_of': ['截至 {t}', 'as of {t}'],
  'dash.period': ['统计区间 {a} — {b}', 'Period {a} – {b}'],
  'dash.updated': ['更新于 {t}', 'updated {t}'],
  'dash.screen_title': ['舆情态势大屏', 'Public opinion situation'],
  'dash.exit_screen': ['退出大屏', 'Exit big screen'],
  'dash.more': ['更多', 'More'],
  'dash.refresh': ['刷新', 'Refresh'],
  'platform.weibo': ['微博', 'Weibo'],
  'platform.wechat': ['微信', 'WeChat'],
  'platform.news': ['新闻', 'News'],
  'platform.douyin': ['抖音', 'Douyin'],
  'platform.kuaishou': ['快手', 'Kuaishou'],
  'platform.bilibili': ['哔哩哔哩', 'Bilibili'],
  'platform.zhihu': ['知乎', 'Zhihu'],
  'platform.tieba': ['贴吧', 'Tieba'],
  'platform.forum': ['论坛', 'Forums'],
  'platform.web': ['网站', 'Web'],
  'platform.twitter': ['Twitter', 'Twitter'],
  'platform.push': ['推送', 'Push'],
  'platform.email': ['邮件', 'E-mail'],
  'platform.message_board': ['留言板', 'Message boards'],
});

/** A platform's label, or its code when there is none. */
export function platformLabel(p) {
  const k = `platform.${p}`;
  const s = t(k);
  return s === k ? p : s;
}

const REFRESH_MS = 60_000;
const SENT_COLORS = { positive: '#2e7d32', neutral: '#8a97a6', negative: '#c62828', unjudged: '#c9cfd6' };
const PALETTE = ['#2f6fd6', '#e07b00', '#2e7d32', '#c62828', '#7b4bc4', '#0f8c8c', '#c9a100', '#b04a87', '#5a6b7d', '#3c9de0'];

function duration(minutes) {
  if (minutes >= 2 * 24 * 60) return t('dash.days', { n: Math.floor(minutes / 1440) });
  if (minutes >= 60) return t('dash.hours', { n: Math.floor(minutes / 60) });
  return t('dash.minutes', { n: Math.max(0, minutes) });
}

function pct(a, b) {
  if (!b) return null;
  return Math.round(((a - b) / b) * 1000) / 10;
}

/** Hour label of an ISO time: `10:00`, with the date for a week. */
function hourLabel(iso, week) {
  const s = fmtTime(iso); // 2026-05-06 10:00
  return week ? `${s.slice(5, 10)} ${s.slice(11, 13)}时` : s.slice(11, 16);
}

export default async function (root, _params, query, name) {
  const screen = name === 'screen';
  const state = {
    range: query.range === 'week' ? 'week' : 'today',
    at: query.at || '',
  };
  const dark = screen;
  const ink = dark ? '#e6eefb' : '#1f2933';
  const muted = dark ? '#9fb3cf' : '#6b7785';
  const grid = dark ? '#1f4573' : '#e5e9ef';

  // ---- the frame: built once, filled by refresh() ----
  const kpis = {
    volume: h('div', { class: 'kpi' }, '-'),
    volumeSub: h('div', { class: 'muted' }),
    negative: h('div', { class: 'kpi' }, '-'),
    negativeSub: h('div', { class: 'muted' }),
    alerts: h('div', { class: 'kpi' }, '-'),
    overdue: h('div', { class: 'kpi overdue' }, '-'),
  };
  const els = {
    trend: h('div', { class: 'chart', 'aria-label': t('dash.trend') }),
    sentiment: h('div', { class: 'chart', 'aria-label': t('dash.sentiment') }),
    platforms: h('div', { class: 'chart', 'aria-label': t('dash.platforms') }),
    words: h('div', { class: 'chart', 'aria-label': t('dash.hotwords') }),
    wordsNote: h('span', { class: 'muted' }),
    events: h('div'),
    alerts: h('div'),
    overdue: h('div'),
    sources: h('div'),
    note: h('div'),
    stamp: h('span', { class: 'muted' }),
    error: h('div'),
  };
  const rangeBtn = (r) => h('button', {
    class: state.range === r ? 'primary' : '',
    'aria-pressed': state.range === r ? 'true' : 'false',
    onclick: () => go(screen ? '/screen' : '/dashboard', withAt({ range: r })),
  }, t(`dash.${r}`));
  const withAt = (q) => (state.at ? { ...q, at: state.at } : q);

  const clock = h('span', { class: 'muted' });
  const head = screen
    ? h('div', { class: 'row screen-head' },
      h('h1', { style: { flex: '1', margin: '0' } }, t('dash.screen_title')),
      rangeBtn('today'), rangeBtn('week'), clock, els.stamp,
      h('a', { href: '#/dashboard' }, t('dash.exit_screen')))
    : h('div', { class: 'row' },
      h('h1', { style: { margin: '0 12px 0 0' } }, t('nav.dashboard')),
      rangeBtn('today'), rangeBtn('week'),
      h('button', { class: 'link', onclick: () => refresh() }, t('dash.refresh')),
      els.stamp,
      h('span', { style: { flex: '1' } }),
      h('a', { href: `#/screen?${new URLSearchParams(withAt({ range: state.range }))}` }, t('nav.screen')));

  const card = (span, title, ...body) => h('section', { class: `card ${span}` },
    title ? h('h2', {}, title) : null, ...body);
  const kpiCard = (label, big, sub, href) => card('span-3',
    null, h('div', { class: 'muted' }, href ? h('a', { href }, label) : label), big, sub);

  mount(root,
    head,
    els.error,
    els.note,
    h('div', { class: 'grid' },
      kpiCard(t('dash.volume'), kpis.volume, kpis.volumeSub),
      kpiCard(t('dash.negative'), kpis.negative, kpis.negativeSub),
      kpiCard(t('dash.alerts_open'), kpis.alerts, null, '#/alerts'),
      kpiCard(t('dash.overdue_count'), kpis.overdue, null, '#/cases'),
      card('span-8', t('dash.trend'), els.trend),
      card('span-4', t('dash.sentiment'), els.sentiment),
      card('span-4', t('dash.platforms'), els.platforms),
      card('span-8', h('span', {}, t('dash.hotwords'), ' ', els.wordsNote), els.words),
      card('span-6', t('dash.events'), els.events),
      card('span-6', h('span', {}, t('dash.alerts'), ' ', h('a', { href: '#/alerts', class: 'muted' }, t('dash.more'))), els.alerts),
      card('span-6', t('dash.overdue'), els.overdue),
      card('span-6', t('dash.sources'), els.sources)));

  const axisText = { color: muted };
  const charts = {};
  const ensure = (key, el, option) => {
    if (!charts[key]) charts[key] = chart(el, option);
    else charts[key].setOption(option, true);
  };

  function draw(d) {
    const week = d.range === 'week';
    // KPIs
    kpis.volume.textContent = fmtNum(d.total);
    const ch = pct(d.total, d.previous_total);
    kpis.volumeSub.textContent = `${t('dash.previous')} ${fmtNum(d.previous_total)}` +
      (ch === null ? '' : ` · ${t('dash.change')} ${ch > 0 ? '+' : ''}${ch}%`);
    const s = d.sentiment || {};
    kpis.negative.textContent = fmtNum(s.negative);
    const judged = (s.positive || 0) + (s.neutral || 0) + (s.negative || 0);
    kpis.negativeSub.textContent = judged ? t('dash.negative_share', { p: Math.round((s.negative / judged) * 1000) / 10 }) : '';
    kpis.alerts.textContent = fmtNum((d.alerts || []).filter((a) => !a.acked_at).length);
    kpis.overdue.textContent = fmtNum((d.overdue_cases || []).length);
    els.stamp.textContent = `${t('dash.period', { a: fmtTime(d.since), b: fmtTime(d.until) })} · ${t('dash.updated', { t: fmtTime(d.computed_at) })}`;

    // The period holds nothing but older data exists: offer to look at it.
    mount(els.note);
    if (!d.total && d.latest_published_at && new Date(d.latest_published_at) < new Date(d.since)) {
      mount(els.note, h('p', { class: 'card muted', role: 'status' },
        t('dash.no_data'), ' ', t('dash.latest_at', { t: fmtTime(d.latest_published_at) }), ' ',
        h('button', { onclick: () => go(screen ? '/screen' : '/dashboard', { range: state.range, at: d.latest_published_at }) }, t('dash.view_latest'))));
    } else if (state.at) {
      mount(els.note, h('p', { class: 'muted' }, t('dash.as_of', { t: fmtTime(d.at) }), ' ',
        h('button', { class: 'link', onclick: () => go(screen ? '/screen' : '/dashboard', { range: state.range }) }, t('dash.view_now'))));
    }

    // Trend by hour, with the same hours of the previous period.
    const hours = d.hours || [];
    ensure('trend', els.trend, {
      color: ['#2f6fd6', '#9aa7b6'],
      tooltip: { trigger: 'axis' },
      legend: { data: [t('dash.trend_now'), t('dash.trend_prev')], textStyle: { color: ink }, top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: hours.map((x) => hourLabel(x.hour, week)), axisLabel: axisText, axisLine: { lineStyle: { color: grid } } },
      yAxis: { type: 'value', minInterval: 1, axisLabel: axisText, splitLine: { lineStyle: { color: grid } } },
      series: [
        { name: t('dash.trend_now'), type: 'line', smooth: true, showSymbol: hours.length <= 48, areaStyle: { opacity: 0.12 }, data: hours.map((x) => x.count) },
        { name: t('dash.trend_prev'), type: 'line', smooth: true, showSymbol: false, lineStyle: { type: 'dashed' }, data: hours.map((x) => x.previous) },
      ],
    });

    // Sentiment share.
    const sent = ['negative', 'neutral', 'positive', 'unjudged']
      .map((k) => ({ key: k, name: k === 'unjudged' ? t('dash.unjudged') : t(`sentiment.${k}`), value: s[k] || 0 }))
      .filter((x) => x.value > 0);
    ensure('sentiment', els.sentiment, {
      tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
      legend: { bottom: 0, textStyle: { color: ink } },
      series: [{
        type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'],
        label: { color: ink, formatter: '{b} {d}%' },
        data: sent.map((x) => ({ name: x.name, value: x.value, itemStyle: { color: SENT_COLORS[x.key] } })),
      }],
    });

    // Platform share (bars: long tails read better than a pie).
    const plats = (d.platforms || []).slice(0, 10).reverse();
    ensure('platforms', els.platforms, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 80, right: 40, top: 8, bottom: 24 },
      xAxis: { type: 'value', minInterval: 1, axisLabel: axisText, splitLine: { lineStyle: { color: grid } } },
      yAxis: { type: 'category', data: plats.map((p) => platformLabel(p.platform)), axisLabel: { color: ink } },
      series: [{
        type: 'bar', data: plats.map((p, i) => ({ value: p.count, itemStyle: { color: PALETTE[i % PALETTE.length] } })),
        label: { show: true, position: 'right', color: ink },
      }],
    });

    // Hot-word cloud.
    const words = d.hot_words || [];
    els.wordsNote.textContent = d.hot_words_sample ? t('dash.hotwords_sample', { n: fmtNum(d.hot_words_sample) }) : '';
    const max = Math.max(1e-9, ...words.map((w) => w.weight));
    ensure('words', els.words, {
      tooltip: { formatter: (p) => `${p.name}: ${p.data.count}` },
      series: [{
        type: 'wordCloud', shape: 'circle', left: 'center', top: 'center', width: '96%', height: '96%',
        sizeRange: [13, 46], rotationRange: [0, 0], gridSize: 6, drawOutOfBound: false,
        textStyle: { fontFamily: 'sans-serif', fontWeight: 'bold', color: (p) => PALETTE[p.dataIndex % PALETTE.length] },
        emphasis: { textStyle: { color: dark ? '#fff' : '#000' } },
        data: words.map((w) => ({ name: w.word, value: Math.round((w.weight / max) * 1000), count: w.count })),
      }],
    });
    if (!words.length) charts.words?.clear();

    // Tables.
    const table = (heads, rows) => (rows.length
      ? h('table', { style: dark ? { background: 'transparent', color: ink } : undefined },
        h('thead', {}, h('tr', {}, heads.map((x) => h('th', { style: dark ? { background: '#0f3360', color: ink } : undefined }, x)))),
        h('tbody', {}, rows))
      : h('p', { class: 'muted' }, t('common.empty')));
    mount(els.events, table(
      [t('dash.col.level'), t('dash.col.title'), t('dash.col.docs'), t('dash.col.last')],
      (d.events || []).map((e) => h('tr', {},
        h('td', {}, levelBadge(e.level || '')),
        h('td', {}, h('a', { href: `#/events/${encodeURIComponent(e.id)}` }, e.title || `#${e.id}`)),
        h('td', {}, fmtNum(e.documents)),
        h('td', {}, fmtTime(e.last_at)))),
    ));
    mount(els.alerts, table(
      [t('dash.col.time'), t('dash.col.level'), t('dash.col.title'), t('dash.col.state')],
      (d.alerts || []).map((a) => h('tr', {},
        h('td', {}, fmtTime(a.raised_at)),
        h('td', {}, levelBadge(a.level_name || '')),
        h('td', {}, h('a', { href: `#/alerts?id=${encodeURIComponent(a.id)}` },
          a.message?.title || a.plan || `#${a.event_id}`)),
        h('td', {}, a.acked_at ? t('dash.acked') : h('span', { class: 'overdue' }, t('dash.unacked'))))),
    ));
    mount(els.overdue, table(
      [t('dash.col.case'), t('dash.col.state'), t('dash.col.deadline'), t('dash.col.due')],
      (d.overdue_cases || []).map((c) => h('tr', { class: 'overdue' },
        h('td', {}, h('a', { href: `#/cases/${encodeURIComponent(c.id)}`, class: 'overdue' }, `${c.id} ${c.title || ''}`)),
        h('td', {}, c.state_label || c.state),
        h('td', {}, c.deadline_label || c.deadline),
        h('td', {}, fmtTime(c.due_at), ' ', t('dash.overdue_by', { d: duration(c.overdue_minutes) })))),
    ));
    mount(els.sources, table(
      [t('dash.col.source'), t('dash.col.success'), t('dash.col.failures'), t('dash.col.lasthour')],
      (d.sources || []).map((x) => {
        const hl = x.health || {};
        const bad = hl.consecutive_failures > 0;
        return h('tr', {},
          h('td', {}, hl.name),
          h('td', {}, fmtTime(hl.last_success_at)),
          h('td', { class: bad ? 'overdue' : '', title: bad ? (hl.last_error || '') : '' }, fmtNum(hl.consecutive_failures)),
          h('td', {}, fmtNum(hl.documents_last_hour)));
      }),
    ));
  }

  async function refresh() {
    const d = await guard(() => api('dashboard', { query: { range: state.range, at: state.at } }), els.error);
    if (!d) return;
    mount(els.error);
    draw(d);
  }

  await refresh();
  // Live: a new alert or new documents refresh the figures (at most every 10 s).
  let lastDocs = null;
  let lastRefresh = Date.now();
  onLive(root, 'counters', (c) => {
    const changed = lastDocs !== null && c.documents !== lastDocs;
    lastDocs = c.documents;
    if (changed && Date.now() - lastRefresh > 10_000 && !state.at) {
      lastRefresh = Date.now();
      refresh();
    }
  });
  onLive(root, 'alert', () => { lastRefresh = Date.now(); refresh(); });

  if (screen) {
    root.classList.add('page-screen');
    const tick = () => { clock.textContent = fmtTime(new Date().toISOString()); };
    tick();
    const clockTimer = setInterval(tick, 15_000);
    const timer = setInterval(() => {
      // Stop once the page is left (the router replaces this page's element).
      if (!root.isConnected || !location.hash.startsWith('#/screen')) {
        clearInterval(timer);
        clearInterval(clockTimer);
        return;
      }
      refresh();
    }, REFRESH_MS);
  }
}
