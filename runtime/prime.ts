// At init, every branch of the point-to-point calls runs a few times, on messages of zero
// bytes from this rank to itself, before the program's first message.
//
// Why: V8 optimizes a hot function with the type feedback its earlier runs left, and a
// branch that never ran before that compile has none: the optimized code gives up there
// ("insufficient type feedback"), throws itself away and is compiled again. The calls'
// rare branches (the checked path when a completion is queued, the every-128th look at the
// event loop, the first call after an event-loop turn, a status of the other kind) are
// reached only hundreds or thousands of messages into a job, well after the compile, so
// each cost one such round: measured 13 deoptimizations in the first 220 windows of 64
// messages and 3 in a 2100-trip ping-pong, each followed by a recompile of 5-30 ms on the
// rank's own CPU while its peer waited. Running them here, where they cost about a
// millisecond in V8's interpreter, leaves feedback behind for every branch.
//
// Zero-byte messages to itself take no guard and touch no memory; request numbers are
// taken from a range of their own (Engine.primeWith), so the program's requests are still
// numbered from 1; everything completes before init returns.

import type { Communicator } from './communicator.js';
import type { Engine } from './engine.js';
import type { Request } from './request.js';

/** Rounds: more than V8's calls-before-feedback (a function's first runs record nothing). */
const ROUNDS = 16;
const TAG = 0;

export async function primeHotPaths(comm: Communicator, engine: Engine): Promise<void> {
  const me = comm.rank;
  const empty = new Uint8Array(0);
  await engine.primeWith(async () => {
    for (let i = 0; i < ROUNDS; i++) {
      // isend/irecv and waitall, statuses of both kinds.
      const reqs: Request[] = [comm.irecv(empty, me, TAG), comm.isend(empty, me, TAG)];
      await comm.waitall(reqs);
      // A blocking send matched by a posted receive; a blocking receive of a posted send;
      // the requests awaited and waited for.
      const r = comm.irecv(empty, me, TAG);
      await comm.send(empty, me, TAG);
      await r;
      const s = comm.isend(empty, me, TAG);
      await comm.recv(empty, me, TAG);
      s.wait();
      // The checked paths: an argument the quick checks refuse (a tag that is not an integer).
      for (const post of [(): Request => comm.isend(empty, me, 0.5), (): Request => comm.irecv(empty, me, 0.5)]) {
        try {
          post();
        } catch { /* expected: the argument error */ }
      }
      await comm.send(empty, me, 0.5).catch(() => undefined);
      await comm.recv(empty, me, 0.5).catch(() => undefined);
      // The every-128th look at the event loop, starting a turn, and finding the loop starved
      // (the blocking call and waitall then let it turn).
      for (const starved of [false, true]) {
        const q = comm.irecv(empty, me, TAG);
        engine.primeLoopLook(starved);
        await comm.send(empty, me, TAG);
        engine.primeLoopLook(starved);
        await comm.waitall([q]);
      }
      // Polls that run out (one pass each): waitall, an awaited request and both blocking
      // calls then wait for the completion the next post makes.
      engine.primeOnePass(true);
      const pending = comm.irecv(empty, me, TAG);
      const all = comm.waitall([pending]);
      comm.isend(empty, me, TAG);
      await all;
      const late = comm.irecv(empty, me, TAG);
      const awaited = late.then(() => undefined);
      comm.isend(empty, me, TAG);
      await awaited;
      const recv = comm.recv(empty, me, TAG);
      comm.isend(empty, me, TAG);
      await recv;
      const send = comm.send(empty, me, TAG);
      comm.irecv(empty, me, TAG);
      await send;
      engine.primeOnePass(false);
      // An event-loop turn between posts (the first post of each turn schedules the count).
      await new Promise<void>(resolve => setImmediate(resolve));
    }
  });
}
