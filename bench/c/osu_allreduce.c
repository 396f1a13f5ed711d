/* osu_allreduce: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Allreduce(c->send, c->recv, c->count, c->o->type, MPI_SUM, MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_COLLECTIVE, "allreduce", "Allreduce Latency Test", 0, 0, call); }
