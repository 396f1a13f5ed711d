/* osu_latency: ping-pong of MPI_Send/MPI_Recv between ranks 0 and 1; one-way latency =
 * round trip / 2, each round trip timed on rank 0 (as OSU 7.4 and bench/osu/pt2pt.ts). */
#include "osu_common.h"

static double ping_pong(int rank, char *s, char *r, int count, MPI_Datatype type, int iterations, int skip) {
  double total = 0;
  for (int i = 0; i < iterations + skip; i++) {
    if (rank == 0) {
      double t0 = MPI_Wtime();
      MPI_Send(s, count, type, 1, 1, MPI_COMM_WORLD);
      MPI_Recv(r, count, type, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (i >= skip) total += MPI_Wtime() - t0;
    } else if (rank == 1) {
      MPI_Recv(r, count, type, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(s, count, type, 0, 1, MPI_COMM_WORLD);
    }
  }
  return total;
}

int main(int argc, char **argv) {
  struct options o;
  int rank;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  osu_options(argc, argv, &o, KIND_LATENCY, "latency", "Latency Test");
  osu_require_ranks(&o, 1);
  char *s = osu_alloc((size_t)o.max, 'a'), *r = osu_alloc((size_t)o.max, 'b');
  long first = osu_first_size(&o);
  if (o.jit_warmup > 0 && first <= o.max) {
    MPI_Barrier(MPI_COMM_WORLD);
    ping_pong(rank, s, r, (int)(first / o.type_bytes), o.type, o.jit_warmup, 0);
  }
  osu_header(&o, rank);
  for (long size = o.min; size <= o.max; size = osu_next(size)) {
    int count = (int)(size / o.type_bytes), iterations, skip;
    if (count == 0) continue;
    osu_counts(&o, size, &iterations, &skip);
    MPI_Barrier(MPI_COMM_WORLD);
    double total = ping_pong(rank, s, r, count, o.type, iterations, skip);
    if (rank == 0) {
      printf("%-*ld%*.*f\n", 10, size, FIELD_WIDTH, 2, total * 1e6 / (2.0 * iterations));
      fflush(stdout);
    }
  }
  free(s);
  free(r);
  MPI_Finalize();
  return 0;
}
