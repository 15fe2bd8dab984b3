// The flows of the browser tests (issue 5 "Tests"). Each takes the context built by
// run.mjs: { srv: {base, password}, browser, newPassword, data, config } and throws on
// the first failed check. Flows run in order and build on each other (the first changes
// the admin's one-time password).

import { join } from 'node:path';
import { artifacts, check, yq } from './lib.mjs';

const VIEW = { width: 1366, height: 768 };
const TOKEN = 'browser-test-token';

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: false });
}

/** A logged-in page for `user`. */
async function login(ctx, user, password) {
  const page = await ctx.browser.newPage({ viewport: VIEW });
  page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
  await page.goto(`${ctx.srv.base}/#/login`);
  await page.fill('form.login input[name=user]', user);
  await page.fill('form.login input[name=password]', password);
  await page.click('form.login button[type=submit]');
  await page.waitForFunction(() => !location.hash.startsWith('#/login'), null, { timeout: 10_000 });
  return page;
}

async function pushDocs(ctx, docs) {
  const r = await fetch(`${ctx.srv.base}/api/v1/documents`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}` },
    body: docs.map((d) => JSON.stringify(d)).join('\n'),
  });
  check(r.ok, `push answered ${r.status}`);
  return r.json();
}

async function firstLogin(ctx) {
  const page = await ctx.browser.newPage({ viewport: VIEW });
  const refused = [];
  page.on('response', (r) => { if (r.status() === 401 || r.status() === 403) refused.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  await page.goto(`${ctx.srv.base}/`);
  await page.waitForSelector('form.login input[name=user]');
  await shot(page, '01-login');
  // A wrong password is refused with a message, and the page stays on the login form.
  await page.fill('input[name=user]', 'admin');
  await page.fill('input[name=password]', 'wrong-password');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('form.login .error')?.textContent.length > 0);
  await page.fill('input[name=password]', ctx.srv.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('input[name=new]');
  const cookies = await page.context().cookies();
  const sessionCookie = cookies.find((c) => c.name === 'yuqing_session');
  check(sessionCookie, 'a session cookie is set');
  check(sessionCookie.httpOnly, 'the session cookie is HttpOnly');
  check(sessionCookie.sameSite === 'Strict', `SameSite=Strict, got ${sessionCookie.sameSite}`);
  await page.fill('input[name=old]', ctx.srv.password);
  await page.fill('input[name=new]', ctx.newPassword);
  await page.click('button[type=submit]');
  try {
    await page.waitForFunction(() => location.hash.startsWith('#/dashboard'), null, { timeout: 10_000 });
  } catch (e) {
    await shot(page, '01-password-failed');
    const msg = await page.textContent('body');
    throw new Error(`no dashboard after the password change (${page.url()}): ${msg.slice(0, 300)}; refused: ${refused.join(', ')}`);
  }
  await page.close();
  // The new password works, the one-time one no longer does.
  const again = await login(ctx, 'admin', ctx.newPassword);
  check(again.url().includes('#/dashboard'), `after login: ${again.url()}`);
  await again.close();
  const r = await fetch(`${ctx.srv.base}/api/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'admin', password: ctx.srv.password }),
  });
  check(r.status >= 400, `the one-time password is refused after the change (got ${r.status})`);
}

async function dashboard(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  await page.goto(`${ctx.srv.base}/#/dashboard`);
  await page.waitForFunction(() => document.querySelectorAll('.page-dashboard canvas').length >= 3, null, { timeout: 20_000 });
  const canvases = await page.$$eval('.page-dashboard canvas', (cs) => cs.filter((c) => c.width > 0 && c.height > 0).length);
  check(canvases >= 3, `charts drawn on the dashboard (${canvases})`);
  const text = await page.textContent('.page-dashboard');
  check(/\d/.test(text), 'the dashboard shows figures');
  await shot(page, '02-dashboard');
  await page.goto(`${ctx.srv.base}/#/screen`);
  await page.waitForFunction(() => document.querySelectorAll('canvas').length >= 3, null, { timeout: 20_000 });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await shot(page, '03-screen-1920');
  await page.close();
}

async function hostileTextIsEscaped(ctx) {
  const now = new Date().toISOString();
  await pushDocs(ctx, [{
    id: 'xss-1', platform: 'weibo', kind: 'post', published_at: now,
    text: 'xssprobe <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> 学校',
    author: { id: 'x', name: '<img src=x onerror="window.__xss = 3">' },
  }]);
  const page = await login(ctx, 'admin', ctx.newPassword);
  let dialog = false;
  page.on('dialog', (d) => { dialog = true; d.dismiss(); });
  // Wait for the index to commit (about 2 s).
  await page.waitForTimeout(2500);
  await page.goto(`${ctx.srv.base}/#/search?q=xssprobe`);
  await page.waitForFunction(() => document.querySelector('.page-search')?.textContent.includes('xssprobe'), null, { timeout: 15_000 });
  const text = await page.textContent('.page-search');
  check(text.includes('<script>'), 'the script tag is shown as text');
  check(await page.evaluate(() => window.__xss === undefined), 'no injected script ran');
  check(!(await page.$('.page-search img[src="x"]')), 'no injected image element');
  check(!dialog, 'no dialog opened');
  await shot(page, '04-search-escaped');
  await page.close();
}

