// Where the window benchmark's time goes over a job's life (bench/first-messages.ts runs all
// sizes in one process, 8 B first): per size, in the order given, each rank's per-window
// times (64 isend/irecv + waitall + 1-byte ack) as median / mean / the sum of the windows
// slower than 4x the median, and the garbage collections that ran during the size.
// --each prints each size's lines as the size ends (between the compiles a trace shows).
// The window loop below is bench/first-messages-rank.ts's window loop, copied on purpose: a
// shared function would change what V8 inlines and compiles, which is what this tool times.
//   zcmpirun -np 2 bench/window-timeline.ts [--sizes 8,16,32,...] [--windows 220] [--skip 20] [--each]
import { PerformanceObserver } from 'node:perf_hooks';
import { init, type Request } from '../runtime/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const sizes = opt('--sizes', '8,16,32,64,128,256,512,1024,2048,4096').split(',').map(Number);
const windows = Number(opt('--windows', '220'));
const skip = Number(opt('--skip', '20'));
const each = args.includes('--each');
const W = 64;

const comm = await init();
if (comm.size !== 2) throw new Error('window-timeline needs exactly 2 ranks');
const peer = 1 - comm.rank;
const buf = comm.alloc(Uint8Array, Math.max(...sizes));
const ack = comm.alloc(Uint8Array, 1);
let gcCount = 0;
let gcMs = 0;
const gc = new PerformanceObserver(list => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
});
gc.observe({ entryTypes: ['gc'] });
const t = new Float64Array(windows);
const lines: string[] = [];
await comm.barrier();
for (const n of sizes) {
  const b = buf.subarray(0, n);
  const gc0 = gcCount;
  const gcMs0 = gcMs;
  const start = performance.now();
  let t0 = 0;
  for (let i = 0; i < windows; i++) {
    const a = performance.now();
    if (i === skip) t0 = a;
    const reqs: Request[] = [];
    if (comm.rank === 0) {
      for (let w = 0; w < W; w++) reqs.push(comm.isend(b, peer, 100));
      await comm.waitall(reqs);
      await comm.recv(ack, peer, 101);
    } else {
      for (let w = 0; w < W; w++) reqs.push(comm.irecv(b, peer, 100));
      await comm.waitall(reqs);
      await comm.send(ack, peer, 101);
    }
    t[i] = (performance.now() - a) * 1000;
  }
  const end = performance.now();
  const m = t.subarray(skip);
  const sorted = Float64Array.from(m).sort();
  const med = sorted[sorted.length >> 1];
  let slow = 0;
  let slowN = 0;
  for (const x of m) if (x > 4 * med) { slow += x; slowN++; }
  const mean = m.reduce((p, q) => p + q, 0) / m.length;
  const warm = t.subarray(0, skip).reduce((p, q) => p + q, 0);
  const line = (`rank ${comm.rank} ${String(n).padStart(5)} B: ${((n * W * (windows - skip)) / ((end - t0) / 1000) / 1e6).toFixed(1)} MB/s; ` +
    `window median ${med.toFixed(1)} mean ${mean.toFixed(1)} us; ${slowN} slow windows ${(slow / 1000).toFixed(2)} ms; ` +
    `first ${skip} ${(warm / 1000).toFixed(2)} ms; gc ${gcCount - gc0} ${(gcMs - gcMs0).toFixed(2)} ms; total ${(end - start).toFixed(1)} ms`);
  if (each) console.log(line);
  else lines.push(line);
}
gc.disconnect();
console.log(lines.join('\n'));
await comm.finalize();
