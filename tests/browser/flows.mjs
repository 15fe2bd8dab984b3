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
    id: 'xss-1', platform: 'weibo', kind: 'post', published_at: now, url: 'javascript:window.__xss = 5',
    text: 'xssprobe <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> 学校',
    author: { id: 'x', name: '<img src=x onerror="window.__xss = 3">' },
  }]);
  const page = await login(ctx, 'admin', ctx.newPassword);
  let dialog = false;
  page.on('dialog', (d) => { dialog = true; d.dismiss(); });
  const inert = async (where) => {
    check(await page.evaluate(() => window.__xss === undefined), `${where}: no injected script ran`);
    check(!(await page.$('img[src="x"]')), `${where}: no injected image element`);
    check(!(await page.$('#app b:has-text("恶意方案")')), `${where}: no markup from a plan name`);
    check(!(await page.$('a[href^="javascript:"]')), `${where}: no javascript: link`);
    check(!dialog, `${where}: no dialog opened`);
  };
  // Wait for the index to commit (about 2 s).
  await page.waitForTimeout(2500);
  await page.goto(`${ctx.srv.base}/#/search?q=xssprobe`);
  await page.waitForFunction(() => document.querySelector('.page-search')?.textContent.includes('xssprobe'), null, { timeout: 15_000 });
  const text = await page.textContent('.page-search');
  check(text.includes('<script>'), 'the script tag is shown as text');
  await inert('search');
  await shot(page, '04-search-escaped');

  // Everywhere else collected text and user-given names are shown: the alert inbox (the
  // plan with markup in its name alerted), the event list and page, the plans, the dashboard.
  await page.goto(`${ctx.srv.base}/#/alerts`);
  for (let i = 0; i < 40 && !(await page.$('.page-alerts tr[data-alert]:has-text("xssprobe")')); i += 1) {
    await page.waitForTimeout(500);
    if (i % 6 === 5) await page.click('.page-alerts button:has-text("刷新")');
  }
  const alertRow = await page.$('.page-alerts tr[data-alert]:has-text("xssprobe")');
  check(alertRow, 'the hostile document alerted through the plan with markup in its name');
  check((await alertRow.textContent()).includes('<b>恶意方案</b>'), 'the plan name is shown as text in the inbox');
  await inert('alerts');
  const doc = await (await fetch(`${ctx.srv.base}/api/v1/documents/weibo/xss-1`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
  check(doc.event_id, `the hostile document is in an event: ${JSON.stringify(doc).slice(0, 200)}`);
  for (const [route, page_] of [['events', 'events'], [`events/${doc.event_id}`, 'events'], ['plans', 'plans'], ['', 'dashboard']]) {
    await page.goto(`${ctx.srv.base}/#/${route}`);
    await page.waitForFunction(
      (r) => { const p = document.querySelector(`.page-${r}`); return p && !p.textContent.includes('加载中'); },
      page_, { timeout: 15_000 },
    );
    await page.waitForTimeout(300);
    await inert(`#/${route}`);
  }
  await shot(page, '05-event-escaped');
  await page.close();
}

async function everyPageRenders(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  for (const [i, route] of ['search', 'events', 'plans', 'alerts', 'cases', 'stats', 'reports', 'admin'].entries()) {
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

/**
 * Marks the search results on screen as stale, so that `freshTotal` waits for the ones a new
 * query renders. Without it, the wait could read the previous query's total in the moment
 * before the route re-renders (a CI run failed so, reading the unfiltered total).
 */
async function markStale(page) {
  await page.evaluate(() => {
    for (const e of document.querySelectorAll('.page-search strong')) e.dataset.stale = '1';
  });
}

/** The total (共 N 条) of the results rendered since `markStale`. */
async function freshTotal(page) {
  const handle = await page.waitForFunction(() => {
    for (const e of document.querySelectorAll('.page-search strong:not([data-stale])')) {
      const m = /共 ([\d,]+) 条/.exec(e.textContent);
      if (m) return { n: Number(m[1].replace(/,/g, '')) }; // an object: a total of 0 is falsy
    }
    return null;
  }, null, { timeout: 20_000 });
  return (await handle.jsonValue()).n;
}

async function searchWithFilters(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  const total = async (query) => {
    await markStale(page);
    await page.goto(`${ctx.srv.base}/#/search?${new URLSearchParams(query)}`);
    return freshTotal(page);
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

/** The plan language in the search box: results, highlights, and a malformed query. */
async function searchWithPlanExpression(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  await page.goto(`${ctx.srv.base}/#/search`);
  await page.waitForSelector('.page-search input[name=q]');
  const expr = '中国+(美国|日本)-台湾';
  await page.fill('.page-search input[name=q]', expr);
  await markStale(page);
  await page.click('.page-search form[role=search] button[type=submit]');
  const shown = await freshTotal(page);
  const api = await apiAs(ctx, 'admin', 'GET', `/count?q=${encodeURIComponent(expr)}`);
  check(shown === api.count, `the page's total for the plan equals the API count (${shown} vs ${api.count})`);
  check(shown > 0, `the plan finds documents (${shown})`);
  check(await page.$('.page-search .plan-query'), 'the page says the query is a plan expression');
  const marks = await page.$$eval('.page-search .hit mark', (ms) => ms.map((m) => m.textContent));
  check(marks.length > 0, 'hits are highlighted');
  // Marks are on the original text: 美國 is 美国 after normalisation.
  check(marks.every((m) => /中[国國]|美[国國]|日本/.test(m)), `only the plan's terms are marked: ${marks.slice(0, 10).join(',')}`);
  check(!marks.some((m) => /台[湾灣]/.test(m)), 'an excluded term is never marked');
  await shot(page, '08-search-plan');
  // The export link carries the expression.
  const href = await page.getAttribute('.page-search a[href*="export.xlsx"]', 'href');
  check(href && new URLSearchParams(href.split('?')[1]).get('q') === expr, `the export link keeps q: ${href}`);
  // A malformed expression: the message with its column and the place marked.
  await page.fill('.page-search input[name=q]', '中国+(美国');
  await page.click('.page-search form[role=search] button[type=submit]');
  await page.waitForSelector('.page-search .plan-error', { timeout: 15_000 });
  const err = await page.textContent('.page-search .plan-error');
  check(/第 4 列/.test(err), `the error names the column: ${err}`);
  check((await page.textContent('.page-search .plan-error mark')) === '(', 'the unclosed parenthesis is marked');
  await shot(page, '09-search-plan-error');
  await page.close();
}

/** Sets a first password with the CLI, logs in within a context of its own, changes it. */
async function firstLoginAs(ctx, user) {
  const temp = `${user}-temp-2026`;
  const fresh = `${user}-pass-2026!`;
  yq(['user', 'passwd', user, '--data', ctx.data, '--config', ctx.config], `${temp}\n`);
  const context = await ctx.browser.newContext({ viewport: VIEW });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`  [page error ${user}] ${e.message}`));
  await page.goto(`${ctx.srv.base}/#/login`);
  await page.fill('form.login input[name=user]', user);
  await page.fill('form.login input[name=password]', temp);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('input[name=new]');
  await page.fill('input[name=old]', temp);
  await page.fill('input[name=new]', fresh);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => location.hash.startsWith('#/dashboard'), null, { timeout: 10_000 });
  return page;
}

/** The case page's state badge (e.g. 批办). */
async function caseState(page) {
  return (await page.textContent('.page-cases .case-header .state'))?.trim();
}

/** Opens a case page and waits until it shows `state`. */
async function openCase(page, base, id, state) {
  // The same hash does not route again: reload to see what the other user did.
  const url = `${base}/#/cases/${id}`;
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await page.waitForFunction(
    (s) => document.querySelector('.page-cases .case-header .state')?.textContent.trim() === s,
    state, { timeout: 15_000 },
  );
}

/**
 * Takes a step on the case page: opens its form (details[data-step=X]), fills the fields
 * by name (selects by value), submits, and waits for the state the case must reach.
 */
async function step(page, name, fields, after) {
  const form = `.page-cases details[data-step=${name}]`;
  await page.waitForSelector(form, { timeout: 10_000 });
  await page.click(`${form} > summary`);
  for (const [k, v] of Object.entries(fields)) {
    const el = `${form} [name=${k}]`;
    const tag = await page.$eval(el, (x) => x.tagName);
    if (tag === 'SELECT') await page.selectOption(el, v);
    else await page.fill(el, v);
  }
  await page.click(`${form} button[type=submit]`);
  try {
    await page.waitForFunction(
      (s) => document.querySelector('.page-cases .case-header .state')?.textContent.trim() === s,
      after, { timeout: 15_000 },
    );
  } catch (e) {
    const refusal = await page.$eval('.page-cases .refusal', (x) => (x.hidden ? '' : x.textContent)).catch(() => '');
    throw new Error(`${name}: the case did not reach ${after} (shows ${await caseState(page)}); ${refusal}`);
  }
}

/**
 * An alert turned into a case that a leader (county 领导小组) and a department liaison
 * (教育局 网络信息员), each logged in in a browser context of their own, carry through
 * judgement, assignment, handling, a reply sent back and redrafted, approval, the
 * published reply and the close: every step by clicks and typing on the pages.
 */
async function alertToClosedCase(ctx) {
  const base = ctx.srv.base;
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [
      { id: 'county', name: '某县', kind: 'organisation' },
      { id: 'edu', name: '县教育局', kind: 'department', parent: 'county' },
    ],
    users: [
      { id: 'flow-leader', name: '王县长', grants: [{ unit: 'county', role: 'leader' }] },
      { id: 'flow-liaison', name: '教育局小李', grants: [{ unit: 'edu', role: 'liaison' }] },
    ],
  });
  const leader = await firstLoginAs(ctx, 'flow-leader');
  const liaison = await firstLoginAs(ctx, 'flow-liaison');

  // A document holding the plan's probe raises an alert; it appears in the leader's inbox.
  const title = `浏览器处置探针：某中学食堂饭菜变质 ${Date.now()}`;
  await pushDocs(ctx, [{
    id: `flow-${Date.now()}`, platform: 'weibo', kind: 'post', published_at: new Date().toISOString(),
    url: 'https://weibo.com/1/flow', text: title, author: { id: 'f1', name: '家长<b>张</b>' },
  }]);
  await leader.goto(`${base}/#/alerts`);
  const rowOf = (cls = '') => `.page-alerts tr${cls}[data-alert]:has-text("浏览器处置探针")`;
  const row = rowOf();
  for (let i = 0; i < 60 && !(await leader.$(row)); i += 1) {
    await leader.waitForTimeout(500);
    if (i % 6 === 5) await leader.click('.page-alerts button:has-text("刷新")');
  }
  check(await leader.$(row), 'the alert is in the leader\'s inbox');
  await shot(leader, '20-case-alert-inbox');
  // Acknowledge, then open a case from the alert.
  await leader.click(`${row} td.actions button.primary`);
  await leader.waitForSelector(rowOf('.acked'), { timeout: 10_000 });
  check((await leader.textContent(`${row} td:nth-child(7)`)).includes('flow-leader'), 'acknowledged by the leader');
  // The leader's verdict: confirmed (属实), with a note asked for in a dialog; the plan's
  // line in the table below counts it.
  leader.once('dialog', (d) => d.accept('经初步核实属实'));
  await leader.click(`${row} button.mark-confirmed`);
  await leader.waitForSelector(`${row} .verdict-confirmed`, { timeout: 10_000 });
  check((await leader.textContent(`${row} td:nth-child(7)`)).includes('经初步核实属实'), 'the verdict shows its note');
  check(!(await leader.$(`${row} button.mark-confirmed`)) && await leader.$(`${row} button.mark-false_alarm`), 'only the other verdict is offered now');
  const plan = await leader.textContent(`${row} td:nth-child(2)`);
  const q = await leader.$$eval('.page-alerts .alert-quality tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const line = q.find((r) => r[0] === plan);
  check(line && Number(line[2]) >= 1, `the plan's confirmed alerts are counted: ${JSON.stringify(q)}`);
  // The same table for this year: the page asks for the year's alerts and still counts it.
  const year = new Date(Date.now() + 8 * 3600000).getUTCFullYear();
  const [asked] = await Promise.all([
    leader.waitForResponse((r) => r.url().includes('/api/v1/alerts/quality?') && r.url().includes(`since=${year}-01-01`), { timeout: 10_000 }),
    leader.selectOption('.page-alerts .alert-quality select[name=quality-period]', 'year'),
  ]);
  check(asked.ok(), `the year's figures are read: ${asked.status()}`);
  await leader.waitForSelector('.page-alerts .alert-quality[data-period="year"] tbody tr', { timeout: 10_000 });
  const qy = await leader.$$eval('.page-alerts .alert-quality tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(qy.some((r) => r[0] === plan && Number(r[2]) >= 1), `this year's table counts it too: ${JSON.stringify(qy)}`);
  await shot(leader, '20b-alert-verdict');
  // The 监测方案 list shows the plan's false alarms among its judged alerts: none of one.
  await leader.goto(`${base}/#/plans`);
  const planRow = `.page-plans tbody tr:has(a:text-is("${plan.trim()}"))`;
  await leader.waitForSelector(planRow, { timeout: 15_000 });
  check((await leader.textContent(`${planRow} td.false-alarms`)).trim() === '0/1', `the plan's false alarms: ${await leader.textContent(planRow)}`);
  await leader.goto(`${base}/#/alerts`);
  await leader.waitForSelector(row, { timeout: 15_000 });
  await leader.click(`${row} .open-case button`);
  await leader.waitForFunction(() => /^#\/cases\/[^/]+$/.test(location.hash) && document.querySelector('.page-cases .case-header'), null, { timeout: 15_000 });
  const id = decodeURIComponent(leader.url().split('#/cases/')[1]);
  check(await caseState(leader) === '登记', `the new case is registered (${await caseState(leader)})`);
  check((await leader.textContent('.page-cases')).includes('预警'), 'the case names its alert as the source');

  // 研判 and 批办 by the leader: the education bureau leads, due tomorrow.
  await step(leader, 'judge', { level: 'major', facts: '经核，某中学食堂部分饭菜变质' }, '研判');
  await step(leader, 'assign', { lead: 'edu', instruction: '请教育局牵头核查并答复' }, '批办');
  const assigned = await leader.textContent('.page-cases');
  check(assigned.includes('县教育局') && assigned.includes('请教育局牵头核查并答复'), 'the assignment is shown');
  await shot(leader, '21-case-assigned');

  // 办理 and the first draft by the liaison, in their own session.
  await openCase(liaison, base, id, '批办');
  check(!(await liaison.$('.page-cases details[data-step=assign]')), 'the liaison is not offered the assignment');
  await step(liaison, 'record_handling', { outcome: 'true', actions: '已封存问题食材，学生均已就医' }, '办理');
  await step(liaison, 'draft_reply', { text: '第一稿：情况属实' }, '回复待审定');
  check(!(await liaison.$('.page-cases details[data-step=approve_reply]')), 'the drafter is not offered the approval');
  await shot(liaison, '22-case-drafted');

  // The leader sends it back with a reason; the liaison redrafts; the leader approves.
  await openCase(leader, base, id, '回复待审定');
  await step(leader, 'send_back', { reason: '请写明处理结果' }, '办理');
  await openCase(liaison, base, id, '办理');
  check((await liaison.textContent('.page-cases')).includes('请写明处理结果'), 'the liaison sees why it was sent back');
  const reply = '经核查，某中学食堂部分饭菜变质属实，已封存食材，涉事学生均已就医，无大碍。';
  await step(liaison, 'draft_reply', { text: reply }, '回复待审定');
  await openCase(leader, base, id, '回复待审定');
  await step(leader, 'approve_reply', { comment: '同意发布' }, '回复已审定');
  const drafts = await leader.$$eval('.page-cases .draft', (ds) => ds.map((d) => d.textContent));
  check(drafts.length === 2 && drafts[1].includes('同意发布') && drafts[0].includes('请写明处理结果'), `both drafts with their decisions: ${drafts.join(' | ')}`);

  // The liaison publishes the approved wording; the leader closes the case.
  await openCase(liaison, base, id, '回复已审定');
  const prefilled = await liaison.$eval('.page-cases details[data-step=record_reply] [name=text]', (x) => x.value);
  check(prefilled === reply, 'the reply form holds the approved text');
  await step(liaison, 'record_reply', { channel: 'official_website' }, '已回复');
  check(!(await liaison.$('.page-cases details[data-step=close]')), 'the liaison is not offered the close');
  await openCase(leader, base, id, '已回复');
  await step(leader, 'close', { summary: '已回复并整改' }, '办结');

  // The closed case, as each of them sees it: state, reply, summary and the timeline.
  for (const [who, page] of [['leader', leader], ['liaison', liaison]]) {
    await openCase(page, base, id, '办结');
    const text = await page.textContent('.page-cases');
    check(text.includes('已回复并整改'), `${who}: the closing summary is shown`);
    check(text.includes('已发布回复') && text.includes(reply), `${who}: the published reply is shown`);
    const rows = await page.$$eval('.page-cases table.timeline tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const actions = rows.map((r) => r[2]).reverse();
    const want = ['登记', '研判', '批办', '办理', '起草回复', '退回', '起草回复', '审定回复', '发布回复', '办结'];
    check(JSON.stringify(actions) === JSON.stringify(want), `${who}: the timeline ${actions.join(' → ')}`);
    const actors = new Set(rows.map((r) => r[1]));
    check([...actors].some((a) => a.includes('flow-leader')) && [...actors].some((a) => a.includes('flow-liaison')), `${who}: both people are in the timeline (${[...actors].join(', ')})`);
    check(rows[0][3].includes('办结'), `${who}: the last entry closes the case (${rows[0][3]})`);
  }
  await shot(leader, '23-case-closed-leader');
  await shot(liaison, '24-case-closed-liaison');
  // On the board, the case is in the 办结 column.
  await leader.goto(`${base}/#/cases`);
  await leader.waitForSelector(`.page-cases .column[data-state=closed] [data-case="${id}"]`, { timeout: 15_000 });
  await shot(leader, '25-case-board');
  await leader.context().close();
  await liaison.context().close();
}

/** The Beijing calendar date `days` before today, as YYYY-MM-DD. */
function beijingDate(days = 0) {
  return new Date(Date.now() + 8 * 3600_000 - days * 86400_000).toISOString().slice(0, 10);
}

/** The text of the report frame's document (sandboxed: read through Playwright). */
async function frameText(page) {
  const el = await page.waitForSelector('.page-reports iframe.report-frame', { timeout: 15_000 });
  const frame = await el.contentFrame();
  await frame.waitForLoadState();
  return (await frame.textContent('body')) || '';
}

/**
 * An analyst makes a 日报 of yesterday from the form on the 报告 page, lands on the report,
 * sees it in the frame, edits the commentary (the frame shows the new text) and finds
 * the downloads.
 */
async function dailyReportFromThePage(ctx) {
  const base = ctx.srv.base;
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [
      { id: 'county', name: '某县', kind: 'organisation' },
      { id: 'edu', name: '县教育局', kind: 'department', parent: 'county' },
    ],
    users: [
      { id: 'report-analyst', name: '监测员小周', grants: [{ unit: 'county', role: 'analyst' }] },
      { id: 'report-liaison', name: '教育局信息员', grants: [{ unit: 'edu', role: 'liaison' }] },
    ],
  });
  const day = beijingDate(1);
  const next = beijingDate(0);
  const { count } = await apiAs(ctx, 'admin', 'GET', `/count?q=&since=${day}&until=${next}`);
  check(count > 0, `the day ${day} has documents (${count})`);
  const page = await firstLoginAs(ctx, 'report-analyst');
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/#/reports`);
  await page.waitForSelector('.page-reports form.report-form select[name=kind]', { timeout: 15_000 });
  check(await page.$eval('.page-reports select[name=kind]', (s) => s.value) === 'daily', 'the form starts with 日报');
  await page.fill('.page-reports form.report-form input[name=date]', day);
  // The 专题 filter lists the monitoring plans; the default is every document.
  const planOptions = await page.$$eval('.page-reports select[name=plan] option', (os) => os.map((o) => o.value));
  const apiPlans = (await apiAs(ctx, 'admin', 'GET', '/plans')).plans.map((p) => String(p.id));
  check(planOptions[0] === '' && apiPlans.every((id) => planOptions.includes(id)), `the plan filter lists the plans: ${planOptions}`);
  await shot(page, '30-reports-form');
  await page.click('.page-reports form.report-form button[type=submit]');
  await page.waitForFunction(() => /^#\/reports\/\d+$/.test(location.hash), null, { timeout: 30_000 });
  const id = Number(page.url().split('#/reports/')[1]);
  await page.waitForSelector('.page-reports h1', { timeout: 15_000 });
  check((await page.textContent('.page-reports h1')).includes('舆情日报'), 'the report page names the 日报');
  await page.waitForFunction(() => document.querySelector('.page-reports p.muted')?.textContent.includes('监测员小周'), null, { timeout: 15_000 })
    .catch(() => {});
  const byLine = await page.textContent('.page-reports p.muted');
  check(byLine.includes('监测员小周（report-analyst）'), `the report names its maker by name: ${byLine}`);
  const first = await frameText(page);
  check(first.includes('舆情日报') && first.includes('总体情况'), `the frame shows the report: ${first.slice(0, 200)}`);
  const saved = await apiAs(ctx, 'report-analyst', 'GET', `/reports/${id}`);
  check(saved.report.inputs.date === day, `made for ${day}: ${JSON.stringify(saved.report.inputs)}`);
  const totalFigure = saved.report.model.sections.flatMap((s) => s.blocks).filter((b) => b.type === 'figures')
    .flatMap((b) => b.items).find((f) => f.key === 'total');
  check(totalFigure?.value?.v === count, `the report's total is the day's count (${totalFigure?.value?.v} vs ${count})`);
  await shot(page, '31-report-daily');

  // The commentary: edited, saved, and shown in the reloaded frame.
  const note = `浏览器测试点评：${day} 舆情总体平稳，建议持续关注。`;
  await page.fill('.page-reports form.commentary textarea[name=commentary]', note);
  await page.click('.page-reports form.commentary button[type=submit]');
  let shown = '';
  for (let i = 0; i < 50 && !shown.includes(note); i += 1) {
    await page.waitForTimeout(200);
    shown = await frameText(page).catch(() => '');
  }
  check(shown.includes(note), 'the frame shows the saved commentary');
  check(await page.$eval('.page-reports form.commentary textarea[name=commentary]', (x) => x.value) === note, 'the editor holds the saved text');
  const after = await apiAs(ctx, 'report-analyst', 'GET', `/reports/${id}`);
  const draft = after.report.model.sections.flatMap((s) => s.blocks).find((b) => b.type === 'draft');
  check(draft.text === note && draft.edited === true, `the saved draft block: ${JSON.stringify(draft)}`);

  // The downloads.
  const hrefs = await page.$$eval('.page-reports .downloads a', (as) => as.map((a) => a.getAttribute('href')));
  for (const f of ['docx', 'xlsx', 'pdf']) {
    check(hrefs.includes(`/api/v1/reports/${id}/export.${f}`), `a ${f} download link: ${hrefs.join(', ')}`);
  }
  const docx = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, r.headers.get('content-type')]; }, `/api/v1/reports/${id}/export.docx`);
  check(docx[0] === 200 && docx[1].includes('wordprocessingml'), `the Word download answers: ${docx}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, '32-report-commentary-saved');
  await page.locator('.page-reports iframe.report-frame').scrollIntoViewIfNeeded();
  await shot(page, '33-report-frame');

  // The list shows it; a liaison is not shown reports (they are the office's).
  await page.goto(`${base}/#/reports`);
  await page.waitForSelector(`.page-reports table a[href="#/reports/${id}"]`, { timeout: 15_000 });
  const row = await page.$eval(`.page-reports table a[href="#/reports/${id}"]`, (a) => a.closest('tr').textContent);
  check(row.includes('监测员小周'), `the list names the maker: ${row}`);
  // A 网络舆情通报 of the month, from the same form.
  await page.selectOption('.page-reports form.report-form select[name=kind]', 'circular');
  await page.fill('.page-reports form.report-form input[name=period]', day.slice(0, 7));
  await page.click('.page-reports form.report-form button[type=submit]');
  await page.waitForFunction((old) => /^#\/reports\/\d+$/.test(location.hash) && location.hash !== `#/reports/${old}`, id, { timeout: 30_000 });
  await page.waitForSelector('.page-reports h1', { timeout: 15_000 });
  check((await page.textContent('.page-reports h1')).includes('网络舆情通报'), 'the circular is made from the form');
  const circular = await frameText(page);
  check(circular.includes('各单位处置情况') && circular.includes('督办事项'), `the frame shows the circular: ${circular.slice(0, 200)}`);
  await shot(page, '34b-report-circular');
  await shot(page, '34-reports-list');
  check(errors.length === 0, `no script errors: ${errors.join('; ')}`);
  await page.context().close();
  const liaison = await firstLoginAs(ctx, 'report-liaison');
  await liaison.goto(`${base}/#/reports/${id}`);
  await liaison.waitForSelector('.page-reports .error', { timeout: 15_000 });
  check(!(await liaison.$('.page-reports iframe.report-frame')), 'the liaison is refused the report');
  await liaison.goto(`${base}/#/reports`);
  await liaison.waitForSelector('.page-reports .readonly', { timeout: 15_000 });
  check(!(await liaison.$('.page-reports table')), 'the liaison is shown no list');
  check(!(await liaison.$('.page-reports form.report-form')), 'nor the form to make reports');
  await shot(liaison, '35-reports-liaison');
  await liaison.context().close();
}

/** Reposts collected before the repost they answer: the old event's page (alerts and cases
 * keep its id) shows the event it went into, with a notice saying so. */
async function mergedEventLeadsOn(ctx) {
  const now = new Date().toISOString();
  const doc = (id, parent, text) => ({
    id, platform: 'weibo', published_at: now, text,
    ...(parent ? { kind: 'repost', parent_id: parent } : { kind: 'post' }),
  });
  const api = async (path) => (await fetch(`${ctx.srv.base}/api/v1${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
  await pushDocs(ctx, [doc('merge-P', null, '某县医院发生火灾，多名医生和病人受伤（合并测试）')]);
  await pushDocs(ctx, [doc('merge-g', 'merge-c', '太可怕了，希望都平安')]);
  const orphans = (await api('/documents/weibo/merge-g')).event_id;
  const into = (await api('/documents/weibo/merge-P')).event_id;
  check(orphans && into && orphans !== into, `the early repost waits in an event of its own: ${orphans} vs ${into}`);
  await pushDocs(ctx, [doc('merge-c', 'merge-P', '转发：火灾现场视频')]);
  check((await api('/documents/weibo/merge-g')).event_id === into, 'the early repost joined its chain\'s event');
  const page = await login(ctx, 'admin', ctx.newPassword);
  await page.goto(`${ctx.srv.base}/#/events/${orphans}`);
  await page.waitForSelector('.page-events .notice', { timeout: 15_000 });
  const notice = await page.textContent('.page-events .notice');
  check(notice.includes(`#${orphans}`) && notice.includes('已并入本事件'), `the notice names the old event: ${notice}`);
  const title = await page.textContent('.page-events h1');
  check(title.includes(`#${into}`), `the page shows the event it went into: ${title}`);
  await shot(page, '36-event-merged');
  await page.close();
}

/**
 * A general item collected three days ago and assigned now has let its one-day answer
 * deadline pass: the 统计考核 page lists it under 督办事项, by department, with a link to
 * the case, shows the monitor's performance points (绩效考核分) item by item, and offers
 * the month's 网络舆情通报 (the 报告 form, filled in).
 */
async function overdueItemOnTheStatsPage(ctx) {
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [
      { id: 'county', name: '某县', kind: 'organisation' },
      { id: 'water', name: '县水务局', kind: 'department', parent: 'county' },
    ],
    users: [
      { id: 'stats-analyst', name: '监测员老王', grants: [{ unit: 'county', role: 'analyst' }] },
      { id: 'stats-leader', name: '值班领导', grants: [{ unit: 'county', role: 'leader' }] },
    ],
  });
  const collected = new Date(Date.now() - 3 * 86400_000).toISOString();
  let c = await apiAs(ctx, 'stats-analyst', 'POST', '/cases', {
    unit: 'county', source: { type: 'manual', channel: 'hotline' }, title: '热线：某小区停水三天', collected_at: collected,
  });
  c = await apiAs(ctx, 'stats-analyst', 'POST', `/cases/${c.id}/actions`, {
    expected_version: c.version,
    kind: { type: 'judge', level: 'general', facts: '核实中', negative: true, emergency: false },
  });
  c = await apiAs(ctx, 'stats-leader', 'POST', `/cases/${c.id}/actions`, {
    expected_version: c.version,
    kind: { type: 'assign', lead: 'water', co: [], due_at: null, instruction: '请核实并答复' },
  });
  const page = await firstLoginAs(ctx, 'stats-leader');
  await page.goto(`${ctx.srv.base}/#/stats`);
  const row = `.page-stats table.stats-overdue tr[data-case="${c.id}"]`;
  await page.waitForSelector(row, { timeout: 15_000 });
  const text = await page.textContent(row);
  check(text.includes('县水务局') && text.includes('逾期未办') && text.includes('某小区停水三天'), `the overdue row: ${text}`);
  check(await page.$eval(`${row} a`, (a) => a.getAttribute('href')) === `#/cases/${c.id}`, 'the row links to its case');
  await page.locator(row).scrollIntoViewIfNeeded();
  await shot(page, '37-stats-overdue');
  // The monitor's performance points over the days since the item was found: +1 for
  // finding it first (general), -2 because the leading group heard of it late; item by item.
  await page.goto(`${ctx.srv.base}/#/stats?from=${beijingDate(4)}&to=${beijingDate(0)}`);
  const mon = '.page-stats table.stats-monitors tr[data-user="stats-analyst"]';
  await page.waitForSelector(mon, { timeout: 15_000 });
  const pts = await page.textContent(`${mon} td.points`);
  check(pts.trim() === '-1', `the monitor's points: ${pts}`);
  check((await page.textContent(mon)).includes('监测员老王'), 'the monitor by name');
  await page.click('.page-stats details.stats-points summary');
  const late = `.page-stats details.stats-points tr[data-user="stats-analyst"][data-kind="late"]`;
  await page.waitForSelector(late, { timeout: 15_000 });
  const lateText = await page.textContent(late);
  check(lateText.includes('迟报') && lateText.includes('-2') && lateText.includes('某小区停水三天'), `the late entry: ${lateText}`);
  check(await page.$eval(`${late} a`, (a) => a.getAttribute('href')) === `#/cases/${c.id}`, 'the entry links to its case');
  await page.locator('.page-stats details.stats-points').scrollIntoViewIfNeeded();
  await shot(page, '37b-stats-points');
  await page.goto(`${ctx.srv.base}/#/stats`);
  await page.waitForSelector(row, { timeout: 15_000 });
  // Whole months, quarters and years have a circular; other ranges none.
  const periods = await page.evaluate(async () => {
    const { circularPeriod } = await import('/assets/pages/stats.js');
    return [['2026-10-01', '2026-10-31'], ['2026-10-01', '2026-12-31'], ['2026-01-01', '2026-12-31'], ['2026-02-01', '2026-02-28'],
      ['2026-11-02', '2026-11-30'], ['2026-11-01', '2026-11-29'], ['2026-11-01', '2027-01-31']].map(([f, to]) => circularPeriod(f, to));
  });
  check(JSON.stringify(periods) === JSON.stringify(['2026-10', '2026-Q4', '2026', '2026-02', null, null, null]), `circular periods: ${JSON.stringify(periods)}`);
  // This month is a whole month: the page offers its circular, with the form filled in.
  const month = beijingDate(0).slice(0, 7);
  check(await page.$eval('.page-stats a.make-circular', (a) => a.getAttribute('href')) === `#/reports?kind=circular&period=${month}`, 'the circular of this month is offered');
  await page.click(`${row} a`);
  await page.waitForFunction((id) => document.querySelector('.page-cases')?.textContent.includes(id), c.id, { timeout: 15_000 });
  await page.goto(`${ctx.srv.base}/#/stats`);
  await page.waitForSelector('.page-stats a.make-circular', { timeout: 15_000 });
  await page.click('.page-stats a.make-circular');
  await page.waitForSelector('.page-reports form.report-form input[name=period]', { timeout: 15_000 });
  check(await page.$eval('.page-reports select[name=kind]', (x) => x.value) === 'circular', 'the form is set to the circular');
  check(await page.$eval('.page-reports input[name=period]', (x) => x.value) === month, 'with the month');
  await page.context().close();
}

/**
 * 领导加减分 on the 统计考核 page: a leader takes 3 points from a monitor for a missed item,
 * with the reason; the monitor's row and the itemised points show it with who made it;
 * revoked, it is struck through and counts for nothing.
 */
async function leaderAdjustsPointsOnTheStatsPage(ctx) {
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [{ id: 'county', name: '某县', kind: 'organisation' }, { id: 'adj-city', name: '邻市', kind: 'organisation' }],
    users: [
      { id: 'adj-analyst', name: '监测员小李', grants: [{ unit: 'county', role: 'analyst' }] },
      { id: 'adj-leader', name: '分管领导', grants: [{ unit: 'county', role: 'leader' }] },
      { id: 'adj-outsider', name: '邻市监测员', grants: [{ unit: 'adj-city', role: 'analyst' }] },
    ],
  });
  const page = await firstLoginAs(ctx, 'adj-leader');
  await page.goto(`${ctx.srv.base}/#/stats`);
  const form = '.page-stats .stats-adjustments form.adjust';
  await page.waitForSelector(form, { timeout: 15_000 });
  const options = await page.$$eval(`${form} select[name=user] option`, (os) => os.map((o) => o.value));
  check(options.includes('adj-analyst') && !options.includes('adj-leader'), `no points for oneself: ${options}`);
  check(!options.includes('adj-outsider'), `nobody outside the leader's units is offered: ${options}`);
  await page.selectOption(`${form} select[name=user]`, 'adj-analyst');
  await page.fill(`${form} input[name=points]`, '-3');
  await page.fill(`${form} input[name=reason]`, '漏报某小区停水信息 <b>未核实</b>');
  await page.click(`${form} button[type=submit]`);
  const mon = '.page-stats table.stats-monitors tr[data-user="adj-analyst"]';
  await page.waitForSelector(mon, { timeout: 15_000 });
  check((await page.textContent(`${mon} td.adjusted`)).trim() === '-3', 'the 领导加减分 column');
  check((await page.textContent(`${mon} td.points`)).trim() === '-3', 'the total');
  const listed = '.page-stats .stats-adjustments tbody tr';
  const text = await page.textContent(listed);
  check(text.includes('漏报某小区停水信息 <b>未核实</b>') && text.includes('分管领导'), `the adjustment, its reason as text: ${text}`);
  check(await page.$(`${listed} b`) === null, 'markup in the reason is not markup');
  await page.click('.page-stats details.stats-points summary');
  const entry = '.page-stats details.stats-points tr[data-user="adj-analyst"][data-kind="adjusted"]';
  await page.waitForSelector(entry, { timeout: 15_000 });
  const entryText = await page.textContent(entry);
  check(entryText.includes('领导加减分') && entryText.includes('-3') && entryText.includes('记分人：分管领导'), `the entry: ${entryText}`);
  await page.locator('.page-stats .stats-adjustments').scrollIntoViewIfNeeded();
  await shot(page, '39-stats-adjustment');
  await page.click(`${listed} button.revoke`);
  await page.waitForSelector('.page-stats .stats-adjustments tr.revoked', { timeout: 15_000 });
  check((await page.textContent('.page-stats .stats-adjustments tr.revoked')).includes('已撤销'), 'shown as revoked');
  check(await page.$(mon) === null, 'revoked: the monitor has no points left');
  await page.context().close();
}

