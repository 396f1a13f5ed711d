/* Shared by the OSU-equivalent C programs in bench/c (one per benchmark, the same command
 * line, defaults, formulas and output as bench/osu.ts and OSU Micro-Benchmarks 7.4):
 *   mpirun -np N osu_<test> [-m [MIN:]MAX] [-i ITER] [-x SKIP] [-f] [-W WINDOW] [-T TYPE]
 *                           [--jit-warmup N]
 * Built by bench/run-all.ts: mpicc -O2 osu_<test>.c -o osu_<test> */
#ifndef OSU_COMMON_H
#define OSU_COMMON_H

#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OSU_VERSION "7.4"
#define LARGE_MESSAGE_SIZE 8192
#define FIELD_WIDTH 20

enum kind { KIND_LATENCY, KIND_BANDWIDTH, KIND_COLLECTIVE, KIND_BARRIER, KIND_NONBLOCKING };

struct options {
  enum kind kind;
  const char *name;  /* the benchmark, for messages */
  const char *title; /* "Latency Test" -> "# OSU MPI Latency Test v7.4" */
  long min, max;
  int iterations, skip, iterations_large, skip_large;
  int full, window, jit_warmup;
  MPI_Datatype type;
  const char *type_label;
  int type_bytes;
};

/* Rank 0 prints the message, everyone leaves with status 1. */
static void osu_usage_error(int rank, const char *fmt, const char *arg) {
  if (rank == 0) {
    fprintf(stderr, "osu: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    fflush(stderr);
  }
  MPI_Finalize();
  exit(1);
}

static long osu_number(int rank, const char *flag, const char *s, long min) {
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < min) {
    char msg[160];
    snprintf(msg, sizeof msg, "option %s: expected an integer >= %ld, got '%%s'", flag, min);
    osu_usage_error(rank, msg, s);
  }
  return v;
}

/* OSU 7.4's defaults for the benchmark kind; then the command line. */
static void osu_options(int argc, char **argv, struct options *o, enum kind kind, const char *name, const char *title) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->name = name;
  o->title = title;
  o->window = 64;
  o->jit_warmup = 2000;
  o->type = MPI_CHAR;
  o->type_label = "MPI_CHAR";
  o->type_bytes = 1;
  if (kind == KIND_LATENCY) {
    o->min = 0; o->max = 1 << 22;
    o->iterations = 10000; o->skip = 100; o->iterations_large = 1000; o->skip_large = 10;
  } else if (kind == KIND_BANDWIDTH) {
    o->min = 1; o->max = 1 << 22;
    o->iterations = 100; o->skip = 10; o->iterations_large = 20; o->skip_large = 2;
  } else {
    o->min = 1; o->max = 1 << 20;
    o->iterations = 1000; o->skip = 100; o->iterations_large = 100; o->skip_large = 10;
  }
  static struct option longs[] = {
    {"message-size", required_argument, 0, 'm'}, {"iterations", required_argument, 0, 'i'},
    {"warmup", required_argument, 0, 'x'}, {"full", no_argument, 0, 'f'},
    {"window-size", required_argument, 0, 'W'}, {"type", required_argument, 0, 'T'},
    {"jit-warmup", required_argument, 0, 'J'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
  };
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":m:i:x:fW:T:h", longs, NULL)) != -1) {
    switch (c) {
      case 'm': {
        char *colon = strchr(optarg, ':');
        if (!colon) o->max = osu_number(rank, "-m", optarg, 0);
        else {
          *colon = '\0';
          if (optarg[0]) o->min = osu_number(rank, "-m (MIN)", optarg, 0);
          if (colon[1]) o->max = osu_number(rank, "-m (MAX)", colon + 1, 0);
        }
        if (kind == KIND_BARRIER) osu_usage_error(rank, "option -m does not apply to %s: a barrier has no message", name);
        if (o->min > o->max) osu_usage_error(rank, "option -m: MIN is larger than MAX%s", "");
        break;
      }
      case 'i': o->iterations = o->iterations_large = (int)osu_number(rank, "-i", optarg, 1); break;
      case 'x': o->skip = o->skip_large = (int)osu_number(rank, "-x", optarg, 0); break;
      case 'J': o->jit_warmup = (int)osu_number(rank, "--jit-warmup", optarg, 0); break;
      case 'f':
        if (kind != KIND_COLLECTIVE && kind != KIND_BARRIER && kind != KIND_NONBLOCKING)
          osu_usage_error(rank, "option -f does not apply to %s: OSU prints min/max only for collectives", name);
        o->full = 1;
        break;
      case 'W':
        if (kind != KIND_BANDWIDTH) osu_usage_error(rank, "option -W does not apply to %s: only bw and bibw have a window", name);
        o->window = (int)osu_number(rank, "-W", optarg, 1);
        break;
      case 'T':
        if (kind == KIND_BARRIER) osu_usage_error(rank, "option -T does not apply to %s: a barrier has no message", name);
        if (!strcasecmp(optarg, "mpi_char")) { o->type = MPI_CHAR; o->type_label = "MPI_CHAR"; o->type_bytes = 1; }
        else if (!strcasecmp(optarg, "mpi_int")) { o->type = MPI_INT; o->type_label = "MPI_INT"; o->type_bytes = 4; }
        else if (!strcasecmp(optarg, "mpi_float")) { o->type = MPI_FLOAT; o->type_label = "MPI_FLOAT"; o->type_bytes = 4; }
        else if (!strcasecmp(optarg, "mpi_double")) { o->type = MPI_DOUBLE; o->type_label = "MPI_DOUBLE"; o->type_bytes = 8; }
        else osu_usage_error(rank, "option -T: expected mpi_char, mpi_int, mpi_float or mpi_double, got '%s'", optarg);
        break;
      case 'h':
        if (rank == 0) printf("Usage: osu_%s [-m [MIN:]MAX] [-i ITER] [-x SKIP] [-f] [-W WINDOW] [-T TYPE] [--jit-warmup N]\n", name);
        MPI_Finalize();
        exit(0);
      case ':': {
        char flag[3] = {'-', (char)optopt, 0};
        osu_usage_error(rank, "option %s needs a value", optopt ? flag : argv[optind - 1]);
        break;
      }
      default: {
        char flag[3] = {'-', (char)optopt, 0};
        osu_usage_error(rank, "unknown option %s", optopt ? flag : argv[optind - 1]);
      }
    }
  }
  if (optind < argc) osu_usage_error(rank, "unexpected argument '%s'", argv[optind]);
}

