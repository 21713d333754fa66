#include "branch_map.h"

#include <string.h>

enum { SIDE_SEEN = 1, SIDE_TRIED = 2 };

static unsigned bucket(uint32_t hits)
{
    return hits <= 3 ? hits : hits <= 7 ? 4 : hits <= 15 ? 5 : hits <= 31 ? 6 : hits <= 127 ? 7 : 8;
}

static uint32_t side_key(uint64_t pc, unsigned kind, bool jumped, unsigned b)
{
    uint64_t h = pc * 0x9e3779b97f4a7c15ull ^ ((uint64_t)kind << 56) ^ ((uint64_t)jumped << 52) ^
                 ((uint64_t)b << 48);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t)h & (SX_BRANCH_MAP_SIZE - 1);
}

/* How many times pc occurred on this path so far: an open-addressing count table in
 * scratch (`slots` pairs of pc and count, at most half of them used). */
static uint32_t occurrence(uint64_t *scratch, size_t slots, uint64_t pc)
{
    for (size_t h = (size_t)(pc * 0x9e3779b97f4a7c15ull >> 7) % slots;; h = (h + 1) % slots) {
        uint64_t *slot = &scratch[2 * h];
        if (slot[1] == 0) {
            slot[0] = pc;
            slot[1] = 1;
            return 1;
        }
        if (slot[0] == pc)
            return (uint32_t)++slot[1];
    }
}

/* The bucketed occurrence of branch point i (scratch is reset by the caller). */
static unsigned point_bucket(uint64_t *scratch, size_t slots, const struct sx_branch *b)
{
    return bucket(occurrence(scratch, slots, b->pc ^ ((uint64_t)b->kind << 60)));
}

size_t sx_branch_map_visit(struct sx_branch_map *m, const struct sx_branch *b, size_t n,
                           bool *try, uint64_t *scratch)
{
    size_t slots = 2 * (n ? n : 1), fresh = 0;
    /* first every side this path took: a flip's target may be one of them */
    memset(scratch, 0, 2 * slots * sizeof *scratch);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = side_key(b[i].pc, b[i].kind, b[i].jumped, point_bucket(scratch, slots, &b[i]));
        if (!(m->side[k] & SIDE_SEEN)) {
            m->side[k] |= SIDE_SEEN;
            fresh++;
        }
    }
    memset(scratch, 0, 2 * slots * sizeof *scratch);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = side_key(b[i].pc, b[i].kind, !b[i].jumped, point_bucket(scratch, slots, &b[i]));
        try[i] = !(m->side[k] & (SIDE_SEEN | SIDE_TRIED));
        if (try[i])
            m->side[k] |= SIDE_TRIED;
    }
    return fresh;
}
