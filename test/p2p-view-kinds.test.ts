// TypedArrays of several element sizes, Buffers (pooled and not), DataViews, ArrayBuffers
// and subarrays at odd offsets, of plain and registered memory.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('every buffer kind, 64 B .. 1 MiB, both directions', async t => {
  allOk(t, await runRanks('views.ts'), 2);
});
