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
    free(p->constraints);
    free(p->branches);
    pthread_mutex_destroy(&p->lock);
    memset(p, 0, sizeof *p);
}

static void assume_locked(struct sx_path *p, const struct sx_expr *cond)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->constraints = realloc(p->constraints, p->cap * sizeof *p->constraints);
        if (!p->constraints)
            abort();
    }
    p->constraints[p->n++] = cond;
}

void sx_path_assume(struct sx_path *p, const struct sx_expr *cond)
{
    if (sx_is_const(cond))
        return; /* true: nothing learnt (false cannot be: it held concretely) */
    pthread_mutex_lock(&p->lock);
    assume_locked(p, cond);
    pthread_mutex_unlock(&p->lock);
}

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
        assume_locked(p, b.taken);
    pthread_mutex_unlock(&p->lock);
}

void sx_path_branch(struct sx_path *p, struct sx_ctx *ctx, uint64_t pc,
                    const struct sx_expr *taken, bool jumped)
{
    (void)ctx;
    if (!sx_is_const(taken))
        add_branch(p, (struct sx_branch){ pc, jumped, SX_FLIP_JUMP, taken, 0 }, true);
}

void sx_path_candidate(struct sx_path *p, uint64_t pc, const struct sx_expr *held,
                       enum sx_flip_kind kind, bool assume)
{
    if (!sx_is_const(held))
        add_branch(p, (struct sx_branch){ pc, true, (uint8_t)kind, held, 0 }, assume);
}

enum sx_sat sx_path_flip(const struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                         size_t i, struct sx_model *model)
{
    if (i >= p->nbranches)
        return SX_UNSAT;
    const struct sx_branch *b = &p->branches[i];
    const struct sx_expr **q = malloc((b->prefix + 1) * sizeof *q);
    if (!q)
        abort();
    memcpy(q, p->constraints, b->prefix * sizeof *q);
    q[b->prefix] = sx_lnot(ctx, b->taken);
    enum sx_sat r = sx_solver_check(s, q, b->prefix + 1, model);
    free(q);
    return r;
}
