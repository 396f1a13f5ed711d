/* osu_bw and osu_bibw (one program each, this shared body): WINDOW non-blocking messages of
 * one buffer per iteration, timed per iteration on rank 0, MB/s = size / 1e6 * iterations *
 * window (x2 both ways) / seconds (as OSU 7.4 and bench/osu/pt2pt.ts). */
#include "osu_common.h"

static double window_loop(int rank, int bidirectional, char *s, char *r, char *ack, int count, const struct options *o,
                          MPI_Request *sends, MPI_Request *recvs, int iterations, int skip) {
  double total = 0;
  int peer = 1 - rank;
  for (int i = 0; i < iterations + skip; i++) {
    double t0 = MPI_Wtime();
    if (bidirectional) {
      for (int w = 0; w < o->window; w++) MPI_Irecv(r, count, o->type, peer, 100, MPI_COMM_WORLD, &recvs[w]);
      for (int w = 0; w < o->window; w++) MPI_Isend(s, count, o->type, peer, 100, MPI_COMM_WORLD, &sends[w]);
      if (rank == 0) {
        MPI_Waitall(o->window, sends, MPI_STATUSES_IGNORE);
        MPI_Waitall(o->window, recvs, MPI_STATUSES_IGNORE);
      } else {
        MPI_Waitall(o->window, recvs, MPI_STATUSES_IGNORE);
        MPI_Waitall(o->window, sends, MPI_STATUSES_IGNORE);
      }
    } else if (rank == 0) {
      for (int w = 0; w < o->window; w++) MPI_Isend(s, count, o->type, 1, 100, MPI_COMM_WORLD, &sends[w]);
      MPI_Waitall(o->window, sends, MPI_STATUSES_IGNORE);
      MPI_Recv(ack, 1, MPI_CHAR, 1, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      for (int w = 0; w < o->window; w++) MPI_Irecv(r, count, o->type, 0, 100, MPI_COMM_WORLD, &recvs[w]);
      MPI_Waitall(o->window, recvs, MPI_STATUSES_IGNORE);
      MPI_Send(ack, 1, MPI_CHAR, 0, 101, MPI_COMM_WORLD);
    }
    if (i >= skip) total += MPI_Wtime() - t0;
  }
  return total;
}

static int bandwidth_main(int argc, char **argv, int bidirectional) {
  struct options o;
  int rank;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  osu_options(argc, argv, &o, KIND_BANDWIDTH, bidirectional ? "bibw" : "bw",
              bidirectional ? "Bi-Directional Bandwidth Test" : "Bandwidth Test");
  osu_require_ranks(&o, 1);
  char *s = osu_alloc((size_t)o.max, 'a'), *r = osu_alloc((size_t)o.max, 'b'), ack[1] = {0};
  MPI_Request *sends = malloc(sizeof(MPI_Request) * (size_t)o.window);
  MPI_Request *recvs = malloc(sizeof(MPI_Request) * (size_t)o.window);
  long first = osu_first_size(&o);
  if (o.jit_warmup > 0 && first <= o.max) {
    MPI_Barrier(MPI_COMM_WORLD);
    window_loop(rank, bidirectional, s, r, ack, (int)(first / o.type_bytes), &o, sends, recvs, o.jit_warmup, 0);
  }
  osu_header(&o, rank);
  for (long size = o.min; size <= o.max; size = osu_next(size)) {
    int count = (int)(size / o.type_bytes), iterations, skip;
    if (count == 0) continue;
    osu_counts(&o, size, &iterations, &skip);
    MPI_Barrier(MPI_COMM_WORLD);
    double total = window_loop(rank, bidirectional, s, r, ack, count, &o, sends, recvs, iterations, skip);
    if (rank == 0) {
      double mbps = size / 1e6 * iterations * o.window * (bidirectional ? 2 : 1) / total;
      printf("%-*ld%*.*f\n", 10, size, FIELD_WIDTH, 2, mbps);
      fflush(stdout);
    }
  }
  free(sends);
  free(recvs);
  free(s);
  free(r);
  MPI_Finalize();
  return 0;
}
