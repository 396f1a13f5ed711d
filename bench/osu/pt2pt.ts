// The point-to-point benchmarks, as OSU 7.4's osu_latency, osu_bw and osu_bibw measure:
//   latency: ping-pong of blocking send/recv; one-way latency = round trip / 2, each round
//            trip timed on rank 0 and summed over the measured iterations.
//   bw:      rank 0 posts WINDOW isends of one buffer, rank 1 WINDOW irecvs into one
//            buffer, both wait for all, rank 1 answers with a 1-byte message; rank 0 times
//            each window. MB/s = size / 1e6 * iterations * window / seconds.
//   bibw:    both ranks post WINDOW irecvs then WINDOW isends and wait for all; rank 0
//            times each window and counts both directions (x2).

import type { Request } from '../../runtime/index.js';
import type { Context, Elements, Size } from './context.js';

const DATA_TAG = 1;
const WINDOW_TAG = 100;
const ACK_TAG = 101;

type Measure = (size: Size, iterations: number, skip: number) => Promise<number>;

export async function runPointToPoint(ctx: Context): Promise<void> {
  const { comm, o } = ctx;
  const sizes = ctx.sizes();
  const maxElements = Math.max(1, ...sizes.map(s => s.elements));
  const sbuf = ctx.buffer(maxElements, 1);
  const rbuf = ctx.buffer(maxElements, 0);
  const ack = ctx.buffer(1, 0);
  const active = comm.rank < 2;
  const view = (b: Elements, s: Size) => b.subarray(0, s.elements);

  // Returns rank 0's measured seconds.
  const latency: Measure = async (s, iterations, skip) => {
    const out = view(sbuf, s), into = view(rbuf, s);
    let total = 0;
    for (let i = 0; i < iterations + skip; i++) {
      if (comm.rank === 0) {
        const t0 = performance.now();
        await comm.send(out, 1, DATA_TAG);
        await comm.recv(into, 1, DATA_TAG);
        if (i >= skip) total += performance.now() - t0;
      } else {
        await comm.recv(into, 0, DATA_TAG);
        await comm.send(out, 0, DATA_TAG);
      }
    }
    return total / 1000;
  };

  const reqs: Request[] = new Array(o.window);
  const bw: Measure = async (s, iterations, skip) => {
    const out = view(sbuf, s), into = view(rbuf, s);
    let total = 0;
    for (let i = 0; i < iterations + skip; i++) {
      if (comm.rank === 0) {
        const t0 = performance.now();
        for (let w = 0; w < o.window; w++) reqs[w] = comm.isend(out, 1, WINDOW_TAG);
        await comm.waitall(reqs);
        await comm.recv(ack, 1, ACK_TAG);
        if (i >= skip) total += performance.now() - t0;
      } else {
        for (let w = 0; w < o.window; w++) reqs[w] = comm.irecv(into, 0, WINDOW_TAG);
        await comm.waitall(reqs);
        await comm.send(ack, 0, ACK_TAG);
      }
    }
    return total / 1000;
  };

  const sends: Request[] = new Array(o.window);
  const recvs: Request[] = new Array(o.window);
  const bibw: Measure = async (s, iterations, skip) => {
    const out = view(sbuf, s), into = view(rbuf, s);
    const peer = 1 - comm.rank;
    let total = 0;
    for (let i = 0; i < iterations + skip; i++) {
      const t0 = performance.now();
      for (let w = 0; w < o.window; w++) recvs[w] = comm.irecv(into, peer, WINDOW_TAG);
      for (let w = 0; w < o.window; w++) sends[w] = comm.isend(out, peer, WINDOW_TAG);
      if (comm.rank === 0) {
        await comm.waitall(sends);
        await comm.waitall(recvs);
      } else {
        await comm.waitall(recvs);
        await comm.waitall(sends);
      }
      if (i >= skip) total += performance.now() - t0;
    }
    return total / 1000;
  };

  const measure = { latency, bw, bibw }[o.test.name as 'latency' | 'bw' | 'bibw'];
  if (o.jitWarmup > 0 && sizes.length > 0) {
    await comm.barrier();
    if (active) await measure(sizes[0], o.jitWarmup, 0);
  }
  ctx.printer.header();
  for (const [index, s] of sizes.entries()) {
    await comm.barrier();
    if (active) {
      const seconds = await measure(s, s.iterations, s.skip);
      if (o.test.name === 'latency') {
        const us = (seconds * 1e6) / (2 * s.iterations);
        ctx.printer.latency({ size: s.bytes, avg: us, min: us, max: us, iterations: s.iterations, skip: s.skip });
      } else {
        const directions = o.test.name === 'bibw' ? 2 : 1;
        const mbps = (s.bytes / 1e6) * s.iterations * o.window * directions / seconds;
        ctx.printer.bandwidth({ size: s.bytes, bandwidth: mbps, iterations: s.iterations, skip: s.skip, window: o.window });
      }
    }
    ctx.done(s, index, sizes.length);
  }
}
