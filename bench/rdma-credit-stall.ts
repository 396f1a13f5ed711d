// Does a sender wait for a receiver that computes with nothing posted? Each round: rank 1
// says it is ready (8 bytes) and does a blocking 8-byte receive (its poll finishes its only
// request); rank 0 sends those 8 bytes and at once isends MESSAGES eager messages of SIZE
// bytes (more than rank 1's eager slots for it, so it needs credits back) and times its
// waitall, while rank 1 computes COMPUTE_MS without calling zcmpi and only then receives
// them. The waitall ends once rank 1's side handled enough arrivals to return credits: on
// its progress thread while it computes, or after the compute. Prints rank 0's median, min, max.
//   zcmpirun -np 2 bench/rdma-credit-stall.ts [--rounds 20] [--messages 80] [--size 1024] [--compute 100] [--json]
import { init, type Request } from '../runtime/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: expected a non-negative number, got ${args[i + 1]}`);
  return v;
};
const rounds = opt('--rounds', 20);
const messages = opt('--messages', 80);
const size = opt('--size', 1024);
const computeMs = opt('--compute', 100);
const skip = 2;

const comm = await init();
if (comm.size !== 2) throw new Error('rdma-credit-stall needs exactly 2 ranks');
const peer = 1 - comm.rank;
const small = comm.alloc(Uint8Array, 8);
const bufs = Array.from({ length: messages }, () => comm.alloc(Uint8Array, size));
const spin = (ms: number): number => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x++;
  return x;
};
const waits: number[] = [];
for (let i = 0; i < rounds + skip; i++) {
  if (comm.rank === 0) {
    await comm.recv(small, peer, 1);
    const t0 = performance.now();
    await comm.send(small, peer, 1);
    const reqs: Request[] = bufs.map(b => comm.isend(b, peer, 2));
    await comm.waitall(reqs);
    if (i >= skip) waits.push(performance.now() - t0);
  } else {
    await comm.send(small, peer, 1);
    await comm.recv(small, peer, 1);
    spin(computeMs);
    await comm.waitall(bufs.map(b => comm.irecv(b, peer, 2)));
  }
  await comm.barrier();
}
if (comm.rank === 0) {
  const s = [...waits].sort((a, b) => a - b);
  const r = { transport: comm.transport, messages, size, computeMs, rounds, medianMs: s[s.length >> 1], maxMs: s[s.length - 1], minMs: s[0] };
  if (args.includes('--json')) console.log(JSON.stringify(r));
  else console.log(`credit stall (${comm.transport}): ${messages} x ${size} B while the receiver computes ${computeMs} ms: sender's waitall median ${r.medianMs.toFixed(2)} ms, min ${r.minMs.toFixed(2)}, max ${r.maxMs.toFixed(2)}`);
}
await comm.finalize();
