// What a completed operation reports.

export interface Status {
  /** The rank the message came from (receives: the matched sender; sends: this rank). */
  readonly source: number;
  /** The message's tag (receives: the matched tag, useful with ANY_TAG). */
  readonly tag: number;
  /** Bytes received (receives) or sent (sends). */
  readonly bytes: number;
}

export type RequestCall = 'isend' | 'irecv' | 'barrier';
