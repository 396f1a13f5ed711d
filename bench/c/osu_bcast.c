/* osu_bcast: see osu_collective.h. */
#include "osu_collective.h"

static void call(struct coll *c) { MPI_Bcast(c->send, c->count, c->o->type, 0, MPI_COMM_WORLD); }

int main(int argc, char **argv) { return collective_main(argc, argv, KIND_COLLECTIVE, "bcast", "Broadcast Latency Test", 0, 0, call); }
