// Communicator ids: the matching context of a communicator on the wire (native tag.h gives
// 12 context bits, two contexts per communicator, so ids 0..2047; 0 is the world). Every
// process keeps the set it uses and a cursor, the id after the last one it took; split and
// dup agree on the first id free on all members at or after the largest cursor among them,
// wrapping (the union of their sets and their cursors travel with the split's allgather),
// and free() returns it. Taking ids round the ring rather than the lowest free one means a
// freed id comes back only after every other id was taken since: a message sent on a freed
// communicator that nobody received (an error in the program, as in MPI) waits in the
// transport's unexpected queue, and a new communicator reusing the id at once would match
// it (test/coll-free-pending).

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

let cursor = 1;

/** This process's cursor: where its next search for a free id starts. */
export function idCursor(): number {
  return cursor;
}

/** The first id clear in the union bitmap at or after `from`, wrapping, or -1 when all are taken. */
export function firstFreeFrom(union: Uint32Array, from: number): number {
  for (let k = 0; k < MAX_COMMUNICATORS; k++) {
    const id = (from + k) % MAX_COMMUNICATORS;
    if ((union[id >>> 5] & (1 << (id & 31))) === 0) return id;
  }
  return -1;
}

export function markUsed(id: number): void {
  used[id >>> 5] |= 1 << (id & 31);
  cursor = (id + 1) % MAX_COMMUNICATORS || 1;
}

export function markFree(id: number): void {
  if (id !== 0) used[id >>> 5] &= ~(1 << (id & 31));
}
