// send() and recv() never throw: every error is their promise's rejection, whatever the
// cause (a bad argument, a freed communicator, a finalized one), so `comm.send(...).catch()`
// and `await` see the same thing. (The calls are plain functions returning the promise of
// Engine.transfer, not async functions, so this is their own property.) Singleton rank.
import t, { type Test } from 'tap';
import { ArgumentError, FinalizedError, StateError, init } from '../runtime/index.js';

process.env.UCX_WARN_UNUSED_ENV_VARS = 'n';
const comm = await init();
const buf = new Uint8Array(8);

/** Calls f, fails the test if it throws, and returns what the promise rejected with. */
async function rejection(t: Test, what: string, f: () => Promise<unknown>): Promise<unknown> {
  let p: Promise<unknown>;
  try {
    p = f();
  } catch (e) {
    t.fail(`${what} threw synchronously: ${String(e)}`);
    return e;
  }
  t.ok(p instanceof Promise, `${what} returned a promise`);
  try {
    await p;
  } catch (e) {
    return e;
  }
  t.fail(`${what} resolved`);
  return undefined;
}

t.test('bad arguments', async t => {
  t.ok(await rejection(t, 'send of a string', () => comm.send('x' as unknown as Uint8Array, 0)) instanceof ArgumentError);
  t.ok(await rejection(t, 'recv from rank 5', () => comm.recv(buf, 5)) instanceof ArgumentError);
  t.ok(await rejection(t, 'send with tag -1', () => comm.send(buf, 0, -1)) instanceof ArgumentError);
});

t.test('a freed communicator', async t => {
  const sub = await comm.dup();
  sub.free();
  t.ok(await rejection(t, 'send on it', () => sub.send(buf, 0)) instanceof StateError);
  t.ok(await rejection(t, 'recv on it', () => sub.recv(buf, 0)) instanceof StateError);
  t.throws(() => sub.isend(buf, 0), StateError, 'isend on it throws (it returns a Request, not a promise)');
});

t.test('a finalized communicator', async t => {
  await comm.finalize();
  t.ok(await rejection(t, 'send after finalize', () => comm.send(buf, 0)) instanceof FinalizedError);
  t.ok(await rejection(t, 'recv after finalize', () => comm.recv(buf, 0)) instanceof FinalizedError);
});
