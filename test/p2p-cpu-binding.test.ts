// ZCMPI_BIND: by default each rank of a host that runs at most as many ranks as it has CPUs
// (and at least 2) is bound, all its threads, to one CPU: local rank i to the i-th allowed
// CPU. ZCMPI_BIND=none, an oversubscribed host and a single rank leave the mask alone.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { allOk, runRanks } from './support/p2p.js';

/** The CPUs this process may use, in order (what the ranks inherit from the launcher). */
function allowedCpus(): number[] {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}
const own = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
const cpus = allowedCpus();
const masks = (stdout: string): string[] =>
  [...stdout.matchAll(/^ok (\d+) cpus=(\S+)/gm)].sort((x, y) => Number(x[1]) - Number(y[1])).map(m => m[2]);

t.test('2 ranks: each bound to its own CPU, every thread', { skip: cpus.length < 2 ? 'needs at least 2 CPUs' : false }, async t => {
  const r = await runRanks('cpu-binding.ts', [], { env: { ZCMPI_BIND: undefined } });
  allOk(t, r, 2);
  t.same(masks(r.stdout), [String(cpus[0]), String(cpus[1])], r.stdout);
});

t.test('ZCMPI_BIND=none leaves the mask alone', async t => {
  const r = await runRanks('cpu-binding.ts', [], { env: { ZCMPI_BIND: 'none' } });
  allOk(t, r, 2);
  t.same(masks(r.stdout), [own, own]);
});

t.test('more ranks than CPUs: no binding', async t => {
  const np = cpus.length + 1;
  const r = await runRanks('cpu-binding.ts', [], { np, env: { ZCMPI_BIND: undefined } });
  allOk(t, r, np);
  t.same(masks(r.stdout), Array(np).fill(own));
});

t.test('a bad ZCMPI_BIND fails init naming the variable', async t => {
  const r = await runRanks('cpu-binding.ts', [], { env: { ZCMPI_BIND: 'socket' } });
  t.not(r.code, 0);
  t.match(r.stderr, /ZCMPI_BIND must be one of core, none; got 'socket'/);
});
