/* The Z3 backend (Z3's C API, libz3-dev), in two modes:
 *  - "z3" (default), incremental: one solver for all queries; each constraint is asserted
 *    once, guarded by a literal of its own (g => c), and a query is a check under the
 *    assumptions of its constraints' guards, so a path prefix is asserted once for all
 *    the flips along it. (Not push/pop: Z3_solver_push internalises what was asserted
 *    without honouring the timeout, and a checksum loop's deep constraints held it for
 *    minutes; under assumptions that work happens inside the timed check.)
 *  - "z3-fresh": a new QF_BV tactic solver per query, with Z3's full preprocessing,
 *    for queries where that pays (the tests' checksum inversions show no difference
 *    between the two so far).
 * Both reuse the translation of each expression node across queries.
 *
 * The context is Z3's non-reference-counted kind: ASTs live as long as the context.
 * (In a reference-counted context every intermediate AST would need an inc_ref before
 * the next API call; one translation per hash-consed node is memoised anyway.) */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <z3.h>

#include "solver_backend.h"

struct z3_backend {
    struct sx_ctx *ctx;
    Z3_context z;
    Z3_params params;        /* timeout */
    bool incremental;
    Z3_solver solver;        /* incremental mode only */
    Z3_ast *memo;            /* translated expressions by id */
    size_t memo_cap;
    const struct sx_expr **leaves; /* every input byte translated so far */
    size_t nleaves, leaves_cap;
    /* the input bytes of the current query (a model is read for these only: the solver
     * also holds the guarded constraints of earlier queries, whose bytes it may set to
     * anything) */
    const struct sx_expr **qleaves;
    size_t nqleaves, qleaves_cap;
    struct sx_walker walker;
    struct sx_progress progress; /* beaten while many constraints are translated */
    Z3_ast *guards;          /* incremental: the guard literal of each asserted
                                constraint, by its id */
    size_t guards_cap;
    /* An interrupt (another thread: the portfolio) reaches Z3 only while a check runs:
     * one that landed in Z3_solver_assert would drop that assertion, and a guard
     * without its constraint makes later answers wrong. */
    pthread_mutex_t check_lock; /* guards in_check and cancel */
    bool in_check;
    bool cancel;             /* interrupted before its check began: skip the check */
};

static void on_z3_error(Z3_context z, Z3_error_code code)
{
    (void)z;
    (void)code; /* reported by the caller through the UNKNOWN result */
}

static Z3_ast bv_of_bool(struct z3_backend *b, Z3_ast cond)
{
    Z3_sort s1 = Z3_mk_bv_sort(b->z, 1);
    return Z3_mk_ite(b->z, cond, Z3_mk_int(b->z, 1, s1), Z3_mk_int(b->z, 0, s1));
}

static Z3_ast bool_of_bv(struct z3_backend *b, Z3_ast bv1)
{
    return Z3_mk_eq(b->z, bv1, Z3_mk_int(b->z, 1, Z3_mk_bv_sort(b->z, 1)));
}

static Z3_ast mk_const(struct z3_backend *b, unsigned width, sx_u128 v)
{
    if (width <= 64)
        return Z3_mk_unsigned_int64(b->z, (uint64_t)v, Z3_mk_bv_sort(b->z, width));
    Z3_ast hi = Z3_mk_unsigned_int64(b->z, (uint64_t)(v >> 64), Z3_mk_bv_sort(b->z, width - 64));
    Z3_ast lo = Z3_mk_unsigned_int64(b->z, (uint64_t)v, Z3_mk_bv_sort(b->z, 64));
    return Z3_mk_concat(b->z, hi, lo);
}

static Z3_ast memo_get(struct z3_backend *b, const struct sx_expr *e)
{
    return e->id < b->memo_cap ? b->memo[e->id] : NULL;
}

static void memo_put(struct z3_backend *b, const struct sx_expr *e, Z3_ast r)
{
    if (e->id >= b->memo_cap) {
        size_t cap = (e->id + 1) * 2;
        b->memo = realloc(b->memo, cap * sizeof *b->memo);
        if (!b->memo)
            abort();
        memset(b->memo + b->memo_cap, 0, (cap - b->memo_cap) * sizeof *b->memo);
        b->memo_cap = cap;
    }
    b->memo[e->id] = r;
}

