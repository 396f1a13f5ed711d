// A send from the buffer of a pending receive from this same rank (or a receive into the
// buffer of a pending send to it) that only a later post of this rank could finish fails at
// once with an error naming both requests, instead of waiting forever; transfers already on
// their way, or that another rank finishes, are waited for as before. With guards (the
// ordering of posts on a pending transfer's bytes is theirs; --guard off is the unsafe
// baseline, where such a post simply races).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('guard block', async t => {
  allOk(t, await runRanks('self-wait.ts', [], { guard: 'block', timeout: 60 }), 2);
});
