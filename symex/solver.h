/* The SMT solver as the engine uses it: satisfiability of a conjunction of width-1
 * expressions and, when satisfiable, a model as symbolic input bytes.
 *
 * Layers, as KLEE stacks its solvers: a backend (solver_backend.h: Z3, cvc5, or a
 * portfolio of two) under this layer, which adds the trivial cases, the query cache
 * (keyed by the set of hash-consed constraint pointers, so a repeated query costs a
 * lookup), the query corpus (smtlib.h), timing and statistics. */
#ifndef SYMEX_SOLVER_H
#define SYMEX_SOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "model.h"
#include "solver_backend.h"

struct sx_solver_stats {
    uint64_t queries, cache_hits, sat, unsat, unknown;
    uint64_t too_large; /* of the unknown: not sent to the backend, see solver.c */
    double seconds; /* spent in the backend */
};

struct sx_solver;

/* backend: a backend's name, "portfolio" (two at once, solver_portfolio.c; the default
 * when NULL), "z3" (incremental), "z3-fresh" (a new solver per query, see solver_z3.c)
 * or "cvc5" (when built with it); NULL result for an unknown name. timeout_ms:
 * per query, 0 = none; a timeout answers SX_UNKNOWN. */
struct sx_solver *sx_solver_new(struct sx_ctx *ctx, const char *backend, unsigned timeout_ms);
void sx_solver_free(struct sx_solver *s);
const char *sx_solver_backend_name(const struct sx_solver *s);
/* The names sx_solver_new takes, for messages. */
const char *sx_solver_backend_names(void);
/* Add what a portfolio's members did to t (nothing for a single backend). */
void sx_solver_tally(const struct sx_solver *s, struct sx_member_tally *t);
/* `model` may be NULL; when given it should be seeded (sx_model_new) by the caller. */
enum sx_sat sx_solver_check(struct sx_solver *s, const struct sx_expr *const *constraints,
                            size_t n, struct sx_model *model);
const struct sx_solver_stats *sx_solver_stats(const struct sx_solver *s);

/* Beat p now and then during a check's long work (NULL: no more). */
void sx_solver_set_progress(struct sx_solver *s, const struct sx_progress *p);

/* Writing each query sent to the backend as an SMT-LIB file (smtlib.h), for the query
 * corpus: DIR/rREQUEST-qN.smt2, up to `max_queries` files and `max_bytes` in all over
 * every solver that shares this record (the caller owns it and sets request per solver).
 * Past a cap, nothing more is written and `capped` says so. */
struct sx_query_dump {
    char dir[4096];
    unsigned request;
    uint64_t written, max_queries;
    uint64_t bytes, max_bytes;
    bool capped;         /* a cap was reached */
    bool failed;         /* a write failed (errno in `error`) */
    int error;
};
void sx_solver_set_dump(struct sx_solver *s, struct sx_query_dump *dump);

/* Every backend keeps its memory below `bytes` (answering SX_UNKNOWN past it). */
void sx_solver_set_memory_limit(uint64_t bytes);

#endif
