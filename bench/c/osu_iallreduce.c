/* osu_iallreduce: OSU 7.4's overlap measurement (as bench/osu/nonblocking.ts):
 *   1. pure communication: MPI_Iallreduce + MPI_Wait, timed per iteration;
 *   2. the same with compute between post and wait, as long as the pure communication took
 *      (a 25x25 float kernel repeated until that much time is spent in it; no MPI_Test);
 * Overall = Init + Compute + Wait averaged over ranks; Overlap(%) =
 * max(0, 100 - (Overall - Compute) / Pure Comm * 100). */
#include "osu_common.h"

#define DIM 25
static float a[DIM][DIM], x[DIM], y[DIM];

static void compute_on_host(void) {
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) x[i] = x[i] + a[i][j] * a[j][i] + y[j];
}

static void compute(double seconds) {
  double elapsed = 0;
  while (elapsed < seconds) {
    double t1 = MPI_Wtime();
    compute_on_host();
    elapsed += MPI_Wtime() - t1;
  }
}

static double pure_comm(void *s, void *r, int count, MPI_Datatype type, int iterations, int skip) {
  double timer = 0;
  MPI_Request req;
  for (int i = 0; i < iterations + skip; i++) {
    double t0 = MPI_Wtime();
    MPI_Iallreduce(s, r, count, type, MPI_SUM, MPI_COMM_WORLD, &req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    double t1 = MPI_Wtime();
    MPI_Barrier(MPI_COMM_WORLD);
    if (i >= skip) timer += t1 - t0;
  }
  return timer / iterations;
}

/* Sum to rank 0 of one value, divided by the number of ranks. */
static double average(double v, int ranks) {
  double sum = 0;
  MPI_Reduce(&v, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  return sum / ranks;
}

int main(int argc, char **argv) {
  struct options o;
  int rank, ranks;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  osu_options(argc, argv, &o, KIND_NONBLOCKING, "iallreduce", "Non-blocking Allreduce Latency Test");
  osu_require_ranks(&o, 0);
  for (int i = 0; i < DIM; i++) {
    y[i] = 1;
    for (int j = 0; j < DIM; j++) a[i][j] = 1;
  }
  char *s = osu_alloc((size_t)o.max, 1), *r = osu_alloc((size_t)o.max, 0);
  long first = osu_first_size(&o);
  if (o.jit_warmup > 0 && first <= o.max) {
    MPI_Barrier(MPI_COMM_WORLD);
    pure_comm(s, r, (int)(first / o.type_bytes), o.type, o.jit_warmup, 0);
  }
  osu_header(&o, rank);
  for (long size = o.min; size <= o.max; size = osu_next(size)) {
    int count = (int)(size / o.type_bytes), iterations, skip;
    if (count == 0) continue;
    osu_counts(&o, size, &iterations, &skip);
    MPI_Barrier(MPI_COMM_WORLD);
    double comm_s = pure_comm(s, r, count, o.type, iterations, skip);
    MPI_Barrier(MPI_COMM_WORLD);
    double overall = 0, init = 0, comp = 0, wait = 0;
    MPI_Request req;
    for (int i = 0; i < iterations + skip; i++) {
      double t0 = MPI_Wtime();
      MPI_Iallreduce(s, r, count, o.type, MPI_SUM, MPI_COMM_WORLD, &req);
      double t1 = MPI_Wtime();
      compute(comm_s);
      double t2 = MPI_Wtime();
      MPI_Wait(&req, MPI_STATUS_IGNORE);
      double t3 = MPI_Wtime();
      MPI_Barrier(MPI_COMM_WORLD);
      if (i >= skip) {
        overall += t3 - t0;
        init += t1 - t0;
        comp += t2 - t1;
        wait += t3 - t2;
      }
    }
    double us = 1e6 / iterations, comm_us = comm_s * 1e6, min_comm = 0, max_comm = 0;
    double avg_overall = average(overall * us, ranks), avg_comp = average(comp * us, ranks);
    double avg_init = average(init * us, ranks), avg_wait = average(wait * us, ranks);
    double avg_comm = average(comm_us, ranks);
    MPI_Reduce(&comm_us, &min_comm, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&comm_us, &max_comm, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      double overlap = 100 - (avg_overall - avg_comp) / avg_comm * 100;
      if (overlap < 0) overlap = 0;
      printf("%-*ld%*.*f", 10, size, FIELD_WIDTH, 2, avg_overall);
      if (o.full) {
        double cols[] = {avg_comp, avg_init, 0.0, avg_wait, avg_comm, min_comm, max_comm, overlap};
        for (int i = 0; i < 8; i++) printf("%*.*f", FIELD_WIDTH, 2, cols[i]);
      } else {
        printf("%*.*f%*.*f%*.*f", FIELD_WIDTH, 2, avg_comp, FIELD_WIDTH, 2, avg_comm, FIELD_WIDTH, 2, overlap);
      }
      printf("\n");
      fflush(stdout);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  free(s);
  free(r);
  MPI_Finalize();
  return 0;
}
