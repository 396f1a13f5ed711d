// zcmpi: MPI-style message passing for TypeScript on Node.js with zero-copy isend/irecv,
// kept safe by memory protection.
//
//   import { init, ANY_SOURCE, ANY_TAG } from 'zcmpi';
//   const comm = await init();
//   const r = comm.irecv(buf, ANY_SOURCE, ANY_TAG);
//   const st = await r;   // { source, tag, bytes }

export { init, type InitOptions } from './init.js';
export { Communicator } from './communicator.js';
export { Request } from './request.js';
export type { Status, RequestCall, CollectiveCall } from './status.js';
export type { AllocConstructor, AllocResult } from './alloc.js';
export type { BufferLike } from './native.js';
export type { GuardMode, TransportName } from './bootstrap.js';
export { ANY_SOURCE, ANY_TAG, TAG_UB } from './validate.js';
export { IN_PLACE } from './ops.js';
export { UNDEFINED } from './communicator-ids.js';
export type {
  InPlace, ReduceOp, ReduceOpName, ReduceFunction, ElementType, TypedBuffer, CollectiveBuffer, NumericArray,
} from './ops.js';
export type { Counts } from './collectives.js';
export { STRICT_EXIT_CODE } from './strict-exit.js';
export {
  ZcmpiError, ArgumentError, TruncationError, PeerError, CanceledError, TransportError, GuardError,
  FinalizedError, StateError, BootstrapError, MultipleErrors, MismatchError, type ErrorCode, type RequestInfo,
} from './errors.js';
