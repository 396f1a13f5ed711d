// alloc'ed blocks are freed (both views unmapped) when their ArrayBuffer is collected.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('blocks are unmapped when their ArrayBuffers are garbage-collected', async t => {
  const r = runFixture('alloc-gc', [], { nodeArgs: ['--expose-gc'], timeoutMs: 60000 });
  t.equal(r.status, 0, `exit 0 ${r.stderr.slice(-300)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(res.during.blocks - res.base.blocks, 20, '20 blocks while referenced');
  t.equal(res.during.hugeAlignedBlocks - res.base.hugeAlignedBlocks, 10, '10 of them huge-aligned');
  t.equal(res.after.blocks, res.base.blocks, 'all freed after gc()');
  t.equal(res.after.bytesMapped, res.base.bytesMapped, 'no bytes left mapped');
  t.equal(res.after.hugeAlignedBlocks, res.base.hugeAlignedBlocks, 'huge-aligned count back too');
});
