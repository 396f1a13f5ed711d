#!/usr/bin/env node
// npm run demo: runs examples/stream.ts on 2 local ranks, guarded and then unguarded,
// and prints how many bytes each run read wrong.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const cli = join(root, 'dist', 'launcher', 'cli.js');
const messages = process.argv[2] ?? '64';
const mib = process.argv[3] ?? '4';

function run(guard) {
  const r = spawnSync(process.execPath, [cli, '-np', '2', '--guard', guard, join(root, 'examples', 'stream.ts'), messages, mib],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = (r.stdout ?? '').split('\n').find(l => l.startsWith('ZCMPI_DEMO '));
  if (r.status !== 0 || !line) {
    process.stdout.write(r.stdout ?? '');
    console.error(`demo: the ${guard} run failed (exit status ${r.status})`);
    process.exit(1);
  }
  return JSON.parse(line.slice('ZCMPI_DEMO '.length));
}

console.log(`zcmpi demo: 2 ranks, ${messages} messages of ${mib} MiB; send buffers rewritten right after isend,`);
console.log('receive buffers read right after irecv, no waits before touching them\n');
const guarded = run('block');
const unguarded = run('off');
const pct = r => ((100 * r.corruptedBytes) / r.bytes).toFixed(1);
console.log('run        guard   bytes read    bytes wrong   time');
for (const [name, r] of [['guarded', guarded], ['unguarded', unguarded]]) {
  console.log(`${name.padEnd(10)} ${r.guard.padEnd(7)} ${String(r.bytes).padEnd(13)} ${String(r.corruptedBytes).padEnd(13)} ${r.seconds.toFixed(2)} s`);
}
console.log('');
console.log(`guarded: ${guarded.corruptedBytes} bytes corrupted of ${guarded.bytes}`);
console.log(`unguarded: ${pct(unguarded)}% corrupted`);
process.exit(guarded.corruptedBytes === 0 ? 0 : 1);
