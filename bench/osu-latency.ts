// Ping-pong latency between ranks 0 and 1, OSU osu_latency style: one-way latency is half
// the round trip. Run: zcmpirun -np 2 bench/osu-latency.ts [--min 8 --max 4194304 --buffer arena|plain --wait]
import { init } from '../runtime/index.js';
import { buffer, header, itersFor, parseOptions, row, sizes } from './osu-common.js';

const o = parseOptions(process.argv.slice(2));
const comm = await init();
if (comm.size < 2) throw new Error('osu-latency needs 2 ranks');
header('Latency', comm, o, 'Latency (us)');
const sbuf = buffer(comm, o, o.max);
const rbuf = buffer(comm, o, o.max);

async function pingpong(s: Uint8Array, r: Uint8Array): Promise<void> {
  const peer = 1 - comm.rank;
  if (o.sync === 'wait') {
    if (comm.rank === 0) {
      comm.isend(s, peer, 1).wait();
      comm.irecv(r, peer, 1).wait();
    } else {
      comm.irecv(r, peer, 1).wait();
      comm.isend(s, peer, 1).wait();
    }
  } else if (comm.rank === 0) {
    await comm.send(s, peer, 1);
    await comm.recv(r, peer, 1);
  } else {
    await comm.recv(r, peer, 1);
    await comm.send(s, peer, 1);
  }
}

/** One-way latency in us over `iters` round trips after `skip` unmeasured ones. */
async function measure(size: number, iters: number, skip: number): Promise<number> {
  const s = sbuf.subarray(0, size);
  const r = rbuf.subarray(0, size);
  let t0 = 0;
  for (let i = 0; i < iters + skip; i++) {
    if (i === skip) t0 = performance.now();
    await pingpong(s, r);
  }
  return ((performance.now() - t0) * 1000) / (2 * iters);
}

// JIT warm-up (not measured): the very code that measures, at the smallest size, twice with
// a barrier in between like the real rows, so the first row is not the one V8 is still
// compiling (measured: without the second round the first row alone came out 50% slower).
for (let round = 0; round < 2; round++) {
  await comm.barrier();
  if (comm.rank < 2) await measure(o.min, o.warmup / 2, 0);
}
for (const size of sizes(o)) {
  const { iters, skip } = itersFor(o, size);
  await comm.barrier();
  if (comm.rank < 2) {
    const us = await measure(size, iters, skip);
    if (comm.rank === 0) row(size, us);
  }
}
await comm.finalize();
