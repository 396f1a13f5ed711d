// 0-byte messages (empty arrays, empty subarrays, zero-length comm.alloc, empty
// ArrayBuffer), ANY_TAG on them, and a 1-byte message into a 0-byte buffer (truncation).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('0-byte messages', async t => {
  allOk(t, await runRanks('zero-bytes.ts'), 2);
});