/**
 * The administrator adds a person on duty with a mobile number (for @ in DingTalk and WeCom
 * groups), an e-mail address (for copies of e-mailed alerts) and a Feishu id (for @ in
 * Feishu groups) on the 系统 page; malformed ones are stopped by the form; a leader sees
 * none of them.
 */
async function adminSetsAMobileNumber(ctx) {
  const page = await login(ctx, 'admin', ctx.newPassword);
  await page.goto(`${ctx.srv.base}/#/admin`);
  const form = '.page-admin form:has(input[name=mobile])';
  await page.waitForSelector(form, { timeout: 15_000 });
  await page.fill(`${form} input[name=user]`, 'duty-zhang');
  await page.fill(`${form} input[name=name]`, '值班员张三');
  await page.fill(`${form} input[name=mobile]`, '138-0000');
  check(!(await page.$eval(`${form} input[name=mobile]`, (x) => x.checkValidity())), 'the form refuses a malformed number');
  await page.fill(`${form} input[name=mobile]`, '13800001111');
  await page.fill(`${form} input[name=email]`, 'zhang at county');
  check(!(await page.$eval(`${form} input[name=email]`, (x) => x.checkValidity())), 'the form refuses a malformed address');
  await page.fill(`${form} input[name=email]`, 'zhang@county.example.org');
  await page.fill(`${form} input[name=feishu]`, 'ou_"><b>');
  check(!(await page.$eval(`${form} input[name=feishu]`, (x) => x.checkValidity())), 'the form refuses a malformed Feishu id');
  await page.fill(`${form} input[name=feishu]`, 'ou_7d8a6e6df7621556');
  await page.selectOption(`${form} select[name=grant-role]`, 'analyst');
  await page.click(`${form} button[type=submit]`);
  let zhang = null;
  for (let i = 0; i < 50 && !zhang?.mobile; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const o = await apiAs(ctx, 'admin', 'GET', '/org');
    zhang = o.users.find((u) => u.id === 'duty-zhang');
  }
  check(zhang?.mobile === '13800001111', `saved with the number: ${JSON.stringify(zhang)}`);
  check(zhang.email === 'zhang@county.example.org', `saved with the address: ${JSON.stringify(zhang)}`);
  check(zhang.feishu === 'ou_7d8a6e6df7621556', `saved with the Feishu id: ${JSON.stringify(zhang)}`);
  check(zhang.grants.some((g) => g.role === 'analyst'), 'with the role chosen');
  // Editing the person again shows the number; a leader never sees it.
  const row = `.page-admin li.org-user:has-text("duty-zhang")`;
  await page.waitForSelector(row, { timeout: 15_000 });
  await page.click(`${row} button`);
  await page.waitForFunction((f) => document.querySelector(`${f} input[name=user]`)?.value === 'duty-zhang', form);
  check(await page.$eval(`${form} input[name=mobile]`, (x) => x.value) === '13800001111', 'the form shows the number');
  check(await page.$eval(`${form} input[name=email]`, (x) => x.value) === 'zhang@county.example.org', 'the form shows the address');
  await shot(page, '38-admin-mobile');
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [],
    users: [{ id: 'mobile-leader', name: '领导', grants: [{ unit: zhang.grants[0].unit, role: 'leader' }] }],
  });
  const seen = (await apiAs(ctx, 'mobile-leader', 'GET', '/org')).users.find((u) => u.id === 'duty-zhang');
  check(seen && !('mobile' in seen) && !('email' in seen) && !('feishu' in seen), `a leader sees no contact: ${JSON.stringify(seen)}`);
  await page.close();
}

