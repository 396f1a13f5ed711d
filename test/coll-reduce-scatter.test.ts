// reduceScatterBlock and reduceScatter (uneven and zero counts) for several types and ops.
import t from 'tap';
import { matrix } from './support/coll.js';

matrix(t, ['reducescatter']);
