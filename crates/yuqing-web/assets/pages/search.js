// 信息检索: query, filters (time, platform, sentiment, level, plan, verified, region),
// highlighted hits, paging, inline sentiment correction, "create case" per document and
// export of the result list to Excel. The filters live in the URL (#/search?q=…), so the
// back button and shared links work.
//
// The query box takes a plain word (substring search) or a monitoring-plan expression
// (学校+(食堂|食品)-谣言, title:地震, a NEAR/5 b); a malformed expression is answered with
// its position, shown under the box with the place marked and the caret put there.
//
// Highlights: the API gives the snippet's text and character ranges of the matches; the
// text is cut at those ranges and each match becomes a <mark> holding a text node. No
// HTML is ever parsed from a document.

import {
  h, mount, api, t, go, guard, toast, session, fmtTime, fmtNum, levelBadge, sentimentBadge, ApiError,
} from '../app.js';
import { define } from '../i18n.js';
import { platformLabel } from './dashboard.js';

define({
  'search.title': ['信息检索', 'Search'],
  'search.q': ['检索词', 'Query'],
  'search.q_hint': ['关键词或方案表达式，如 学校+(食堂|食品)-谣言', 'A word or a plan expression, e.g. 学校+(食堂|食品)-谣言'],
  'search.plan_query': ['按方案表达式检索：{expr}', 'Plan expression: {expr}'],
  'search.plan_error': ['检索式有误', 'The query is malformed'],
  'search.syntax': ['语法：+ 且，| 或，- 排除，( ) 分组，"…" 短语，title: author: platform: 限定字段，A NEAR/5 B 邻近', 'Syntax: + and, | or, - not, ( ) group, "…" phrase, title: author: platform: fields, A NEAR/5 B proximity'],
  'search.terms': ['命中词：{terms}', 'Matched: {terms}'],
  'search.since': ['起始时间', 'From'],
  'search.until': ['截止时间', 'Until'],
  'search.platform': ['平台', 'Platform'],
  'search.sentiment': ['情感', 'Sentiment'],
  'search.level': ['事件级别（不低于）', 'Event level (at least)'],
  'search.plan': ['监测方案', 'Plan'],
  'search.verified': ['认证作者', 'Verified author'],
  'search.region': ['地域', 'Region'],
  'search.region_hint': ['如 广东', 'e.g. 广东'],
  'search.sort': ['排序', 'Order'],
  'search.sort.relevance': ['相关度', 'Relevance'],
  'search.sort.time': ['最新', 'Newest'],
  'search.sort.time_asc': ['最早', 'Oldest'],
  'search.any': ['全部', 'Any'],
  'search.yes': ['是', 'Yes'],
  'search.no': ['否', 'No'],
  'search.reset': ['清空', 'Clear'],
  'search.export': ['导出 Excel', 'Export to Excel'],
  'search.export_hint': ['最多导出 10,000 条', 'At most 10,000 rows'],
  'search.total': ['共 {n} 条', '{n} results'],
  'search.capped': ['（结果过多，仅在最新的部分候选中筛选）', '(too many candidates: only the newest were filtered)'],
  'search.page': ['第 {p} / {n} 页', 'Page {p} of {n}'],
  'search.none': ['没有找到符合条件的信息', 'Nothing matches'],
  'search.event': ['事件 #{id}', 'Event #{id}'],
  'search.correct': ['更正情感', 'Correct sentiment'],
  'search.corrected': ['已人工更正', 'corrected by a person'],
  'search.correct_ok': ['已更正为 {s}', 'Corrected to {s}'],
  'search.open_case': ['立案', 'Open case'],
  'search.case_ok': ['已立案 {id}', 'Case {id} opened'],
  'search.no_unit': ['您没有可立案的单位', 'You hold no role that may register cases'],
  'search.unit': ['立案单位', 'Unit'],
  'search.original': ['原文', 'Original'],
  'search.author': ['作者', 'Author'],
});

const PAGE = 20;
const FILTERS = ['q', 'since', 'until', 'platform', 'sentiment', 'level', 'plan', 'verified', 'region', 'sort'];
const PLATFORMS = ['weibo', 'wechat', 'news', 'douyin', 'kuaishou', 'bilibili', 'zhihu', 'tieba', 'forum', 'web'];

/** The snippet with its matches as <mark> elements (text nodes only). */
export function highlighted(snippet) {
  const chars = Array.from(snippet?.text || '');
  const out = [];
  let at = 0;
  for (const [s, e] of snippet?.highlights || []) {
    if (s < at || e > chars.length || s >= e) continue;
    if (s > at) out.push(chars.slice(at, s).join(''));
    out.push(h('mark', {}, chars.slice(s, e).join('')));
    at = e;
  }
  if (at < chars.length) out.push(chars.slice(at).join(''));
  return out;
}

/** Units where the current user may register a case. */
function registerUnits() {
  const seen = new Map();
  for (const r of session.me?.roles || []) {
    if (['analyst', 'leader', 'liaison'].includes(r.role) && !seen.has(r.unit)) {
      seen.set(r.unit, r.unit_name || r.unit);
    }
  }
  return [...seen.entries()];
}

