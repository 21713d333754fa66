/* The SMT solver interface: satisfiability of a conjunction of width-1 expressions and,
 * when satisfiable, a model as symbolic input bytes.
 *
 * Kept narrow so another bit-vector solver (Boolector, Bitwuzla) can plug in as a
 * `struct sx_solver_backend`. The default backend is Z3's C API. Queries are cached
 * by the set of hash-consed constraint pointers, so a repeated query costs a lookup.
 */
#ifndef SYMEX_SOLVER_H
#define SYMEX_SOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"

enum sx_sat { SX_SAT, SX_UNSAT, SX_UNKNOWN /* timeout or solver error */ };

/* Values for every declared input: bytes[i][0 .. lengths[i]). */
struct sx_model {
    uint32_t ninputs;
    uint8_t **bytes;
    uint32_t *lengths;
};

/* A model sized for every input declared in `ctx`, each byte copied from `seed`
 * (NULL: zeros). Bytes the solver leaves free keep the seed's values. */
struct sx_model *sx_model_new(const struct sx_ctx *ctx, const struct sx_model *seed);
void sx_model_free(struct sx_model *m);
void sx_model_set(struct sx_model *m, uint32_t input, uint32_t offset, uint8_t value);

struct sx_solver_backend {
    const char *name;
    /* Decide constraints[0..n); on SX_SAT write the assigned input bytes into model. */
    enum sx_sat (*check)(void *impl, const struct sx_expr *const *constraints, size_t n,
                         struct sx_model *model);
    void (*destroy)(void *impl);
};

struct sx_solver_stats {
    uint64_t queries, cache_hits, sat, unsat, unknown;
    double seconds; /* spent in the backend */
};

struct sx_solver;

/* backend: "z3" (incremental; the default when NULL) or "z3-fresh" (a new solver per
 * query, see solver_z3.c); NULL result for an
 * unknown name. timeout_ms: per query, 0 = none; a timeout answers SX_UNKNOWN. */
struct sx_solver *sx_solver_new(struct sx_ctx *ctx, const char *backend, unsigned timeout_ms);
void sx_solver_free(struct sx_solver *s);
const char *sx_solver_backend_name(const struct sx_solver *s);
/* `model` may be NULL; when given it should be seeded (sx_model_new) by the caller. */
enum sx_sat sx_solver_check(struct sx_solver *s, const struct sx_expr *const *constraints,
                            size_t n, struct sx_model *model);
const struct sx_solver_stats *sx_solver_stats(const struct sx_solver *s);

/* Backends. */
void *sx_z3_backend_new(struct sx_ctx *ctx, unsigned timeout_ms, bool incremental,
                        const struct sx_solver_backend **ops);

#endif