static void osu_require_ranks(const struct options *o, int exactly_two) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (exactly_two ? size != 2 : size < 2) {
    osu_usage_error(rank, exactly_two ? "%s needs exactly 2 ranks" : "%s needs at least 2 ranks", o->name);
  }
}

/* The next size OSU visits: 0 is followed by 1, then doubling. */
static long osu_next(long size) { return size ? size * 2 : 1; }

static void osu_counts(const struct options *o, long size, int *iterations, int *skip) {
  *iterations = size > LARGE_MESSAGE_SIZE ? o->iterations_large : o->iterations;
  *skip = size > LARGE_MESSAGE_SIZE ? o->skip_large : o->skip;
}

/* The first size with at least one element (OSU skips sizes below one element). */
static inline long osu_first_size(const struct options *o) {
  long s = o->min;
  while (s <= o->max && s / o->type_bytes == 0) s = osu_next(s);
  return s;
}

static void osu_header(const struct options *o, int rank) {
  if (rank != 0) return;
  printf("\n# OSU MPI %s v%s\n", o->title, OSU_VERSION);
  if (o->kind == KIND_NONBLOCKING) printf("# Overall = Coll. Init + Compute + MPI_Test + MPI_Wait\n\n");
  if (o->kind != KIND_BARRIER) printf("# Datatype: %s.\n", o->type_label);
  if (o->kind == KIND_BARRIER) printf("# Avg Latency(us)");
  else if (o->kind == KIND_BANDWIDTH) printf("%-*s%*s", 10, "# Size", FIELD_WIDTH, "Bandwidth (MB/s)");
  else if (o->kind == KIND_NONBLOCKING) {
    printf("%-*s%*s", 10, "# Size", FIELD_WIDTH, "Overall(us)");
    if (o->full) {
      const char *cols[] = {"Compute(us)", "Coll. Init(us)", "MPI_Test(us)", "MPI_Wait(us)", "Pure Comm.(us)", "Min Comm.(us)", "Max Comm.(us)", "Overlap(%)"};
      for (int i = 0; i < 8; i++) printf("%*s", FIELD_WIDTH, cols[i]);
    } else {
      printf("%*s%*s%*s", FIELD_WIDTH, "Compute(us)", FIELD_WIDTH, "Pure Comm.(us)", FIELD_WIDTH, "Overlap(%)");
    }
  } else printf("%-*s%*s", 10, "# Size", FIELD_WIDTH, "Avg Latency(us)");
  if (o->full && (o->kind == KIND_COLLECTIVE || o->kind == KIND_BARRIER)) {
    printf("%*s%*s%*s", FIELD_WIDTH, "Min Latency(us)", FIELD_WIDTH, "Max Latency(us)", 12, "Iterations");
  }
  printf("\n");
  fflush(stdout);
}

/* OSU's three reductions to rank 0 of one rank's latency, and print_stats. */
static inline void osu_collective_row(const struct options *o, long size, double latency_us, int iterations) {
  int rank, n;
  double min = 0, max = 0, sum = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  MPI_Reduce(&latency_us, &min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(&latency_us, &max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  MPI_Reduce(&latency_us, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank != 0) return;
  if (o->kind == KIND_BARRIER) printf("%*.*f", 17, 2, sum / n);
  else printf("%-*ld%*.*f", 10, size, FIELD_WIDTH, 2, sum / n);
  if (o->full) printf("%*.*f%*.*f%*d", FIELD_WIDTH, 2, min, FIELD_WIDTH, 2, max, 12, iterations);
  printf("\n");
  fflush(stdout);
}

static inline void *osu_alloc(size_t bytes, int fill) {
  void *p = NULL;
  if (posix_memalign(&p, 4096, bytes ? bytes : 1) != 0) {
    fprintf(stderr, "osu: out of memory (%zu bytes)\n", bytes);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  memset(p, fill, bytes);
  return p;
}

#endif
