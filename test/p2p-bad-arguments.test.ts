// Every invalid argument throws an ArgumentError (code ERR_ARG) whose message names the
// argument, before anything is posted; the communicator stays usable. Runs as a singleton
// (rank 0 of 1) in this process.
import t from 'tap';
import { ANY_SOURCE, ANY_TAG, ArgumentError, init, type Communicator } from '../runtime/index.js';

process.env.UCX_WARN_UNUSED_ENV_VARS = 'n';
const comm: Communicator = await init();
t.teardown(() => comm.finalize());

type Call = () => unknown;
const detached = new ArrayBuffer(16);
structuredClone(detached, { transfer: [detached] });
const detachedView = new Uint8Array(new ArrayBuffer(8));
structuredClone(detachedView.buffer, { transfer: [detachedView.buffer] });
const buf = new Uint8Array(8);

const cases: Array<[string, string, Call]> = [
  ['isend: buf is a string', 'buf', () => comm.isend('hello' as unknown as Uint8Array, 0)],
  ['isend: buf is undefined', 'buf', () => comm.isend(undefined as unknown as Uint8Array, 0)],
  ['isend: buf is a plain array', 'buf', () => comm.isend([1, 2, 3] as unknown as Uint8Array, 0)],
  ['isend: buf is a number', 'buf', () => comm.isend(42 as unknown as Uint8Array, 0)],
  ['isend: buf is a SharedArrayBuffer', 'buf', () => comm.isend(new SharedArrayBuffer(8) as unknown as ArrayBuffer, 0)],
  ['isend: buf is a detached ArrayBuffer', 'buf', () => comm.isend(detached, 0)],
  ['isend: buf is a view of a detached ArrayBuffer', 'buf', () => comm.isend(detachedView, 0)],
  ['irecv: buf is null', 'buf', () => comm.irecv(null as unknown as Uint8Array, 0)],
  ['irecv: buf is detached', 'buf', () => comm.irecv(detached, 0)],
  ['isend: dest out of range', 'dest', () => comm.isend(buf, 1)],
  ['isend: dest negative', 'dest', () => comm.isend(buf, -1)],
  ['isend: dest ANY_SOURCE', 'dest', () => comm.isend(buf, ANY_SOURCE)],
  ['isend: dest non-integer', 'dest', () => comm.isend(buf, 0.5)],
  ['isend: dest NaN', 'dest', () => comm.isend(buf, NaN)],
  ['isend: dest string', 'dest', () => comm.isend(buf, '0' as unknown as number)],
  ['isend: dest missing', 'dest', () => (comm.isend as (b: Uint8Array) => unknown)(buf)],
  ['irecv: source out of range', 'source', () => comm.irecv(buf, 5)],
  ['irecv: source -2', 'source', () => comm.irecv(buf, -2)],
  ['irecv: source non-integer', 'source', () => comm.irecv(buf, 1.5)],
  ['isend: tag negative', 'tag', () => comm.isend(buf, 0, -1)],
  ['isend: tag ANY_TAG', 'tag', () => comm.isend(buf, 0, ANY_TAG)],
  ['isend: tag 2^31', 'tag', () => comm.isend(buf, 0, 2 ** 31)],
  ['isend: tag non-integer', 'tag', () => comm.isend(buf, 0, 1.25)],
  ['isend: tag string', 'tag', () => comm.isend(buf, 0, '3' as unknown as number)],
  ['irecv: tag -2', 'tag', () => comm.irecv(buf, 0, -2)],
  ['irecv: tag 2^31', 'tag', () => comm.irecv(buf, 0, 2 ** 31)],
  ['irecv: tag Infinity', 'tag', () => comm.irecv(buf, 0, Infinity)],
  ['alloc: Ctor is Array', 'Ctor', () => comm.alloc(Array as unknown as Uint8ArrayConstructor, 4)],
  ['alloc: Ctor is a string', 'Ctor', () => comm.alloc('Float64Array' as unknown as Float64ArrayConstructor, 4)],
  ['alloc: Ctor missing', 'Ctor', () => (comm.alloc as () => unknown)()],
  ['alloc: length negative', 'length', () => comm.alloc(Float64Array, -1)],
  ['alloc: length non-integer', 'length', () => comm.alloc(Float64Array, 2.5)],
  ['alloc: length NaN', 'length', () => comm.alloc(Float64Array, NaN)],
  ['alloc: length string', 'length', () => comm.alloc(Float64Array, '8' as unknown as number)],
  ['alloc: length huge', 'length', () => comm.alloc(Float64Array, 2 ** 50)],
];

for (const [name, argument, call] of cases) {
  t.test(name, async t => {
    let caught: unknown;
    try {
      await call();
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof ArgumentError, `ArgumentError (got ${String(caught)})`);
    const e = caught as ArgumentError;
    t.equal(e.code, 'ERR_ARG');
    t.equal(e.argument, argument);
    t.match(e.message, new RegExp(`\\b${argument}\\b`), 'the message names the argument');
  });
}

t.test('async calls reject with the same errors', async t => {
  await t.rejects(comm.send(buf, 3), { code: 'ERR_ARG', argument: 'dest' });
  await t.rejects(comm.recv(buf, 0, -5), { code: 'ERR_ARG', argument: 'tag' });
  await t.rejects(comm.waitall('x' as unknown as []), { code: 'ERR_ARG', argument: 'requests' });
  await t.rejects(comm.waitall([{}] as unknown as []), { code: 'ERR_ARG', argument: 'requests' });
});

t.test('the communicator still works after all that', async t => {
  const out = new Uint8Array([1, 2, 3]);
  const inb = comm.alloc(Uint8Array, 3);
  const r = comm.irecv(inb, 0, 7);
  await comm.send(out, 0, 7);
  t.same(await r, { source: 0, tag: 7, bytes: 3 });
  t.same([...inb], [1, 2, 3]);
});
