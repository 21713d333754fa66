/* Which sides of the symbolic branches a search has seen, and which flips it has tried,
 * across many concolic executions (symhv explore, the fuzzer's concolic runs): SAGE's
 * generational search with QSYM's pruning. A side is (pc, kind, direction, the callers
 * (a hash of two return addresses, for conditional jumps), how many times the path met
 * that pc from those callers: exact up to 32, then powers of two; for a conditional jump
 * the first input byte its condition reads; for a pinned address or jump target its
 * value), hashed into a fixed map, so a loop's later iterations
 * still count as new while the map stays bounded. Collisions make the search skip a flip
 * now and then, never crash. */
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

/* Mark the sides path `b[0..n)` took; returns how many the map had not seen. other[i]
 * is the side a flip of branch point i would reach. `scratch` holds 4n words (at least
 * 4). */
size_t sx_branch_map_visit(struct sx_branch_map *m, const struct sx_branch *b, size_t n,
                           uint32_t *other, uint64_t *scratch);
/* Is a flip to this side worth a query (neither seen nor reached by a flip before)? */
bool sx_branch_map_wanted(const struct sx_branch_map *m, uint32_t side);
/* A flip reached the side (its input is made): not again. An unsat or unknown flip is
 * not marked, so a later path (another context) may still reach it. */
void sx_branch_map_reached(struct sx_branch_map *m, uint32_t side);

#endif
