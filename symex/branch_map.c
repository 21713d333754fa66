#include "branch_map.h"

#include <string.h>

enum { SIDE_SEEN = 1, SIDE_TRIED = 2 };

/* Exact up to EXACT_HITS (a string compare's loop matching one more character is a new
 * side: a 32-character password is found a character a generation), then powers of
 * two (a loop over a large input does not make a side per iteration). */
#define EXACT_HITS 32
static unsigned bucket(uint32_t hits)
{
    if (hits <= EXACT_HITS)
        return hits;
    unsigned b = EXACT_HITS;
    while (hits > EXACT_HITS && b < EXACT_HITS + 24) {
        hits >>= 1;
        b++;
    }
    return b;
}

/* A pinned address's or target's side is its value: another table entry, another case,
 * each tried once from each value seen. */
static uint32_t side_key(const struct sx_branch *br, bool jumped, unsigned b)
{
    uint64_t value = br->kind == SX_FLIP_ADDRESS || br->kind == SX_FLIP_TARGET ? br->value : 0;
    /* A jump's side is also the first input byte its condition reads: one branch of
     * glibc's vector strcmp tests the byte where the strings first differ, a different
     * byte for each prefix that matched, at the same pc and count. Only while counts
     * are exact: past them a loop over the input's bytes stays a few sides. */
    uint64_t first = br->kind == SX_FLIP_JUMP && br->taken && b <= EXACT_HITS
                         ? br->taken->first_input : 0;
    uint64_t h = br->pc * 0x9e3779b97f4a7c15ull ^ ((uint64_t)br->kind << 56) ^
                 ((uint64_t)jumped << 52) ^ ((uint64_t)b << 44) ^ value * 0xc2b2ae3d27d4eb4full ^
                 (uint64_t)br->context * 0x94d049bb133111ebull ^ first * 0xd6e8feb86659fd93ull;
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

/* The bucketed occurrence of branch point i among those of its pc, kind and callers
 * (scratch is reset by the caller). */
static unsigned point_bucket(uint64_t *scratch, size_t slots, const struct sx_branch *b)
{
    return bucket(occurrence(scratch, slots, b->pc ^ ((uint64_t)b->kind << 60) ^
                                                 ((uint64_t)b->context << 24)));
}

size_t sx_branch_map_visit(struct sx_branch_map *m, const struct sx_branch *b, size_t n,
                           uint32_t *other, uint64_t *scratch)
{
    size_t slots = 2 * (n ? n : 1), fresh = 0;
    memset(scratch, 0, 2 * slots * sizeof *scratch);
    for (size_t i = 0; i < n; i++) {
        unsigned bk = point_bucket(scratch, slots, &b[i]);
        uint32_t k = side_key(&b[i], b[i].jumped, bk);
        if (!(m->side[k] & SIDE_SEEN)) {
            m->side[k] |= SIDE_SEEN;
            fresh++;
        }
        other[i] = side_key(&b[i], !b[i].jumped, bk);
    }
    return fresh;
}

bool sx_branch_map_wanted(const struct sx_branch_map *m, uint32_t side)
{
    return !(m->side[side & (SX_BRANCH_MAP_SIZE - 1)] & (SIDE_SEEN | SIDE_TRIED));
}

void sx_branch_map_reached(struct sx_branch_map *m, uint32_t side)
{
    m->side[side & (SX_BRANCH_MAP_SIZE - 1)] |= SIDE_TRIED;
}