function option(value, label, current) {
  return h('option', { value, selected: String(current ?? '') === String(value) }, label);
}

export default async function (root, _params, query) {
  const q = Object.fromEntries(FILTERS.map((k) => [k, query[k] || '']));
  const offset = Math.max(0, parseInt(query.offset || '0', 10) || 0);

  // ---- the form ----
  const f = {
    q: h('input', { type: 'search', name: 'q', value: q.q, placeholder: t('search.q_hint'), style: { flex: '1', minWidth: '280px' }, 'aria-label': t('search.q') }),
    since: h('input', { type: 'date', name: 'since', value: q.since, 'aria-label': t('search.since') }),
    until: h('input', { type: 'date', name: 'until', value: q.until, 'aria-label': t('search.until') }),
    platform: h('select', { name: 'platform', 'aria-label': t('search.platform') },
      option('', t('search.any'), q.platform),
      PLATFORMS.concat(PLATFORMS.includes(q.platform) || !q.platform ? [] : [q.platform])
        .map((p) => option(p, platformLabel(p), q.platform))),
    sentiment: h('select', { name: 'sentiment', 'aria-label': t('search.sentiment') },
      option('', t('search.any'), q.sentiment),
      ['negative', 'neutral', 'positive'].map((s) => option(s, t(`sentiment.${s}`), q.sentiment))),
    level: h('select', { name: 'level', 'aria-label': t('search.level') },
      option('', t('search.any'), q.level),
      ['general', 'large', 'major', 'especially_major'].map((l) => option(l, t(`level.${l}`), q.level))),
    plan: h('select', { name: 'plan', 'aria-label': t('search.plan') }, option('', t('search.any'), q.plan)),
    verified: h('select', { name: 'verified', 'aria-label': t('search.verified') },
      option('', t('search.any'), q.verified), option('true', t('search.yes'), q.verified), option('false', t('search.no'), q.verified)),
    region: h('input', { name: 'region', value: q.region, placeholder: t('search.region_hint'), size: 8, 'aria-label': t('search.region') }),
    sort: h('select', { name: 'sort', 'aria-label': t('search.sort') },
      ['relevance', 'time', 'time_asc'].map((s) => option(s, t(`search.sort.${s}`), q.sort || 'relevance'))),
  };
  const label = (key, el) => h('label', { class: 'muted' }, t(key), ' ', el);
  const values = () => {
    const v = {};
    for (const k of FILTERS) {
      const x = f[k].value.trim();
      if (x && !(k === 'sort' && x === 'relevance')) v[k] = x;
    }
    return v;
  };
  const form = h('form', {
    class: 'card',
    role: 'search',
    onsubmit: (e) => { e.preventDefault(); go('/search', values()); },
  },
  h('div', { class: 'row' }, f.q, h('button', { class: 'primary', type: 'submit' }, t('common.search')),
    h('button', { type: 'button', onclick: () => go('/search') }, t('search.reset'))),
  h('div', { class: 'row' },
    label('search.since', f.since), label('search.until', f.until), label('search.platform', f.platform),
    label('search.sentiment', f.sentiment), label('search.level', f.level), label('search.plan', f.plan),
    label('search.verified', f.verified), label('search.region', f.region), label('search.sort', f.sort)));

  const results = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  mount(root, h('h1', {}, t('search.title')), form, results);

  // Plans for the filter (a failure leaves the filter with "any").
  api('plans').then((r) => {
    for (const p of r?.plans || []) f.plan.append(option(p.id, p.name, q.plan));
  }).catch(() => {});

  // Dates are whole Beijing days: until is the end of that day.
  const params = { ...values(), limit: PAGE, offset };
  if (params.until) params.until = nextDay(params.until);
  let data;
  try {
    data = await api('search', { query: params });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    if (e instanceof ApiError && e.status === 400 && Number.isInteger(e.body?.position)) {
      mount(results, planError(q.q, e));
      // The caret at the place of the error, so it can be fixed at once.
      const at = Array.from(q.q).slice(0, e.body.position).join('').length;
      f.q.focus();
      f.q.setSelectionRange?.(at, at);
      return;
    }
    mount(results, h('p', { class: 'error' }, `${t('common.error')}：${e.message}`));
    return;
  }

  const total = data.total || 0;
  const exportQuery = new URLSearchParams(Object.entries({ ...params, limit: undefined, offset: undefined })
    .filter(([, v]) => v !== undefined && v !== ''));
  const head = h('div', { class: 'row' },
    h('strong', {}, t('search.total', { n: fmtNum(total) })),
    data.capped ? h('span', { class: 'muted' }, t('search.capped')) : null,
    data.query?.type === 'plan' ? h('span', { class: 'muted plan-query' }, t('search.plan_query', { expr: data.query.expression })) : null,
    h('span', { style: { flex: '1' } }),
    total ? h('a', { class: 'btn', href: `/api/v1/search/export.xlsx?${exportQuery}`, download: 'yuqing-search.xlsx', title: t('search.export_hint') }, t('search.export')) : null);

  if (!data.hits?.length) {
    mount(results, head, h('p', { class: 'muted' }, t('search.none')));
    return;
  }
  mount(results, head, h('div', { class: 'hits' }, data.hits.map(hitCard)), pager(total, offset));

  function hitCard(d) {
    const title = d.title || '';
    const author = d.author?.name || d.author?.id || '';
    const sent = h('span', {}, d.sentiment === null || d.sentiment === undefined ? null : sentimentBadge(d.sentiment));
    const corrected = h('span', { class: 'muted' }, d.corrected ? ` ${t('search.corrected')}` : '');
    const select = h('select', {
      'aria-label': t('search.correct'),
      onchange: async (e) => {
        const s = e.target.value;
        if (!s) return;
        e.target.disabled = true;
        const r = await guard(() => api(`documents/${encodeURIComponent(d.platform)}/${encodeURIComponent(d.id)}/corrections`, {
          method: 'POST', body: { sentiment: s },
        }));
        e.target.disabled = false;
        e.target.value = '';
        if (r) {
          mount(sent, sentimentBadge(s));
          corrected.textContent = ` ${t('search.corrected')}`;
          toast(t('search.correct_ok', { s: t(`sentiment.${s}`) }));
        }
      },
    }, option('', `${t('search.correct')}…`, ''), ['negative', 'neutral', 'positive'].map((s) => option(s, t(`sentiment.${s}`), '')));
    return h('article', { class: 'card hit', style: { marginBottom: '8px' } },
      h('div', { class: 'row', style: { marginBottom: '4px' } },
        d.url ? h('a', { href: d.url, target: '_blank', rel: 'noopener noreferrer' }, title || t('search.original')) : (title ? h('strong', {}, title) : null),
        d.event_level ? levelBadge(d.event_level) : null,
        d.event_id ? h('a', { href: `#/events/${encodeURIComponent(d.event_id)}`, class: 'muted' }, t('search.event', { id: d.event_id })) : null),
      h('p', { class: 'snippet', style: { margin: '4px 0', wordBreak: 'break-word' } }, highlighted(d.snippet)),
      d.terms?.length ? h('div', { class: 'muted small hit-terms' }, t('search.terms', { terms: d.terms.join('、') })) : null,
      h('div', { class: 'row muted', style: { marginBottom: '0' } },
        h('span', {}, fmtTime(d.published_at)), h('span', {}, platformLabel(d.platform)),
        author ? h('span', {}, `${t('search.author')}：${author}`) : null,
        d.author?.location ? h('span', {}, d.author.location) : null, sent, corrected,
        h('span', { style: { flex: '1' } }),
        select, caseControl(d)));
  }

  function caseControl(d) {
    const units = registerUnits();
    if (!units.length) return null;
    const sel = units.length > 1
      ? h('select', { 'aria-label': t('search.unit') }, units.map(([id, name]) => h('option', { value: id }, name)))
      : null;
    return h('span', {}, sel, h('button', {
      onclick: async (e) => {
        e.target.disabled = true;
        const unit = sel ? sel.value : units[0][0];
        const c = await guard(() => api('cases', {
          method: 'POST',
          body: { unit, source: { type: 'document', platform: d.platform, id: d.id }, negative: d.sentiment === -1 },
        }));
        e.target.disabled = false;
        if (c) {
          toast(t('search.case_ok', { id: c.id }));
          go(`/cases/${c.id}`);
        }
      },
    }, t('search.open_case')));
  }

  function pager(n, at) {
    const pages = Math.max(1, Math.ceil(Math.min(n, 100_000) / PAGE));
    const page = Math.floor(at / PAGE) + 1;
    const to = (o) => go('/search', { ...values(), ...(o ? { offset: String(o) } : {}) });
    return h('div', { class: 'row' },
      h('button', { disabled: page <= 1, onclick: () => to(Math.max(0, at - PAGE)) }, t('common.prev')),
      h('span', {}, t('search.page', { p: page, n: pages })),
      h('button', { disabled: page >= pages, onclick: () => to(at + PAGE) }, t('common.next')));
  }
}

/**
 * A malformed plan expression: the server's message, the expression with the offending
 * character marked (text nodes only), and a reminder of the syntax.
 */
function planError(expr, e) {
  const chars = Array.from(expr);
  const pos = Math.min(e.body.position, chars.length);
  return h('div', { class: 'card plan-error', role: 'alert' },
    h('p', { class: 'error' }, `${t('search.plan_error')}：${e.message}`),
    h('pre', { class: 'expr' },
      chars.slice(0, pos).join(''),
      h('mark', { class: 'error-at' }, chars[pos] ?? ' '),
      chars.slice(pos + 1).join('')),
    h('p', { class: 'muted small' }, t('search.syntax')));
}

/** The day after a YYYY-MM-DD date (the exclusive end of a whole-day range). */
function nextDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return s;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + 1));
  return d.toISOString().slice(0, 10);
}
