// Output is forwarded line by line: pieces of one rank's line are joined before they are
// written, so lines of different ranks never mix, and a last line without '\n' still appears.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

for (const tag of [false, true]) {
  t.test(`partial lines stay whole${tag ? ' with --tag-output' : ''}`, async t => {
    const r = await runCli(['-np', '3', ...(tag ? ['--tag-output'] : []), fixture('partial.ts')]);
    t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
    for (let rank = 0; rank < 3; rank++) {
      const p = tag ? `\\[localhost:${rank}\\] ` : '';
      t.match(r.stdout, new RegExp(`^${p}rank ${rank} begins and ends$`, 'm'), `stdout line of rank ${rank} whole`);
      t.match(r.stderr, new RegExp(`^${p}err ${rank} begins and ends$`, 'm'), `stderr line of rank ${rank} whole`);
      t.match(r.stdout, new RegExp(`${p}rank ${rank} tail`), `unterminated last line of rank ${rank} forwarded`);
    }
    if (tag) {
      const lines = r.stdout.split('\n').filter(l => l !== '');
      t.equal(lines.length, 6, 'each tagged piece is on its own line');
      for (const l of lines) t.match(l, /^\[localhost:\d\] rank \d (begins and ends|tail)$/);
    } else {
      // The three unterminated tails may follow each other; the complete lines must not be split.
      t.equal((r.stdout.match(/begins and ends\n/g) ?? []).length, 3);
    }
  });
}
