// Same-host single-copy for large registered messages (native/transports/single_copy.h):
// every shape of use gives the bytes and errors the copying path gives, in guard modes block
// and off, and the path is really taken (the transport's statistics count it).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

const env = { NODE_OPTIONS: '--expose-gc', ZCMPI_STATS: '1' };
const count = (out: string, rank: number, label: string): number => {
  const m = new RegExp(`^zcmpi\\[${rank}\\] stats: ${label}\\s+(\\d+)$`, 'm').exec(out);
  return m ? Number(m[1]) : -1;
};

for (const guard of ['block', 'off'] as const) {
  t.test(`guard ${guard}`, async t => {
    const r = await runRanks('single-copy.ts', [], { guard, transport: 'ucx', env });
    allOk(t, r, 2);
    const all = r.stdout + r.stderr;
    // Rank 0's messages of 64 KiB or more: 5 sizes (not the 65535-byte one), 1 with
    // wildcards, 2 x 2 around the truncations, 1 early access (not in guard mode off),
    // 64 in flight, 120 both ways at once, 24 reallocated.
    const expected = 5 + 1 + 4 + (guard === 'off' ? 0 : 1) + 64 + 120 + 24;
    t.equal(count(all, 0, 'single-copy sends'), expected, `rank 0's large sends went single-copy\n${all}`);
    t.equal(count(all, 1, 'single-copy receives'), expected, 'rank 1 took them single-copy');
    t.equal(count(all, 0, 'single-copy receives'), 120, 'and rank 0 those rank 1 sent');
  });
}

t.test('ZCMPI_SINGLE_COPY_MIN=0: the same program over UCX alone', async t => {
  const r = await runRanks('single-copy.ts', [], { transport: 'ucx', env: { ...env, ZCMPI_SINGLE_COPY_MIN: '0' } });
  allOk(t, r, 2);
  t.equal(count(r.stdout + r.stderr, 0, 'single-copy sends'), 0, 'nothing went single-copy');
});
