// 事件: the list of events by level and heat (#/events) and one event (#/events/ID) with
// its analysis: trend with the peak, propagation tree and depth, first publisher, reprint
// groups, sentiment, regions, author composition, hot words, the documents, and the
// actions (level/alert, open a case, report).
//
// Every collected text (titles, document texts, author names) goes into the page as text
// through h(); chart labels are plain strings and tooltips are escaped.

import {
  h, mount, api, t, go, session, guard, toast, fmtTime, fmtNum, levelBadge, sentimentBadge,
  chart, safeUrl, pick,
} from '../app.js';
import { define } from '../i18n.js';

define({
  'events.title': ['事件', 'Events'],
  'events.min_level': ['最低级别', 'Minimum level'],
  'events.any_level': ['全部级别', 'All levels'],
  'events.min_documents': ['最少文档数', 'Minimum documents'],
  'events.col.level': ['级别', 'Level'],
  'events.col.title': ['事件', 'Event'],
  'events.col.documents': ['文档', 'Documents'],
  'events.col.comments': ['评论', 'Comments'],
  'events.col.views': ['阅读', 'Views'],
  'events.col.negative': ['负面', 'Negative'],
  'events.col.heat': ['热度', 'Heat'],
  'events.col.first_at': ['首发时间', 'First seen'],
  'events.col.last_at': ['最新时间', 'Latest'],
  'events.page': ['第 {n} 页', 'Page {n}'],
  'events.untitled': ['（无标题）', '(untitled)'],
  'events.order_note': ['按级别、再按文档数（热度）排序', 'Ordered by level, then documents (heat)'],
  'event.back': ['← 事件列表', '← Events'],
  'event.merged_from': ['事件 #{from} 已并入本事件（其转发、评论的原帖后到，已归入本事件）；原事件的预警与定级记录保留在原编号下。',
    'Event #{from} was merged into this one (the post its reposts and comments answered arrived later and belongs here); its own alerts and levels stay under its old id.'],
  'event.level_reason': ['定级理由', 'Why this level'],
  'event.no_level': ['未定级', 'not graded'],
  'event.btn.level': ['预警/定级', 'Alert / set level'],
  'event.btn.case': ['立案', 'Open a case'],
  'event.btn.report': ['生成报告', 'Make the report'],
  'event.kpi.documents': ['文档数', 'Documents'],
  'event.kpi.first_at': ['首发', 'First published'],
  'event.kpi.last_at': ['最新', 'Latest'],
  'event.kpi.comments': ['评论', 'Comments'],
  'event.kpi.reposts': ['转发', 'Reposts'],
  'event.kpi.views': ['阅读', 'Views'],
  'event.kpi.depth': ['传播深度', 'Spread depth'],
  'event.kpi.peak': ['峰值', 'Peak'],
  'event.trend': ['传播趋势（按小时）', 'Trend (per hour)'],
  'event.peak': ['峰值', 'peak'],
  'event.tree': ['传播路径', 'Propagation tree'],
  'event.tree_note': ['显示 {shown} / {nodes} 个节点，最大深度 {depth}；各层：{per}', 'Showing {shown} of {nodes} nodes, depth {depth}; per level: {per}'],
  'event.tree_more': ['另 {n} 条', '{n} more'],
  'event.tree_root': ['（源头）', '(root)'],
  'event.first': ['首发', 'First publisher'],
  'event.first.author': ['发布者', 'Author'],
  'event.first.platform': ['平台', 'Platform'],
  'event.first.site': ['站点', 'Site'],
  'event.first.time': ['时间', 'Time'],
  'event.first.verified': ['认证用户', 'verified'],
  'event.spreaders': ['关键传播者', 'Key spreaders'],
  'event.downstream': ['下游 {n} 条', '{n} below'],
  'event.groups': ['相似文章（转载组）', 'Reprint groups'],
  'event.group_row': ['第 {id} 组：{n} 篇', 'group {id}: {n} items'],
  'event.group_sites': ['{n} 个站点，首发：', '{n} sites, first:'],
  'event.sentiment': ['情感倾向', 'Sentiment'],
  'event.unjudged': ['未判定', 'unjudged'],
  'event.platforms': ['平台分布', 'Platforms'],
  'event.regions': ['地域分布', 'Regions'],
  'event.authors': ['作者构成', 'Authors'],
  'event.verified': ['认证', 'verified'],
  'event.grassroots': ['草根', 'grassroots'],
  'event.originals': ['原创', 'originals'],
  'event.spread': ['转发/评论', 'reposts/comments'],
  'event.kinds': ['原创/转评', 'Originals/spread'],
  'event.distinct_authors': ['共 {n} 位作者', '{n} distinct authors'],
  'event.content_types': ['内容类型', 'Content types'],
  'event.hot_words': ['热词', 'Hot words'],
  'event.mainstream': ['主流媒体', 'Mainstream media'],
  'event.critical': ['涉及重点类别', 'Critical category'],
  'event.history': ['定级记录', 'Level history'],
  'event.history.by_rules': ['规则', 'rules'],
  'event.docs': ['文档', 'Documents'],
  'event.docs.total': ['共 {n} 篇', '{n} in all'],
  'event.docs.time': ['时间', 'Time'],
  'event.docs.author': ['作者', 'Author'],
  'event.docs.kind': ['平台/类型', 'Platform / kind'],
  'event.docs.text': ['内容', 'Text'],
  'event.docs.sentiment': ['情感', 'Sentiment'],
  'event.docs.open': ['原文', 'Source'],
  'event.docs.case': ['立案', 'Case'],
  'event.docs.expand': ['展开', 'more'],
  'event.docs.collapse': ['收起', 'less'],
  'event.level.level': ['级别', 'Level'],
  'event.level.reason': ['理由（必填）', 'Reason (required)'],
  'event.level.submit': ['确定定级', 'Set level'],
  'event.level.done': ['已定级', 'Level set'],
  'event.case.unit': ['承办单位', 'Owning unit'],
  'event.case.title': ['标题', 'Title'],
  'event.case.summary': ['摘要', 'Summary'],
  'event.case.negative': ['负面', 'Negative'],
  'event.case.source': ['来源', 'Source'],
  'event.case.from_alert': ['预警 #{id}', 'alert #{id}'],
  'event.case.from_doc': ['文档 {id}', 'document {id}'],
  'event.case.submit': ['登记案件', 'Register the case'],
  'event.case.done': ['已立案：{id}', 'Case opened: {id}'],
  'event.case.exists': ['该预警已立案：', 'This alert already has a case: '],
  'event.computed': ['分析耗时 {ms} 毫秒', 'analysed in {ms} ms'],
});

