/* Corpus and crash minimisation (symhv cmin, symhv tmin), without the VM: the fuzzer
 * runs the executions, these decide.
 *
 * cmin (as afl-cmin): every (edge, hit bucket) pair seen keeps the smallest input that
 * produced it; the kept set is the union of those.
 * tmin (as afl-tmin): delete blocks, halving the block size down to one byte, then turn
 * bytes into '0', keeping each change after which the input still fails the same way. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int fz_cmin_init(struct fz_cmin *c, size_t map_len)
{
    memset(c, 0, sizeof *c);
    c->map_len = map_len;
    /* per map byte and bucket bit: the entry (index + 1; 0 = none) */
    c->best = calloc(map_len * 8, sizeof *c->best);
    return c->best ? 0 : -1;
}

void fz_cmin_account(struct fz_cmin *c, const struct fz_queue *q, size_t entry,
                     const uint8_t *trace)
{
    for (size_t i = 0; i < c->map_len; i++) {
        if (!trace[i])
            continue;
        for (unsigned b = 0; b < 8; b++) {
            if (!(trace[i] & (1u << b)))
                continue;
            uint32_t *slot = &c->best[i * 8 + b];
            if (!*slot || q->entries[*slot - 1].len > q->entries[entry].len)
                *slot = (uint32_t)entry + 1;
        }
    }
}

size_t fz_cmin_result(const struct fz_cmin *c, size_t nentries, bool *keep)
{
    memset(keep, 0, nentries * sizeof *keep);
    size_t kept = 0;
    for (size_t i = 0; i < c->map_len * 8; i++)
        if (c->best[i] && c->best[i] - 1 < nentries && !keep[c->best[i] - 1]) {
            keep[c->best[i] - 1] = true;
            kept++;
        }
    return kept;
}

void fz_cmin_free(struct fz_cmin *c)
{
    free(c->best);
    c->best = NULL;
}

int fz_tmin_init(struct fz_tmin *t, const uint8_t *data, uint32_t len)
{
    memset(t, 0, sizeof *t);
    t->best = malloc(len ? len : 1);
    t->cand = malloc(len ? len : 1);
    if (!t->best || !t->cand)
        return -1;
    memcpy(t->best, data, len);
    t->len = len;
    uint32_t block = 1;
    while (block * 2 <= len / 2)
        block *= 2;
    t->block = block;
    return 0;
}

/* Next candidate into t->cand / t->cand_len; false when minimisation is over. */
bool fz_tmin_next(struct fz_tmin *t)
{
    while (!t->normalising) {
        if (t->len > 1 && t->pos < t->len) {
            uint32_t n = t->block < t->len - t->pos ? t->block : t->len - t->pos;
            if (n == t->len)
                n = t->len - 1; /* never the empty input */
            memcpy(t->cand, t->best, t->pos);
            memcpy(t->cand + t->pos, t->best + t->pos + n, t->len - t->pos - n);
            t->cand_len = t->len - n;
            return true;
        }
        if (t->block > 1 && t->block / 2 >= t->min_block) {
            t->block /= 2;
            t->pos = 0;
            continue;
        }
        if (t->delete_only)
            return false;
        t->normalising = true;
        t->pos = 0;
    }
    while (t->pos < t->len && t->best[t->pos] == '0')
        t->pos++;
    if (t->pos >= t->len)
        return false;
    memcpy(t->cand, t->best, t->len);
    t->cand[t->pos] = '0';
    t->cand_len = t->len;
    return true;
}

void fz_tmin_outcome(struct fz_tmin *t, bool same_failure)
{
    t->tries++;
    if (same_failure) {
        memcpy(t->best, t->cand, t->cand_len);
        t->len = t->cand_len; /* deletions: the next block now starts at pos */
        if (t->normalising)
            t->pos++;
        return;
    }
    if (t->normalising)
        t->pos++;
    else
        t->pos += t->block;
}

void fz_tmin_free(struct fz_tmin *t)
{
    free(t->best);
    free(t->cand);
    t->best = t->cand = NULL;
}
