/* Ping-pong latency between ranks 0 and 1 (the osu_latency pattern, same output format as
 * bench/osu-latency.ts): blocking MPI_Send/MPI_Recv, one-way latency = round trip / 2.
 * Built and run by bench/run-all.mjs: mpicc -O2 osu_latency.c -o osu_latency */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  size_t min = 1, max = 4u << 20;
  int iters = 10000, iters_large = 1000, skip = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--min")) min = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--max")) max = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--iters-large")) iters_large = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--skip")) skip = atoi(argv[i + 1]);
  }
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char* s = aligned_alloc(4096, max);
  char* r = aligned_alloc(4096, max);
  memset(s, 1, max);
  memset(r, 0, max);
  if (rank == 0) {
    printf("# OSU MPI-style Latency Test (Open MPI C)\n# Size          Latency (us)\n");
  }
  for (size_t n = min; n <= max; n *= 2) {
    int it = n > 8192 ? iters_large : iters, sk = n > 8192 ? (skip / 10 > 0 ? skip / 10 : 1) : skip;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (int i = 0; i < it + sk; i++) {
      if (i == sk) t0 = MPI_Wtime();
      if (rank == 0) {
        MPI_Send(s, (int)n, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
        MPI_Recv(r, (int)n, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(r, (int)n, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(s, (int)n, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
      }
    }
    if (rank == 0) printf("%-14zu%12.2f\n", n, (MPI_Wtime() - t0) * 1e6 / (2.0 * it));
    fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