const PAGE = 30;
const LEVEL_NAMES = ['general', 'large', 'major', 'especially_major'];

// Styles of this page only (the shared style.css has the common ones).
const CSS = `
.page-events .ev-kpi .kpi { font-size: 24px; }
.page-events .num { text-align: right; font-variant-numeric: tabular-nums; }
.page-events .nowrap { white-space: nowrap; }
.page-events table.kv th { background: none; width: 72px; color: var(--muted); font-weight: normal; }
.page-events label.block { display: block; margin: 6px 0; }
.page-events .ev-form { margin: 8px 0; max-width: 720px; }
.page-events .ev-form textarea, .page-events .ev-form input:not([type=checkbox]) { width: 100%; }
.page-events .ev-verified { background: #e3eefc; color: var(--blue); margin-left: 4px; }
.page-events .ev-doc-text { white-space: pre-wrap; word-break: break-word; max-width: 720px; }
.page-events .ev-spreaders, .page-events .ev-groups { margin: 0; padding-left: 20px; }
.page-events .ev-spreaders li, .page-events .ev-groups li { margin: 4px 0; }
.page-events .ev-head h1 { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.page-events .pager { margin-top: 8px; }
.page-events .ev-soon { display: inline-block; }
`;

function style() {
  if (!document.getElementById('ev-style')) document.head.appendChild(h('style', { id: 'ev-style' }, CSS));
}

export default async function (root, params, query) {
  style();
  if (params[0]) return eventPage(root, params[0], query);
  return listPage(root, query);
}

// ---- helpers ---------------------------------------------------------------------------

/** Escapes text for ECharts tooltips (rendered as HTML). */
function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function pct(x) {
  return `${(Number(x || 0) * 100).toFixed(1)}%`;
}

