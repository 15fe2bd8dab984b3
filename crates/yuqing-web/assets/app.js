// The shell of the web application: DOM builder, API client, router, layout.
//
// Safety rule for every page: collected and user text is only ever put into the page as
// text (h() children, textContent, attribute values set through the DOM), never through
// innerHTML. Charts get plain data; ECharts renders to a canvas.

import { t, lang, setLang, pick } from './i18n.js';

export { t, lang, pick };

/** Builds an element: h('a', {href: '#/x', class: 'btn', onclick: f}, 'text', child…). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'style' && typeof v === 'object') {
      Object.assign(el.style, v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') {
      el[k] = v;
    } else {
      // Only safe attribute values: links must be http(s), relative or hash routes.
      if ((k === 'href' || k === 'src') && !safeUrl(String(v))) continue;
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Whether a URL may be used as a link target (no javascript:, data: or other schemes). */
export function safeUrl(u) {
  return /^(https?:\/\/|\/|#|\?|\.\/)/i.test(u.trim());
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- API ------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, body) {
    super(pick(body?.message, body?.message_en) || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.reason = body?.reason;
    /** The whole error body (e.g. `position` and `column` of a plan expression). */
    this.body = body;
  }
}

export const session = { me: null, csrf: null };

/** Where to go after logging in: the current route, unless it is a login page. */
export function nextAfterLogin(fallback = '/dashboard') {
  const h = location.hash.slice(1);
  return h && !h.startsWith('/login') && !h.startsWith('/password') ? h : fallback;
}

/** Calls the JSON API. `query` values that are empty are left out. */
export async function api(path, { method = 'GET', body, query, raw, quiet } = {}) {
  let url = path.startsWith('/') ? path : `/api/v1/${path}`;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
      else q.set(k, v);
    }
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = {};
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let payload;
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer || typeof body === 'string') {
      payload = body;
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const r = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  if (r.status === 401 && !quiet && !path.includes('login')) {
    session.me = null;
    go('/login', { next: nextAfterLogin() });
    throw new ApiError(401, { message: '请先登录', message_en: 'please log in' });
  }
  if (raw) return r;
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// ---- formatting -----------------------------------------------------------------------

const bj = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hour12: false,
});

/** A time in Beijing time, `2026-05-06 10:00`. */
export function fmtTime(iso) {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = Object.fromEntries(bj.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

export function fmtNum(n) {
  return n === undefined || n === null ? '-' : Number(n).toLocaleString(lang() === 'en' ? 'en' : 'zh-CN');
}

const LEVELS = ['', 'general', 'large', 'major', 'especially_major'];

/** A level badge from a code (1–4) or a name. */
export function levelBadge(level) {
  const name = typeof level === 'number' ? LEVELS[level] : level;
  if (!name) return h('span', { class: 'badge' }, '-');
  return h('span', { class: `badge level-${name}` }, t(`level.${name}`));
}

export function sentimentBadge(s) {
  const name = s === 1 || s === 'positive' ? 'positive' : s === -1 || s === 'negative' ? 'negative' : 'neutral';
  return h('span', { class: `badge sent-${name}` }, t(`sentiment.${name}`));
}

// ---- the organisation -----------------------------------------------------------------

/** Whether the signed-in user holds an office role (leader, analyst, spokesperson): the
 *  roles that make and read reports (the server checks too). */
export function inOffice() {
  return (session.me?.roles || []).some((r) => ['leader', 'analyst', 'spokesperson'].includes(r.role));
}

/** The organisation (`GET /api/v1/org`: units and users); empty when it cannot be read. */
export async function loadOrg() {
  try {
    return await api('org');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    return { units: [], users: [] };
  }
}

/** Look-ups over `loadOrg()`'s answer: names of units and users (`姓名（id）`), and
 *  whether a unit lies within another. */
export function orgIndex(org) {
  const units = new Map((org.units || []).map((u) => [u.id, u]));
  const users = new Map((org.users || []).map((u) => [u.id, u]));
  /** Whether `unit` is `top` or lies below it. */
  const within = (unit, top) => {
    for (let u = unit, n = 0; u && n < 64; u = units.get(u)?.parent, n++) if (u === top) return true;
    return false;
  };
  const unitName = (id) => units.get(id)?.name || id || '-';
  const userName = (id) => (users.get(id)?.name ? `${users.get(id).name}（${id}）` : id || '-');
  return { units, users, within, unitName, userName };
}

// ---- charts ---------------------------------------------------------------------------

let charts = [];

/** Draws an ECharts chart in `el`; charts are disposed when the page changes. */
export function chart(el, option) {
  if (!window.echarts) {
    mount(el, h('p', { class: 'muted' }, 'ECharts 未加载'));
    return null;
  }
  const c = window.echarts.init(el, null, { renderer: 'canvas' });
  c.setOption(option);
  charts.push(c);
  return c;
}

window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

// ---- feedback -------------------------------------------------------------------------

export function toast(message, kind = 'info') {
  const el = h('div', { class: `toast ${kind}`, role: 'status' }, message);
  document.body.appendChild(el);
  setTimeout(() => el.remove(), kind === 'error' ? 6000 : 3000);
}

/** Runs `f`, showing its error (with the server's message) in `where` or as a toast. */
export async function guard(f, where) {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return undefined;
    const msg = `${t('common.error')}：${e.message}`;
    if (where) mount(where, h('p', { class: 'error' }, msg));
    else toast(msg, 'error');
    return undefined;
  }
}

// ---- live updates ---------------------------------------------------------------------

let source = null;

/**
 * Opens the server-sent-events stream once per login (`/api/v1/live`). Pages listen to
 * `yuqing:alert` (a new alert's summary) and `yuqing:counters` on `window`; every page
 * shows a toast for a new alert.
 */
export function startLive() {
  if (source || !window.EventSource) return;
  source = new EventSource('/api/v1/live');
  source.addEventListener('counters', (e) => {
    window.dispatchEvent(new CustomEvent('yuqing:counters', { detail: JSON.parse(e.data) }));
  });
  source.addEventListener('alert', (e) => {
    const a = JSON.parse(e.data);
    window.dispatchEvent(new CustomEvent('yuqing:alert', { detail: a }));
    const level = ['', 'general', 'large', 'major', 'especially_major'][a.level] || 'general';
    toast(`${t('live.alert')} [${t(`level.${level}`)}] ${a.title || ''}`, level === 'especially_major' || level === 'major' ? 'error' : 'info');
  });
}

export function stopLive() {
  if (source) source.close();
  source = null;
}

/** Calls `f` on `yuqing:<name>` while `root` is on the page. */
export function onLive(root, name, f) {
  const handler = (e) => {
    if (!root.isConnected) {
      window.removeEventListener(`yuqing:${name}`, handler);
      return;
    }
    f(e.detail);
  };
  window.addEventListener(`yuqing:${name}`, handler);
}

// ---- router ---------------------------------------------------------------------------

/** Pages by first path segment: the module exports `default async (root, params, query)`. */
const routes = {
  login: './pages/login.js',
  dashboard: './pages/dashboard.js',
  screen: './pages/dashboard.js',
  search: './pages/search.js',
  events: './pages/events.js',
  plans: './pages/plans.js',
  alerts: './pages/alerts.js',
  cases: './pages/cases.js',
  stats: './pages/stats.js',
  reports: './pages/reports.js',
  admin: './pages/admin.js',
  password: './pages/login.js',
  apidocs: './pages/apidocs.js',
};

const NAV = ['dashboard', 'search', 'events', 'plans', 'alerts', 'cases', 'stats', 'reports', 'admin'];

/** Navigates to a route, e.g. go('/cases/2026-0001') or go('/search', {q: '学校'}). */
export function go(path, query) {
  const q = query ? `?${new URLSearchParams(query)}` : '';
  location.hash = `#${path}${q}`;
}

function parseHash() {
  const raw = location.hash.slice(1) || '/dashboard';
  const [p, q] = raw.split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || 'dashboard', params: parts.slice(1), query: Object.fromEntries(new URLSearchParams(q || '')) };
}

