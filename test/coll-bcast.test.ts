// bcast: every element type and (where it reduces) every op defined on it, every buffer kind,
// roots 0, last and middle, counts 0, 1, fewer than the ranks, odd and past the algorithm
// switch points, on 1 to 8 ranks, against a local reference (fixtures/coll/reference.ts).
import t from 'tap';
import { matrix } from './support/coll.js';

matrix(t, ['bcast']);