async function everyPageRenders(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  for (const [i, route] of ['search', 'events', 'plans', 'alerts', 'cases', 'stats', 'admin'].entries()) {
    await page.goto(`${ctx.srv.base}/#/${route}`);
    await page.waitForFunction(
      (r) => { const p = document.querySelector(`.page-${r}`); return p && !p.textContent.includes('加载中'); },
      route, { timeout: 15_000 },
    );
    const err = await page.$(`.page-${route} > .error`);
    check(!err, `#/${route} renders without an error: ${err ? await err.textContent() : ''}`);
    await shot(page, `1${i}-${route}`);
  }
  check(errors.length === 0, `no script errors: ${errors.join('; ')}`);
  await page.close();
}

async function apiAs(ctx, user, method, path, body) {
  const r = await fetch(`${ctx.srv.base}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'X-Yuqing-User': user, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const v = await r.json().catch(() => null);
  check(r.ok, `${method} ${path} as ${user}: ${r.status} ${JSON.stringify(v)}`);
  return v;
}

async function searchWithFilters(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  const total = async (query) => {
    await page.goto(`${ctx.srv.base}/#/search?${new URLSearchParams(query)}`);
    await page.waitForFunction(() => /共 [\d,]+ 条/.test(document.querySelector('.page-search')?.textContent || ''), null, { timeout: 15_000 });
    const text = await page.textContent('.page-search');
    return Number(text.match(/共 ([\d,]+) 条/)[1].replace(/,/g, ''));
  };
  const all = await total({ q: '中国' });
  check(all > 0, `results for 中国 (${all})`);
  check(await page.$('.page-search mark'), 'the query is highlighted');
  const neg = await total({ q: '中国', sentiment: 'negative' });
  const api = await apiAs(ctx, 'admin', 'GET', `/count?q=${encodeURIComponent('中国')}&sentiment=negative`);
  check(neg === api.count, `the page's total with the sentiment filter equals the API count (${neg} vs ${api.count})`);
  check(neg > 0 && neg < all, `the filter narrows the results (${neg} of ${all})`);
  await shot(page, '05-search-filtered');
  await page.close();
}

async function planWithLivePreview(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  await page.goto(`${ctx.srv.base}/#/plans/new`);
  await page.waitForSelector('input[name=name]');
  await page.fill('input[name=name]', '浏览器测试方案');
  await page.fill('textarea[name=subject]', '中国');
  await page.fill('textarea[name=event]', '美国\n日本\n政府');
  const want = await apiAs(ctx, 'admin', 'POST', '/plans/preview', { subject: ['中国'], event: ['美国', '日本', '政府'] });
  check(want.count > 0, `the preview API finds documents (${want.count})`);
  await page.waitForFunction(
    (n) => document.querySelector('.page-plans')?.textContent.replace(/,/g, '').includes(String(n)),
    want.count, { timeout: 15_000 },
  );
  await shot(page, '06-plan-preview');
  await page.click('button[type=submit].primary');
  const plans = async () => (await apiAs(ctx, 'admin', 'GET', '/plans')).plans || [];
  for (let i = 0; i < 50 && !(await plans()).some((p) => p.name === '浏览器测试方案'); i += 1) {
    await page.waitForTimeout(100);
  }
  const saved = (await plans()).find((p) => p.name === '浏览器测试方案');
  check(saved, 'the plan was saved');
  check(saved.expression.includes('中国'), `its expression: ${saved.expression}`);
  await page.close();
}

async function liaisonRefusedOtherUnitsCase(ctx) {
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [
      { id: 'county', name: '某县', kind: 'organisation' },
      { id: 'edu', name: '县教育局', kind: 'department', parent: 'county' },
    ],
    users: [
      { id: 'analyst', name: '监测员', grants: [{ unit: 'county', role: 'analyst' }] },
      { id: 'edu-liaison', name: '教育信息员', grants: [{ unit: 'edu', role: 'liaison' }] },
    ],
  });
  const c = await apiAs(ctx, 'analyst', 'POST', '/cases', {
    unit: 'county', source: { type: 'manual', channel: 'hotline' }, title: '热线：县城路灯不亮',
  });
  yq(['user', 'passwd', 'edu-liaison', '--data', ctx.data, '--config', ctx.config], 'Liaison-pass-2026\n');
  const page = await ctx.browser.newPage({ viewport: VIEW });
  await page.goto(`${ctx.srv.base}/#/login`);
  await page.fill('input[name=user]', 'edu-liaison');
  await page.fill('input[name=password]', 'Liaison-pass-2026');
  await page.click('button[type=submit]');
  await page.waitForSelector('input[name=new]');
  await page.fill('input[name=old]', 'Liaison-pass-2026');
  await page.fill('input[name=new]', 'Liaison-new-2026!');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => location.hash.startsWith('#/dashboard'));
  await page.goto(`${ctx.srv.base}/#/cases/${c.id}`);
  await page.waitForFunction(() => /无权|not allowed|may not/.test(document.querySelector('.page-cases')?.textContent || ''), null, { timeout: 15_000 });
  const text = await page.textContent('.page-cases');
  check(!text.includes('县城路灯不亮'), 'the case title is not shown to the liaison');
  await shot(page, '07-liaison-refused');
  await page.close();
}

export const FLOWS = [
  ['first start: login with the one-time password, forced change', firstLogin],
  ['dashboard charts render with CED data (1366×768, big screen 1920×1080)', dashboard],
  ['a document holding <script> and <img onerror> is shown escaped', hostileTextIsEscaped],
  ['every page renders without errors', everyPageRenders],
  ['search with filters: the page total equals the API count', searchWithFilters],
  ['a plan made in the structured editor with live preview', planWithLivePreview],
  ['a liaison is refused another unit\'s case', liaisonRefusedOtherUnitsCase],
];
