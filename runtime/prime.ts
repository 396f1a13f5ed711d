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
// rank's own CPU while its peer waited. Running them here leaves feedback behind for every
// branch; it costs about 13 ms of init (load 5), 9 of them the first round, which is V8
// compiling these functions' bytecode: a program pays that at its first messages anyway.
//
// Zero-byte messages to itself take no guard and touch no memory; request numbers are
// taken from a range of their own (Engine.primeWith), so the program's requests are still
// numbered from 1; everything completes before init returns.

import type { Communicator } from './communicator.js';
import type { Engine } from './engine.js';
import type { Request } from './request.js';

/**
 * Rounds: more than V8's calls before it records feedback (a function's first runs record
 * nothing). bench/jit-deopts.sh: 4 rounds left one deoptimization more in the ping-pong
 * than 8 or 16 did; 8 keeps the priming short where every message is slow (verbs in a VM).
 */
const ROUNDS = 8;
const ONE_PASS_ROUNDS = 2;
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
      // Polls that run out (one pass each): waitall, an awaited request and the blocking
      // receive then wait for the completion the next post makes. Only in the last rounds:
      // the completion reaches them through the progress thread (nothing else polls), about
      // half a millisecond each, and by then the functions record feedback. (Not the
      // blocking send: it runs the same code as the receive.)
      if (i < ROUNDS - ONE_PASS_ROUNDS) {
        await new Promise<void>(resolve => setImmediate(resolve));
        continue;
      }
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
      engine.primeOnePass(false);
      // An event-loop turn between posts (the first post of each turn schedules the count).
      await new Promise<void>(resolve => setImmediate(resolve));
    }
  });
}
