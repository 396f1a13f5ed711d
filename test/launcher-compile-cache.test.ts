// zcmpirun compiles a TypeScript program once into a cache keyed by content: the first
// launch compiles (miss), the next reuses the bundle without compiling (hit), and a
// change in a file the program imports compiles again and runs the new code.
import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareProgram } from '../launcher/compile.js';
import { runCli } from './fixtures/launcher/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'zcmpi-compile-cache-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'cache');
const env = { ...process.env, ZCMPI_CACHE_DIR: cache };
const prog = join(dir, 'prog.ts');
const lib = join(dir, 'lib', 'value.ts');
mkdirSync(join(dir, 'lib'));
writeFileSync(prog, "import { value } from './lib/value.js';\nconst n: number = value();\nconsole.log(`value ${n} rank ${process.env.ZCMPI_RANK}`);\n");
const setValue = (n: number) => writeFileSync(lib, `export function value(): number { return ${n}; }\n`);
const bundles = () => readdirSync(join(cache, 'bundles')).sort();
const values = (stdout: string) => stdout.split('\n').filter(Boolean).sort();

t.test('miss, then hit, then a changed import compiles again', async t => {
  setValue(1);
  const first = await prepareProgram(prog, env);
  t.equal(first.cache, 'miss', 'the first launch compiles');
  t.ok(first.file.startsWith(join(cache, 'bundles')), `the bundle is in the cache (${first.file})`);
  t.ok(first.file.endsWith(`${prog}.mjs`), 'and is named after the program');
  t.same(first.nodeOptions, ['--enable-source-maps']);

  const second = await prepareProgram(prog, env);
  t.equal(second.cache, 'hit', 'the second launch reuses it');
  t.equal(second.file, first.file);

  let r = await runCli(['-np', '2', prog], { env });
  t.equal(r.code, 0, r.stderr);
  t.same(values(r.stdout), ['value 1 rank 0', 'value 1 rank 1']);
  t.same(bundles(), [first.bundle!.hash], 'zcmpirun used the cached bundle: still one');

  setValue(2); // only the imported file changes
  const third = await prepareProgram(prog, env);
  t.equal(third.cache, 'miss', 'a changed imported file compiles again');
  t.not(third.file, first.file);
  r = await runCli(['-np', '2', prog], { env });
  t.equal(r.code, 0, r.stderr);
  t.same(values(r.stdout), ['value 2 rank 0', 'value 2 rank 1'], 'the ranks run the new code');
  t.equal((await prepareProgram(prog, env)).cache, 'hit', 'and that is cached in turn');

  setValue(1); // back to the first content: its bundle is still there
  t.equal((await prepareProgram(prog, env)).cache, 'miss', 'the manifest follows the latest content');
  t.same(bundles().length, 2, 'content-addressed: the old bundle is reused, not duplicated');
});

t.test('a tsconfig.json appearing next to the program invalidates the entry', async t => {
  setValue(3);
  t.equal((await prepareProgram(prog, env)).cache, 'miss');
  t.equal((await prepareProgram(prog, env)).cache, 'hit');
  writeFileSync(join(dir, 'tsconfig.json'), '{"compilerOptions":{}}\n');
  t.equal((await prepareProgram(prog, env)).cache, 'miss', 'a new tsconfig.json can change the compile');
});

t.test('JavaScript programs are not compiled', async t => {
  const js = join(dir, 'plain.mjs');
  writeFileSync(js, 'console.log(1);\n');
  const l = await prepareProgram(js, env);
  t.equal(l.file, js);
  t.same(l.nodeOptions, []);
  t.equal(l.bundle, undefined);
});
