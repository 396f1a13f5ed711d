/* osu_allgather: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Allgather(c->send, c->count, c->o->type, c->recv, c->count, c->o->type, MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_COLLECTIVE, "allgather", "Allgather Latency Test", 0, 1, call); }
