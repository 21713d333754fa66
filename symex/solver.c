#include "solver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtlib.h"
#include "symhv/sidecar.h" /* SC_SOLVERS_BUILT */

/* One cached answer: the sorted constraint ids, the verdict, and the model bytes the
 * solver chose (input, offset, value). */
struct cache_entry {
    struct cache_entry *next;
    uint64_t hash;
    size_t n;
    uint32_t *ids;
    enum sx_sat result;
    size_t nassign;
    uint64_t *assign; /* (input << 40) | (offset << 8) | value */
};

#define CACHE_BUCKETS 4096

/* A query larger than this (nodes of its DAG, multiplications and divisions weighted by
 * their width, as bit-blasting pays for them) is not sent to the backend: Z3 does not honour
 * its timeout while it asserts and simplifies such a query (a checksum loop's path of a few
 * hundred depth-1000 polynomials took minutes and gigabytes). It answers SX_UNKNOWN. */
#define MAX_QUERY_COST 200000u

struct sx_solver {
    struct sx_ctx *ctx;
    const struct sx_solver_backend *ops;
    void *impl;
    struct cache_entry *cache[CACHE_BUCKETS];
    struct sx_solver_stats stats;
    struct sx_walker walker;   /* costing queries */
    struct sx_query_dump *dump; /* NULL: queries are not written */
};

void sx_solver_set_dump(struct sx_solver *s, struct sx_query_dump *dump) { s->dump = dump; }

/* One query into the corpus directory, within its caps. */
static void dump_query(struct sx_solver *s, const struct sx_expr *const *c, size_t n)
{
    struct sx_query_dump *d = s->dump;
    if (d->capped || d->failed)
        return;
    if (d->written >= d->max_queries || d->bytes >= d->max_bytes) {
        d->capped = true;
        return;
    }
    char path[sizeof d->dir + 64];
    snprintf(path, sizeof path, "%s/r%05u-q%06llu.smt2", d->dir, d->request,
             (unsigned long long)d->written);
    FILE *f = fopen(path, "w");
    bool ok = f && sx_smtlib_write(f, s->ctx, c, n);
    long size = f ? ftell(f) : 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        d->failed = true;
        d->error = errno;
        return;
    }
    d->written++;
    d->bytes += size > 0 ? (uint64_t)size : 0;
}

/* The backends, by name. The first is the default (SC_DEFAULT_SOLVER): Bitwuzla, which
 * the query corpus favours (README, scripts/bench-solvers), where it is built; else the
 * portfolio. cvc5 and Bitwuzla alone are portfolios of one (solver_portfolio.c). */
static const struct sx_solver_backend *const backends[] = {
#ifdef SYMHV_HAVE_BITWUZLA
    &sx_backend_bitwuzla_guarded,
#endif
    &sx_backend_portfolio, &sx_backend_z3, &sx_backend_z3_fresh,
#ifdef SYMHV_HAVE_CVC5
    &sx_backend_cvc5_guarded, &sx_backend_z3_cvc5,
#endif
#ifdef SYMHV_HAVE_BITWUZLA
    &sx_backend_z3_bitwuzla,
#endif
#if defined SYMHV_HAVE_BITWUZLA && defined SYMHV_HAVE_CVC5
    &sx_backend_bitwuzla_cvc5,
#endif
};

const char *sx_solver_backend_names(void)
{
    return SC_SOLVERS_NAMED;
}

void sx_solver_tally(const struct sx_solver *s, struct sx_member_tally *t)
{
    if (s->ops->tally)
        s->ops->tally(s->impl, t);
}

void sx_solver_set_progress(struct sx_solver *s, const struct sx_progress *p)
{
    if (s->ops->set_progress)
        s->ops->set_progress(s->impl, p);
}

void sx_solver_set_memory_limit(uint64_t bytes)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i]->set_memory_limit)
            backends[i]->set_memory_limit(bytes);
}

struct sx_solver *sx_solver_new(struct sx_ctx *ctx, const char *backend, unsigned timeout_ms)
{
    struct sx_solver *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ctx = ctx;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0] && !s->ops; i++)
        if (!backend || strcmp(backend, backends[i]->name) == 0)
            s->ops = backends[i];
    s->impl = s->ops ? s->ops->create(ctx, timeout_ms) : NULL;
    if (!s->impl) {
        free(s);
        return NULL;
    }
    return s;
}

void sx_solver_free(struct sx_solver *s)
{
    if (!s)
        return;
    s->ops->destroy(s->impl);
    sx_walker_release(&s->walker);
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        for (struct cache_entry *e = s->cache[i], *next; e; e = next) {
            next = e->next;
            free(e->ids);
            free(e->assign);
            free(e);
        }
    }
    free(s);
}

