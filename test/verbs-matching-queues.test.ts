// The matching queues the verbs transport uses (native/protocol/matching.*), natively and
// without an RDMA device: oldest-first matching both ways, wildcards through the mask,
// contexts kept apart, non-overtaking per source and tag, cancel. The same MPI semantics
// run end to end over verbs in test/verbs-vm.test.ts.
import t from 'tap';
import { join } from 'node:path';
import { repoRoot } from './support/addon.js';
import { buildNative, runNative } from './support/native.js';

t.setTimeout(290000);

t.test('matching queues', async t => {
  const b = buildNative('matching_queues', 'asan', ['-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined',
    join(repoRoot, 'native/protocol/matching.cpp')]);
  t.ok(b.ok, `built ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  const r = runNative(b.path, [], { ASAN_OPTIONS: 'detect_leaks=0' });
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^matching ok \d+$/m);
});
