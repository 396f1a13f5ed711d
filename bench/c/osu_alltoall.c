/* osu_alltoall: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Alltoall(c->send, c->count, c->o->type, c->recv, c->count, c->o->type, MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_COLLECTIVE, "alltoall", "All-to-All Personalized Exchange Latency Test", 1, 1, call); }