function clip(s, n) {
  const cps = Array.from(String(s ?? ''));
  return cps.length > n ? `${cps.slice(0, n).join('')}…` : cps.join('');
}

function card(span, title, ...body) {
  return h('section', { class: `card span-${span}` }, title ? h('h2', {}, title) : null, ...body);
}

function chartBox(height) {
  return h('div', { class: 'chart', style: height ? { height: `${height}px` } : undefined });
}

function kpi(label, value) {
  return h('div', { class: 'card span-3 ev-kpi' }, h('div', { class: 'muted' }, label), h('div', { class: 'kpi' }, value));
}

/** Beijing hour label `MM-DD HH:00` for chart axes. */
function hourLabel(ms) {
  const s = fmtTime(new Date(ms).toISOString());
  return s.length >= 16 ? `${s.slice(5, 13)}:00` : s;
}

// ---- list ------------------------------------------------------------------------------

async function listPage(root, query) {
  const page = Math.max(1, Number(query.page) || 1);
  const minLevel = query.min_level || '';
  const minDocs = query.min_documents || '';
  const levelSel = h('select', { name: 'min_level', 'aria-label': t('events.min_level') },
    h('option', { value: '' }, t('events.any_level')),
    LEVEL_NAMES.map((l) => h('option', { value: l, selected: l === minLevel }, t(`level.${l}`))));
  const docsIn = h('input', { name: 'min_documents', type: 'number', min: 0, value: minDocs, style: { width: '90px' } });
  const nav = (p) => {
    const q = { page: String(p) };
    if (levelSel.value) q.min_level = levelSel.value;
    if (docsIn.value) q.min_documents = docsIn.value;
    go('/events', q);
  };
  const body = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  mount(root,
    h('h1', {}, t('events.title')),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); nav(1); } },
      h('label', {}, `${t('events.min_level')} `, levelSel),
      h('label', {}, `${t('events.min_documents')} `, docsIn),
      h('button', { type: 'submit', class: 'primary' }, t('common.search')),
      h('span', { class: 'muted' }, t('events.order_note'))),
    body);
  levelSel.addEventListener('change', () => nav(1));
  await guard(async () => {
    const r = await api('events', {
      query: { limit: PAGE + 1, offset: (page - 1) * PAGE, min_level: minLevel, min_documents: minDocs },
    });
    const rows = r.events.slice(0, PAGE);
    const more = r.events.length > PAGE;
    if (!rows.length) {
      mount(body, h('p', { class: 'muted' }, t('common.empty')));
      return;
    }
    mount(body,
      h('table', { class: 'events-table' },
        h('thead', {}, h('tr', {},
          ['level', 'title', 'documents', 'comments', 'views', 'negative', 'first_at', 'last_at']
            .map((c) => h('th', {}, t(`events.col.${c}`))))),
        h('tbody', {}, rows.map((e) => h('tr', {},
          h('td', {}, e.level ? levelBadge(e.level) : h('span', { class: 'muted' }, t('event.no_level'))),
          h('td', {}, h('a', { href: `#/events/${e.id}` }, clip(e.title || t('events.untitled'), 60))),
          h('td', { class: 'num' }, fmtNum(e.documents)),
          h('td', { class: 'num' }, fmtNum(e.comments)),
          h('td', { class: 'num' }, fmtNum(e.views)),
          h('td', { class: 'num' }, fmtNum(e.negative)),
          h('td', {}, fmtTime(e.first_at)),
          h('td', {}, fmtTime(e.last_at)))))),
      h('div', { class: 'row pager' },
        h('button', { disabled: page <= 1, onclick: () => nav(page - 1) }, t('common.prev')),
        h('span', {}, t('events.page', { n: page })),
        h('button', { disabled: !more, onclick: () => nav(page + 1) }, t('common.next'))));
  }, body);
}

// ---- one event -------------------------------------------------------------------------

