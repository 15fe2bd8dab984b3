// 监测方案: the list of plans (hits, spike flags, false alarms among judged alerts,
// enable/disable/delete), and the editor
// (#/plans/new, #/plans/ID): the structured form (地域/主体/事件/排除) or an advanced
// expression, with a live preview while typing (POST /api/v1/plans/preview, debounced):
// count and daily counts against history, sample documents with the matched terms, and
// lint messages with their positions. #/plans/ID also lists the plan's hits.
//
// Document texts and plan terms go into the page as text only (h()).

import { h, mount, api, t, go, guard, toast, fmtTime, fmtNum, chart, safeUrl, pick, ApiError } from '../app.js';
import { define } from '../i18n.js';

define({
  'plans.title': ['监测方案', 'Monitoring plans'],
  'plans.new': ['新建方案', 'New plan'],
  'plans.col.name': ['名称', 'Name'],
  'plans.col.state': ['状态', 'State'],
  'plans.col.expression': ['表达式', 'Expression'],
  'plans.col.hits': ['命中', 'Hits'],
  'plans.col.spike': ['激增', 'Spike'],
  'plans.col.false_alarms': ['误报', 'False alarms'],
  'plans.false_alarms_tip': ['预警 {n} 条，经研判误报 {f} 条、属实 {c} 条（见“预警”页）', '{n} alerts: {f} false alarms, {c} confirmed (see the alerts page)'],
  'plans.col.origin': ['来源', 'Origin'],
  'plans.col.updated': ['更新', 'Updated'],
  'plans.col.actions': ['操作', 'Actions'],
  'plans.on': ['启用', 'on'],
  'plans.off': ['停用', 'off'],
  'plans.enable': ['启用', 'Enable'],
  'plans.disable': ['停用', 'Disable'],
  'plans.edit': ['编辑', 'Edit'],
  'plans.delete': ['删除', 'Delete'],
  'plans.confirm_delete': ['删除方案“{name}”？已有命中记录会保留。', 'Delete plan "{name}"? Its past hits are kept.'],
  'plans.deleted': ['已删除', 'Deleted'],
  'plans.spike': ['激增', 'spike'],
  'plans.spike_tip': ['最近 {w} 小时 {n} 条，阈值 {th}', '{n} in the last {w} h, threshold {th}'],
  'plans.no_spike': ['平稳', 'steady'],
  'plans.editor_new': ['新建监测方案', 'New monitoring plan'],
  'plans.editor_edit': ['编辑监测方案', 'Edit monitoring plan'],
  'plans.back': ['← 方案列表', '← Plans'],
  'plans.name': ['方案名称', 'Plan name'],
  'plans.mode.structured': ['结构化', 'Structured'],
  'plans.mode.advanced': ['高级表达式', 'Advanced expression'],
  'plans.region': ['地域词', 'Region words'],
  'plans.subject': ['主体词', 'Subject words'],
  'plans.event': ['事件词', 'Event words'],
  'plans.exclusion': ['排除词', 'Exclusion words'],
  'plans.words_hint': ['每行一个词，或用逗号、顿号分隔；组内为“或”，组间为“且”，排除词命中则不算', 'One word per line, or separated by commas; words in a group are OR-ed, groups are AND-ed, exclusion words exclude'],
  'plans.generated': ['生成的表达式', 'Generated expression'],
  'plans.expression': ['表达式', 'Expression'],
  'plans.expr_hint': ['运算符：+ 且，| 或，- 排除，( ) 分组，"…" 短语，A NEAR/5 B 邻近，title: author: platform: 限定字段', 'Operators: + and, | or, - and not, ( ) groups, "…" phrase, A NEAR/5 B proximity, title: author: platform: fields'],
  'plans.active': ['保存后立即启用', 'Active after saving'],
  'plans.since': ['回测起', 'Backtest from'],
  'plans.until': ['回测止', 'until'],
  'plans.save': ['保存方案', 'Save plan'],
  'plans.saved': ['方案已保存', 'Plan saved'],
  'plans.need_name': ['请填写方案名称', 'Give the plan a name'],
  'plans.preview': ['实时预览（历史数据回测）', 'Live preview (backtest on history)'],
  'plans.preview_idle': ['输入关键词后自动预览', 'The preview follows your typing'],
  'plans.preview_running': ['正在回测…', 'Backtesting…'],
  'plans.matches': ['条历史信息命中', 'stored items match'],
  'plans.took': ['用时 {ms} 毫秒，核对 {n} 条', '{ms} ms, {n} items checked'],
  'plans.incomplete': ['数据量大，已在时限内停止：以上为下限', 'Stopped at the time limit: the numbers are lower bounds'],
  'plans.daily': ['每日命中', 'Hits per day'],
  'plans.samples': ['示例', 'Samples'],
  'plans.no_samples': ['没有命中的信息', 'Nothing matches'],
  'plans.terms': ['命中词', 'Matched'],
  'plans.lint': ['检查结果', 'Checks'],
  'plans.lint_ok': ['没有发现问题', 'No problems found'],
  'plans.col': ['第 {n} 列', 'column {n}'],
  'plans.error': ['错误', 'error'],
  'plans.warning': ['提示', 'warning'],
  'plans.hits': ['命中信息', 'Hits'],
  'plans.hits_total': ['共 {n} 条', '{n} in all'],
  'plans.more': ['加载更多', 'Load more'],
  'plans.not_found': ['没有这个方案', 'No such plan'],
  'plans.unknown_day': ['无时间', 'no time'],
});

