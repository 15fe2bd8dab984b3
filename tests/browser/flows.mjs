// The flows of the browser tests (issue 5 "Tests"). Each takes the context built by
// run.mjs: { srv: {base, password}, browser, newPassword, data, config } and throws on
// the first failed check. Flows run in order and build on each other (the first changes
// the admin's one-time password).

import { join } from 'node:path';
import { artifacts, check } from './lib.mjs';

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

export const FLOWS = [
  ['first start: login with the one-time password, forced change', firstLogin],
  ['dashboard charts render with CED data (1366×768, big screen 1920×1080)', dashboard],
  ['a document holding <script> and <img onerror> is shown escaped', hostileTextIsEscaped],
  ['every page renders without errors', everyPageRenders],
];
