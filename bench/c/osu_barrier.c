/* osu_barrier: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Barrier(MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_BARRIER, "barrier", "Barrier Latency Test", 0, 0, call); }
