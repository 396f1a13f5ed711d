// After a blocking call, does an isend/irecv pair progress while both programs compute?
// Each round: a blocking 8-byte exchange (its poll finishes its own request), then rank 0
// posts a 1 MiB isend and rank 1 the irecv, both compute for COMPUTE_MS without calling
// zcmpi, then test() once: how many rounds found the transfer already done.
//   zcmpirun -np 2 bench/p2p-overlap-probe.ts [rounds] [compute_ms]
import { init } from '../runtime/index.js';

const comm = await init();
const rounds = Number(process.argv[2] ?? 40);
const computeMs = Number(process.argv[3] ?? 5);
const big = comm.alloc(Uint8Array, 1 << 20);
const small = comm.alloc(Uint8Array, 8);
const peer = 1 - comm.rank;
let doneEarly = 0;
const spin = (ms: number) => { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; return x; };
for (let i = 0; i < rounds + 5; i++) {
  if (comm.rank === 0) { await comm.send(small, peer, 1); await comm.recv(small, peer, 1); }
  else { await comm.recv(small, peer, 1); await comm.send(small, peer, 1); }
  const r = comm.rank === 0 ? comm.isend(big, peer, 2) : comm.irecv(big, peer, 2);
  spin(computeMs);
  const done = r.test();
  await r;
  if (i >= 5 && done) doneEarly++;
}
if (comm.rank === 1) console.log(`overlap probe: ${doneEarly} of ${rounds} transfers done after ${computeMs} ms of compute`);
await comm.finalize();
