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
for (const size of sizes(o)) {
  const { iters, skip } = itersFor(o, size);
  const s = sbuf.subarray(0, size);
  const r = rbuf.subarray(0, size);
  await comm.barrier();
  let t0 = 0;
  if (comm.rank === 0) {
    for (let i = 0; i < iters + skip; i++) {
      if (i === skip) t0 = performance.now();
      if (o.sync === 'wait') {
        comm.isend(s, 1, 1).wait();
        comm.irecv(r, 1, 1).wait();
      } else {
        await comm.send(s, 1, 1);
        await comm.recv(r, 1, 1);
      }
    }
    const us = ((performance.now() - t0) * 1000) / (2 * iters);
    row(size, us);
  } else if (comm.rank === 1) {
    for (let i = 0; i < iters + skip; i++) {
      if (o.sync === 'wait') {
        comm.irecv(r, 0, 1).wait();
        comm.isend(s, 0, 1).wait();
      } else {
        await comm.recv(r, 0, 1);
        await comm.send(s, 0, 1);
      }
    }
  }
}
await comm.finalize();
