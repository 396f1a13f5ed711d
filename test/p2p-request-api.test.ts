// The Request object: a PromiseLike usable with await, then/catch, Promise.all and
// Promise.race; status/error/done accessors; wait() on an already completed request.
// Singleton self-sends in this process.
import t from 'tap';
import { Request, init } from '../runtime/index.js';

process.env.UCX_WARN_UNUSED_ENV_VARS = 'n';
const comm = await init();
t.teardown(() => comm.finalize());

t.test('await, then, Promise.all and Promise.race', async t => {
  const a = comm.alloc(Float64Array, 1000);
  const r = comm.irecv(a, 0, 1);
  t.ok(r instanceof Request);
  t.equal(r.call, 'irecv');
  t.equal(r.peer, 0);
  t.equal(r.tag, 1);
  t.notOk(r.done);
  const s = comm.isend(new Float64Array(1000).fill(2), 0, 1);
  const [rs, ss] = await Promise.all([r, s]);
  t.same(rs, { source: 0, tag: 1, bytes: 8000 });
  t.same(ss, { source: 0, tag: 1, bytes: 8000 });
  t.equal(a[999], 2);
  const got = await r.then(st => st.bytes);
  t.equal(got, 8000, 'then() again after completion');
  t.same(r.wait(), rs, 'wait() after completion returns the status');
  const r2 = comm.irecv(comm.alloc(Uint8Array, 1), 0, 2);
  const winner = await Promise.race([r2, new Promise(res => setTimeout(() => res('timeout'), 50))]);
  t.equal(winner, 'timeout', 'a pending request loses a race');
  comm.isend(new Uint8Array(1), 0, 2);
  t.same(await r2, { source: 0, tag: 2, bytes: 1 });
});

t.test('catch() and error accessor on a failed request', async t => {
  const r = comm.irecv(comm.alloc(Uint8Array, 2), 0, 3);
  comm.isend(new Uint8Array(10), 0, 3);
  const e = await r.catch(err => err);
  t.match(e, { code: 'ERR_TRUNCATE' });
  t.equal(r.error, e);
  t.equal(r.status, undefined);
  t.throws(() => r.wait(), { code: 'ERR_TRUNCATE' });
  t.throws(() => r.test(), { code: 'ERR_TRUNCATE' });
});

t.test('the event loop stays alive while a request is awaited', async t => {
  const r = comm.irecv(comm.alloc(Uint8Array, 4), 0, 4);
  setTimeout(() => comm.isend(new Uint8Array([4, 3, 2, 1]), 0, 4), 100);
  t.same(await r, { source: 0, tag: 4, bytes: 4 });
});
