// Where a small collective's time goes at more ranks than CPUs, thread by thread
// (docs/benchmarks.md, notes): N calls of one collective in OSU's loop (a barrier after each
// call except for barrier itself), and around the whole loop every thread's CPU time,
// run-queue wait (runnable, not running), slices and context switches (voluntary: it slept
// or yielded; involuntary: preempted), per call. Every rank prints its lines, in rank order.
//   zcmpirun -np 4 bench/coll-small-sched.ts [barrier|bcast|allreduce|allgather|alltoall] [bytes] [iterations] [warmup]
import { readdirSync, readFileSync } from 'node:fs';
import { init } from '../runtime/index.js';

const nodeTids = new Set(readdirSync('/proc/self/task'));
const comm = await init();
const test = process.argv[2] ?? 'barrier';
const bytes = Number(process.argv[3] ?? 8);
const iters = Number(process.argv[4] ?? 2000);
const warm = Number(process.argv[5] ?? 500);
const p = comm.size;
const s = comm.alloc(Uint8Array, bytes * p), r = comm.alloc(Uint8Array, bytes * p);
const one = s.subarray(0, bytes), oneR = r.subarray(0, bytes);
const f = comm.alloc(Float32Array, Math.max(1, bytes / 4)), g = comm.alloc(Float32Array, Math.max(1, bytes / 4));

const call: () => Promise<unknown> = {
  barrier: () => comm.barrier(),
  bcast: () => comm.bcast(one, 0),
  allreduce: () => comm.allreduce(f, g, 'sum'),
  allgather: () => comm.allgather(one, r),
  alltoall: () => comm.alltoall(s, r),
}[test] ?? (() => { throw new Error(`unknown test ${test}`); });

interface Sample { cpu: number; wait: number; slices: number; vol: number; invol: number }
const ownTid = String(process.pid);
function snap(): Map<string, Sample> {
  const m = new Map<string, Sample>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [cpu, wait, slices] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      const st = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
      const invol = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
      const own = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const name = tid === ownTid ? 'js' : nodeTids.has(tid) ? `node:${own}` : `native:${tid}`;
      m.set(name, { cpu, wait, slices, vol, invol });
    } catch { /* the thread ended */ }
  }
  return m;
}

async function loop(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await call();
    if (test !== 'barrier') await comm.barrier();
  }
}
await loop(warm);
await comm.barrier();
const a = snap();
const t0 = performance.now();
await loop(iters);
const wall = (performance.now() - t0) * 1000 / iters;
const b = snap();
const parts: string[] = [`rank ${comm.rank}: ${test} ${bytes} B, ${wall.toFixed(1)} us per iteration (call${test === 'barrier' ? '' : ' + barrier'}); per iteration:`];
for (const [k, v] of b) {
  const u = a.get(k);
  if (!u) continue;
  const d = (x: number, y: number) => (x - y) / iters;
  const cpu = d(v.cpu, u.cpu) / 1000, wait = d(v.wait, u.wait) / 1000;
  if (cpu < 0.5 && wait < 0.5) continue;
  parts.push(`  ${k.padEnd(16)} cpu ${cpu.toFixed(1).padStart(7)} us  runq ${wait.toFixed(1).padStart(7)} us  slices ${d(v.slices, u.slices).toFixed(2).padStart(6)}  vol ${d(v.vol, u.vol).toFixed(2).padStart(6)}  invol ${d(v.invol, u.invol).toFixed(2).padStart(6)}`);
}
for (let k = 0; k < p; k++) {
  if (k === comm.rank) console.log(parts.join('\n'));
  await comm.barrier();
  await new Promise(res => setTimeout(res, 50));
}