const DEBOUNCE_MS = 400;
const GROUPS = ['region', 'subject', 'event', 'exclusion'];

const CSS = `
.page-plans .pl-layout { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 12px; align-items: start; }
@media (max-width: 1200px) { .page-plans .pl-layout { grid-template-columns: 1fr; } }
.page-plans label.block, .page-plans span.block { display: block; margin: 8px 0 4px; font-weight: 600; }
.page-plans label.block textarea, .page-plans .pl-words textarea { display: block; width: 100%; margin-top: 4px; font-weight: normal; }
.page-plans .pl-hint { color: var(--muted); font-size: 12px; margin: 2px 0 6px; }
.page-plans .pl-tabs { display: flex; gap: 4px; margin: 10px 0; }
.page-plans .pl-tabs button.on { background: var(--accent); color: #fff; border-color: var(--accent); }
.page-plans .pl-words { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.page-plans .pl-words textarea { min-height: 70px; }
.page-plans textarea.pl-expr, .page-plans code, .page-plans .pl-marked { font-family: "SFMono-Regular", Consolas, "Noto Sans Mono CJK SC", monospace; }
.page-plans textarea.pl-expr { min-height: 96px; }
.page-plans .pl-marked { white-space: pre-wrap; word-break: break-all; background: #f7f9fc; border: 1px solid var(--line); padding: 4px 8px; border-radius: 4px; }
.page-plans .pl-at { background: #fde0e0; color: var(--red); outline: 1px solid var(--red); }
.page-plans .pl-at-warn { background: #fff1c2; outline: 1px solid #c9a100; }
.page-plans .pl-count { font-size: 32px; font-weight: 700; }
.page-plans .pl-lint li.error { color: var(--red); }
.page-plans .pl-lint li.warning { color: #8a6d00; }
.page-plans .pl-sample { border-bottom: 1px solid var(--line); padding: 6px 0; }
.page-plans .pl-sample .pl-text { white-space: pre-wrap; word-break: break-word; }
.page-plans .pl-expr-cell { max-width: 420px; word-break: break-all; }
.page-plans .spike { background: #fde0e0; color: var(--red); }
.page-plans .pl-state-off { color: var(--muted); }
`;

function style() {
  if (!document.getElementById('pl-style')) document.head.appendChild(h('style', { id: 'pl-style' }, CSS));
}

export default async function (root, params) {
  style();
  if (!params[0]) return listPage(root);
  return editor(root, params[0] === 'new' ? null : params[0]);
}

// ---- helpers ---------------------------------------------------------------------------

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

/** Words of a structured group: one a line, or separated by commas, 、 or semicolons. */
function words(text) {
  return String(text || '').split(/[\n,，、;；]+/).map((w) => w.trim()).filter(Boolean);
}

/**
 * The text with the given character ranges and the (normalised) terms marked, as nodes.
 * Ranges are in characters (code points), as the server counts them.
 */