/* One node whose operands are translated already. */
static Z3_ast translate_node(struct z3_backend *b, const struct sx_expr *e)
{
    Z3_context z = b->z;
    Z3_ast x = e->a ? memo_get(b, e->a) : NULL, y = e->b ? memo_get(b, e->b) : NULL;
    switch (e->op) {
    case SX_CONST: return mk_const(b, e->width, e->value);
    case SX_INPUT: {
        char name[96];
        sx_input_byte_name(b->ctx, e, name, sizeof name);
        if (b->nleaves == b->leaves_cap) {
            b->leaves_cap = b->leaves_cap ? 2 * b->leaves_cap : 64;
            b->leaves = realloc(b->leaves, b->leaves_cap * sizeof *b->leaves);
            if (!b->leaves)
                abort();
        }
        b->leaves[b->nleaves++] = e;
        return Z3_mk_const(z, Z3_mk_string_symbol(z, name), Z3_mk_bv_sort(z, 8));
    }
    case SX_ADD: return Z3_mk_bvadd(z, x, y);
    case SX_SUB: return Z3_mk_bvsub(z, x, y);
    case SX_MUL: return Z3_mk_bvmul(z, x, y);
    case SX_UDIV: return Z3_mk_bvudiv(z, x, y);
    case SX_SDIV: return Z3_mk_bvsdiv(z, x, y);
    case SX_UREM: return Z3_mk_bvurem(z, x, y);
    case SX_SREM: return Z3_mk_bvsrem(z, x, y);
    case SX_AND: return Z3_mk_bvand(z, x, y);
    case SX_OR: return Z3_mk_bvor(z, x, y);
    case SX_XOR: return Z3_mk_bvxor(z, x, y);
    case SX_NOT: return Z3_mk_bvnot(z, x);
    case SX_NEG: return Z3_mk_bvneg(z, x);
    case SX_SHL: return Z3_mk_bvshl(z, x, y);
    case SX_LSHR: return Z3_mk_bvlshr(z, x, y);
    case SX_ASHR: return Z3_mk_bvashr(z, x, y);
    case SX_EQ: return bv_of_bool(b, Z3_mk_eq(z, x, y));
    case SX_ULT: return bv_of_bool(b, Z3_mk_bvult(z, x, y));
    case SX_ULE: return bv_of_bool(b, Z3_mk_bvule(z, x, y));
    case SX_SLT: return bv_of_bool(b, Z3_mk_bvslt(z, x, y));
    case SX_SLE: return bv_of_bool(b, Z3_mk_bvsle(z, x, y));
    case SX_EXTRACT: return Z3_mk_extract(z, e->lo + e->width - 1, e->lo, x);
    case SX_CONCAT: return Z3_mk_concat(z, x, y);
    case SX_ZEXT: return Z3_mk_zero_ext(z, e->width - e->a->width, x);
    case SX_SEXT: return Z3_mk_sign_ext(z, e->width - e->a->width, x);
    case SX_ITE: return Z3_mk_ite(z, bool_of_bv(b, x), y, memo_get(b, e->c));
    default: abort();
    }
}

/* Post-order with an explicit stack: a guest decides how deep expressions are. */
static Z3_ast translate(struct z3_backend *b, const struct sx_expr *root)
{
    if (memo_get(b, root))
        return memo_get(b, root);
    size_t cap = 64, n = 0;
    const struct sx_expr **st = malloc(cap * sizeof *st);
    if (!st)
        abort();
    st[n++] = root;
    while (n) {
        const struct sx_expr *e = st[n - 1];
        if (memo_get(b, e)) {
            n--;
            continue;
        }
        const struct sx_expr *kids[3] = { e->a, e->b, e->c };
        bool ready = true;
        for (int k = 0; k < 3; k++) {
            if (!kids[k] || memo_get(b, kids[k]))
                continue;
            ready = false;
            if (n == cap) {
                cap *= 2;
                const struct sx_expr **t = realloc(st, cap * sizeof *t);
                if (!t)
                    abort();
                st = t;
            }
            st[n++] = kids[k];
        }
        if (ready) {
            Z3_ast r = translate_node(b, e);
            if (!r)
                abort(); /* Z3 failed inside (out of memory): the VMM sees the sidecar die */
            memo_put(b, e, r);
            n--;
        }
    }
    free(st);
    return memo_get(b, root);
}

static bool note_leaf(const struct sx_expr *e, void *ctx)
{
    struct z3_backend *b = ctx;
    if (e->op == SX_INPUT) {
        if (b->nqleaves == b->qleaves_cap) {
            b->qleaves_cap = b->qleaves_cap ? 2 * b->qleaves_cap : 64;
            b->qleaves = realloc(b->qleaves, b->qleaves_cap * sizeof *b->qleaves);
            if (!b->qleaves)
                abort();
        }
        b->qleaves[b->nqleaves++] = e;
    }
    return true;
}

