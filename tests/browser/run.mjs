// Browser end-to-end tests of the yuqing web UI, in headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Run from the repository root by .ci/run:
//
//   (cd tests/browser && npm ci) && node tests/browser/run.mjs [path/to/yuqing]
//
// It starts a real `yuqing serve` on 127.0.0.1:0 with a fresh data directory holding a
// slice of the shared CED data (publication times spread over the last six days in their
// original order, so the dashboard's today/week views have data), then walks the flows of issue 5 and saves a
// screenshot of each page to tests/browser/artifacts/. Any failed check exits non-zero:
// a missing browser or binary is a failure, never a skip.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createReadStream, mkdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { root, bin, ced, artifacts, browserPath, SLICE, check, yq } from './lib.mjs';

const failures = [];
let passed = 0;

async function step(name, f) {
  const t0 = Date.now();
  try {
    await f();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

/** The first `n` CED documents, published times shifted so the newest is now. */
async function slice(n, out) {
  const lines = [];
  const rl = createInterface({ input: createReadStream(ced).pipe(createGunzip()) });
  for await (const l of rl) {
    if (!l.trim()) continue;
    lines.push(JSON.parse(l));
    if (lines.length >= n) break;
  }
  rl.close();
  // Spread the slice over the last 6 days by rank (keeping the order of publication),
  // so that today and the week both hold real documents.
  const dated = lines.filter((d) => !Number.isNaN(Date.parse(d.published_at)));
  dated.sort((x, y) => Date.parse(x.published_at) - Date.parse(y.published_at));
  const now = Date.now() - 60_000;
  dated.forEach((d, i) => {
    d.published_at = new Date(now - (1 - (i + 1) / dated.length) * 6 * 86400_000).toISOString();
  });
  writeFileSync(out, lines.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return lines;
}

/** Starts serve; resolves with its base URL and the one-time admin password it printed. */
/**
 * A minimal SMTP server on 127.0.0.1 for `[reply_mail]`: accepts every mail and keeps its
 * DATA in `mails`. Resolves to its port.
 */
function smtpSink(mails) {
  return new Promise((ok) => {
    const server = createServer((sock) => {
      sock.write('220 sink ESMTP\r\n');
      let buf = '';
      let data = null;
      sock.on('data', (chunk) => {
        buf += chunk.toString('utf8');
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (data !== null) {
            if (line === '.') { mails.push(data); data = null; sock.write('250 queued\r\n'); } else data += `${line}\n`;
            continue;
          }
          const up = line.toUpperCase();
          if (up.startsWith('EHLO') || up.startsWith('HELO')) sock.write('250-sink\r\n250 SMTPUTF8\r\n');
          else if (up === 'DATA') { data = ''; sock.write('354 go\r\n'); }
          else if (up === 'QUIT') { sock.end('221 bye\r\n'); }
          else sock.write('250 OK\r\n');
        }
      });
      sock.on('error', () => {});
    });
    server.unref();
    server.listen(0, '127.0.0.1', () => ok(server.address().port));
  });
}

function serve(data, config) {
  return new Promise((ok, fail) => {
    const p = spawn(bin, ['serve', '--bind', '127.0.0.1:0', '--data', data, '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let base = null;
    let password = null;
    let err = '';
    const done = () => { if (base && password) ok({ proc: p, base, password }); };
    createInterface({ input: p.stdout }).on('line', (l) => {
      const m = l.match(/listening on (http:\/\/\S+)/);
      if (m) { base = m[1]; done(); }
    });
    createInterface({ input: p.stderr }).on('line', (l) => {
      err += `${l}\n`;
      // The bootstrap line names the one-time password; see crates/yuqing/src/serve.rs.
      const m = l.match(/(?:一次性密码|one-time password)[^A-Za-z0-9]*([A-Za-z0-9_\-]{12,})/);
      if (m && !password) { password = m[1]; done(); }
    });
    p.on('exit', (c) => fail(new Error(`serve exited (${c}) before it was ready:\n${err}`)));
    setTimeout(() => fail(new Error(`serve not ready after 60 s:\n${err}`)), 60_000);
  });
}

async function main() {
  check(existsSync(bin), `the yuqing binary at ${bin} (build it first)`);
  check(existsSync(browserPath), `Chromium at ${browserPath} (apt-get install chromium)`);
  check(existsSync(ced), `the CED data at ${ced}`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'yuqing-browser-'));
  const data = join(tmp, 'data');
  const config = join(tmp, 'yuqing.toml');
  // Replies sent by e-mail to the writers of letters go to this server.
  const mails = [];
  const smtpPort = await smtpSink(mails);
  // A plan and an alert rule for the case flow: a document holding the probe raises an alert.
  writeFileSync(config, [
    '[server]', 'push_tokens = ["browser-test-token"]', '',
    '[[plans]]', 'name = "浏览器处置测试"', 'expression = "浏览器处置探针"', '',
    '[[alert_rules]]', 'name = "浏览器处置"', 'plans = ["浏览器处置测试"]', '',
    // A plan whose name holds markup, hit by the hostile document of the escaping flow.
    '[[plans]]', 'name = "<b>恶意方案</b><img src=x onerror=\\"window.__xss = 4\\">"', 'expression = "xssprobe"', '',
    '[[alert_rules]]', 'name = "恶意"', 'plans = ["<b>恶意方案</b><img src=x onerror=\\"window.__xss = 4\\">"]', '',
    '[reply_mail]', 'host = "127.0.0.1"', `port = ${smtpPort}`, 'tls = "none"', 'from = "县长信箱 <xzxx@county.gov.cn>"', '',
  ].join('\n'));
  const file = join(tmp, 'slice.jsonl');
  await slice(SLICE, file);
  yq(['import', file, '--data', data, '--config', config]);
  const srv = await serve(data, config);
  const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
  const ctx = { srv, browser, tmp, data, config, mails, newPassword: 'Yuqing-test-2026!' };
  try {
    const flows = await import('./flows.mjs');
    // YUQING_BROWSER_FLOWS=regex runs only the matching flows (and the first, which sets
    // the administrator's password the others log in with).
    const only = process.env.YUQING_BROWSER_FLOWS ? new RegExp(process.env.YUQING_BROWSER_FLOWS) : null;
    for (const [i, [name, f]] of flows.FLOWS.entries()) {
      if (only && i > 0 && !only.test(name)) continue;
      await step(name, () => f(ctx));
    }
  } finally {
    await browser.close();
    srv.proc.kill('SIGTERM');
  }
  console.log(`\n${passed} passed, ${failures.length} failed${failures.length ? `: ${failures.join(', ')}` : ''}`);
  console.log(`screenshots: ${artifacts}`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
