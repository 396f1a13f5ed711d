// The zcmpi side of bench/first-messages.ts, written the way a user writes it: `await
// comm.send` / `await comm.recv` ping-pong and an isend/irecv + waitall window, on comm.alloc
// memory, in a fresh process per measurement (no warm-up beyond what each test says).
// bench/c/first_messages.c and bench/py/first_messages.py do exactly the same; rank 0 prints
// one JSON line per figure.
//   zcmpirun -np 2 bench/first-messages-rank.ts first|pingpong|window <size> [trips]
import { init } from '../runtime/index.js';

const [mode, sizeArg, tripsArg] = process.argv.slice(2);
const size = Number(sizeArg ?? 8);
const comm = await init();
if (comm.size !== 2) throw new Error('first-messages needs exactly 2 ranks');
const peer = 1 - comm.rank;
const out = (o: object): void => {
  if (comm.rank === 0) console.log(JSON.stringify(o));
};

async function trip(s: Uint8Array, r: Uint8Array): Promise<void> {
  if (comm.rank === 0) {
    await comm.send(s, peer, 1);
    await comm.recv(r, peer, 1);
  } else {
    await comm.recv(r, peer, 1);
    await comm.send(s, peer, 1);
  }
}

const median = (a: Float64Array): number => {
  const s = Float64Array.from(a).sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (mode === 'first') {
  // Every round trip timed from the first message of the process; one-way = half a trip.
  const trips = Number(tripsArg ?? 20000);
  const s = comm.alloc(Uint8Array, size);
  const r = comm.alloc(Uint8Array, size);
  const t = new Float64Array(trips);
  await comm.barrier();
  let prev = performance.now();
  for (let i = 0; i < trips; i++) {
    await trip(s, r);
    const now = performance.now();
    t[i] = ((now - prev) * 1000) / 2;
    prev = now;
  }
  const stretch = (a: number, b: number): void => {
    const part = t.subarray(a - 1, b);
    const mean = part.reduce((x, y) => x + y, 0) / part.length;
    out({ mode, size, stretch: `${a}-${b}`, median: median(part), mean });
  };
  stretch(1, 100);
  stretch(101, 1000);
  stretch(1001, 2000);
  stretch(trips - 1999, trips);
} else if (mode === 'pingpong') {
  // The user-style measurement: 100 warm-up round trips, then 2000 timed ones.
  const s = comm.alloc(Uint8Array, size);
  const r = comm.alloc(Uint8Array, size);
  await comm.barrier();
  for (let i = 0; i < 100; i++) await trip(s, r);
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) await trip(s, r);
  out({ mode, size, oneway: ((performance.now() - t0) * 1000) / 4000 });
} else if (mode === 'window') {
  // Window bandwidth: 64 isend (rank 0) / irecv (rank 1) of one buffer, waitall, a 1-byte
  // ack; 200 windows after 20 per size, sizes doubling from 8 B to `size`.
  const W = 64;
  const buf = comm.alloc(Uint8Array, size);
  const ack = comm.alloc(Uint8Array, 1);
  await comm.barrier();
  for (let n = 8; n <= size; n *= 2) {
    const b = buf.subarray(0, n);
    let t0 = 0;
    for (let i = 0; i < 220; i++) {
      if (i === 20) t0 = performance.now();
      const reqs = [];
      if (comm.rank === 0) {
        for (let w = 0; w < W; w++) reqs.push(comm.isend(b, peer, 100));
        await comm.waitall(reqs);
        await comm.recv(ack, peer, 101);
      } else {
        for (let w = 0; w < W; w++) reqs.push(comm.irecv(b, peer, 100));
        await comm.waitall(reqs);
        await comm.send(ack, peer, 101);
      }
    }
    const sec = (performance.now() - t0) / 1000;
    out({ mode, size: n, mbps: (n * W * 200) / sec / 1e6 });
  }
} else {
  throw new Error(`unknown mode ${mode} (first | pingpong | window)`);
}
await comm.finalize();
