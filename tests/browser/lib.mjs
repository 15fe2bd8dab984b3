// Shared by the browser test runner and its flows.

import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export const root = resolve(new URL('../..', import.meta.url).pathname);
export const bin = resolve(process.argv[2] || process.env.YUQING_BIN || join(root, 'target/debug/yuqing'));
export const ced = resolve(root, '../shared/data/ced/ced_dev_documents.jsonl.gz');
export const artifacts = join(root, 'tests/browser/artifacts');
export const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
export const SLICE = Number(process.env.YUQING_BROWSER_DOCS || 20000);


/** Throws when `cond` is false, naming what was checked. */
export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}


/** Runs the yuqing binary; returns its stdout. */
export function yq(args, input) {
  return execFileSync(bin, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

