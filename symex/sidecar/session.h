/* The sidecar's symbolic session for one VM run: the expression context, the shadow of
 * symbolic guest-physical bytes, the path constraints and the inputs, shared by the
 * threads that serve the VMM's slots (one per vCPU, so handoffs run in parallel).
 *
 * It writes no files: what it produces is fetched by the VMM (sidecar.h). Its limits
 * (memory, time) end symbolic execution, not the run: past one, every byte is made
 * concrete, later requests are answered with `exhausted`, and FINISH still solves the
 * path recorded so far. */
#ifndef SIDECAR_SESSION_H
#define SIDECAR_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "symhv/sidecar.h"

#define SESSION_FIRST_TIMEOUT_MS 0 /* first_timeout_ms unless told: one pass (README) */

struct session_config {
    uint8_t *ram;
    uint64_t ram_bytes;
    struct sc_shared *shared;
    const char *solver;          /* backend name, see solver.h */
    unsigned solver_timeout_ms;
    unsigned first_timeout_ms;   /* a FINISH asks every flip with this timeout first, then
                                    the ones it cut short with solver_timeout_ms (0: one
                                    pass; SYMHV_SYMEX_FIRST_TIMEOUT_MS) */
    uint64_t max_memory_bytes;   /* 0: none */
    double max_seconds;          /* interpreter + solver time; 0: none */
    uint64_t crash_after;        /* fault injection for tests: abort() once this many
                                    instructions were interpreted (0: never) */
    bool no_slicing;             /* flip queries with the whole path prefix (benchmarks
                                    compare; SYMHV_SYMEX_NO_SLICING=1) */
    bool no_pruning;             /* every occurrence of a hot branch counts (benchmarks
                                    compare; SYMHV_SYMEX_NO_PRUNING=1) */
    bool no_context;             /* branch sides without their callers (benchmarks
                                    compare; SYMHV_SYMEX_NO_CONTEXT=1) */
    bool no_optimistic;          /* an unsat flip is not asked again alone (benchmarks
                                    compare; SYMHV_SYMEX_NO_OPTIMISTIC=1) */
    bool select_chain;           /* symbolic-index reads as compare chains (benchmarks
                                    compare; SYMHV_SYMEX_SELECT_CHAIN=1) */
    const char *query_dir;       /* write every solver query there (the query corpus,
                                    SYMHV_SYMEX_QUERY_DIR); NULL: none */
    uint64_t query_max;          /* at most this many queries a session */
};

struct session;

struct session *session_create(const struct session_config *cfg);
void session_free(struct session *s);
/* Serve one request in `slot` (from the thread that owns the slot); fills the reply. */
void session_handle(struct session *s, struct sc_slot *slot);

#endif