async function eventPage(root, id, query) {
  const a = await api(`events/${encodeURIComponent(id)}`);
  const actions = h('div', { class: 'row ev-actions' });
  const panel = h('div', {});
  const head = h('div', { class: 'ev-head' },
    h('p', {}, h('a', { href: '#/events' }, t('event.back'))),
    a.merged_from ? h('p', { class: 'notice' }, t('event.merged_from', { from: a.merged_from })) : null,
    h('h1', {}, a.level ? levelBadge(a.level) : h('span', { class: 'badge' }, t('event.no_level')), ' ',
      a.title || t('events.untitled'), h('span', { class: 'muted' }, ` #${a.id}`)),
    a.level_reason ? h('p', { class: 'muted' }, `${t('event.level_reason')}：${pick(a.level_reason, a.level_reason_en)}`) : null,
    actions, panel);

  const trendEl = chartBox(260);
  const treeEl = chartBox(420);
  const treeNote = h('p', { class: 'muted' });
  const sentEl = chartBox(220);
  const platEl = chartBox(220);
  const regionEl = chartBox(240);
  const authorsEl = chartBox(220);
  const typesEl = chartBox(220);
  const wordsEl = chartBox(260);
  const docsBox = h('div', {});
  const groupsBox = h('div', {});

  const p = a.propagation || {};
  const fp = a.first_publisher;
  mount(root, head,
    h('div', { class: 'grid' },
      kpi(t('event.kpi.documents'), fmtNum(a.documents)),
      kpi(t('event.kpi.depth'), fmtNum(p.max_depth)),
      kpi(t('event.kpi.comments'), fmtNum(a.totals?.comments)),
      kpi(t('event.kpi.views'), fmtNum(a.totals?.views)),
      card(8, t('event.trend'), trendEl,
        h('p', { class: 'muted' },
          `${t('event.kpi.first_at')} ${fmtTime(a.first_at)} · ${t('event.kpi.last_at')} ${fmtTime(a.last_at)}`,
          a.peak_hour ? ` · ${t('event.kpi.peak')} ${fmtTime(a.peak_hour.hour)}（${fmtNum(a.peak_hour.documents)}）` : '')),
      card(4, t('event.first'), firstPublisher(fp),
        a.mainstream?.length ? h('p', {}, h('strong', {}, `${t('event.mainstream')}：`), a.mainstream.join('、')) : null,
        a.critical ? h('p', { class: 'error' }, `${t('event.critical')}：${a.critical.label || a.critical.category || ''}`) : null),
      card(8, t('event.tree'), treeNote, treeEl),
      card(4, t('event.spreaders'), spreaders(p)),
      card(4, t('event.sentiment'), sentEl),
      card(4, t('event.platforms'), platEl),
      card(4, t('event.authors'), authorsEl, h('p', { class: 'muted' }, t('event.distinct_authors', { n: fmtNum(a.authors?.distinct) }))),
      card(6, t('event.regions'), regionEl),
      card(6, t('event.hot_words'), wordsEl),
      card(6, t('event.content_types'), typesEl),
      card(6, t('event.groups'), groupsBox),
      card(12, t('event.history'), history(a.level_history || [])),
      card(12, t('event.docs'), docsBox)),
    h('p', { class: 'muted' }, t('event.computed', { ms: a.computed_ms })));

  mountActions(actions, panel, a, fp);
  drawTrend(trendEl, a);
  drawSentiment(sentEl, a.sentiment || {});
  drawShares(platEl, a.platforms || [], 'pie');
  drawShares(regionEl, (a.regions || []).slice(0, 12), 'bar');
  drawShares(typesEl, a.content_types || [], 'bar');
  drawAuthors(authorsEl, a.authors || {}, a.kinds || {});
  drawWords(wordsEl, a.hot_words || []);
  mountGroups(groupsBox, a.reprint_groups || []);
  guard(() => drawTree(treeEl, treeNote, a), treeNote);
  docsPage(docsBox, a, Math.max(0, Number(query.doc_offset) || 0));
}

function firstPublisher(fp) {
  if (!fp) return h('p', { class: 'muted' }, t('common.empty'));
  const row = (k, v) => h('tr', {}, h('th', {}, k), h('td', {}, v));
  return h('table', { class: 'kv' }, h('tbody', {},
    row(t('event.first.author'), [fp.author_name || fp.author_id || '-',
      fp.verified ? h('span', { class: 'badge ev-verified' }, t('event.first.verified')) : null]),
    row(t('event.first.platform'), `${fp.platform} · ${fp.id}`),
    fp.site ? row(t('event.first.site'), fp.site) : null,
    row(t('event.first.time'), fmtTime(fp.published_at))));
}