const char *sx_solver_backend_name(const struct sx_solver *s) { return s->ops->name; }
const struct sx_solver_stats *sx_solver_stats(const struct sx_solver *s) { return &s->stats; }

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The query as a sorted, de-duplicated id set: order and repeats do not change it. */
static size_t query_key(const struct sx_expr *const *c, size_t n, uint32_t *ids, uint64_t *hash)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = c[i]->id;
    qsort(ids, n, sizeof *ids, cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || ids[m - 1] != ids[i])
            ids[m++] = ids[i];
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < m; i++)
        h = (h ^ ids[i]) * 1099511628211ull;
    *hash = h;
    return m;
}

static bool add_cost(const struct sx_expr *e, void *ctx)
{
    uint64_t *cost = ctx;
    bool heavy = e->op == SX_MUL || e->op == SX_UDIV || e->op == SX_SDIV || e->op == SX_UREM ||
                 e->op == SX_SREM;
    *cost += heavy ? e->width : 1;
    return *cost <= MAX_QUERY_COST; /* the walk stops as soon as the budget is spent */
}

/* Is the query's DAG cheaper than MAX_QUERY_COST? Each node once, and no further than the
 * budget (so costing a huge query is cheap too). */
static bool query_affordable(struct sx_solver *s, const struct sx_expr *const *c, size_t n)
{
    uint64_t cost = 0;
    return sx_walk(&s->walker, c, n, add_cost, &cost);
}

/* Record which model bytes the backend set, by diffing against the seed. */
static void remember(struct sx_solver *s, uint64_t hash, uint32_t *ids, size_t n,
                     enum sx_sat r, const struct sx_model *seed, const struct sx_model *model)
{
    struct cache_entry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->hash = hash;
    e->n = n;
    e->ids = ids;
    e->result = r;
    if (r == SX_SAT && model) {
        size_t cap = 0;
        for (uint32_t i = 0; i < model->ninputs; i++)
            cap += model->lengths[i];
        e->assign = malloc((cap ? cap : 1) * sizeof *e->assign);
        for (uint32_t i = 0; i < model->ninputs && e->assign; i++)
            for (uint32_t o = 0; o < model->lengths[i]; o++)
                if (!seed || model->bytes[i][o] != seed->bytes[i][o])
                    e->assign[e->nassign++] = ((uint64_t)i << 40) | ((uint64_t)o << 8) |
                                              model->bytes[i][o];
    }
    struct cache_entry **b = &s->cache[hash % CACHE_BUCKETS];
    e->next = *b;
    *b = e;
}

enum sx_sat sx_solver_check(struct sx_solver *s, const struct sx_expr *const *constraints,
                            size_t n, struct sx_model *model)
{
    s->stats.queries++;
    /* Trivial cases need no solver: a constant false, or only constant trues. */
    size_t nonconst = 0;
    for (size_t i = 0; i < n; i++) {
        if (sx_is_const(constraints[i])) {
            if (!constraints[i]->value) {
                s->stats.unsat++;
                return SX_UNSAT;
            }
        } else {
            nonconst++;
        }
    }
    if (nonconst == 0) {
        s->stats.sat++;
        return SX_SAT;
    }

    uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        abort();
    uint64_t hash;
    size_t m = query_key(constraints, n, ids, &hash);
    for (struct cache_entry *e = s->cache[hash % CACHE_BUCKETS]; e; e = e->next) {
        if (e->hash == hash && e->n == m && memcmp(e->ids, ids, m * sizeof *ids) == 0) {
            free(ids);
            s->stats.cache_hits++;
            if (e->result == SX_SAT && model)
                for (size_t i = 0; i < e->nassign; i++)
                    sx_model_set(model, (uint32_t)(e->assign[i] >> 40),
                                 (uint32_t)(e->assign[i] >> 8) & 0xffffffffu,
                                 (uint8_t)e->assign[i]);
            return e->result;
        }
    }

    if (!query_affordable(s, constraints, n)) {
        free(ids);
        s->stats.unknown++;
        s->stats.too_large++;
        return SX_UNKNOWN;
    }
    if (s->dump)
        dump_query(s, constraints, n);
    struct sx_model *seed = model ? sx_model_new(s->ctx, model) : NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum sx_sat r = s->ops->check(s->impl, constraints, n, model);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->stats.seconds += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (r == SX_SAT)
        s->stats.sat++;
    else if (r == SX_UNSAT)
        s->stats.unsat++;
    else
        s->stats.unknown++;
    if (r != SX_UNKNOWN) /* a timeout may succeed another time: do not cache it */
        remember(s, hash, ids, m, r, seed, model);
    else
        free(ids);
    sx_model_free(seed);
    return r;
}
