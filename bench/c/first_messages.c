/* Open MPI C side of bench/first-messages.ts: the same measurements as
 * bench/first-messages-rank.ts (blocking MPI_Send/MPI_Recv ping-pong, Isend/Irecv + Waitall
 * window with a 1-byte ack), in a fresh process per measurement.
 *   mpirun -np 2 first_messages first|pingpong|window <size> [trips] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int rank, peer;

static void trip(char *s, char *r, int n) {
  if (rank == 0) {
    MPI_Send(s, n, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
    MPI_Recv(r, n, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  } else {
    MPI_Recv(r, n, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Send(s, n, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void stretch(const char *mode, int size, double *t, int a, int b) {
  int n = b - a + 1;
  double *c = malloc(n * sizeof(double)), sum = 0;
  memcpy(c, t + a - 1, n * sizeof(double));
  for (int i = 0; i < n; i++) sum += c[i];
  qsort(c, n, sizeof(double), cmp);
  double med = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
  printf("{\"mode\":\"%s\",\"size\":%d,\"stretch\":\"%d-%d\",\"median\":%.4f,\"mean\":%.4f}\n", mode, size, a, b, med, sum / n);
  free(c);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int nranks;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  if (nranks != 2 || argc < 3) {
    if (rank == 0) fprintf(stderr, "usage: mpirun -np 2 %s first|pingpong|window <size> [trips]\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  peer = 1 - rank;
  const char *mode = argv[1];
  int size = atoi(argv[2]);
  if (!strcmp(mode, "first")) {
    int trips = argc > 3 ? atoi(argv[3]) : 20000;
    char *s = calloc(1, size), *r = calloc(1, size);
    double *t = malloc(trips * sizeof(double));
    MPI_Barrier(MPI_COMM_WORLD);
    double prev = now_us();
    for (int i = 0; i < trips; i++) {
      trip(s, r, size);
      double now = now_us();
      t[i] = (now - prev) / 2;
      prev = now;
    }
    if (rank == 0) {
      stretch(mode, size, t, 1, 100);
      stretch(mode, size, t, 101, 1000);
      stretch(mode, size, t, 1001, 2000);
      stretch(mode, size, t, trips - 1999, trips);
    }
  } else if (!strcmp(mode, "pingpong")) {
    char *s = calloc(1, size), *r = calloc(1, size);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < 100; i++) trip(s, r, size);
    double t0 = now_us();
    for (int i = 0; i < 2000; i++) trip(s, r, size);
    if (rank == 0) printf("{\"mode\":\"pingpong\",\"size\":%d,\"oneway\":%.4f}\n", size, (now_us() - t0) / 4000);
  } else if (!strcmp(mode, "window")) {
    enum { W = 64 };
    char *buf = calloc(1, size), ack = 0;
    MPI_Request reqs[W];
    MPI_Barrier(MPI_COMM_WORLD);
    for (int n = 8; n <= size; n *= 2) {
      double t0 = 0;
      for (int i = 0; i < 220; i++) {
        if (i == 20) t0 = now_us();
        if (rank == 0) {
          for (int w = 0; w < W; w++) MPI_Isend(buf, n, MPI_BYTE, peer, 100, MPI_COMM_WORLD, &reqs[w]);
          MPI_Waitall(W, reqs, MPI_STATUSES_IGNORE);
          MPI_Recv(&ack, 1, MPI_BYTE, peer, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
          for (int w = 0; w < W; w++) MPI_Irecv(buf, n, MPI_BYTE, peer, 100, MPI_COMM_WORLD, &reqs[w]);
          MPI_Waitall(W, reqs, MPI_STATUSES_IGNORE);
          MPI_Send(&ack, 1, MPI_BYTE, peer, 101, MPI_COMM_WORLD);
        }
      }
      double sec = (now_us() - t0) / 1e6;
      if (rank == 0) printf("{\"mode\":\"window\",\"size\":%d,\"mbps\":%.2f}\n", n, (double)n * W * 200 / sec / 1e6);
    }
  }
  fflush(stdout);
  MPI_Finalize();
  return 0;
}
