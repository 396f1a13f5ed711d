// Cost of the futex trap: `node --import tsx bench/futex-trap-cost.ts [reps]` builds
// bench/native/futex_trap_cost.cpp with the guard engine (g++) and runs it interleaved
// without the trap and with it; prints µs per round trip (two condition-variable waits)
// and the trapped calls. No warm-up beyond the program's own first round trips.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = (d: string) => readdirSync(join(root, d)).filter(f => f.endsWith('.cpp')).map(f => join(root, d, f));
const out = join(mkdtempSync(join(tmpdir(), 'zcmpi-bench-')), 'futex_trap_cost');
const b = spawnSync('g++', ['-std=c++17', '-O2', '-I', join(root, 'native'), ...src('native/guard'), ...src('native/memory'),
  join(root, 'bench/native/futex_trap_cost.cpp'), '-o', out, '-lpthread'], { encoding: 'utf8' });
if (b.status !== 0) { console.error(b.stderr); process.exit(1); }
const reps = Number(process.argv[2] ?? 3);
for (let i = 0; i < reps; i++) {
  for (const mode of ['plain', 'trap']) process.stdout.write(spawnSync(out, [mode], { encoding: 'utf8' }).stdout);
}