function marked(text, ranges, terms) {
  const cps = Array.from(String(text || ''));
  const on = new Array(cps.length).fill(false);
  for (const [s, e] of ranges || []) for (let i = Math.max(0, s); i < Math.min(e, cps.length); i++) on[i] = true;
  const lower = cps.map((c) => c.toLowerCase());
  for (const term of terms || []) {
    const tc = Array.from(String(term).toLowerCase());
    if (!tc.length) continue;
    for (let i = 0; i + tc.length <= lower.length; i++) {
      let ok = true;
      for (let j = 0; j < tc.length && ok; j++) ok = lower[i + j] === tc[j];
      if (ok) for (let j = 0; j < tc.length; j++) on[i + j] = true;
    }
  }
  const out = [];
  let i = 0;
  while (i < cps.length) {
    let j = i;
    while (j < cps.length && on[j] === on[i]) j++;
    const piece = cps.slice(i, j).join('');
    out.push(on[i] ? h('mark', {}, piece) : piece);
    i = j;
  }
  return out;
}

// ---- list ------------------------------------------------------------------------------

async function listPage(root) {
  const body = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  mount(root,
    h('div', { class: 'row' },
      h('h1', { style: { margin: 0, flex: 1 } }, t('plans.title')),
      h('button', { class: 'primary', onclick: () => go('/plans/new') }, t('plans.new'))),
    body);
  await guard(async () => {
    const [r, q] = await Promise.all([api('plans'), api('alerts/quality')]);
    if (!r.plans.length) { mount(body, h('p', { class: 'muted' }, t('common.empty'))); return; }
    // Alerts carry the plan's name.
    const quality = new Map((q.plans || []).map((x) => [x.plan, x]));
    mount(body, h('table', {},
      h('thead', {}, h('tr', {},
        ['name', 'state', 'expression', 'hits', 'spike', 'false_alarms', 'origin', 'updated', 'actions'].map((c) => h('th', {}, t(`plans.col.${c}`))))),
      h('tbody', {}, r.plans.map((p) => planRow(p, root, quality.get(p.name))))));
  }, body);
}

/** The plan's false alarms among its judged alerts (误报 2/5), or '-' before any verdict. */
function falseAlarms(q) {
  if (!q || q.confirmed + q.false_alarms === 0) return h('span', { class: 'muted' }, '-');
  return h('span', {
    class: q.false_alarms ? 'overdue' : '',
    title: t('plans.false_alarms_tip', { n: q.alerts, f: q.false_alarms, c: q.confirmed }),
  }, `${q.false_alarms}/${q.confirmed + q.false_alarms}`);
}

function planRow(p, root, quality) {
  const sp = p.spike || {};
  const spike = sp.is_spike
    ? h('span', { class: 'badge spike', title: t('plans.spike_tip', { w: sp.window_hours, n: sp.window_count, th: Number(sp.threshold || 0).toFixed(1) }) }, t('plans.spike'))
    : h('span', { class: 'muted', title: t('plans.spike_tip', { w: sp.window_hours ?? '-', n: sp.window_count ?? 0, th: Number(sp.threshold || 0).toFixed(1) }) }, t('plans.no_spike'));
  const toggle = async () => {
    await guard(async () => {
      await api(`plans/${p.id}`, { method: 'PATCH', body: { active: !p.active } });
      listPage(root);
    });
  };
  const remove = async () => {
    if (!window.confirm(t('plans.confirm_delete', { name: p.name }))) return;
    await guard(async () => {
      await api(`plans/${p.id}`, { method: 'DELETE' });
      toast(t('plans.deleted'));
      listPage(root);
    });
  };
  return h('tr', { class: p.active ? '' : 'pl-state-off' },
    h('td', {}, h('a', { href: `#/plans/${p.id}` }, p.name)),
    h('td', {}, p.active ? h('span', { class: 'badge level-general' }, t('plans.on')) : h('span', { class: 'badge' }, t('plans.off'))),
    h('td', { class: 'pl-expr-cell' }, h('code', {}, p.expression)),
    h('td', {}, h('a', { href: `#/plans/${p.id}` }, fmtNum(p.hits))),
    h('td', {}, spike),
    h('td', { class: 'false-alarms' }, falseAlarms(quality)),
    h('td', {}, p.origin),
    h('td', {}, fmtTime(p.updated_at), p.updated_by ? h('div', { class: 'muted' }, p.updated_by) : null),
    h('td', { class: 'row' },
      h('button', { onclick: () => go(`/plans/${p.id}`) }, t('plans.edit')),
      h('button', { onclick: toggle }, p.active ? t('plans.disable') : t('plans.enable')),
      h('button', { class: 'danger', onclick: remove }, t('plans.delete'))));
}