/* The input bytes the constraints read, into b->qleaves. */
static void query_leaves(struct z3_backend *b, const struct sx_expr *const *c, size_t n)
{
    b->nqleaves = 0;
    sx_walk(&b->walker, c, n, note_leaf, b);
}

static void read_model(struct z3_backend *b, Z3_solver solver, struct sx_model *model)
{
    Z3_model m = Z3_solver_get_model(b->z, solver);
    if (!m)
        return;
    Z3_model_inc_ref(b->z, m);
    for (size_t i = 0; i < b->nqleaves; i++) {
        const struct sx_expr *leaf = b->qleaves[i];
        Z3_ast v;
        /* No model completion: bytes the query does not mention keep the seed. */
        if (!Z3_model_eval(b->z, m, b->memo[leaf->id], false, &v))
            continue;
        uint64_t value;
        if (Z3_is_numeral_ast(b->z, v) && Z3_get_numeral_uint64(b->z, v, &value))
            sx_model_set(model, (uint32_t)(leaf->value >> 32), (uint32_t)leaf->value,
                         (uint8_t)value);
    }
    Z3_model_dec_ref(b->z, m);
}

static Z3_solver new_solver(struct z3_backend *b)
{
    Z3_solver s = Z3_mk_solver_for_logic(b->z, Z3_mk_string_symbol(b->z, "QF_BV"));
    Z3_solver_inc_ref(b->z, s);
    Z3_solver_set_params(b->z, s, b->params);
    return s;
}

/* The guard of constraint c, asserting (guard => c) the first time c is seen. */
static Z3_ast guard_of(struct z3_backend *b, const struct sx_expr *c)
{
    if (c->id >= b->guards_cap) {
        size_t cap = (c->id + 1) * 2;
        Z3_ast *g = realloc(b->guards, cap * sizeof *g);
        if (!g)
            abort();
        memset(g + b->guards_cap, 0, (cap - b->guards_cap) * sizeof *g);
        b->guards = g;
        b->guards_cap = cap;
    }
    if (!b->guards[c->id]) {
        char name[32];
        snprintf(name, sizeof name, "g%u", c->id);
        Z3_ast g = Z3_mk_const(b->z, Z3_mk_string_symbol(b->z, name), Z3_mk_bool_sort(b->z));
        Z3_solver_assert(b->z, b->solver, Z3_mk_implies(b->z, g, bool_of_bv(b, translate(b, c))));
        if (Z3_get_error_code(b->z) != Z3_OK)
            return NULL; /* not asserted (memory): no guard, this query is unknown */
        b->guards[c->id] = g;
    }
    return b->guards[c->id];
}

/* Z3's check, which an interrupt (z3_interrupt) may cut short; one that came before it
 * began skips it. *checked: Z3 did check. */
static Z3_lbool interruptible_check(struct z3_backend *b, Z3_solver solver, unsigned n,
                                    const Z3_ast *assumptions, bool *checked)
{
    pthread_mutex_lock(&b->check_lock);
    b->in_check = *checked = !b->cancel;
    pthread_mutex_unlock(&b->check_lock);
    if (!*checked)
        return Z3_L_UNDEF;
    Z3_lbool v = assumptions ? Z3_solver_check_assumptions(b->z, solver, n, assumptions)
                             : Z3_solver_check(b->z, solver);
    pthread_mutex_lock(&b->check_lock);
    b->in_check = false;
    pthread_mutex_unlock(&b->check_lock);
    return v;
}