function spreaders(p) {
  const list = p.top_spreaders || [];
  if (!list.length) return h('p', { class: 'muted' }, t('common.empty'));
  return h('ol', { class: 'ev-spreaders' }, list.map((s) => h('li', {},
    h('strong', {}, s.author || s.id), ' ',
    h('span', { class: 'muted' }, `L${s.depth} · ${t('event.downstream', { n: fmtNum(s.downstream) })}`))));
}

function history(list) {
  if (!list.length) return h('p', { class: 'muted' }, t('common.empty'));
  return h('table', {}, h('tbody', {}, list.map((l) => h('tr', {},
    h('td', {}, fmtTime(l.at)),
    h('td', {}, levelBadge(l.level)),
    h('td', {}, l.by || t('event.history.by_rules')),
    h('td', {}, pick(l.reason, l.reason_en))))));
}

// ---- charts ----------------------------------------------------------------------------

function drawTrend(el, a) {
  const data = (a.trend || []).map((x) => [new Date(x.hour).getTime(), x.documents]);
  if (!data.length) { mount(el, h('p', { class: 'muted' }, t('common.empty'))); return; }
  const peak = a.peak_hour ? [new Date(a.peak_hour.hour).getTime(), a.peak_hour.documents] : null;
  chart(el, {
    grid: { left: 48, right: 20, top: 56, bottom: 40 },
    tooltip: {
      trigger: 'axis',
      formatter: (ps) => ps.map((x) => `${esc(hourLabel(x.value[0]))}<br>${esc(fmtNum(x.value[1]))}`).join('<br>'),
    },
    xAxis: { type: 'time', axisLabel: { formatter: (v) => hourLabel(v), hideOverlap: true } },
    yAxis: { type: 'value', minInterval: 1 },
    dataZoom: data.length > 72 ? [{ type: 'inside' }, { type: 'slider', height: 16, bottom: 4 }] : [],
    series: [{
      type: 'line',
      name: t('event.trend'),
      data,
      showSymbol: data.length < 60,
      areaStyle: { opacity: 0.15 },
      markPoint: peak ? {
        data: [{ coord: peak, value: peak[1], name: t('event.peak') }],
        label: { formatter: (x) => `${t('event.peak')} ${x.value}` },
        symbolSize: 56,
      } : undefined,
    }],
  });
}

function drawSentiment(el, s) {
  const data = [
    { name: t('sentiment.negative'), value: s.negative || 0, itemStyle: { color: '#c62828' } },
    { name: t('sentiment.neutral'), value: s.neutral || 0, itemStyle: { color: '#90a4ae' } },
    { name: t('sentiment.positive'), value: s.positive || 0, itemStyle: { color: '#2e7d32' } },
  ];
  if (s.unjudged) data.push({ name: t('event.unjudged'), value: s.unjudged, itemStyle: { color: '#dde3ea' } });
  pie(el, data);
}

function pie(el, data) {
  if (!data.some((d) => d.value > 0)) { mount(el, h('p', { class: 'muted' }, t('common.empty'))); return; }
  chart(el, {
    tooltip: { trigger: 'item', formatter: (x) => `${esc(x.name)}：${esc(fmtNum(x.value))}（${x.percent}%）` },
    legend: { bottom: 0, type: 'scroll' },
    series: [{ type: 'pie', radius: ['38%', '68%'], center: ['50%', '45%'], data, label: { formatter: '{b} {d}%' } }],
  });
}

function drawShares(el, list, kind) {
  if (!list.length) { mount(el, h('p', { class: 'muted' }, t('common.empty'))); return; }
  const name = (x) => String(x.label || x.name);
  if (kind === 'pie') {
    pie(el, list.map((x) => ({ name: name(x), value: x.documents })));
    return;
  }
  const rows = [...list].reverse();
  chart(el, {
    grid: { left: 90, right: 40, top: 10, bottom: 20 },
    tooltip: { trigger: 'item', formatter: (x) => `${esc(x.name)}：${esc(fmtNum(x.value))}` },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rows.map(name), axisLabel: { width: 80, overflow: 'truncate' } },
    series: [{ type: 'bar', data: rows.map((x) => x.documents), label: { show: true, position: 'right' }, itemStyle: { color: '#2f6fd6' } }],
  });
}

