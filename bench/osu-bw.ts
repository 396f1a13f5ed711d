// Window bandwidth from rank 0 to rank 1, OSU osu_bw style: 64 isends (receiver: 64
// irecvs) of the same buffer, wait for all, a 4-byte acknowledgement, repeat. MB/s = 10^6 B/s.
// Run: zcmpirun -np 2 bench/osu-bw.ts [--min 8 --max 4194304 --window 64 --buffer arena|plain --wait]
import { init, type Request } from '../runtime/index.js';
import { buffer, header, itersFor, parseOptions, row, sizes } from './osu-common.js';

const o = parseOptions(process.argv.slice(2));
const comm = await init();
if (comm.size < 2) throw new Error('osu-bw needs 2 ranks');
header('Bandwidth', comm, o, 'Bandwidth (MB/s)');
const sbuf = buffer(comm, o, o.max);
const rbuf = buffer(comm, o, o.max);
const ack = buffer(comm, o, 4);

async function complete(reqs: Request[]): Promise<void> {
  if (o.sync === 'wait') for (const r of reqs) r.wait();
  else await comm.waitall(reqs);
}

for (const size of sizes(o)) {
  let { iters, skip } = itersFor(o, size);
  if (size > 8192) iters = Math.max(10, Math.min(iters, Math.floor((256 << 20) / (size * o.window)) * 4 || 10));
  const s = sbuf.subarray(0, size);
  const r = rbuf.subarray(0, size);
  await comm.barrier();
  let t0 = 0;
  const reqs: Request[] = new Array(o.window);
  if (comm.rank === 0) {
    for (let i = 0; i < iters + skip; i++) {
      if (i === skip) t0 = performance.now();
      for (let w = 0; w < o.window; w++) reqs[w] = comm.isend(s, 1, 100);
      await complete(reqs);
      await complete([comm.irecv(ack, 1, 101)]);
    }
    const seconds = (performance.now() - t0) / 1000;
    row(size, (size * o.window * iters) / seconds / 1e6);
  } else if (comm.rank === 1) {
    for (let i = 0; i < iters + skip; i++) {
      for (let w = 0; w < o.window; w++) reqs[w] = comm.irecv(r, 0, 100);
      await complete(reqs);
      await complete([comm.isend(ack, 0, 101)]);
    }
  }
}
if (process.env.ZCMPI_BENCH_STATS) {
  const { addon } = await import('../runtime/native.js');
  console.error(`rank ${comm.rank} guard stats ${JSON.stringify(addon().guardStats())}`);
}
await comm.finalize();
