// The CLI loads the SSH launcher's host options only when the command line uses them
// (a local job does not pay for ssh2), and a local host given with --host, and --stdin,
// work through the same job controller.
import t from 'tap';
import { spawn } from 'node:child_process';
import { usesHostOptions } from '../launcher/cli.js';
import { cliPath, fixture, root, runCli } from './fixtures/launcher/helpers.js';

t.test('host options are detected only among the launcher\'s own options', async t => {
  const cases: Array<[string[], boolean]> = [
    [['-np', '4', 'p.ts'], false],
    [['-np=4', '--tag-output', '-x', 'A', '-xB=1', '--guard', 'off', 'p.ts', '--host', 'h'], false],
    [['-n', '2', '--timeout', '5', 'p.ts', '--stdin'], false],
    [['--version'], false],
    [['-np', '4', '--host', 'a:2', 'p.ts'], true],
    [['-np', '2', '--stdin', 'p.ts'], true],
    [['--hostfile=f', 'p.ts'], true],
    [['--help'], true],
  ];
  for (const [args, want] of cases) t.equal(usesHostOptions(args), want, args.join(' '));
});

t.test('--host localhost:2 runs 2 local ranks (-np from the slots)', async t => {
  const r = await runCli(['--host', 'localhost:2', '--tag-output', fixture('kv-exchange.ts')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\[localhost:0\] rank 0 of 2 got from-0,from-1$/m);
  t.match(r.stdout, /^\[localhost:1\] rank 1 of 2 got from-0,from-1$/m);
});

t.test('--stdin forwards the launcher\'s stdin to rank 0 only', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', cliPath, '-np', '2', '--stdin', fixture('echo-stdin.ts')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  child.stdin.end('typed input\n');
  const code = await new Promise<number | null>(resolve => child.on('close', resolve));
  t.equal(code, 0, err);
  t.match(out, /^stdin 0 "typed input\\n"$/m);
  t.match(out, /^stdin 1 ""$/m);
});
