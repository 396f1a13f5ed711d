// Every rank option is read in runtime/options.ts and documented in docs/options.md with
// the same default; no other runtime file reads a ZCMPI_* option by itself.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OPTION_DOCS, readRankOptions } from '../runtime/options.js';
import { root } from './support/p2p.js';

// Read natively on purpose (see runtime/options.ts, which validates it): the guard engine
// decides on its mechanism before the first guard, also when used without the runtime.
const NATIVE_READS = new Set(['native/guard/guard.cpp: ZCMPI_GUARD_PKEYS']);

const JOB_VARIABLES = new Set(['ZCMPI_RANK', 'ZCMPI_SIZE', 'ZCMPI_LOCAL_RANK', 'ZCMPI_LOCAL_SIZE', 'ZCMPI_JOB_ID',
  'ZCMPI_HOST', 'ZCMPI_KV_ADDR', 'ZCMPI_KV_SECRET', 'ZCMPI_LAUNCHER_FD']);

t.test('the docs table lists exactly the options, with their defaults', async t => {
  const md = readFileSync(join(root, 'docs/options.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const m of md.matchAll(/^\| `(ZCMPI_[A-Z0-9_]+)` \| ([^|]+) \|/gm)) rows.set(m[1], m[2].trim().replace(/`/g, ''));
  t.same([...rows.keys()].sort(), OPTION_DOCS.map(o => o.name).sort());
  for (const o of OPTION_DOCS) t.equal(rows.get(o.name), o.default, `${o.name} default`);
});

t.test('defaults match the documented ones', async t => {
  const d = readRankOptions({});
  t.equal(d.guard, 'block');
  t.equal(d.transport, 'auto');
  t.equal(String(d.spinUs), OPTION_DOCS.find(o => o.name === 'ZCMPI_SPIN_US')!.default);
  t.equal(String(d.progressSpinUs), OPTION_DOCS.find(o => o.name === 'ZCMPI_PROGRESS_SPIN_US')!.default);
  t.equal(String(d.guardedCopyMax), OPTION_DOCS.find(o => o.name === 'ZCMPI_GUARDED_COPY_MAX')!.default);
  t.equal(String(d.verbsPeerTimeoutS), OPTION_DOCS.find(o => o.name === 'ZCMPI_VERBS_PEER_TIMEOUT_S')!.default);
  t.equal(String(d.singleCopyMin), OPTION_DOCS.find(o => o.name === 'ZCMPI_SINGLE_COPY_MIN')!.default);
});

t.test('a bad value names the variable', async t => {
  t.throws(() => readRankOptions({ ZCMPI_SPIN_US: 'fast' }), { variable: 'ZCMPI_SPIN_US', message: /non-negative number/ });
  t.throws(() => readRankOptions({ ZCMPI_GUARD: 'loose' }), { variable: 'ZCMPI_GUARD', message: /block, strict, off/ });
  t.throws(() => readRankOptions({ ZCMPI_STATS: 'yes' }), { variable: 'ZCMPI_STATS', message: /0 or 1/ });
  t.throws(() => readRankOptions({ ZCMPI_VERBS_PEER_TIMEOUT_S: '0.01' }), { variable: 'ZCMPI_VERBS_PEER_TIMEOUT_S', message: /between 0.1 and 3600/ });
  t.equal(readRankOptions({ ZCMPI_VERBS_PEER_TIMEOUT_S: '2.5' }).verbsPeerTimeoutS, 2.5);
  t.throws(() => readRankOptions({ ZCMPI_SINGLE_COPY_MIN: '4096' }), { variable: 'ZCMPI_SINGLE_COPY_MIN', message: /0 \(off\) or a whole number of bytes of at least 16384/ });
  t.equal(readRankOptions({ ZCMPI_SINGLE_COPY_MIN: '0' }).singleCopyMin, 0);
});

t.test('no other runtime or native file reads a ZCMPI_ option', async t => {
  const offenders: string[] = [];
  const scan = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { scan(p); continue; }
      if (!/\.(ts|cpp|h)$/.test(e.name) || p.endsWith('runtime/options.ts')) continue;
      const src = readFileSync(p, 'utf8');
      for (const m of src.matchAll(/(?:env\.|env\[['"]|getenv\(")(ZCMPI_[A-Z0-9_]+)/g)) {
        const where = `${p.slice(root.length + 1)}: ${m[1]}`;
        if (!JOB_VARIABLES.has(m[1]) && !NATIVE_READS.has(where)) offenders.push(where);
      }
    }
  };
  scan(join(root, 'runtime'));
  scan(join(root, 'native'));
  t.same(offenders, [], 'options read outside runtime/options.ts');
});
