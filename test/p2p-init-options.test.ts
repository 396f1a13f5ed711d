// init() checks its options (naming the bad one), refuses a second init in the same
// process, and a singleton (no zcmpirun) is rank 0 of 1.
import t from 'tap';
import { ArgumentError, StateError, init } from '../runtime/index.js';

process.env.UCX_WARN_UNUSED_ENV_VARS = 'n';

t.test('bad options name the option', async t => {
  await t.rejects(init('x' as unknown as object), ArgumentError);
  await t.rejects(init({ guard: 'loose' as 'block' }), { code: 'ERR_ARG', argument: 'options.guard' });
  await t.rejects(init({ transport: 'tcp' as 'ucx' }), { code: 'ERR_ARG', argument: 'options.transport' });
  await t.rejects(init({ spinUs: -1 }), { code: 'ERR_ARG', argument: 'options.spinUs' });
});

t.test('verbs without an RDMA device is refused, naming what was looked for, and nothing starts', async t => {
  await t.rejects(init({ transport: 'verbs' }), {
    code: 'ERR_TRANSPORT_UNAVAILABLE', message: /verbs transport cannot start: no RDMA device.*looked for an RDMA device with an active port/s,
  });
});

t.test('singleton, then a second init is refused', async t => {
  const comm = await init({ guard: 'off', spinUs: 10 });
  t.equal(comm.rank, 0);
  t.equal(comm.size, 1);
  t.equal(comm.guard, 'off');
  t.equal(comm.transport, 'ucx');
  await t.rejects(init(), StateError);
  await comm.barrier();
  await comm.finalize();
  await t.rejects(init(), StateError);
});
