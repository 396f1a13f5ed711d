// Where do the slow round trips of a user-style ping-pong come from? Every round trip and
// every call (send, recv) of both ranks is timed from the first message; each rank prints a
// histogram of its round trips and calls, and its slowest ones with their trip number, so
// a stall can be pinned on a rank and a call. Optionally each rank writes a CPU profile
// (node:inspector; zcmpirun passes no Node flags) covering the measured trips.
//   zcmpirun -np 2 bench/pingpong-trips.ts [--size 8] [--trips 2100] [--buffer alloc|plain]
//       [--profile DIR] [--json]
// Prints, per rank: the median and mean one-way latency of trips 1-100 and 101-end, the
// histogram of one-way latencies, the 12 slowest trips with the slow call's name.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { init } from '../runtime/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const size = Number(opt('--size', '8'));
const trips = Number(opt('--trips', '2100'));
const buffer = opt('--buffer', 'alloc');
const profileDir = opt('--profile', '');
const json = args.includes('--json');

if (args.includes('--trace')) (await import('node:v8')).setFlagsFromString('--trace-gc --trace-opt --trace-deopt');
// V8 flags for an experiment (zcmpirun passes no Node flags): BENCH_V8_FLAGS='--no-opt ...'
if (process.env.BENCH_V8_FLAGS) (await import('node:v8')).setFlagsFromString(process.env.BENCH_V8_FLAGS);
const comm = await init();
if (comm.size !== 2) throw new Error('pingpong-trips needs exactly 2 ranks');
const peer = 1 - comm.rank;
const s = buffer === 'plain' ? new Uint8Array(size) : comm.alloc(Uint8Array, size);
const r = buffer === 'plain' ? new Uint8Array(size) : comm.alloc(Uint8Array, size);

let session: Session | undefined;
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => session!.post(method, params ?? {}, (e, v) => (e ? reject(e) : resolve(v))));
if (profileDir) {
  session = new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
}

// t[i]: one-way latency of trip i (half the round trip); c0/c1: the first and second call's time.
const t = new Float64Array(trips);
const at = new Float64Array(trips);
const c0 = new Float64Array(trips);
const c1 = new Float64Array(trips);
// Per thread: voluntary and involuntary context switches, and CPU time (ns, schedstat).
const threadSwitches = (): Map<string, [number, number, number]> => {
  const m = new Map<string, [number, number, number]>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const st = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const name = /Name:\s*(.*)/.exec(st)![1];
      const v = Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(st)![1]);
      const n = Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(st)![1]);
      const cpu = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      m.set(`${tid}:${name}`, [v, n, cpu]);
    } catch { /* thread ended */ }
  }
  return m;
};
await comm.barrier();
const switchesBefore = threadSwitches();
let prev = performance.now();
for (let i = 0; i < trips; i++) {
  const a = performance.now();
  if (comm.rank === 0) await comm.send(s, peer, 1);
  else await comm.recv(r, peer, 1);
  const b = performance.now();
  if (comm.rank === 0) await comm.recv(r, peer, 1);
  else await comm.send(s, peer, 1);
  const now = performance.now();
  c0[i] = (b - a) * 1000;
  c1[i] = (now - b) * 1000;
  t[i] = ((now - prev) * 1000) / 2;
  at[i] = Number(process.hrtime.bigint()) / 1e6;
  prev = now;
}

const switchesAfter = threadSwitches();
const switched: string[] = [];
// CPU time of every thread but the JavaScript one during the trips: V8's compiler and
// garbage collector helpers, UCX's and zcmpi's progress threads.
let helperCpuMs = 0;
const mainTid = String(process.pid);
for (const [k, [v, n, cpu]] of switchesAfter) {
  const [v0, n0, cpu0] = switchesBefore.get(k) ?? [0, 0, 0];
  if (v - v0 + n - n0 > 0) switched.push(`${k} vol ${v - v0} invol ${n - n0} cpu ${((cpu - cpu0) / 1e6).toFixed(2)}ms`);
  if (!k.startsWith(`${mainTid}:`)) helperCpuMs += (cpu - cpu0) / 1e6;
}
if (session) {
  const { profile } = (await post('Profiler.stop')) as { profile: object };
  writeFileSync(`${profileDir}/rank${comm.rank}.cpuprofile`, JSON.stringify(profile));
  session.disconnect();
}

const median = (a: Float64Array): number => {
  const x = Float64Array.from(a).sort();
  return x.length % 2 ? x[(x.length - 1) / 2] : (x[x.length / 2 - 1] + x[x.length / 2]) / 2;
};
const mean = (a: Float64Array): number => a.reduce((x, y) => x + y, 0) / a.length;
const EDGES = [2, 5, 10, 20, 50, 100, 1000, 10_000, Infinity];
const histogram = (a: Float64Array): number[] => {
  const h = EDGES.map(() => 0);
  for (const v of a) h[EDGES.findIndex(e => v < e)]++;
  return h;
};
const names = comm.rank === 0 ? ['send', 'recv'] : ['recv', 'send'];
const slow = Array.from(t.keys()).sort((x, y) => t[y] - t[x]).slice(0, 12)
  .map(i => `#${i + 1}@${at[i].toFixed(3)}ms ${t[i].toFixed(0)}us (${names[0]} ${c0[i].toFixed(0)}, ${names[1]} ${c1[i].toFixed(0)})`);
const early = Array.from({ length: Math.min(30, trips) }, (_, i) => `${i + 1}:${c0[i].toFixed(0)}/${c1[i].toFixed(0)}`);
if (args.includes('--early')) console.log(`rank ${comm.rank} first trips (${names[0]}/${names[1]} us): ${early.join(' ')}`);
const first = t.subarray(0, 100);
const rest = t.subarray(100);
const result = {
  rank: comm.rank, size, buffer, trips,
  first100: { median: median(first), mean: mean(first) },
  after100: { median: median(rest), mean: mean(rest) },
  histogramEdgesUs: EDGES.slice(0, -1),
  tripHistogram: histogram(rest),
  slowest: slow,
  contextSwitches: switched,
  helperCpuMs,
};
if (json) console.log(JSON.stringify(result));
else {
  const h = result.tripHistogram.map((n, k) => `${k === 0 ? '<' : ''}${k < EDGES.length - 1 ? EDGES[k] : '>=' + EDGES[k - 1]}:${n}`).join(' ');
  console.log(`rank ${comm.rank} ${size} B ${buffer}: one-way us, trips 1-100 median ${result.first100.median.toFixed(2)} mean ${result.first100.mean.toFixed(2)}; ` +
    `trips 101-${trips} median ${result.after100.median.toFixed(2)} mean ${result.after100.mean.toFixed(2)}\n` +
    `rank ${comm.rank} histogram of trips 101-${trips} (one-way us, upper edges): ${h}\n` +
    `rank ${comm.rank} slowest: ${slow.join('; ')}\n` +
    `rank ${comm.rank} context switches during the trips: ${switched.join('; ')}\n` +
    `rank ${comm.rank} CPU of threads other than the JavaScript one during the trips: ${helperCpuMs.toFixed(2)} ms`);
}
await comm.finalize();
