/* The body of the blocking collective programs (osu_barrier, osu_bcast, ...): per size a
 * barrier, then for every iteration: time the call, then a barrier (not timed); latency =
 * time / iterations; rank 0 prints the average, min and max over ranks (OSU 7.4's loop,
 * as bench/osu/collectives.ts). Each program supplies the call. */
#include "osu_common.h"

struct coll {
  const struct options *o;
  void *send, *recv;
  int count; /* elements of the type in this size */
  int rank, ranks;
  int *counts; /* reduce_scatter's receive counts */
};

typedef void (*coll_call)(struct coll *c);

static double coll_loop(struct coll *c, coll_call call, int iterations, int skip) {
  double timer = 0;
  for (int i = 0; i < iterations + skip; i++) {
    double t0 = MPI_Wtime();
    call(c);
    double t1 = MPI_Wtime();
    if (c->o->kind != KIND_BARRIER) MPI_Barrier(MPI_COMM_WORLD);
    if (i >= skip) timer += t1 - t0;
  }
  return timer;
}

/* OSU's receive counts for reduce_scatter: elements spread over ranks, remainder first. */
static void coll_reduce_scatter_counts(struct coll *c) {
  int portion = c->count / c->ranks, remainder = c->count % c->ranks;
  for (int i = 0; i < c->ranks; i++) {
    if (c->count < c->ranks) c->counts[i] = i < c->count ? 1 : 0;
    else c->counts[i] = portion + (i < remainder ? 1 : 0);
  }
}

/* send_per_rank / recv_per_rank: the buffer holds one block per rank (gather, alltoall, ...). */
static int collective_main(int argc, char **argv, enum kind kind, const char *name, const char *title,
                           int send_per_rank, int recv_per_rank, coll_call call) {
  struct options o;
  struct coll c;
  MPI_Init(&argc, &argv);
  memset(&c, 0, sizeof c);
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c.ranks);
  osu_options(argc, argv, &o, kind, name, title);
  osu_require_ranks(&o, 0);
  c.o = &o;
  size_t max = kind == KIND_BARRIER ? 1 : (size_t)o.max;
  c.send = osu_alloc(max * (send_per_rank ? c.ranks : 1), 1);
  c.recv = osu_alloc(max * (recv_per_rank ? c.ranks : 1), 0);
  c.counts = malloc(sizeof(int) * (size_t)c.ranks);
  long first = kind == KIND_BARRIER ? 0 : osu_first_size(&o);
  if (o.jit_warmup > 0 && first <= o.max) {
    MPI_Barrier(MPI_COMM_WORLD);
    c.count = (int)(first / o.type_bytes);
    coll_reduce_scatter_counts(&c);
    coll_loop(&c, call, o.jit_warmup, 0);
  }
  osu_header(&o, c.rank);
  if (kind == KIND_BARRIER) {
    double timer = coll_loop(&c, call, o.iterations, o.skip);
    osu_collective_row(&o, 0, timer * 1e6 / o.iterations, o.iterations);
  } else {
    for (long size = o.min; size <= o.max; size = osu_next(size)) {
      int iterations, skip;
      c.count = (int)(size / o.type_bytes);
      if (c.count == 0) continue;
      coll_reduce_scatter_counts(&c);
      osu_counts(&o, size, &iterations, &skip);
      MPI_Barrier(MPI_COMM_WORLD);
      double timer = coll_loop(&c, call, iterations, skip);
      osu_collective_row(&o, size, timer * 1e6 / iterations, iterations);
      MPI_Barrier(MPI_COMM_WORLD);
    }
  }
  free(c.counts);
  free(c.send);
  free(c.recv);
  MPI_Finalize();
  return 0;
}
