/* What a solver backend provides: decide a conjunction of width-1 constraints and, when
 * satisfiable, write the input bytes it chose into a model. solver.c picks one by name
 * and layers the cache and statistics over it; a backend knows nothing of those. */
#ifndef SYMEX_SOLVER_BACKEND_H
#define SYMEX_SOLVER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "model.h"

enum sx_sat { SX_SAT, SX_UNSAT, SX_UNKNOWN /* timeout or solver error */ };

/* Called now and then during long work on one query (slicing a long path, translating
 * its constraints), so that whoever waits sees it is alive: the sidecar's heartbeat. */
struct sx_progress {
    void (*beat)(void *arg);
    void *arg;
};
#define SX_PROGRESS_EVERY 1024 /* constraints looked at between two beats */
static inline void sx_progress_beat(const struct sx_progress *p)
{
    if (p && p->beat)
        p->beat(p->arg);
}

/* A backend made of others (the portfolio): per member, the queries it answered first,
 * those it missed, still busy with an earlier one, and those it overran (given up on
 * past the deadline while it ran). Added to, so a caller can sum over several solvers. */
#define SX_MAX_MEMBERS 4
struct sx_member_tally {
    unsigned nmembers;
    const char *name[SX_MAX_MEMBERS];
    uint64_t first[SX_MAX_MEMBERS], missed[SX_MAX_MEMBERS], overrun[SX_MAX_MEMBERS];
    uint64_t undecided; /* queries no member answered */
};

struct sx_solver_backend {
    const char *name;
    /* timeout_ms: per query (0: none). NULL on failure. */
    void *(*create)(struct sx_ctx *ctx, unsigned timeout_ms);
    /* Decide constraints[0..n); on SX_SAT write the assigned input bytes into model
     * (which may be NULL). */
    enum sx_sat (*check)(void *impl, const struct sx_expr *const *constraints, size_t n,
                         struct sx_model *model);
    void (*destroy)(void *impl);
    /* optional: keep memory below `bytes`, process-wide */
    void (*set_memory_limit)(uint64_t bytes);
    /* optional: beat `p` (a copy is kept) while a check translates constraints */
    void (*set_progress)(void *impl, const struct sx_progress *p);
    /* optional, called from another thread: make a running check return soon
     * (SX_UNKNOWN). A backend without it runs on to its per-query timeout. */
    void (*interrupt)(void *impl);
    /* optional, for a backend without interrupt: fn(arg) is called in each check once
     * the check has read all it needs of the expressions (and of `ctx`), before the
     * solving proper; from then on it touches only its own memory and the model. The
     * portfolio may then leave that check to finish alone, with the context freed. */
    void (*set_solving_hook)(void *impl, void (*fn)(void *arg), void *arg);
    /* optional: add what this backend's members did to `t` (a portfolio) */
    void (*tally)(void *impl, struct sx_member_tally *t);
};

/* solver_z3.c: incremental (one solver, a push level per constraint) and fresh (a new
 * QF_BV solver per query). */
extern const struct sx_solver_backend sx_backend_z3, sx_backend_z3_fresh;
#ifdef SYMHV_HAVE_CVC5
/* solver_cvc5.cc: cvc5 1.0.3's C++ API, incremental as "z3" is. */
extern const struct sx_solver_backend sx_backend_cvc5;
#endif
#ifdef SYMHV_HAVE_BITWUZLA
/* solver_bitwuzla.cc: Bitwuzla 0.2.0's C++ API, incremental as "z3" is. */
extern const struct sx_solver_backend sx_backend_bitwuzla;
#endif
/* solver_portfolio.c: two backends on every query in two threads, the first definite
 * answer wins. Its members, as sx_solver_backend_names says them: */
extern const struct sx_solver_backend sx_backend_portfolio;
#ifdef SYMHV_HAVE_CVC5
extern const struct sx_solver_backend sx_backend_z3_cvc5;
/* "cvc5" as users name it: the backend above alone in a portfolio (its deadline) */
extern const struct sx_solver_backend sx_backend_cvc5_guarded;
#endif
#ifdef SYMHV_HAVE_BITWUZLA
extern const struct sx_solver_backend sx_backend_z3_bitwuzla;
/* "bitwuzla" as users name it, the same */
extern const struct sx_solver_backend sx_backend_bitwuzla_guarded;
#endif
#if defined SYMHV_HAVE_BITWUZLA && defined SYMHV_HAVE_CVC5
extern const struct sx_solver_backend sx_backend_bitwuzla_cvc5;
#endif

#endif
