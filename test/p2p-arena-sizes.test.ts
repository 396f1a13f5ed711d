// Registered memory (comm.alloc), 1 B .. 16 MiB, both directions, every byte checked.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('comm.alloc buffers of 1 B .. 16 MiB arrive intact', async t => {
  allOk(t, await runRanks('sizes.ts', ['arena', String(16 << 20)]), 2);
});
