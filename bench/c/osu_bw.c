/* Window bandwidth from rank 0 to rank 1 (the osu_bw pattern, same output format as
 * bench/osu-bw.ts): 64 MPI_Isend of one buffer / 64 MPI_Irecv into one buffer, MPI_Waitall,
 * a 4-byte acknowledgement, repeat. MB/s = 10^6 B/s.
 * Built and run by bench/run-all.mjs: mpicc -O2 osu_bw.c -o osu_bw */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  size_t min = 1, max = 4u << 20;
  int iters = 10000, iters_large = 1000, skip = 1000, window = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--min")) min = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--max")) max = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--iters-large")) iters_large = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--window")) window = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--skip")) skip = atoi(argv[i + 1]);
  }
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char* s = aligned_alloc(4096, max);
  char* r = aligned_alloc(4096, max);
  char ack[4];
  memset(s, 1, max);
  memset(r, 0, max);
  MPI_Request* reqs = malloc(sizeof(MPI_Request) * (size_t)window);
  if (rank == 0) printf("# OSU MPI-style Bandwidth Test (Open MPI C)\n# Size          Bandwidth (MB/s)\n");
  for (size_t n = min; n <= max; n *= 2) {
    int it = n > 8192 ? iters_large : iters, sk = n > 8192 ? (skip / 10 > 0 ? skip / 10 : 1) : skip;
    /* the same iteration rule as bench/osu-bw.ts for large messages */
    if (n > 8192) {
      long cap = (long)((256u << 20) / (n * (size_t)window)) * 4;
      if (cap < 10) cap = 10;
      if (it > cap) it = (int)cap;
      if (it < 10) it = 10;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (int i = 0; i < it + sk; i++) {
      if (i == sk) t0 = MPI_Wtime();
      if (rank == 0) {
        for (int w = 0; w < window; w++) MPI_Isend(s, (int)n, MPI_CHAR, 1, 100, MPI_COMM_WORLD, &reqs[w]);
        MPI_Waitall(window, reqs, MPI_STATUSES_IGNORE);
        MPI_Recv(ack, 4, MPI_CHAR, 1, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        for (int w = 0; w < window; w++) MPI_Irecv(r, (int)n, MPI_CHAR, 0, 100, MPI_COMM_WORLD, &reqs[w]);
        MPI_Waitall(window, reqs, MPI_STATUSES_IGNORE);
        MPI_Send(ack, 4, MPI_CHAR, 0, 101, MPI_COMM_WORLD);
      }
    }
    if (rank == 0) printf("%-14zu%12.2f\n", n, (double)n * window * it / (MPI_Wtime() - t0) / 1e6);
    fflush(stdout);
  }
  free(reqs);
  MPI_Finalize();
  return 0;
}
