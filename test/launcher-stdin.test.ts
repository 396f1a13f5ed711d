// Rank stdin: /dev/null by default; with the stdin option, rank 0 gets the launcher's input.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { Job } from '../launcher/job.js';
import { LocalStarter } from '../launcher/local-starter.js';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('by default every rank reads an empty stdin', async t => {
  const r = await runCli(['-np', '2', fixture('echo-stdin.ts')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^stdin 0 ""$/m);
  t.match(r.stdout, /^stdin 1 ""$/m);
});

t.test('stdin: true forwards the input to rank 0 only', async t => {
  const input = new PassThrough();
  const out = new PassThrough();
  let text = '';
  out.setEncoding('utf8').on('data', (d: string) => { text += d; });
  const starter = new LocalStarter();
  const job = new Job({ placement: [starter, starter], program: fixture('echo-stdin.ts'), stdin: true, stdinSource: input, stdout: out });
  const running = job.run();
  input.write('hello ');
  input.end('ranks\n');
  const result = await running;
  t.equal(result.exitCode, 0);
  t.match(text, /^stdin 0 "hello ranks\\n"$/m);
  t.match(text, /^stdin 1 ""$/m);
});
