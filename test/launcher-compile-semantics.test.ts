// A compiled program behaves as it would from source: top-level await works, each file's
// import.meta (url, filename, dirname) is its own source location, process.argv[1] is the
// program, and arguments follow it.
import t from 'tap';
import { pathToFileURL } from 'node:url';
import { dirname } from 'node:path';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('module semantics survive compilation', async t => {
  const prog = fixture('compile/semantics.ts');
  const r = await runCli(['-np', '1', prog, 'x', 'y z']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.waited, 42, 'top-level await');
  t.equal(out.url, pathToFileURL(prog).href, 'import.meta.url is the source file');
  t.equal(out.dir, dirname(prog), 'a __dirname computed from it');
  t.equal(out.filename, prog, 'import.meta.filename');
  t.equal(out.dirname, dirname(prog), 'import.meta.dirname');
  t.equal(out.argv1, prog, 'process.argv[1] is the program');
  const helper = pathToFileURL(fixture('compile/semantics-helper.ts')).href;
  t.equal(out.helper, `${new URL('.', helper).href}|${helper}`, 'an imported file sees its own import.meta.url');
  t.same(out.args, ['x', 'y z']);
});