function drawAuthors(el, au, k) {
  const rows = [t('event.authors'), t('event.kinds')];
  const bar = (name, color, data) => ({
    name, type: 'bar', stack: 's', data, barWidth: 28, itemStyle: { color },
    label: { show: true, formatter: (x) => (x.value >= 0.08 ? pct(x.value) : '') },
  });
  chart(el, {
    tooltip: { trigger: 'item', formatter: (x) => `${esc(x.seriesName)}：${esc(pct(x.value))}` },
    legend: { bottom: 0 },
    grid: { left: 72, right: 20, top: 10, bottom: 48 },
    xAxis: { type: 'value', max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
    yAxis: { type: 'category', data: rows },
    series: [
      bar(t('event.verified'), '#1d5fbf', [au.verified_share || 0, null]),
      bar(t('event.grassroots'), '#f0a030', [au.grassroots_share || 0, null]),
      bar(t('event.originals'), '#2e7d32', [null, k.originals_share || 0]),
      bar(t('event.spread'), '#90a4ae', [null, k.spread_share || 0]),
    ],
  });
}

function drawWords(el, words) {
  if (!words.length) { mount(el, h('p', { class: 'muted' }, t('common.empty'))); return; }
  const palette = ['#1d5fbf', '#c62828', '#2e7d32', '#e07b00', '#6a1b9a', '#00838f', '#5d4037'];
  chart(el, {
    tooltip: { formatter: (x) => `${esc(x.name)}：${esc(x.data.count)}` },
    series: [{
      type: 'wordCloud',
      shape: 'circle',
      gridSize: 6,
      sizeRange: [12, 40],
      rotationRange: [0, 0],
      width: '100%',
      height: '100%',
      textStyle: { color: (x) => palette[x.dataIndex % palette.length] },
      data: words.slice(0, 80).map((w) => ({ name: String(w.word), value: w.weight, count: w.count })),
    }],
  });
}

/** The propagation tree from `GET /api/v1/events/{id}/tree`, as an ECharts tree. */
async function drawTree(el, note, a) {
  const r = await api(`events/${a.id}/tree`, { query: { max: 120 } });
  const per = (a.propagation?.per_depth || []).join(' / ');
  note.textContent = t('event.tree_note', { shown: fmtNum(r.shown), nodes: fmtNum(r.nodes), depth: r.max_depth, per });
  if (!r.tree) { mount(el, h('p', { class: 'muted' }, t('common.empty'))); return; }
  const conv = (n, isRoot) => {
    if (n.more !== undefined) {
      return { name: t('event.tree_more', { n: n.more }), value: n.downstream, more: true, itemStyle: { color: '#cfd8dc' } };
    }
    return {
      name: `${clip(n.name, 14)}${isRoot ? t('event.tree_root') : ''}`,
      value: n.downstream,
      node: n,
      children: (n.children || []).map((c) => conv(c, false)),
      itemStyle: n.verified ? { color: '#1d5fbf' } : undefined,
    };
  };
  const data = conv(r.tree, true);
  const tall = Math.min(900, Math.max(360, r.shown * 9));
  el.style.height = `${tall}px`;
  chart(el, {
    tooltip: {
      trigger: 'item',
      formatter: (x) => {
        const n = x.data.node;
        if (!n) return esc(x.name);
        return [
          `<b>${esc(n.author || n.id)}</b>`,
          esc(`${n.platform || ''} ${n.kind || ''} · L${n.depth} · ${t('event.downstream', { n: n.downstream })}`),
          esc(fmtTime(n.published_at)),
          esc(clip(n.text || '', 60)),
        ].join('<br>');
      },
    },
    series: [{
      type: 'tree',
      data: [data],
      top: 10, left: 150, bottom: 10, right: 120,
      orient: 'LR',
      symbolSize: (v) => 6 + Math.min(14, Math.sqrt(v || 0)),
      initialTreeDepth: 3,
      expandAndCollapse: true,
      roam: true,
      label: { position: 'left', verticalAlign: 'middle', align: 'right', fontSize: 11 },
      leaves: { label: { position: 'right', align: 'left' } },
      animationDuration: 300,
    }],
  });
}

// ---- reprint groups --------------------------------------------------------------------

function mountGroups(box, groups) {
  if (!groups.length) { mount(box, h('p', { class: 'muted' }, t('common.empty'))); return; }
  mount(box, h('ul', { class: 'ev-groups' }, groups.map((g) => {
    const detail = h('div', { class: 'muted' });
    const li = h('li', {},
      h('button', {
        class: 'link',
        onclick: () => guard(async () => {
          const r = await api(`groups/${g.group_id}`);
          const f = r.first_publisher;
          mount(detail, t('event.group_sites', { n: fmtNum(r.group?.sites) }), ' ',
            f ? `${f.author?.name || f.platform} · ${fmtTime(f.published_at)} · ${clip(f.text || f.title || '', 40)}` : '-');
        }, detail),
      }, t('event.group_row', { id: g.group_id, n: fmtNum(g.members) })),
      detail);
    return li;
  })));
}

// ---- documents -------------------------------------------------------------------------

const DOCS_PAGE = 20;

async function docsPage(box, a, offset) {
  await guard(async () => {
    const r = await api(`events/${a.id}/documents`, { query: { offset, limit: DOCS_PAGE } });
    const rows = r.documents.map((d) => docRow(d, a));
    mount(box,
      h('p', { class: 'muted' }, t('event.docs.total', { n: fmtNum(r.total) })),
      h('table', { class: 'ev-docs' },
        h('thead', {}, h('tr', {},
          ['time', 'author', 'kind', 'text', 'sentiment', 'open'].map((c) => h('th', {}, t(`event.docs.${c}`))), h('th', {}))),
        h('tbody', {}, rows)),
      h('div', { class: 'row pager' },
        h('button', { disabled: offset <= 0, onclick: () => docsPage(box, a, Math.max(0, offset - DOCS_PAGE)) }, t('common.prev')),
        h('span', {}, `${offset + 1}–${Math.min(r.total, offset + DOCS_PAGE)} / ${fmtNum(r.total)}`),
        h('button', { disabled: offset + DOCS_PAGE >= r.total, onclick: () => docsPage(box, a, offset + DOCS_PAGE) }, t('common.next'))));
  }, box);
}

function docRow(d, a) {
  const full = String(d.text || d.title || '');
  const short = clip(full, 140);
  const textEl = h('div', { class: 'ev-doc-text' }, d.title && d.text ? h('strong', {}, d.title, ' ') : null, short);
  const long = Array.from(full).length > 140;
  let open = false;
  const toggle = long ? h('button', {
    class: 'link',
    onclick: () => {
      open = !open;
      mount(textEl, d.title && d.text ? h('strong', {}, d.title, ' ') : null, open ? full : short);
      toggle.textContent = open ? t('event.docs.collapse') : t('event.docs.expand');
    },
  }, t('event.docs.expand')) : null;
  return h('tr', {},
    h('td', { class: 'nowrap' }, fmtTime(d.published_at)),
    h('td', {}, d.author || '-', d.verified ? h('span', { class: 'badge ev-verified' }, 'V') : null),
    h('td', {}, `${d.platform} · ${d.kind}`),
    h('td', {}, textEl, toggle),
    h('td', {}, d.sentiment === null || d.sentiment === undefined ? '-' : sentimentBadge(d.sentiment)),
    h('td', {}, d.url && safeUrl(d.url) ? h('a', { href: d.url, target: '_blank', rel: 'noopener noreferrer' }, t('event.docs.open')) : '-'),
    h('td', {}, h('button', { class: 'link', onclick: () => caseForm(document.querySelector('.ev-panel') || document.body, a, { type: 'document', platform: d.platform, id: d.id }, d) }, t('event.docs.case'))));
}

// ---- actions ---------------------------------------------------------------------------

function mountActions(actions, panel, a, fp) {
  panel.classList.add('ev-panel');
  mount(actions,
    h('button', { class: 'primary', onclick: () => levelForm(panel, a) }, t('event.btn.level')),
    h('button', { onclick: () => openCase(panel, a, fp) }, t('event.btn.case')),
    h('a', { class: 'btn', href: `#/reports/new?kind=event&event=${a.id}` }, t('event.btn.report')));
}

function levelForm(panel, a) {
  const sel = h('select', { name: 'level' }, LEVEL_NAMES.map((l) => h('option', { value: l, selected: l === a.level }, t(`level.${l}`))));
  const reason = h('textarea', { name: 'reason', required: true, rows: 2 });
  const msg = h('p', { class: 'error', role: 'alert' });
  mount(panel, h('form', {
    class: 'card ev-form',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      if (!reason.value.trim()) { msg.textContent = t('event.level.reason'); return; }
      await guard(async () => {
        await api(`events/${a.id}/level`, {
          method: 'PUT',
          body: { level: sel.value, reason: reason.value.trim(), by: session.me?.user || '' },
        });
        toast(t('event.level.done'));
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      }, msg);
    },
  },
  h('label', {}, `${t('event.level.level')} `, sel),
  h('label', { class: 'block' }, t('event.level.reason'), reason),
  msg,
  h('div', { class: 'row' },
    h('button', { class: 'primary', type: 'submit' }, t('event.level.submit')),
    h('button', { type: 'button', onclick: () => mount(panel) }, t('common.cancel')))));
  reason.focus();
}

