// Thread-pool I/O from a send buffer in flight: fs.write (async, on a libuv worker)
// hands the buffer to write(2); read-only pages are readable, so it succeeds at once and
// writes exactly the buffer's bytes.
import t from 'tap';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addon, memories, stats, delta, released, SAFETY_MS } from './support/guard.js';

addon.guardInit('block');
if (addon.prepareThreadPool) await Promise.all(addon.prepareThreadPool(4));

const dir = mkdtempSync(join(tmpdir(), 'zc-guard-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fsWrite = promisify(fs.write);

t.test('async fs.write from a send buffer in flight completes without waiting, bytes intact', async t => {
  for (const [k, m] of memories().entries()) {
    const tg = m.at(96, 3 * 4096);
    for (let i = 0; i < tg.bytes.length; i++) tg.bytes[i] = (i * 31) & 255;
    const expected = Buffer.from(tg.bytes);
    const file = join(dir, `out${k}`);
    const fd = openSync(file, 'w');
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'out');
    addon.guardReleaseAfter(id, SAFETY_MS);
    const t0 = performance.now();
    const { bytesWritten } = await fsWrite(fd, tg.bytes, 0, tg.bytes.length, 0) as unknown as { bytesWritten: number };
    const ms = performance.now() - t0;
    closeSync(fd);
    t.equal(bytesWritten, tg.bytes.length, `${m.kind}: every byte written`);
    t.ok(addon.guardIsActive(id), `${m.kind}: while the send was still in flight (${ms.toFixed(1)} ms)`);
    t.ok(readFileSync(file).equals(expected), `${m.kind}: the file holds the buffer's bytes`);
    t.equal(delta(before).faultsWaited, 0, `${m.kind}: nothing waited`);
    t.ok(await released(id));
  }
});
