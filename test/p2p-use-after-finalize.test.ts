// After finalize every call throws FinalizedError (ERR_FINALIZED) naming the call, and
// finalize itself cannot run twice. Singleton in this process.
import t from 'tap';
import { FinalizedError, init } from '../runtime/index.js';

process.env.UCX_WARN_UNUSED_ENV_VARS = 'n';
const comm = await init();
const buf = comm.alloc(Uint8Array, 16);
const pending = comm.irecv(comm.alloc(Uint8Array, 4), 0, 1);
await comm.send(new Uint8Array([1, 2, 3, 4]), 0, 1);
await pending;
await comm.finalize();

t.ok(comm.finalized, 'finalized');
const calls: Array<[string, () => unknown]> = [
  ['isend', () => comm.isend(buf, 0)],
  ['irecv', () => comm.irecv(buf, 0)],
  ['send', () => comm.send(buf, 0)],
  ['recv', () => comm.recv(buf, 0)],
  ['barrier', () => comm.barrier()],
  ['waitall', () => comm.waitall([])],
  ['alloc', () => comm.alloc(Uint8Array, 4)],
  ['finalize', () => comm.finalize()],
];
for (const [name, call] of calls) {
  t.test(`${name} after finalize`, async t => {
    let caught: unknown;
    try {
      await call();
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof FinalizedError, `FinalizedError (got ${String(caught)})`);
    t.equal((caught as FinalizedError).code, 'ERR_FINALIZED');
    t.match((caught as Error).message, new RegExp(`${name} after finalize`));
  });
}

t.test('a completed request stays readable after finalize', async t => {
  t.ok(pending.done);
  t.same(pending.status, { source: 0, tag: 1, bytes: 4 });
});

t.test('memory from comm.alloc stays usable after finalize', async t => {
  buf[3] = 9;
  t.equal(buf[3], 9);
});
