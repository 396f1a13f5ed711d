// Rank 0 streams messages to rank 1 and rewrites each send buffer right after isend;
// rank 1 reads each receive buffer right after irecv. Nobody waits before touching a
// buffer. With the guard on, every early access waits for its transfer and the data is
// exact; with --guard off the same program races with the transport.
//   zcmpirun -np 2 examples/stream.ts [messages] [MiB per message]
import { init, type Request } from 'zcmpi';

const comm = await init();
const messages = Number(process.argv[2] ?? 64);
const words = (Number(process.argv[3] ?? 4) * (1 << 20)) / 4;
const window = 4;
const buffers = Array.from({ length: window }, () => comm.alloc(Uint32Array, words));

// The value of word j of message i: differs between messages so stale data shows.
const pattern = (i: number, j: number): number => (Math.imul(i + 1, 2654435761) + j) >>> 0;

const pending: Request[] = [];
const started = performance.now();
let corruptedBytes = 0;
if (comm.rank === 0) {
  for (let i = 0; i < messages; i++) {
    const b = buffers[i % window];
    for (let j = 0; j < words; j++) b[j] = pattern(i, j); // waits while b is still being sent
    pending.push(comm.isend(b, 1, i));
  }
} else if (comm.rank === 1) {
  for (let i = 0; i < messages; i++) {
    const b = buffers[i % window];
    pending.push(comm.irecv(b, 0, i));
    for (let j = 0; j < words; j++) {             // waits until the data has arrived
      if (b[j] !== pattern(i, j)) corruptedBytes += 4;
    }
  }
}
await comm.waitall(pending);
const seconds = (performance.now() - started) / 1000;
if (comm.rank === 1) {
  const bytes = messages * words * 4;
  console.log(`ZCMPI_DEMO ${JSON.stringify({ guard: process.env.ZCMPI_GUARD ?? 'block', bytes, corruptedBytes, seconds })}`);
}
await comm.finalize();
