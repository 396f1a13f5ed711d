/* osu_reduce_scatter: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Reduce_scatter(c->send, c->recv, c->counts, c->o->type, MPI_SUM, MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_COLLECTIVE, "reduce_scatter", "Reduce_scatter Latency Test", 0, 0, call); }