/**
 * A letter to the mayor's mailbox becomes a case; the approved reply is published as a
 * letter and sent by e-mail to the writer, whose address the form takes from the letter.
 */
async function letterAnsweredByEmail(ctx) {
  await apiAs(ctx, 'admin', 'PUT', '/org', {
    units: [
      { id: 'county', name: '某县', kind: 'organisation' },
      { id: 'water', name: '县水务局', kind: 'department', parent: 'county' },
    ],
    users: [
      { id: 'mail-leader', name: '赵县长', grants: [{ unit: 'county', role: 'leader' }] },
      { id: 'mail-liaison', name: '水务局小周', grants: [{ unit: 'water', role: 'liaison' }] },
    ],
  });
  const letter = `letter-${Date.now()}@example.com`;
  await pushDocs(ctx, [{
    id: letter, platform: 'email', kind: 'message', published_at: new Date().toISOString(),
    title: '幸福小区停水', text: '幸福小区停水三天了，请尽快处理', author: { id: 'resident@example.com', name: '居民' },
  }]);
  const c = await apiAs(ctx, 'mail-leader', 'POST', '/cases', {
    unit: 'county', source: { type: 'document', platform: 'email', id: letter }, negative: true,
  });
  const id = (c.case || c).id;
  const reply = '您好，幸福小区停水问题已修复，感谢您的来信。';
  for (const [user, kind] of [
    ['mail-leader', { type: 'judge', level: 'general', facts: '居民来信反映停水', negative: true, emergency: false }],
    ['mail-leader', { type: 'assign', lead: 'water', instruction: '请核实并答复来信人' }],
    ['mail-liaison', { type: 'record_handling', outcome: 'true', actions: '已抢修管道' }],
    ['mail-liaison', { type: 'draft_reply', text: reply }],
    ['mail-leader', { type: 'approve_reply', comment: '同意' }],
  ]) {
    const cur = await apiAs(ctx, user, 'GET', `/cases/${encodeURIComponent(id)}`);
    await apiAs(ctx, user, 'POST', `/cases/${encodeURIComponent(id)}/actions`, { expected_version: cur.case.version, kind });
  }
  const liaison = await firstLoginAs(ctx, 'mail-liaison');
  await openCase(liaison, ctx.srv.base, id, '回复已审定');
  const form = '.page-cases details[data-step=record_reply]';
  await liaison.click(`${form} > summary`);
  // The writer's address and the letter channel come from the letter.
  await liaison.waitForFunction((f) => document.querySelector(`${f} [name=mail_to]`)?.value === 'resident@example.com', form, { timeout: 10_000 });
  check(await liaison.$eval(`${form} [name=channel]`, (x) => x.value) === 'letter', 'the channel is 书面答复');
  await liaison.click(`${form} > summary`);
  await step(liaison, 'record_reply', {}, '已回复');
  await liaison.waitForSelector('.page-cases .mail-status[data-state=sent]', { timeout: 10_000 });
  const status = await liaison.textContent('.page-cases .mail-status');
  check(status.includes('已发送给 resident@example.com'), `the reply e-mail is shown as sent: ${status}`);
  check(!(await liaison.$('.page-cases button.resend-mail')), 'no resend for a sent mail');
  const rows = await liaison.$$eval('.page-cases table.timeline tbody tr', (trs) => trs.map((tr) => tr.cells[2].textContent));
  check(rows[0] === '答复邮件发送结果' && rows[1] === '发布回复', `the timeline records the sending: ${rows.slice(0, 2).join(', ')}`);
  // The mail server got one mail, to the writer, answering the letter.
  const got = ctx.mails.filter((m) => m.includes(letter));
  check(got.length === 1, `one mail answers the letter (${ctx.mails.length} in all)`);
  check(/^To: resident@example\.com$/m.test(got[0]) && got[0].includes(`In-Reply-To: <${letter}>`), `to the writer, in reply: ${got[0].slice(0, 400)}`);
  await shot(liaison, '27-letter-answered-by-email');
}

