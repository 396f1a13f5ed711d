// Buffers touched right after isend/irecv, without waiting: with the guard on, writes to
// send buffers and reads of receive buffers wait for their transfers, and every byte is right.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('registered buffers rewritten and read at once (guard block)', async t => {
  allOk(t, await runRanks('touch-early.ts', ['arena', '32', String(1 << 20)], { guard: 'block' }), 2);
});

t.test('plain buffers rewritten and read at once (guard block)', async t => {
  allOk(t, await runRanks('touch-early.ts', ['plain', '16', String(1 << 20)], { guard: 'block' }), 2);
});
