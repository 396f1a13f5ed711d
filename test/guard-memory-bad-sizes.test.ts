// alloc rejects sizes that are not positive integers, naming the argument `bytes`.
import t from 'tap';
import { addon } from './support/guard.js';

t.test('alloc with a bad size throws an error naming bytes', async t => {
  const before = addon.memoryStats();
  const bad: unknown[] = [0, -1, 1.5, NaN, Infinity, -Infinity, 1e16, '4096', null, undefined, {}, 2 ** 53 + 2];
  for (const b of bad) {
    t.throws(() => (addon.alloc as (x: unknown) => ArrayBuffer)(b), /bytes/, `alloc(${typeof b === 'string' ? `'${b}'` : String(b)}) throws naming bytes`);
  }
  t.same(addon.memoryStats(), before, 'nothing was allocated');
});
