// Node's Buffer methods and TextDecoder run native code on the JS thread. On a send
// buffer in flight the reading ones (toString, compare, equals, indexOf, TextDecoder)
// proceed at once; the writing ones (fill, write, copy into it) wait for completion.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

const text = 'zero-copy send buffer; '.repeat(400);  // ~9 KiB of ASCII, spans three pages

function buffers() {
  return memories().map(m => {
    const bytes = m.at(96, 9200).bytes;
    return { kind: m.kind, buf: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  });
}

t.test('reading Buffer methods on a send buffer in flight proceed without waiting', async t => {
  for (const { kind, buf } of buffers()) {
    buf.fill(0);
    buf.write(text, 'latin1');
    const copy = Buffer.from(buf);
    const before = stats();
    const id = addon.guardAcquire(buf, 'out');
    addon.guardReleaseAfter(id, SAFETY_MS);
    const [results, ms] = timed(() => ({
      str: buf.toString('latin1', 0, text.length),
      cmp: Buffer.compare(buf, copy),
      eq: buf.equals(copy),
      idx: buf.indexOf('buffer; zero', 0, 'latin1'),
      dec: new TextDecoder().decode(buf.subarray(0, text.length)),
      hex: buf.toString('hex', 0, 4),
    }));
    t.equal(results.str, text, `${kind}: toString`);
    t.equal(results.cmp, 0, `${kind}: Buffer.compare`);
    t.ok(results.eq, `${kind}: equals`);
    t.equal(results.idx, text.indexOf('buffer; zero'), `${kind}: indexOf`);
    t.equal(results.dec, text, `${kind}: TextDecoder.decode`);
    t.equal(results.hex, Buffer.from(text.slice(0, 4)).toString('hex'), `${kind}: toString('hex')`);
    t.ok(ms < FAST_MS && addon.guardIsActive(id), `${kind}: all while the send was in flight (${ms.toFixed(1)} ms)`);
    t.equal(delta(before).faultsWaited, 0, `${kind}: nothing waited`);
    t.ok(await released(id));
  }
});

t.test('writing Buffer methods on a send buffer in flight wait for completion, then land', async t => {
  const cases: [string, (b: Buffer) => void, (b: Buffer) => boolean][] = [
    ['fill', b => { b.fill(0x61); }, b => b.every(x => x === 0x61)],
    ['write', b => { b.write('hello', 100, 'latin1'); }, b => b.toString('latin1', 100, 105) === 'hello'],
    ['copy into', b => { Buffer.alloc(64, 0x7a).copy(b, 4000); }, b => b.subarray(4000, 4064).every(x => x === 0x7a)],
    ['writeDoubleLE', b => { b.writeDoubleLE(Math.PI, 8); }, b => b.readDoubleLE(8) === Math.PI],
  ];
  for (const [name, act, check] of cases) {
    for (const { kind, buf } of buffers()) {
      buf.fill(1);
      const before = stats();
      const id = addon.guardAcquire(buf, 'out');
      addon.guardReleaseAfter(id, DELAY_MS);
      const [, ms] = timed(() => act(buf));
      t.ok(ms >= DELAY_MS * 0.8 && !addon.guardIsActive(id), `${kind}: buf.${name} waited for the release (${ms.toFixed(0)} ms)`);
      t.ok(check(buf), `${kind}: buf.${name} landed`);
      t.equal(delta(before).faultsWaited, 1, `${kind}: buf.${name}: one wait`);
    }
  }
});
