// Where a non-blocking allreduce's time goes, thread by thread, and the bound on overlap it
// gives (docs/benchmarks.md, notes). Three loops, OSU's shape (a barrier before every timed
// call, not timed):
//   blocking  `await comm.allreduce` (the blocking collective's wall time),
//   pure      iallreduce then wait at once (OSU's "Pure Comm."),
//   overlap   iallreduce, OSU's 25x25 kernel for as long as `pure` took on average, then wait;
// blocking and pure alternate iteration by iteration. Around every timed call it reads each
// thread's /proc/self/task/<tid>/schedstat (CPU time, time runnable but waiting for a CPU,
// slices) and prints, per iteration and by thread: CPU time, run-queue wait, slices. The
// collective's own CPU work W is what the native threads (the progress thread) spend in the
// overlap loop plus the computing thread's CPU inside the post; with one CPU per rank that
// work competes with the compute, so the compute the program really gets back is at most
// 1 - W / (blocking allreduce wall time). It also prints OSU's overlap figure of the loop
// (means, as OSU; medians beside) and how much CPU the computing thread got while OSU's
// formula counts it as computing (wall time, as OSU's do_compute_cpu measures it).
//   zcmpirun -np 2 bench/coll-overlap-cpu.ts [bytes] [iterations] [warmup]
import { readdirSync, readFileSync } from 'node:fs';
import { init } from '../runtime/index.js';

// Threads that exist before init() are Node's (named by Node or 'node'); the ones init() and
// the first collective start are zcmpi's and UCX's (unnamed: 'node' too), told apart here.
const nodeTids = new Set(readdirSync('/proc/self/task'));
const comm = await init();
const bytes = Number(process.argv[2] ?? 1 << 20);
const iters = Number(process.argv[3] ?? 100);
const warm = Number(process.argv[4] ?? 300);
const n = bytes / 8;
const s = comm.alloc(Float64Array, n), r = comm.alloc(Float64Array, n);
s.fill(1);

const DIM = 25;
const ka = new Float32Array(DIM * DIM).fill(1), kx = new Float32Array(DIM), ky = new Float32Array(DIM).fill(1);
function kernel(): void {
  for (let i = 0; i < DIM; i++) for (let j = 0; j < DIM; j++) kx[i] = kx[i] + ka[i * DIM + j] * ka[j * DIM + i] + ky[j];
}
/** OSU's do_compute_cpu: the kernel until `ms` have been spent in it (wall time). */
function compute(ms: number): void {
  let elapsed = 0;
  while (elapsed < ms) {
    const t1 = performance.now();
    kernel();
    elapsed += performance.now() - t1;
  }
}

interface Sample { cpu: number; wait: number; slices: number }
type Snap = Map<string, Sample>; // key: thread name + tid
const ownTid = String(process.pid);
function snap(): Snap {
  const m: Snap = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [cpu, wait, slices] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      const own = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const name = tid === ownTid ? 'js-main' : nodeTids.has(tid) ? `node:${own}` : `native:${tid}`;
      m.set(`${name}#${tid}`, { cpu, wait, slices });
    } catch { /* the thread ended */ }
  }
  return m;
}
interface Acc { wall: number; byName: Map<string, Sample> }
function add(acc: Acc, a: Snap, b: Snap, wallMs: number): void {
  acc.wall += wallMs;
  for (const [k, v] of b) {
    const u = a.get(k) ?? { cpu: 0, wait: 0, slices: 0 };
    const name = k.slice(0, k.lastIndexOf('#'));
    const t = acc.byName.get(name) ?? { cpu: 0, wait: 0, slices: 0 };
    t.cpu += v.cpu - u.cpu; t.wait += v.wait - u.wait; t.slices += v.slices - u.slices;
    acc.byName.set(name, t);
  }
}
const fresh = (): Acc => ({ wall: 0, byName: new Map() });

for (let i = 0; i < warm; i++) comm.iallreduce(s, r, 'sum').wait();
for (let i = 0; i < warm / 5; i++) await comm.allreduce(s, r, 'sum');
compute(1);

