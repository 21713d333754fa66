#include "fuzz.h"

void fz_rng_seed(struct fz_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull; /* xorshift must not start at 0 */
}

uint64_t fz_rng_next(struct fz_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t fz_rng_below(struct fz_rng *r, uint64_t n)
{
    /* n is often a length, and an input may be empty (a solver's, a sync peer's) */
    return n ? fz_rng_next(r) % n : 0;
}
