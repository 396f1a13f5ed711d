/* osu_bw: see osu_bandwidth.h. */
#include "osu_bandwidth.h"
int main(int argc, char **argv) { return bandwidth_main(argc, argv, 0); }
