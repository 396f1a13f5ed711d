// Buffer methods and TextDecoder on a receive buffer in flight: every one waits for the
// device, then reads the received bytes or writes over them.
import t from 'tap';
import { addon, memories, timed, DELAY_MS } from './support/guard.js';

addon.guardInit('block');

function buffers() {
  return memories().map(m => {
    const bytes = m.at(96, 9200).bytes;
    return { kind: m.kind, buf: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  });
}

const received = 'Z'.charCodeAt(0);

t.test('reading Buffer methods on a receive buffer in flight wait and see the received data', async t => {
  const cases: [string, (b: Buffer) => unknown, (r: unknown, b: Buffer) => boolean][] = [
    ['toString', b => b.toString('latin1'), r => r === 'Z'.repeat(9200)],
    ['Buffer.compare', b => Buffer.compare(b, Buffer.alloc(9200, received)), r => r === 0],
    ['equals', b => b.equals(Buffer.alloc(9200, received)), r => r === true],
    ['indexOf', b => b.indexOf(0), r => r === -1],
    ['TextDecoder.decode', b => new TextDecoder().decode(b), r => r === 'Z'.repeat(9200)],
    ['readUInt32LE', b => b.readUInt32LE(9196), r => r === 0x5a5a5a5a],
    ['Buffer.from (copy out)', b => Buffer.from(b), r => (r as Buffer).every(x => x === received)],
  ];
  for (const [name, act, check] of cases) {
    for (const { kind, buf } of buffers()) {
      buf.fill(0);
      const id = addon.guardAcquire(buf, 'in');
      addon.deviceFillAndRelease(buf, received, id, DELAY_MS);
      const [r, ms] = timed(() => act(buf));
      t.ok(ms >= DELAY_MS * 0.8, `${kind}: ${name} waited (${ms.toFixed(0)} ms)`);
      t.ok(check(r, buf), `${kind}: ${name} saw the received bytes`);
    }
  }
});

t.test('writing Buffer methods on a receive buffer in flight wait, then land over the received data', async t => {
  for (const { kind, buf } of buffers()) {
    const id = addon.guardAcquire(buf, 'in');
    addon.deviceFillAndRelease(buf, received, id, DELAY_MS);
    const [, ms] = timed(() => buf.fill(0x2e, 10, 20));
    t.ok(ms >= DELAY_MS * 0.8, `${kind}: fill waited (${ms.toFixed(0)} ms)`);
    t.equal(buf.toString('latin1', 0, 24), 'ZZZZZZZZZZ..........ZZZZ', `${kind}: the program's fill sits on top of the received data`);
  }
});
