#include "path.h"

#include <stdlib.h>
#include <string.h>

void sx_path_init(struct sx_path *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
}

void sx_path_release(struct sx_path *p)
{
    for (size_t i = 0; i < p->leaves_cap; i++)
        free(p->leaves[i].keys);
    free(p->leaves);
    sx_walker_release(&p->walker);
    free(p->seen);
    free(p->constraints);
    free(p->pinned);
    free(p->branches);
    pthread_mutex_destroy(&p->lock);
    memset(p, 0, sizeof *p);
}

static void assume_locked(struct sx_path *p, const struct sx_expr *cond, bool pinned)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->constraints = realloc(p->constraints, p->cap * sizeof *p->constraints);
        p->pinned = realloc(p->pinned, p->cap * sizeof *p->pinned);
        if (!p->constraints || !p->pinned)
            abort();
    }
    p->pinned[p->n] = pinned;
    p->constraints[p->n++] = cond;
}

static void assume(struct sx_path *p, const struct sx_expr *cond, bool pinned)
{
    if (sx_is_const(cond))
        return; /* true: nothing learnt (false cannot be: it held concretely) */
    pthread_mutex_lock(&p->lock);
    assume_locked(p, cond, pinned);
    pthread_mutex_unlock(&p->lock);
}

void sx_path_assume(struct sx_path *p, const struct sx_expr *cond) { assume(p, cond, true); }

void sx_path_require(struct sx_path *p, const struct sx_expr *cond) { assume(p, cond, false); }

static void add_branch(struct sx_path *p, struct sx_branch b, bool assume)
{
    pthread_mutex_lock(&p->lock);
    if (p->nbranches == p->branches_cap) {
        p->branches_cap = p->branches_cap ? 2 * p->branches_cap : 64;
        p->branches = realloc(p->branches, p->branches_cap * sizeof *p->branches);
        if (!p->branches)
            abort();
    }
    b.prefix = p->n;
    p->branches[p->nbranches++] = b;
    if (assume)
        assume_locked(p, b.taken, false);
    pthread_mutex_unlock(&p->lock);
}

/* How many times this path met (pc, kind) from these callers (context) so far, this one
 * included. Caller holds the lock. */
static uint32_t occurrence_locked(struct sx_path *p, uint64_t pc, uint32_t context, uint8_t kind)
{
    if (2 * (p->nseen + 1) > p->seen_cap) {
        size_t cap = p->seen_cap ? 2 * p->seen_cap : 256;
        __typeof__(p->seen) g = calloc(cap, sizeof *g);
        if (!g)
            abort();
        for (size_t i = 0; i < p->seen_cap; i++) {
            if (!p->seen[i].count)
                continue;
            size_t h = (size_t)((p->seen[i].pc ^ (uint64_t)p->seen[i].context << 32) *
                                    0x9e3779b97f4a7c15ull + p->seen[i].kind) & (cap - 1);
            while (g[h].count)
                h = (h + 1) & (cap - 1);
            g[h] = p->seen[i];
        }
        free(p->seen);
        p->seen = g;
        p->seen_cap = cap;
    }
    size_t h = (size_t)((pc ^ (uint64_t)context << 32) * 0x9e3779b97f4a7c15ull + kind) &
               (p->seen_cap - 1);
    while (p->seen[h].count && (p->seen[h].pc != pc || p->seen[h].kind != kind ||
                                p->seen[h].context != context))
        h = (h + 1) & (p->seen_cap - 1);
    if (!p->seen[h].count) {
        p->seen[h].pc = pc;
        p->seen[h].context = context;
        p->seen[h].kind = kind;
        p->nseen++;
    }
    if (p->seen[h].count < UINT32_MAX)
        p->seen[h].count++;
    return p->seen[h].count;
}

/* QSYM's pruning of hot code: past SX_PRUNE_EXACT, a branch's later occurrences count
 * only at powers of two; the others run as if concrete (no constraint, no flip). */
static bool pruned(const struct sx_path *p, uint32_t occurrence)
{
    return !p->no_pruning && occurrence > SX_PRUNE_EXACT && (occurrence & (occurrence - 1));
}

void sx_path_branch(struct sx_path *p, uint64_t pc, uint32_t context,
                    const struct sx_expr *taken, bool jumped)
{
    if (sx_is_const(taken))
        return;
    pthread_mutex_lock(&p->lock);
    bool skip = pruned(p, occurrence_locked(p, pc, context, SX_FLIP_JUMP));
    p->pruned += skip;
    pthread_mutex_unlock(&p->lock);
    if (!skip)
        add_branch(p, (struct sx_branch){ .pc = pc, .context = context, .jumped = jumped,
                                          .kind = SX_FLIP_JUMP, .taken = taken }, true);
}

