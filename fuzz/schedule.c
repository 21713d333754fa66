/* Which queue entry to mutate next: a power schedule in the spirit of AFL++'s "rare"
 * and "explore" schedules. Every execution counts, per edge, how often it was hit;
 * an entry is worth as much as the rarest edge it covers. Three entries drawn at random
 * compete and the one with the rarest edge wins, so the entries that reach what few
 * executions reach are mutated most, while every entry keeps a chance. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void fz_count_hits(uint32_t *hits, const uint8_t *trace, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, trace + i, n - i < 8 ? n - i : 8);
        if (!w)
            continue;
        for (size_t k = i; k < i + 8 && k < n; k++)
            if (trace[k] && hits[k] != UINT32_MAX)
                hits[k]++;
    }
}

void fz_entry_set_edges(struct fz_entry *e, const uint8_t *trace, size_t n)
{
    free(e->edges);
    e->edges = NULL;
    e->nedges = 0;
    uint32_t found[FZ_ENTRY_EDGES];
    uint32_t k = 0;
    for (size_t i = 0; i < n && k < FZ_ENTRY_EDGES; i++)
        if (trace[i])
            found[k++] = (uint32_t)i;
    if (!k)
        return;
    e->edges = malloc(k * sizeof *e->edges);
    if (!e->edges)
        abort();
    memcpy(e->edges, found, k * sizeof *found);
    e->nedges = k;
}

static uint32_t rarest(const struct fz_entry *e, const uint32_t *hits)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < e->nedges; i++)
        if (hits[e->edges[i]] < best)
            best = hits[e->edges[i]];
    return best;
}

size_t fz_pick(const struct fz_queue *q, const uint32_t *hits, struct fz_rng *r)
{
    size_t best = (size_t)fz_rng_below(r, q->n);
    if (!hits)
        return best;
    uint32_t best_score = rarest(&q->entries[best], hits);
    for (int round = 0; round < 2; round++) {
        size_t k = (size_t)fz_rng_below(r, q->n);
        uint32_t score = rarest(&q->entries[k], hits);
        if (score < best_score) {
            best = k;
            best_score = score;
        }
    }
    return best;
}
