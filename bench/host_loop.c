/* Host side of scripts/bench-smp: the same compute loop the guest runs, timed here. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compute_loop.h"

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: host_loop ITERATIONS\n");
        return 2;
    }
    unsigned long long iterations = strtoull(argv[1], NULL, 10);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t r = compute_loop(1, iterations);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
    printf("host-loop iters=%llu ns=%lld checksum=%llx\n", iterations, ns,
           (unsigned long long)r);
    return 0;
}
