/* Which sides of the symbolic branches a search has seen, and which flips it has tried,
 * across many concolic executions (symhv explore, the fuzzer's concolic runs): SAGE's
 * generational search with QSYM's pruning. A side is (pc, kind, direction, how many
 * times the path met that pc before, in AFL's buckets 1 2 3 4-7 8-15 16-31 32-127 128+),
 * hashed into a fixed map, so a loop's later iterations still count as new while the
 * map stays bounded. Collisions make the search skip a flip now and then, never crash. */
#ifndef SYMEX_BRANCH_MAP_H
#define SYMEX_BRANCH_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path.h"

#define SX_BRANCH_MAP_SIZE (1u << 16)

struct sx_branch_map {
    uint8_t side[SX_BRANCH_MAP_SIZE];   /* bit 0: taken on some path; bit 1: a flip to it
                                           was tried */
};

/* Mark the sides path `b[0..n)` took; returns how many the map had not seen. Then, for
 * each branch point, try[i] says whether flipping it is worth a query (the other side
 * neither seen nor tried: it is marked tried). `scratch` holds 4n words (at least 4). */
size_t sx_branch_map_visit(struct sx_branch_map *m, const struct sx_branch *b, size_t n,
                           bool *try, uint64_t *scratch);

#endif
