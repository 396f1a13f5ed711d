// Communicator ids: the matching context of a communicator on the wire (native tag.h gives
// 12 context bits, two contexts per communicator, so ids 0..2047; 0 is the world). Every
// process keeps the set it uses; split and dup agree on the lowest id free on all members
// (the union of their sets travels with the split's allgather), and free() returns it.

/** split()'s color for ranks that join no new communicator (they get null), as MPI_UNDEFINED. */
export const UNDEFINED = -32766;

export const MAX_COMMUNICATORS = 2048;
export const ID_WORDS = MAX_COMMUNICATORS / 32;

const used = new Uint32Array(ID_WORDS);
used[0] = 1;  // the world

/** This process's used ids as a bitmap (a copy). */
export function usedIds(): Uint32Array {
  return used.slice();
}

/** The lowest id clear in the union bitmap, or -1 when all are taken. */
export function lowestFree(union: Uint32Array): number {
  for (let w = 0; w < ID_WORDS; w++) {
    const free = ~union[w] >>> 0;
    if (free !== 0) return w * 32 + (31 - Math.clz32(free & -free));
  }
  return -1;
}

export function markUsed(id: number): void {
  used[id >>> 5] |= 1 << (id & 31);
}

export function markFree(id: number): void {
  if (id !== 0) used[id >>> 5] &= ~(1 << (id & 31));
}