/** 立案 from the event: from its alert when there is one, else from its first publisher. */
async function openCase(panel, a, fp) {
  let alert = null;
  try {
    const r = await api('alerts', { query: { event: a.id, limit: 1 } });
    alert = r.alerts?.[0] || null;
  } catch { /* no alerts route or no access: fall back to the document */ }
  if (alert && alert.case_id) {
    mount(panel, h('p', { class: 'card' }, t('event.case.exists'),
      h('a', { href: `#/cases/${encodeURIComponent(alert.case_id)}` }, alert.case_id)));
    return;
  }
  const source = alert
    ? { type: 'alert', id: alert.id }
    : fp ? { type: 'document', platform: fp.platform, id: fp.id } : null;
  if (!source) { toast(t('common.empty'), 'error'); return; }
  caseForm(panel, a, source, null);
}

function caseForm(panel, a, source, doc) {
  const units = [];
  for (const r of session.me?.roles || []) {
    if (r.unit && !units.some((u) => u.unit === r.unit)) units.push(r);
  }
  const unit = units.length
    ? h('select', { name: 'unit' }, units.map((u) => h('option', { value: u.unit }, u.unit_name || u.unit)))
    : h('input', { name: 'unit', required: true });
  const title = h('input', { name: 'title', value: clip(doc ? (doc.title || doc.text) : (a.title || ''), 60), style: { width: '100%' } });
  const summary = h('textarea', { name: 'summary', rows: 3 });
  const negative = h('input', { type: 'checkbox', name: 'negative', checked: (a.sentiment?.negative || 0) > 0 && (!doc || doc.sentiment === -1) });
  const msg = h('p', { class: 'error', role: 'alert' });
  const srcLabel = source.type === 'alert'
    ? t('event.case.from_alert', { id: source.id })
    : t('event.case.from_doc', { id: `${source.platform}:${source.id}` });
  mount(panel, h('form', {
    class: 'card ev-form',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      await guard(async () => {
        const c = await api('cases', {
          method: 'POST',
          body: {
            unit: unit.value.trim(),
            source,
            title: title.value.trim() || undefined,
            summary: summary.value.trim(),
            negative: negative.checked,
          },
        });
        const cid = c.id || c.case?.id;
        toast(t('event.case.done', { id: cid || '' }));
        if (cid) go(`/cases/${cid}`);
      }, msg);
    },
  },
  h('p', {}, h('strong', {}, `${t('event.case.source')}：`), srcLabel),
  h('label', { class: 'block' }, t('event.case.unit'), unit),
  h('label', { class: 'block' }, t('event.case.title'), title),
  h('label', { class: 'block' }, t('event.case.summary'), summary),
  h('label', {}, negative, ` ${t('event.case.negative')}`),
  msg,
  h('div', { class: 'row' },
    h('button', { class: 'primary', type: 'submit' }, t('event.case.submit')),
    h('button', { type: 'button', onclick: () => mount(panel) }, t('common.cancel')))));
  panel.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}
