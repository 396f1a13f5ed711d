// Buffers and requests dropped by the program while in flight, with forced garbage
// collections: the transfers complete into the right memory and nothing crashes.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('in-flight buffers survive garbage collection', async t => {
  allOk(t, await runRanks('gc-safety.ts', [], { env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc` } }), 2);
});