const blocking = fresh(), pure = fresh(), overlap = fresh();
const blockingMs: number[] = [], pureMsEach: number[] = [], initMs: number[] = [], waitMs: number[] = [];
let comp = 0, compCpu = 0, postCpu = 0, waitCpu = 0;
const selfCpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
// Blocking and pure alternate iteration by iteration so they see the same machine.
for (let i = 0; i < iters; i++) {
  await comm.barrier();
  let a = snap(), t0 = performance.now();
  await comm.allreduce(s, r, 'sum');
  let t1 = performance.now();
  add(blocking, a, snap(), t1 - t0);
  blockingMs.push(t1 - t0);
  await comm.barrier();
  a = snap(); t0 = performance.now();
  comm.iallreduce(s, r, 'sum').wait();
  t1 = performance.now();
  add(pure, a, snap(), t1 - t0);
  pureMsEach.push(t1 - t0);
}
const pureMs = pure.wall / iters;
for (let i = 0; i < iters; i++) {
  await comm.barrier();
  const a = snap(), c0 = selfCpuNs(), t0 = performance.now();
  const req = comm.iallreduce(s, r, 'sum');
  const t1 = performance.now();
  const c1 = selfCpuNs();
  compute(pureMs);
  const c2 = selfCpuNs();
  const t2 = performance.now();
  req.wait();
  const t3 = performance.now();
  const c3 = selfCpuNs();
  add(overlap, a, snap(), t3 - t0);
  compCpu += c2 - c1; postCpu += c1 - c0; waitCpu += c3 - c2;
  initMs.push(t1 - t0); waitMs.push(t3 - t2); comp += t2 - t1;
}

const us = (ns: number) => (ns / 1000 / iters).toFixed(0).padStart(6);
const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
const f0 = (ms: number) => (ms * 1000).toFixed(0);
const lines: string[] = [];
for (const [label, acc] of [['blocking', blocking], ['pure', pure], ['overlap', overlap]] as const) {
  lines.push(`rank ${comm.rank} ${label.padEnd(8)} wall ${((acc.wall * 1000) / iters).toFixed(0)} us/iter; per thread: cpu us, runqueue-wait us, slices`);
  const rows = [...acc.byName].filter(([, v]) => v.cpu > 1000 * iters || v.wait > 1000 * iters).sort((x, y) => y[1].cpu - x[1].cpu);
  for (const [name, v] of rows) lines.push(`    ${name.padEnd(16)} ${us(v.cpu)} ${us(v.wait)} ${(v.slices / iters).toFixed(1).padStart(6)}`);
}
// The collective's own CPU work in the overlap loop: zcmpi's and UCX's threads, plus the
// computing thread's CPU inside the post (its CPU in compute is the program's; in the wait
// it polls for what is left, time the program would wait anyway).
let nativeCpu = 0;
for (const [name, v] of overlap.byName) if (name.startsWith('native:')) nativeCpu += v.cpu;
const workMs = (nativeCpu + postCpu) / 1e6 / iters;
const blockMean = mean(blockingMs);
const osu = Math.max(0, 100 - ((mean(initMs) + mean(waitMs)) / pureMs) * 100);
const osuMedian = Math.max(0, 100 - ((median(initMs) + median(waitMs)) / median(pureMsEach)) * 100);
lines.push(`rank ${comm.rank} blocking allreduce ${f0(blockMean)} us mean (median ${f0(median(blockingMs))}); pure ${f0(pureMs)} us mean (median ${f0(median(pureMsEach))})`);
lines.push(`rank ${comm.rank} overlap loop: init ${f0(mean(initMs))} us, compute ${f0(comp / iters)} us, wait ${f0(mean(waitMs))} us (means; medians init ${f0(median(initMs))}, wait ${f0(median(waitMs))})`);
lines.push(`rank ${comm.rank} OSU-formula overlap: ${osu.toFixed(1)}% (from medians instead of means: ${osuMedian.toFixed(1)}%)`);
lines.push(`rank ${comm.rank} collective CPU work ${f0(workMs)} us/iter (native threads ${us(nativeCpu).trim()}, the post on the computing thread ${us(postCpu).trim()}; its wait ${us(waitCpu).trim()} more); bound 1 - work/blocking = ${((1 - workMs / blockMean) * 100).toFixed(1)}%`);
lines.push(`rank ${comm.rank} CPU the computing thread got during compute: ${(compCpu / 1000 / iters).toFixed(0)} us of ${f0(comp / iters)} us wall (${((compCpu / 1e6 / comp) * 100).toFixed(0)}%)`);
// One rank at a time, so the lines do not interleave.
for (let k = 0; k < comm.size; k++) {
  if (k === comm.rank) console.log(lines.join('\n'));
  await comm.barrier();
}
await comm.finalize();