static enum sx_sat z3_check(void *impl, const struct sx_expr *const *c, size_t n,
                            struct sx_model *model)
{
    struct z3_backend *b = impl;
    pthread_mutex_lock(&b->check_lock);
    b->cancel = false; /* an interrupt meant for the previous check */
    pthread_mutex_unlock(&b->check_lock);
    Z3_solver solver;
    Z3_lbool verdict;
    bool checked = false;
    if (b->incremental) {
        Z3_ast *assumptions = malloc((n ? n : 1) * sizeof *assumptions);
        if (!assumptions)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (i % SX_PROGRESS_EVERY == SX_PROGRESS_EVERY - 1)
                sx_progress_beat(&b->progress);
            assumptions[i] = guard_of(b, c[i]);
            if (!assumptions[i]) {
                free(assumptions);
                return SX_UNKNOWN;
            }
        }
        solver = b->solver;
        verdict = interruptible_check(b, solver, (unsigned)n, assumptions, &checked);
        free(assumptions);
    } else {
        solver = new_solver(b);
        for (size_t i = 0; i < n; i++) {
            if (i % SX_PROGRESS_EVERY == SX_PROGRESS_EVERY - 1)
                sx_progress_beat(&b->progress);
            Z3_solver_assert(b->z, solver, bool_of_bv(b, translate(b, c[i])));
        }
        verdict = Z3_get_error_code(b->z) == Z3_OK
                      ? interruptible_check(b, solver, 0, NULL, &checked) : Z3_L_UNDEF;
    }
    if (verdict == Z3_L_UNDEF && b->incremental && checked) {
        /* A check cut short (interrupt or timeout) can leave the solver's internalised
         * assertions incomplete: after the portfolio's interrupts, later answers came
         * with models that broke their constraints. A new solver; the guards are
         * asserted again as queries name them. */
        Z3_solver_dec_ref(b->z, b->solver);
        b->solver = new_solver(b);
        memset(b->guards, 0, b->guards_cap * sizeof *b->guards);
        return SX_UNKNOWN;
    }
    enum sx_sat r;
    switch (verdict) {
    case Z3_L_TRUE:
        if (model) {
            query_leaves(b, c, n);
            read_model(b, solver, model);
        }
        r = SX_SAT;
        break;
    case Z3_L_FALSE:
        r = SX_UNSAT;
        break;
    default:
        r = SX_UNKNOWN;
        break;
    }
    if (!b->incremental)
        Z3_solver_dec_ref(b->z, solver);
    return r;
}

static void z3_destroy(void *impl)
{
    struct z3_backend *b = impl;
    if (b->solver)
        Z3_solver_dec_ref(b->z, b->solver);
    Z3_params_dec_ref(b->z, b->params);
    Z3_del_context(b->z);
    pthread_mutex_destroy(&b->check_lock);
    free(b->memo);
    free(b->leaves);
    free(b->qleaves);
    sx_walker_release(&b->walker);
    free(b->guards);
    free(b);
}

static void *z3_new(struct sx_ctx *ctx, unsigned timeout_ms, bool incremental)
{
    struct z3_backend *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->ctx = ctx;
    pthread_mutex_init(&b->check_lock, NULL);
    Z3_config cfg = Z3_mk_config();
    b->z = Z3_mk_context(cfg);
    Z3_del_config(cfg);
    if (!b->z) { /* e.g. below Z3's memory_max_size already */
        free(b);
        return NULL;
    }
    Z3_set_error_handler(b->z, on_z3_error);
    b->params = Z3_mk_params(b->z);
    Z3_params_inc_ref(b->z, b->params);
    if (timeout_ms)
        Z3_params_set_uint(b->z, b->params, Z3_mk_string_symbol(b->z, "timeout"), timeout_ms);
    b->incremental = incremental;
    if (incremental)
        b->solver = new_solver(b);
    return b;
}

static void *z3_new_incremental(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return z3_new(ctx, timeout_ms, true);
}

static void *z3_new_fresh(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return z3_new(ctx, timeout_ms, false);
}

static void z3_set_memory_limit(uint64_t bytes)
{
    char mb[32];
    snprintf(mb, sizeof mb, "%llu", (unsigned long long)(bytes >> 20 ? bytes >> 20 : 1));
    Z3_global_param_set("memory_max_size", mb);
}

static void z3_set_progress(void *impl, const struct sx_progress *p)
{
    struct z3_backend *b = impl;
    b->progress = p ? *p : (struct sx_progress){ NULL, NULL };
}

static void z3_interrupt(void *impl)
{
    struct z3_backend *b = impl;
    pthread_mutex_lock(&b->check_lock);
    if (b->in_check)
        Z3_interrupt(b->z);
    else
        b->cancel = true; /* still translating: the check is skipped */
    pthread_mutex_unlock(&b->check_lock);
}

const struct sx_solver_backend sx_backend_z3 = {
    .name = "z3",
    .create = z3_new_incremental,
    .check = z3_check,
    .destroy = z3_destroy,
    .set_memory_limit = z3_set_memory_limit,
    .set_progress = z3_set_progress,
    .interrupt = z3_interrupt,
};

const struct sx_solver_backend sx_backend_z3_fresh = {
    .name = "z3-fresh",
    .create = z3_new_fresh,
    .check = z3_check,
    .destroy = z3_destroy,
    .set_memory_limit = z3_set_memory_limit,
    .set_progress = z3_set_progress,
    .interrupt = z3_interrupt,
};