void sx_path_candidate(struct sx_path *p, uint64_t pc, const struct sx_expr *held,
                       enum sx_flip_kind kind, bool assume, uint64_t value)
{
    if (sx_is_const(held))
        return;
    /* a loop would repeat it without end: SX_CANDIDATES_PER_PC of them, then only the
     * constraint */
    pthread_mutex_lock(&p->lock);
    bool wanted = occurrence_locked(p, pc, 0, (uint8_t)kind) <= SX_CANDIDATES_PER_PC;
    pthread_mutex_unlock(&p->lock);
    if (wanted)
        add_branch(p, (struct sx_branch){ .pc = pc, .jumped = true, .kind = (uint8_t)kind,
                                          .taken = held, .value = value }, assume);
    else if (assume)
        sx_path_assume(p, held);
}

/* ---- slicing ------------------------------------------------------------------------- */

#define LEAVES_MAX 4096 /* a constraint reading more bytes counts as reading all */

/* A set of 64-bit keys, open addressing; UINT64_MAX is the empty slot. */
struct keyset {
    uint64_t *slot;
    size_t cap, n;
};

static bool keyset_add(struct keyset *k, uint64_t key)
{
    if (2 * (k->n + 1) > k->cap) {
        struct keyset g = { malloc((k->cap ? 2 * k->cap : 64) * sizeof *g.slot),
                            k->cap ? 2 * k->cap : 64, 0 };
        if (!g.slot)
            abort();
        memset(g.slot, 0xff, g.cap * sizeof *g.slot);
        for (size_t i = 0; i < k->cap; i++)
            if (k->slot[i] != UINT64_MAX)
                keyset_add(&g, k->slot[i]);
        free(k->slot);
        *k = g;
    }
    size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (k->cap - 1);
    while (k->slot[h] != UINT64_MAX && k->slot[h] != key)
        h = (h + 1) & (k->cap - 1);
    if (k->slot[h] == key)
        return false;
    k->slot[h] = key;
    k->n++;
    return true;
}

static bool keyset_has(const struct keyset *k, uint64_t key)
{
    if (!k->cap)
        return false;
    size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (k->cap - 1);
    while (k->slot[h] != UINT64_MAX && k->slot[h] != key)
        h = (h + 1) & (k->cap - 1);
    return k->slot[h] == key;
}

struct leaf_list {
    uint64_t *keys;
    uint32_t n, cap;
};

static bool note_leaf(const struct sx_expr *e, void *ctx)
{
    struct leaf_list *l = ctx;
    if (e->op != SX_INPUT)
        return true;
    if (l->n == LEAVES_MAX)
        return false; /* too many: counts as all */
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->keys = realloc(l->keys, l->cap * sizeof *l->keys);
        if (!l->keys)
            abort();
    }
    l->keys[l->n++] = (uint64_t)e->value; /* hash-consed: each byte's node comes once */
    return true;
}

/* The input bytes e reads. */
static void collect_leaves(struct sx_path *p, const struct sx_expr *e, struct sx_leaves *out)
{
    struct leaf_list l = { 0 };
    out->all = !sx_walk(&p->walker, &e, 1, note_leaf, &l);
    out->keys = l.keys ? l.keys : malloc(sizeof *out->keys);
    if (!out->keys)
        abort();
    out->n = l.n;
}

static bool holds_under(const struct sx_expr *c, struct sx_ctx *ctx, const struct sx_model *m)
{
    return sx_eval(ctx, c, (const uint8_t *const *)m->bytes, m->lengths) != 0;
}

static const struct sx_leaves *leaves_of(struct sx_path *p, size_t i)
{
    if (p->leaves_cap < p->n) {
        size_t cap = p->n;
        p->leaves = realloc(p->leaves, cap * sizeof *p->leaves);
        if (!p->leaves)
            abort();
        memset(p->leaves + p->leaves_cap, 0, (cap - p->leaves_cap) * sizeof *p->leaves);
        p->leaves_cap = cap;
    }
    if (!p->leaves[i].keys) {
        collect_leaves(p, p->constraints[i], &p->leaves[i]);
        p->leaves[i].seed_holds = -1;
    }
    return &p->leaves[i];
}

enum sx_sat sx_path_flip(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                         size_t i, struct sx_model *model)
{
    return sx_path_flip_excluding(p, ctx, s, i, model, NULL, 0);
}

static enum sx_sat flip_query(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                              size_t i, struct sx_model *model,
                              const struct sx_expr *const *extra, size_t nextra,
                              bool without_pins);

