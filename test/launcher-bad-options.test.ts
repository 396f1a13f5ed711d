// Bad command lines: one line `zcmpirun: error: ...` naming the option, exit 1, no job.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

const prog = fixture('env-args.ts');
const cases: Array<[string, string[], RegExp, NodeJS.ProcessEnv?]> = [
  ['-np 0', ['-np', '0', prog], /option -np: expected a positive integer, got '0'/],
  ['-np abc', ['-np', 'abc', prog], /option -np: expected a positive integer, got 'abc'/],
  ['-np 1.5', ['-np', '1.5', prog], /option -np: expected a positive integer/],
  ['-np missing', [prog], /option -np is required/],
  ['--guard bad', ['-np', '1', '--guard', 'bad', prog], /option --guard: expected one of block, strict, off, got 'bad'/],
  ['ZCMPI_GUARD=bad', ['-np', '1', prog], /ZCMPI_GUARD .*expected one of block, strict, off, got 'bad'/, { ZCMPI_GUARD: 'bad' }],
  ['--transport tcp', ['-np', '1', '--transport', 'tcp', prog], /option --transport: expected one of auto, ucx, verbs, got 'tcp'/],
  ['--timeout 0', ['-np', '1', '--timeout', '0', prog], /option --timeout: expected a number of seconds > 0, got '0'/],
  ['--timeout-startup -1', ['-np', '1', '--timeout-startup', '-1', prog], /option --timeout-startup: expected a number of seconds >= 0/],
  ['-x with a bad name', ['-np', '1', '-x', '1BAD=x', prog], /option -x: expected NAME or NAME=VALUE/],
  ['no program', ['-np', '2'], /missing required argument 'program'/],
  ['program not found', ['-np', '2', 'no/such/program.ts'], /program 'no\/such\/program.ts' not found/],
  ['unknown option', ['-np', '2', '--frobnicate', prog], /unknown option '--frobnicate'/],
];

for (const [name, args, expected, env] of cases) {
  t.test(name, async t => {
    const r = await runCli(args, { env: { ...process.env, ZCMPI_GUARD: '', ...env } });
    t.equal(r.code, 1, 'exit status 1');
    t.equal(r.stdout, '', 'no job output');
    const lines = r.stderr.split('\n').filter(l => l !== '');
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], /^zcmpirun: error: /);
    t.match(lines[0], expected);
  });
}

t.test('--help prints usage and exits 0', async t => {
  const r = await runCli(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /Usage: zcmpirun -np N/);
  t.match(r.stdout, /--tag-output/);
});
