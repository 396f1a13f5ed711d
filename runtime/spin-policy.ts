// How long a waiting call polls natively on the JavaScript thread before it gives up and lets
// the event loop (or a guard) take over.
//
// Polling wins when the answer comes within the poll: no protection change and no wake-up.
// A wake-up is what made the first thousands of messages slow: 30-150 us on an idle machine,
// and on a busy one (the scheduler lets a woken thread wait for the running one's slice)
// 1-3 ms. The side that gave up sleeps, the other side's next poll then waits for that
// wake-up, runs out too, and both ranks end up sleeping on every message. So every poll
// lasts the full budget (ZCMPI_SPIN_US, default 10 ms: longer than a descheduled peer's time
// slice on a busy machine, short enough that timers and I/O are not held up for long) from
// the first message on, and a ping-pong never learns anything: a poll that ran out on a
// slow peer leaves the next poll as long as before.
// (Natively, Engine::poll busy-polls only the first ZCMPI_BUSY_POLL_US of it and yields the
// CPU at every pass after that, so a long poll does not hold a CPU others need.)
//
// The budget drops to a short floor only for a pattern where polling cannot help: a program
// that waits for a receive before posting the matching send itself (Promise.all of recv and
// send), seen as two requests in a row of one kind whose poll ran out and that completed
// only after the program had posted something else. A poll that succeeds, or a request that
// completed while the program posted nothing (a longer poll would have caught it), restores
// the full budget at once.

import type { Request } from './request.js';

export const enum SpinKind {
  Send = 0,   // the blocking send(): poll before guarding
  Recv = 1,   // the blocking recv(): poll before guarding
  Await = 2,  // await / wait() / waitall on a request already in flight
}

/** The short poll of a kind whose polls cannot help (still more than a round trip here). */
const FLOOR_NS = 10_000;
/** A message-size term never makes a poll longer than this. */
const MAX_SPIN_NS = 20_000_000;

export class SpinPolicy {
  private readonly fullNs: number;
  private readonly budgets: [number, number, number];
  /** Requests of each kind in a row whose poll ran out and whose completion the program's own posts may have caused. */
  private readonly misses: [number, number, number] = [0, 0, 0];

  /** prime.ts: while set, every poll is one pass, so the paths after a poll ran out run too. */
  private onePass = false;

  constructor(baseNs: number) {
    this.fullNs = baseNs;
    this.budgets = [baseNs, baseNs, baseNs];
  }

  /** The poll for a wait of this kind on `bytes` bytes, in ns (bytes at 2 GB/s on top). */
  budget(kind: SpinKind, bytes: number): number {
    if (this.onePass) return 0;
    return Math.min(this.budgets[kind] + bytes / 2, MAX_SPIN_NS);
  }

  /** prime.ts: polls of one pass on (true) or off; off also forgets what the short polls taught. */
  primeOnePass(on: boolean): void {
    this.onePass = on;
    if (on) return;
    for (const kind of [SpinKind.Send, SpinKind.Recv, SpinKind.Await]) this.restore(kind);
  }

  /** The poll succeeded. */
  succeeded(kind: SpinKind): void {
    if (this.misses[kind] !== 0) this.restore(kind);
  }

  /**
   * The poll ran out: remember when it started and how many posts the program had made, so
   * the request's completion can tell whether a longer poll would have caught it.
   */
  failed(kind: SpinKind, r: Request, posts: number): void {
    r._spinKind = kind;
    r._spinPosts = posts;
  }

  /** Called for every completion of a request whose poll ran out. */
  completed(r: Request, posts: number): void {
    const kind = r._spinKind as SpinKind;
    r._spinKind = -1;
    if (posts === r._spinPosts) this.restore(kind);
    else if (++this.misses[kind] >= 2) this.budgets[kind] = Math.min(FLOOR_NS, this.fullNs);
  }

  private restore(kind: SpinKind): void {
    this.misses[kind] = 0;
    this.budgets[kind] = this.fullNs;
  }
}