/* The branch alone, with the constraints the seed does not meet. */
static enum sx_sat flip_alone(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                              size_t i, struct sx_model *model)
{
    const struct sx_branch *b = &p->branches[i];
    const struct sx_expr **q = malloc((b->prefix + 1) * sizeof *q);
    if (!q)
        abort();
    size_t nq = 0;
    for (size_t c = 0; c < b->prefix; c++) {
        if (c % SX_PROGRESS_EVERY == SX_PROGRESS_EVERY - 1)
            sx_progress_beat(&p->progress);
        leaves_of(p, c); /* allocates p->leaves[c] */
        struct sx_leaves *lw = &p->leaves[c];
        if (lw->seed_holds < 0)
            lw->seed_holds = holds_under(p->constraints[c], ctx, model);
        if (!lw->seed_holds)
            q[nq++] = p->constraints[c];
    }
    q[nq++] = sx_lnot(ctx, b->taken);
    enum sx_sat r = sx_solver_check(s, q, nq, model);
    free(q);
    return r;
}

enum sx_sat sx_path_flip_optimistic(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                                    size_t i, struct sx_model *model)
{
    if (i >= p->nbranches || !model)
        return SX_UNSAT;
    enum sx_sat r = flip_query(p, ctx, s, i, model, NULL, 0, true);
    return r == SX_SAT ? r : flip_alone(p, ctx, s, i, model);
}

enum sx_sat sx_path_flip_excluding(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                                   size_t i, struct sx_model *model,
                                   const struct sx_expr *const *extra, size_t nextra)
{
    if (i >= p->nbranches)
        return SX_UNSAT;
    return flip_query(p, ctx, s, i, model, extra, nextra, false);
}

/* The flip's query, sliced (unless no_slicing or no model); without_pins leaves out the
 * values the path pinned concrete, keeping its decisions. */
static enum sx_sat flip_query(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                              size_t i, struct sx_model *model,
                              const struct sx_expr *const *extra, size_t nextra,
                              bool without_pins)
{
    const struct sx_branch *b = &p->branches[i];
    const struct sx_expr **q = malloc((b->prefix + 1 + nextra) * sizeof *q);
    bool *in = calloc(b->prefix + 1, sizeof *in);
    if (!q || !in)
        abort();
    size_t nq = 0;
    if (p->no_slicing || !model) {
        for (size_t c = 0; c < b->prefix; c++)
            if (!(without_pins && p->pinned[c]))
                q[nq++] = p->constraints[c];
    } else {
        /* the negated branch's bytes, then every constraint that shares one, until
         * nothing more joins */
        struct sx_leaves neg = { 0 };
        collect_leaves(p, b->taken, &neg);
        struct keyset keys = { 0 };
        for (uint32_t k = 0; k < neg.n; k++)
            keyset_add(&keys, neg.keys[k]);
        bool all = neg.all;
        free(neg.keys);
        uint64_t looked = 0;
        for (bool grew = true; grew;) {
            grew = false;
            for (size_t c = 0; c < b->prefix; c++) {
                if (++looked % SX_PROGRESS_EVERY == 0)
                    sx_progress_beat(&p->progress);
                if (in[c] || (without_pins && p->pinned[c]))
                    continue;
                const struct sx_leaves *l = leaves_of(p, c);
                bool shares = all || l->all;
                for (uint32_t k = 0; k < l->n && !shares; k++)
                    shares = keyset_has(&keys, l->keys[k]);
                /* left out only if the seed satisfies it (an assumption the input did not
                 * meet, e.g. symhv_assume's, has to be in every query) */
                if (!shares && model) {
                    struct sx_leaves *lw = &p->leaves[c];
                    if (lw->seed_holds < 0)
                        lw->seed_holds = holds_under(p->constraints[c], ctx, model);
                    shares = !lw->seed_holds;
                }
                if (!shares)
                    continue;
                in[c] = grew = true;
                all = all || l->all;
                for (uint32_t k = 0; k < l->n; k++)
                    keyset_add(&keys, l->keys[k]);
            }
        }
        free(keys.slot);
        for (size_t c = 0; c < b->prefix; c++)
            if (in[c])
                q[nq++] = p->constraints[c];
        p->sliced_away += b->prefix - nq;
    }
    q[nq++] = sx_lnot(ctx, b->taken);
    for (size_t k = 0; k < nextra; k++) /* on the negated branch's bytes: in its slice */
        q[nq++] = extra[k];
    enum sx_sat r = sx_solver_check(s, q, nq, model);
    free(in);
    free(q);
    return r;
}
