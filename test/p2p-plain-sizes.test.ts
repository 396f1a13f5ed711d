// Plain Uint8Arrays (no device view: sends are copied, receives go through a bounce
// buffer), 1 B .. 16 MiB, both directions, every byte checked.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('plain typed arrays of 1 B .. 16 MiB arrive intact', async t => {
  allOk(t, await runRanks('sizes.ts', ['plain', String(16 << 20)]), 2);
});
