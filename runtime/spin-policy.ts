// How long a waiting call polls on the JavaScript thread before it gives up and lets the
// event loop (or a guard) take over.
//
// Polling wins when the answer comes soon: no protection change, no event-loop wake-up
// (which costs 30-150 us here, more on a loaded machine). It loses when nothing can come
// (a program that posts recv() before its own matching send()), and it burns a CPU that
// another rank may need. So the budget learns from what happened: when a wait outlasted
// its poll but finished soon after, the next poll of that kind lasts 1.5x that long (up to
// 2 ms); when waits are long, polls go back to the floor. A ping-pong that fell into the
// slow mode (both sides asleep, each wake-up too slow for the other's poll) climbs out of
// it after one exchange. The time the bytes themselves take at 2 GB/s is always added.

import type { Request } from './request.js';

export const enum SpinKind {
  Send = 0,   // the blocking send(): poll before guarding
  Recv = 1,   // the blocking recv(): poll before guarding
  Await = 2,  // await / wait() / waitall on a request already in flight
}

/** Waits up to this long are learned; longer ones reset the budget to its floor. */
const LEARN_MAX_NS = 2_000_000;
/** Never poll less than this before a protection change (it costs 5-60 us itself). */
const BLOCKING_FLOOR_NS = 10_000;
/** A message-size term never makes a poll longer than this. */
const MAX_SPIN_NS = 20_000_000;

export class SpinPolicy {
  private readonly budgets: [number, number, number];
  private readonly floors: [number, number, number];

  constructor(baseNs: number) {
    this.budgets = [baseNs, baseNs, baseNs];
    this.floors = [Math.min(BLOCKING_FLOOR_NS, baseNs), Math.min(BLOCKING_FLOOR_NS, baseNs), baseNs];
  }

  /** The poll for a wait of this kind on `bytes` bytes, in ns. */
  budget(kind: SpinKind, bytes: number): number {
    return Math.min(this.budgets[kind] + bytes / 2, MAX_SPIN_NS);
  }

  /** The poll ran out: remember when it started, so its completion can teach the budget. */
  failed(kind: SpinKind, r: Request, startedMs: number): void {
    r._spinKind = kind;
    r._spinStart = startedMs;
    if (kind !== SpinKind.Await) this.budgets[kind] = Math.max(this.floors[kind], this.budgets[kind] / 2);
  }

  /** Called for every completion: learns from requests whose poll ran out. */
  completed(r: Request): void {
    if (r._spinKind < 0) return;
    const kind = r._spinKind as SpinKind;
    const waitedNs = (performance.now() - r._spinStart) * 1e6;
    r._spinKind = -1;
    this.budgets[kind] = waitedNs <= LEARN_MAX_NS
      ? Math.max(this.floors[kind], Math.min(LEARN_MAX_NS, waitedNs * 1.5))
      : this.floors[kind];
  }
}
