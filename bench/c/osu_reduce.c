/* osu_reduce: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Reduce(c->send, c->recv, c->count, c->o->type, MPI_SUM, 0, MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_COLLECTIVE, "reduce", "Reduce Latency Test", 0, 0, call); }
