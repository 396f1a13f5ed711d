// bench/osu.ts speaks OSU Micro-Benchmarks 7.4's language: every benchmark's output parses
// as OSU's (title line, datatype line, fixed-width columns, two decimals, OSU's power-of-two
// sizes), --json gives one object per size, bad arguments fail once with a clear message,
// and the suite ships in the npm package. Tiny -m/-i so the whole file stays cheap.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { messageSizes, TESTS, type TestName } from '../bench/osu/catalog.js';
import { parseOsuOutput } from '../bench/osu/parse-output.js';
import { Communicator } from '../runtime/index.js';
import { root, runCli, type CliResult } from './fixtures/launcher/helpers.js';

const osu = join(root, 'bench/osu.ts');
const env = { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n' };
const run = (np: number, args: string[]): Promise<CliResult> =>
  runCli(['-np', String(np), '--timeout', '120', osu, ...args], { env });

const pow2 = (min: number, max: number) => messageSizes(min, max);
const ok = (t: Test, r: CliResult) => t.equal(r.code, 0, `exit status 0\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);

const small = ['-i', '3', '-x', '1', '--jit-warmup', '5'];
// Each run starts a job (a second or more on a busy machine); tap's 30 s default is too short.
const slow = { timeout: 300_000 };
t.setTimeout(900_000); // the file as a whole, too

t.test('the defaults are OSU 7.4\'s: sizes, iterations and warm-ups', async t => {
  t.same(pow2(TESTS.latency.minSize, TESTS.latency.maxSize), [0, ...pow2(1, 4 << 20)], 'latency: 0, 1, 2, 4 .. 4 MiB');
  t.same([TESTS.bw.minSize, TESTS.bw.maxSize], [1, 4 << 20], 'bw: 1 .. 4 MiB');
  for (const name of ['bcast', 'reduce', 'allreduce', 'gather', 'allgather', 'alltoall', 'reduce_scatter', 'iallreduce'] as TestName[]) {
    t.same([TESTS[name].minSize, TESTS[name].maxSize], [1, 1 << 20], `${name}: 1 .. 1 MiB`);
    t.same(TESTS[name].counts, { iterations: 1000, skip: 100, iterationsLarge: 100, skipLarge: 10 }, `${name}: 1000/100, 100/10 above 8 KiB`);
  }
  t.same(TESTS.latency.counts, { iterations: 10000, skip: 100, iterationsLarge: 1000, skipLarge: 10 });
  t.same(TESTS.bw.counts, { iterations: 100, skip: 10, iterationsLarge: 20, skipLarge: 2 });
});

t.test('latency: OSU table, sizes 1..64 (0 has no element, as in OSU 7.4)', slow, async t => {
  const r = await run(2, ['latency', '-m', '0:64', ...small]);
  ok(t, r);
  const table = parseOsuOutput(r.stdout);
  t.equal(table.title, 'OSU MPI Latency Test');
  t.equal(table.version, '7.4');
  t.equal(table.datatype, 'MPI_CHAR');
  t.same(table.columns, ['Size', 'Avg Latency(us)']);
  t.same(table.rows.map(row => row.Size), pow2(1, 64));
  for (const row of table.rows) t.ok(row['Avg Latency(us)'] > 0, `latency of ${row.Size} B is positive`);
  t.match(r.stdout, /^\n# OSU MPI Latency Test v7\.4\n# Datatype: MPI_CHAR\.\n# Size {9}Avg Latency\(us\)\n1 {20,}\d+\.\d\d\n/, 'byte for byte OSU\'s preamble and first row');
});

for (const name of ['bw', 'bibw'] as const) {
  t.test(`${name}: OSU table in MB/s, -W window`, slow, async t => {
    const r = await run(2, [name, '-m', '1:1024', '-W', '4', ...small]);
    ok(t, r);
    const table = parseOsuOutput(r.stdout);
    t.equal(table.title, `OSU MPI ${name === 'bw' ? 'Bandwidth' : 'Bi-Directional Bandwidth'} Test`);
    t.same(table.columns, ['Size', 'Bandwidth (MB/s)']);
    t.same(table.rows.map(row => row.Size), pow2(1, 1024));
    for (const row of table.rows) t.ok(row['Bandwidth (MB/s)'] >= 0, `${row.Size} B: a bandwidth`);
    t.ok(table.rows[table.rows.length - 1]['Bandwidth (MB/s)'] > 0, 'data moved');
  });
}

t.test('barrier with -f: one row of avg, min, max and iterations across 3 ranks', slow, async t => {
  const r = await run(3, ['barrier', '-f', ...small]);
  ok(t, r);
  const table = parseOsuOutput(r.stdout);
  t.equal(table.title, 'OSU MPI Barrier Latency Test');
  t.equal(table.datatype, undefined, 'no datatype line');
  t.same(table.columns, ['Avg Latency(us)', 'Min Latency(us)', 'Max Latency(us)', 'Iterations']);
  t.equal(table.rows.length, 1);
  const [row] = table.rows;
  t.equal(row.Iterations, 3);
  t.ok(row['Min Latency(us)'] <= row['Avg Latency(us)'] && row['Avg Latency(us)'] <= row['Max Latency(us)'], 'min <= avg <= max');
});

t.test('--json: one object per size with the figures and how they were measured', slow, async t => {
  const r = await run(2, ['latency', '-m', '8:32', '--json', ...small]);
  ok(t, r);
  const objs = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
  t.same(objs.map(o => o.size), [8, 16, 32]);
  for (const o of objs) {
    t.match(o, { benchmark: 'latency', title: 'OSU MPI Latency Test v7.4', system: 'zcmpi', ranks: 2, datatype: 'MPI_CHAR', iterations: 3, warmup: 1, jit_warmup: 5, buffer: 'alloc' });
    t.ok(typeof o.avg_latency_us === 'number' && o.avg_latency_us > 0);
  }
});

t.test('--buffer plain: the same tables from plain typed arrays, and --json says which', slow, async t => {
  for (const test of ['latency', 'allreduce'] as const) {
    const r = await run(2, [test, '-m', '8:64', '--buffer', 'plain', '--json', ...small]);
    ok(t, r);
    const objs = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
    t.same(objs.map(o => o.size), [8, 16, 32, 64], `${test}: every size`);
    for (const o of objs) t.match(o, { benchmark: test, buffer: 'plain', iterations: 3, warmup: 1 }, `${test} ${o.size} B from plain memory`);
  }
});

// The collectives' names are fixed by issue 9 (the runtime has them since it landed): each
// benchmark must produce OSU's table at a non-power-of-two rank count.
const collectives: Array<[TestName, string]> = [
  ['bcast', 'bcast'], ['reduce', 'reduce'], ['allreduce', 'allreduce'], ['gather', 'gather'], ['allgather', 'allgather'],
  ['alltoall', 'alltoall'], ['reduce_scatter', 'reduceScatter'], ['iallreduce', 'iallreduce'],
];
for (const [name, method] of collectives) {
  t.test(`${name}: OSU table with -f across 3 ranks`, slow, async t => {
    t.equal(typeof (Communicator.prototype as unknown as Record<string, unknown>)[method], 'function', `the runtime has comm.${method}`);
    const r = await run(3, [name, '-m', '1:256', '-f', '-T', 'mpi_float', ...small]);
    ok(t, r);
    const table = parseOsuOutput(r.stdout);
    t.equal(table.title, `OSU MPI ${TESTS[name].title}`);
    t.equal(table.datatype, 'MPI_FLOAT');
    t.same(table.rows.map(row => row.Size), pow2(4, 256), 'sizes below one float are skipped, as OSU does');
    if (name === 'iallreduce') {
      t.same(table.columns, ['Size', 'Overall(us)', 'Compute(us)', 'Coll. Init(us)', 'MPI_Test(us)', 'MPI_Wait(us)', 'Pure Comm.(us)', 'Min Comm.(us)', 'Max Comm.(us)', 'Overlap(%)']);
      for (const row of table.rows) t.ok(row['Overlap(%)'] >= 0 && row['Overlap(%)'] <= 100, 'overlap is a percentage');
    } else {
      t.same(table.columns, ['Size', 'Avg Latency(us)', 'Min Latency(us)', 'Max Latency(us)', 'Iterations']);
      for (const row of table.rows) t.ok(row['Min Latency(us)'] <= row['Avg Latency(us)'] && row['Avg Latency(us)'] <= row['Max Latency(us)'], `${row.Size} B: min <= avg <= max`);
    }
  });
}

t.test('bad arguments: one clear line from rank 0, exit status 1', slow, async t => {
  const cases: Array<[number, string[], string]> = [
    [2, ['latenc'], "command-argument value 'latenc' is invalid for argument 'test'. Allowed choices are latency, bw"],
    [2, ['latency', '-W', '8'], 'option -W/--window-size does not apply to latency: only bw and bibw have a window'],
    [2, ['bw', '-f'], 'option -f/--full does not apply to bw'],
    [2, ['bw', '-m', '9:3'], 'option -m/--message-size: MIN (9) is larger than MAX (3)'],
    [2, ['bw', '-m', 'lots'], "option '-m, --message-size <[MIN:]MAX>' argument 'lots' is invalid. expected [MIN:]MAX in bytes"],
    [2, ['latency', '-i', '0'], "option '-i, --iterations <N>' argument '0' is invalid. expected a positive integer."],
    [2, ['allreduce', '-T', 'mpi_long'], "option '-T, --type <TYPE>' argument 'mpi_long' is invalid. Allowed choices are mpi_char, mpi_int, mpi_float, mpi_double."],
    [2, ['barrier', '-m', '8'], 'option -m/--message-size does not apply to barrier: a barrier has no message'],
    [3, ['latency'], 'latency needs exactly 2 ranks (this job has 3)'],
    [2, ['latency', '--nope'], "unknown option '--nope'"],
  ];
  for (const [np, args, message] of cases) {
    const r = await run(np, args);
    t.equal(r.code, 1, `${args.join(' ')}: exit status 1`);
    t.match(r.stderr, `osu: error: ${message}`, `${args.join(' ')}: says what is wrong`);
    t.equal(r.stderr.split('osu: error:').length - 1, 1, `${args.join(' ')}: said once, not once per rank`);
    t.equal(r.stdout, '', `${args.join(' ')}: no table`);
  }
});

t.test('the parser refuses output that is not OSU\'s', async t => {
  // As OSU prints it: "%-10s%20s" header, "%-10d%20.2f" rows.
  const good = `\n# OSU MPI Latency Test v7.4\n# Datatype: MPI_CHAR.\n${'# Size'.padEnd(10)}${'Avg Latency(us)'.padStart(20)}\n${'1'.padEnd(10)}${'0.39'.padStart(20)}\n`;
  t.equal(parseOsuOutput(good).rows.length, 1);
  t.throws(() => parseOsuOutput(good.replace('# OSU MPI', '# OSU')), { name: 'OsuFormatError' }, 'no title line');
  t.throws(() => parseOsuOutput(good.replace('0.39', '0.391')), { name: 'OsuFormatError' }, 'misaligned value');
  t.throws(() => parseOsuOutput(good.replace('      0.39', '     0.390')), { name: 'OsuFormatError' }, 'three decimals');
  t.throws(() => parseOsuOutput(good + '2     x\n'), { name: 'OsuFormatError' }, 'a row that is not numbers');
});

t.test('the suite ships in the npm package', slow, async t => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  const files = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map(f => f.path));
  for (const f of ['bench/osu.ts', 'bench/osu/catalog.ts', 'bench/osu/options.ts', 'bench/osu/format.ts', 'bench/osu/context.ts',
    'bench/osu/pt2pt.ts', 'bench/osu/collectives.ts', 'bench/osu/nonblocking.ts', 'bench/osu/parse-output.ts']) {
    t.ok(files.has(f), `${f} is in the package`);
  }
});
