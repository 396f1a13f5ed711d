// What a completed operation reports.

export interface Status {
  /** The rank the message came from (receives: the matched sender; sends: this rank). */
  readonly source: number;
  /** The message's tag (receives: the matched tag, useful with ANY_TAG). */
  readonly tag: number;
  /** Bytes received (receives) or sent (sends). */
  readonly bytes: number;
}

/** The non-blocking collectives' names, as their requests and errors report them. */
export type CollectiveCall =
  | 'ibarrier' | 'ibcast' | 'ireduce' | 'iallreduce' | 'igather' | 'iscatter' | 'iallgather' | 'ialltoall'
  | 'igatherv' | 'iscatterv' | 'iallgatherv' | 'ialltoallv' | 'ireduceScatter' | 'ireduceScatterBlock'
  | 'iscan' | 'iexscan'
  | 'barrier' | 'bcast' | 'reduce' | 'allreduce' | 'gather' | 'scatter' | 'allgather' | 'alltoall'
  | 'gatherv' | 'scatterv' | 'allgatherv' | 'alltoallv' | 'reduceScatter' | 'reduceScatterBlock' | 'scan' | 'exscan';

export type RequestCall = 'isend' | 'irecv' | CollectiveCall;