async function me() {
  if (session.me) return session.me;
  try {
    const m = await api('me', { quiet: true });
    session.me = m;
    session.csrf = m.csrf || null;
    return m;
  } catch {
    return null;
  }
}

function layout(active, content) {
  const m = session.me;
  const nav = h('nav', { class: 'nav' },
    NAV.map((n) => h('a', { href: `#/${n}`, class: n === active ? 'active' : '' }, t(`nav.${n}`))));
  const user = h('div', { class: 'user' },
    m ? h('span', { class: 'who' }, m.name || m.user) : null,
    h('a', { href: '#/screen' }, t('nav.screen')),
    h('button', { class: 'link', onclick: () => { setLang(lang() === 'en' ? 'zh' : 'en'); render(); } }, t('lang.switch')),
    m ? h('a', { href: '#/password' }, t('user.password')) : null,
    m ? h('button', {
      class: 'link',
      onclick: async () => {
        await guard(() => api('logout', { method: 'POST' }));
        stopLive();
        session.me = null; session.csrf = null; go('/login');
      },
    }, t('user.logout')) : null);
  return h('div', { class: 'shell' },
    h('header', { class: 'top' }, h('a', { class: 'brand', href: '#/dashboard' }, t('app.title')), nav, user),
    h('main', { class: 'main' }, content));
}

let seq = 0;

export async function render() {
  const my = ++seq;
  charts.forEach((c) => c.dispose());
  charts = [];
  const { name, params, query } = parseHash();
  const app = document.getElementById('app');
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  document.title = `${t(`nav.${name}`)} · yuqing`;
  const mod = routes[name];
  const who = name === 'login' ? null : await me();
  if (my !== seq) return;
  if (name !== 'login' && !who) {
    go('/login', { next: nextAfterLogin() });
    return;
  }
  if (who && !who.must_change) startLive();
  const content = h('div', { class: `page page-${name}` }, h('p', { class: 'muted' }, t('common.loading')));
  if (name === 'login' || name === 'screen') mount(app, content);
  else mount(app, layout(name, content));
  if (!mod) {
    mount(content, h('h1', {}, t('page.not_found')));
    return;
  }
  try {
    const page = await import(mod);
    if (my !== seq) return;
    mount(content);
    await page.default(content, params, query, name);
  } catch (e) {
    if (my !== seq) return;
    if (e instanceof ApiError && e.status === 401) return;
    mount(content, h('p', { class: 'error' }, `${t('common.error')}：${e.message}`));
  }
}

window.addEventListener('hashchange', render);
window.addEventListener('DOMContentLoaded', render);