export const FLOWS = [
  ['first start: login with the one-time password, forced change', firstLogin],
  ['dashboard charts render with CED data (1366×768, big screen 1920×1080)', dashboard],
  ['hostile text (<script>, <img onerror>, javascript: links, a plan name with markup) is inert on every page that shows it', hostileTextIsEscaped],
  ['every page renders without errors', everyPageRenders],
  ['search with filters: the page total equals the API count', searchWithFilters],
  ['a plan made in the structured editor with live preview', planWithLivePreview],
  ['a liaison is refused another unit\'s case', liaisonRefusedOtherUnitsCase],
  ['search with a plan expression: totals, highlights, a malformed query', searchWithPlanExpression],
  ['an alert becomes a case that a leader and a liaison carry to close', alertToClosedCase],
  ['a letter to the mailbox is answered by e-mail from its case page', letterAnsweredByEmail],
  ['an analyst makes a 日报 on the 报告 page, edits its commentary, finds the downloads', dailyReportFromThePage],
  ['a merged event\'s page leads to the event it went into, saying so', mergedEventLeadsOn],
  ['the 统计考核 page lists an overdue item by department, linked to its case, and offers the month\'s circular', overdueItemOnTheStatsPage],
  ['the administrator gives a person on duty a mobile number, an e-mail address and a Feishu id on the 系统 page', adminSetsAMobileNumber],
  ['a leader takes points from a monitor on the 统计考核 page, with the reason, and revokes it', leaderAdjustsPointsOnTheStatsPage],
];
