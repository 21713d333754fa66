/* The ring-3 compute loop that scripts/bench-smp runs on the host and in the guest:
 * the very same source, so ratios compare like with like. A serial xorshift chain:
 * no memory traffic, no vectorisation, one dependency chain per call. */
#ifndef BENCH_COMPUTE_LOOP_H
#define BENCH_COMPUTE_LOOP_H

#include <stdint.h>

static inline uint64_t compute_loop(uint64_t seed, uint64_t iterations)
{
    uint64_t x = seed | 1;
    for (uint64_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

#endif