// ---- editor ----------------------------------------------------------------------------

async function editor(root, id) {
  let plan = null;
  if (id) {
    const r = await api('plans');
    plan = r.plans.find((p) => String(p.id) === String(id)) || null;
    if (!plan) { mount(root, h('p', { class: 'error' }, t('plans.not_found'))); return; }
  }
  const st = plan?.structured || null;
  let mode = plan && !st ? 'advanced' : 'structured';

  const name = h('input', { name: 'name', value: plan?.name || '', style: { width: '100%' }, required: true });
  const groups = {};
  for (const g of GROUPS) {
    groups[g] = h('textarea', { name: g, rows: 3, value: (st?.[g] || []).join('\n'), 'aria-label': t(`plans.${g}`) });
  }
  const generated = h('div', { class: 'pl-marked', 'aria-live': 'polite' }, '-');
  const expr = h('textarea', { name: 'expression', class: 'pl-expr', spellcheck: false, value: plan?.expression || '' });
  const exprMarked = h('div', { class: 'pl-marked', hidden: true });
  const since = h('input', { type: 'date', name: 'since' });
  const until = h('input', { type: 'date', name: 'until' });
  const active = h('input', { type: 'checkbox', name: 'active', checked: plan ? plan.active : true });
  const msg = h('p', { class: 'error', role: 'alert' });

  const structuredBox = h('div', {},
    h('p', { class: 'pl-hint' }, t('plans.words_hint')),
    h('div', { class: 'pl-words' },
      GROUPS.map((g) => h('label', {}, h('span', { class: 'block' }, t(`plans.${g}`)), groups[g]))),
    h('label', { class: 'block' }, t('plans.generated')), generated);
  const advancedBox = h('div', {},
    h('p', { class: 'pl-hint' }, t('plans.expr_hint')),
    h('label', { class: 'block' }, t('plans.expression'), expr),
    exprMarked);

  const tabS = h('button', { type: 'button', onclick: () => setMode('structured') }, t('plans.mode.structured'));
  const tabA = h('button', { type: 'button', onclick: () => setMode('advanced') }, t('plans.mode.advanced'));
  let lastInput = '';
  function setMode(m) {
    if (m === 'advanced' && mode === 'structured' && lastInput && !expr.value.trim()) expr.value = lastInput;
    mode = m;
    tabS.classList.toggle('on', m === 'structured');
    tabA.classList.toggle('on', m === 'advanced');
    structuredBox.hidden = m !== 'structured';
    advancedBox.hidden = m !== 'advanced';
    schedule();
  }

  // Preview panel.
  const status = h('p', { class: 'muted' }, t('plans.preview_idle'));
  const countEl = h('div', {});
  const dailyEl = h('div', { class: 'chart', style: { height: '200px' } });
  const lintEl = h('div', {});
  const samplesEl = h('div', {});
  const hitsBox = h('div', {});

  function body() {
    if (mode === 'advanced') return { expression: expr.value };
    const b = {};
    for (const g of GROUPS) { const w = words(groups[g].value); if (w.length) b[g] = w; }
    return b;
  }
  function window_() {
    return { since: since.value || undefined, until: until.value || undefined };
  }

  const form = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      if (!name.value.trim()) { msg.textContent = t('plans.need_name'); name.focus(); return; }
      await guard(async () => {
        await api('plans', { method: 'POST', body: { name: name.value.trim(), active: active.checked, ...body() } });
        toast(t('plans.saved'));
        go('/plans');
      }, msg);
    },
    oninput: () => schedule(),
  },
  h('label', { class: 'block' }, t('plans.name'), name),
  h('div', { class: 'pl-tabs', role: 'tablist' }, tabS, tabA),
  structuredBox,
  advancedBox,
  h('div', { class: 'row', style: { marginTop: '10px' } },
    h('label', {}, `${t('plans.since')} `, since),
    h('label', {}, `${t('plans.until')} `, until)),
  h('label', {}, active, ` ${t('plans.active')}`),
  msg,
  h('p', {}, h('button', { class: 'primary', type: 'submit' }, t('plans.save'))));

  mount(root,
    h('p', {}, h('a', { href: '#/plans' }, t('plans.back'))),
    h('h1', {}, plan ? t('plans.editor_edit') : t('plans.editor_new')),
    h('div', { class: 'pl-layout' },
      form,
      h('section', { class: 'card pl-preview', 'aria-live': 'polite' },
        h('h2', {}, t('plans.preview')), status, countEl, lintEl,
        h('h2', {}, t('plans.daily')), dailyEl,
        h('h2', {}, t('plans.samples')), samplesEl)),
    plan ? h('section', { class: 'card', style: { marginTop: '12px' } }, h('h2', {}, t('plans.hits')), hitsBox) : null);

  // ---- live preview ----
  let timer = null;
  let seq = 0;
  let dailyChart = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  }
  async function run() {
    const b = body();
    const empty = mode === 'advanced' ? !expr.value.trim() : !GROUPS.slice(0, 3).some((g) => b[g]);
    if (empty) {
      status.textContent = t('plans.preview_idle');
      mount(countEl); mount(lintEl); mount(samplesEl);
      exprMarked.hidden = true;
      generated.textContent = '-';
      return;
    }
    const my = ++seq;
    status.textContent = t('plans.preview_running');
    let res;
    let data;
    try {
      res = await api('plans/preview', { method: 'POST', body: { ...b, ...window_(), samples: 5 }, raw: true });
      const text = await res.text();
      data = text ? JSON.parse(text) : {};
    } catch (e) {
      if (my !== seq) return;
      if (e instanceof ApiError && e.status === 401) return;
      status.textContent = `${t('common.error')}：${e.message}`;
      return;
    }
    if (my !== seq || !root.isConnected) return;
    const input = data.input ?? data.expression ?? (b.expression || '');
    lastInput = input;
    if (mode === 'structured') generated.textContent = input || '-';
    showMarks(input, data);
    if (!res.ok) {
      status.textContent = pick(data.message, data.message_en) || `HTTP ${res.status}`;
      mount(countEl);
      showLint(data.lint || (data.position !== undefined ? [{ position: data.position, column: data.column, message: data.message, message_en: data.message_en, severity: 'error' }] : []));
      mount(samplesEl);
      if (dailyChart) dailyChart.clear();
      return;
    }
    status.textContent = t('plans.took', { ms: data.took_ms, n: fmtNum(data.checked) });
    mount(countEl,
      h('div', {}, h('span', { class: 'pl-count' }, fmtNum(data.count)), ' ', t('plans.matches')),
      data.complete ? null : h('p', { class: 'error' }, t('plans.incomplete')),
      h('p', { class: 'muted' }, h('code', {}, data.expression)));
    showLint(data.lint || []);
    showDaily(data.daily || []);
    showSamples(data.samples || []);
  }

  /** The expression with the characters a message points at marked. */
  function showMarks(input, data) {
    const list = (data.lint || []).filter((l) => l.position !== null && l.position !== undefined);
    if (data.position !== undefined && !list.some((l) => l.position === data.position)) list.push({ position: data.position, severity: 'error' });
    const target = mode === 'advanced' ? exprMarked : generated;
    if (!list.length) {
      if (mode === 'advanced') exprMarked.hidden = true;
      return;
    }
    const cps = Array.from(input || '');
    const at = new Map();
    for (const l of list) {
      const p = Math.min(l.position, cps.length);
      if (at.get(p) !== 'error') at.set(p, l.severity);
    }
    const nodes = [];
    let buf = '';
    for (let i = 0; i <= cps.length; i++) {
      if (at.has(i)) {
        if (buf) nodes.push(buf);
        buf = '';
        nodes.push(h('span', { class: at.get(i) === 'error' ? 'pl-at' : 'pl-at-warn', title: t('plans.col', { n: i + 1 }) }, i < cps.length ? cps[i] : ' '));
      } else if (i < cps.length) {
        buf += cps[i];
      }
    }
    if (buf) nodes.push(buf);
    mount(target, nodes);
    target.hidden = false;
  }

  function showLint(list) {
    if (!list.length) {
      mount(lintEl, h('p', { class: 'muted' }, `${t('plans.lint')}：${t('plans.lint_ok')}`));
      return;
    }
    mount(lintEl, h('ul', { class: 'pl-lint' }, list.map((l) => h('li', { class: l.severity },
      `[${t(`plans.${l.severity === 'error' ? 'error' : 'warning'}`)}] `,
      l.column ? `${t('plans.col', { n: l.column })}：` : '',
      pick(l.message, l.message_en)))));
  }

  function showDaily(daily) {
    const rows = daily.filter((d) => d.date !== 'unknown');
    const option = {
      title: rows.length ? undefined : { text: t('common.empty'), left: 'center', top: 'middle', textStyle: { fontSize: 13, color: '#6b7785', fontWeight: 'normal' } },
      grid: { left: 44, right: 12, top: 12, bottom: 40 },
      tooltip: { trigger: 'axis', formatter: (ps) => ps.map((x) => `${esc(String(x.value[0]).slice(0, 10))}：${esc(fmtNum(x.value[1]))}`).join('<br>') },
      // A time axis, so days without hits are gaps, not missing.
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1 },
      dataZoom: rows.length > 60 ? [{ type: 'inside' }, { type: 'slider', height: 14, bottom: 2 }] : [],
      series: [{ type: 'bar', barMaxWidth: 24, data: rows.map((d) => [`${d.date}T00:00:00+08:00`, d.count]), itemStyle: { color: '#1d5fbf' } }],
    };
    if (dailyChart && !dailyChart.isDisposed()) {
      dailyChart.setOption(option, true);
    } else {
      mount(dailyEl);
      dailyChart = chart(dailyEl, option);
    }
  }

  function showSamples(samples) {
    if (!samples.length) { mount(samplesEl, h('p', { class: 'muted' }, t('plans.no_samples'))); return; }
    mount(samplesEl, samples.map((s) => h('div', { class: 'pl-sample' },
      h('div', { class: 'muted' },
        `${s.platform} · ${fmtTime(s.published_at)} · `,
        s.url && safeUrl(s.url) ? h('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer' }, s.id || s.url) : (s.id || ''),
        ' · ', `${t('plans.terms')}：`, (s.terms || []).map((x) => h('mark', {}, x)).reduce((a, x) => (a.length ? [...a, ' ', x] : [x]), [])),
      s.title ? h('div', {}, h('strong', {}, marked(s.title, [], s.terms))) : null,
      h('div', { class: 'pl-text' }, marked(s.text, s.highlights, s.terms)))));
  }

  setMode(mode);
  if (plan) hitsList(hitsBox, plan.id, null, true);
}

// ---- a plan's hits ---------------------------------------------------------------------

async function hitsList(box, id, before, first) {
  await guard(async () => {
    const r = await api(`plans/${id}/hits`, { query: { limit: 20, before: before ?? undefined } });
    const items = r.hits.map((x) => h('div', { class: 'pl-sample' },
      h('div', { class: 'muted' }, `#${x.seq} · ${x.platform} · ${fmtTime(x.published_at)} · ${t('plans.terms')}：${(x.terms || []).join(' ')}`),
      x.title ? h('div', {}, h('strong', {}, marked(x.title, [], x.terms))) : null,
      h('div', { class: 'pl-text' }, marked(Array.from(x.text || '').slice(0, 300).join(''), [], x.terms))));
    const more = r.next_before ? h('button', {
      onclick: (e) => { e.target.remove(); hitsList(box, id, r.next_before, false); },
    }, t('plans.more')) : null;
    if (first) mount(box, h('p', { class: 'muted' }, t('plans.hits_total', { n: fmtNum(r.count) })), items, more);
    else box.append(...items, ...(more ? [more] : []));
  }, first ? box : undefined);
}
