// Every error zcmpi throws is a ZcmpiError with a stable `code`, so programs can branch on
// `err.code` (like Node's own errors) and tests can match on it.

export type ErrorCode =
  | 'ERR_ARG'                    // an invalid argument; `argument` names it
  | 'ERR_TRUNCATE'               // a message larger than its receive buffer
  | 'ERR_PEER'                   // the peer rank failed or disconnected
  | 'ERR_CANCELED'               // the operation was canceled
  | 'ERR_TRANSPORT'              // the transport failed (UCX said why)
  | 'ERR_TRANSPORT_UNAVAILABLE'  // the requested transport does not exist in this build
  | 'ERR_GUARD'                  // a buffer could not be guarded (e.g. read-only receive buffer)
  | 'ERR_FINALIZED'              // the communicator was used after finalize()
  | 'ERR_STATE'                  // init() twice, or another call out of order
  | 'ERR_BOOTSTRAP'              // the launcher's key-value exchange failed
  | 'ERR_MISMATCH';              // ranks called a collective with different arguments

/** What a request-level error says about the operation that failed. */
export interface RequestInfo {
  /** 'isend' | 'irecv' | 'barrier' */
  readonly call: string;
  /** Destination (isend) or source (irecv, -1 for ANY_SOURCE). */
  readonly peer: number;
  /** User tag (-1 for ANY_TAG). */
  readonly tag: number;
  /** The request number (also shown in guard reports). */
  readonly id: number;
}

export class ZcmpiError extends Error {
  readonly code: ErrorCode;
  /** Set when the error belongs to one request. */
  request?: RequestInfo;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An invalid argument; `argument` is its name as the API documents it. */
export class ArgumentError extends ZcmpiError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('ERR_ARG', message);
    this.argument = argument;
  }
}

/** The message did not fit its receive buffer; nothing was written past the buffer. */
export class TruncationError extends ZcmpiError {
  constructor(message: string, readonly source: number, readonly tag: number, readonly bufferBytes: number) {
    super('ERR_TRUNCATE', message);
  }
}

export class PeerError extends ZcmpiError {
  constructor(message: string, readonly peer: number) {
    super('ERR_PEER', message);
  }
}

export class CanceledError extends ZcmpiError {
  constructor(message: string) {
    super('ERR_CANCELED', message);
  }
}

export class TransportError extends ZcmpiError {
  constructor(message: string, code: 'ERR_TRANSPORT' | 'ERR_TRANSPORT_UNAVAILABLE' = 'ERR_TRANSPORT', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export class GuardError extends ZcmpiError {
  constructor(message: string) {
    super('ERR_GUARD', message);
  }
}

export class FinalizedError extends ZcmpiError {
  constructor(what: string) {
    super('ERR_FINALIZED', `zcmpi: ${what} after finalize(): the communicator is finalized`);
  }
}

export class StateError extends ZcmpiError {
  constructor(message: string) {
    super('ERR_STATE', message);
  }
}

export class BootstrapError extends ZcmpiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BOOTSTRAP', message, options);
  }
}

/**
 * Ranks called a collective with arguments that do not fit together (different roots,
 * ops, element types or counts, or different collectives). Every rank of the call gets it.
 */
export class MismatchError extends ZcmpiError {
  constructor(message: string) {
    super('ERR_MISMATCH', message);
  }
}

/** More than one request failed where one error must be thrown (waitall, finalize). */
export class MultipleErrors extends ZcmpiError {
  readonly errors: readonly ZcmpiError[];
  constructor(message: string, errors: readonly ZcmpiError[]) {
    super(errors[0]?.code ?? 'ERR_TRANSPORT', message);
    this.errors = errors;
  }
}

// Error codes in the native status table (native/protocol/status_layout.h ErrorCode).
export const NATIVE_ERR_TRUNCATE = 1;
export const NATIVE_ERR_CANCELED = 2;
export const NATIVE_ERR_PEER = 3;
export const NATIVE_ERR_TRANSPORT = 4;
export const NATIVE_ERR_GUARD = 5;
export const NATIVE_ERR_MISMATCH = 6;

/** The error a failed request carries, from its native status code and message. */
export function requestError(code: number, message: string, info: RequestInfo, bufferBytes: number, source: number, tag: number): ZcmpiError {
  let err: ZcmpiError;
  const text = `zcmpi: ${message}`;
  switch (code) {
    case NATIVE_ERR_TRUNCATE: err = new TruncationError(text, source, tag, bufferBytes); break;
    case NATIVE_ERR_PEER: err = new PeerError(text, info.peer); break;
    case NATIVE_ERR_CANCELED: err = new CanceledError(text); break;
    case NATIVE_ERR_GUARD: err = new GuardError(text); break;
    case NATIVE_ERR_MISMATCH: err = new MismatchError(text); break;
    default: err = new TransportError(text);
  }
  err.request = info;
  return err;
}

/** Native exceptions carry a `code` string; turn them into the matching ZcmpiError. */
export function fromNative(e: unknown, argument = 'buf'): ZcmpiError {
  if (e instanceof ZcmpiError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  switch (code) {
    case 'ERR_ARG': return new ArgumentError(argument, message.startsWith('zcmpi:') ? message : `zcmpi: ${message}`);
    case 'ERR_GUARD': return new GuardError(message);
    case 'ERR_FINALIZED': return new FinalizedError('call');
    case 'ERR_TRANSPORT_UNAVAILABLE': return new TransportError(message, 'ERR_TRANSPORT_UNAVAILABLE');
    case 'ERR_INITIALIZED':
    case 'ERR_NOT_INITIALIZED': return new StateError(message);
    default: return new TransportError(message, 'ERR_TRANSPORT', { cause: e });
  }
}
