// Where a window of small isend/irecv goes (the window bandwidth of bench/first-messages.ts):
// per window, the time to post the 64 requests, the waitall, and the 1-byte ack, on each
// rank, as medians and means over the windows (us), plus MB/s.
//   zcmpirun -np 2 bench/window-phases.ts [--size 8] [--windows 220] [--skip 20] [--buffer alloc|plain]
//       [--profile DIR]
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { init, type Request } from '../runtime/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const size = Number(opt('--size', '8'));
const windows = Number(opt('--windows', '220'));
const skip = Number(opt('--skip', '20'));
const plain = opt('--buffer', 'alloc') === 'plain';
const profileDir = opt('--profile', '');
const W = 64;

const comm = await init();
if (comm.size !== 2) throw new Error('window-phases needs exactly 2 ranks');
const peer = 1 - comm.rank;
const buf = plain ? new Uint8Array(size) : comm.alloc(Uint8Array, size);
const ack = plain ? new Uint8Array(1) : comm.alloc(Uint8Array, 1);
const post = new Float64Array(windows);
const wait = new Float64Array(windows);
const acked = new Float64Array(windows);
// --profile DIR: each rank writes DIR/rankN.cpuprofile of the windows (node:inspector;
// zcmpirun passes no Node flags).
let session: Session | undefined;
const inspect = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => session!.post(method, params ?? {}, (e, v) => (e ? reject(e) : resolve(v))));
if (profileDir) {
  session = new Session();
  session.connect();
  await inspect('Profiler.enable');
  await inspect('Profiler.setSamplingInterval', { interval: 100 });
  await inspect('Profiler.start');
}
await comm.barrier();
let t0 = 0;
for (let i = 0; i < windows; i++) {
  if (i === skip) t0 = performance.now();
  const a = performance.now();
  const reqs: Request[] = [];
  if (comm.rank === 0) for (let w = 0; w < W; w++) reqs.push(comm.isend(buf, peer, 100));
  else for (let w = 0; w < W; w++) reqs.push(comm.irecv(buf, peer, 100));
  const b = performance.now();
  await comm.waitall(reqs);
  const c = performance.now();
  if (comm.rank === 0) await comm.recv(ack, peer, 101);
  else await comm.send(ack, peer, 101);
  const d = performance.now();
  post[i] = (b - a) * 1000;
  wait[i] = (c - b) * 1000;
  acked[i] = (d - c) * 1000;
}
const sec = (performance.now() - t0) / 1000;
if (session) {
  const { profile } = (await inspect('Profiler.stop')) as { profile: object };
  writeFileSync(`${profileDir}/rank${comm.rank}.cpuprofile`, JSON.stringify(profile));
  session.disconnect();
}
const stat = (x: Float64Array): string => {
  const m = x.subarray(skip);
  const s = Float64Array.from(m).sort();
  const mean = m.reduce((p, q) => p + q, 0) / m.length;
  return `median ${s[s.length >> 1].toFixed(1)} mean ${mean.toFixed(1)} max ${s[s.length - 1].toFixed(0)}`;
};
console.log(`rank ${comm.rank} ${size} B ${plain ? 'plain' : 'alloc'}: ${((size * W * (windows - skip)) / sec / 1e6).toFixed(2)} MB/s; ` +
  `post ${stat(post)} | waitall ${stat(wait)} | ack ${stat(acked)} (us per window of ${W})`);
await comm.finalize();
