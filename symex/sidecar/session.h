/* The sidecar's symbolic session for one VM run: the expression context, the shadow of
 * symbolic guest-physical bytes, the path constraints and the inputs, shared by the
 * threads that serve the VMM's slots (one per vCPU, so handoffs run in parallel). */
#ifndef SIDECAR_SESSION_H
#define SIDECAR_SESSION_H

#include <stdint.h>

#include "symhv/sidecar.h"

struct session_config {
    uint8_t *ram;
    uint64_t ram_bytes;
    struct sc_shared *shared;
    const char *output_dir;      /* "" when the run writes no outputs */
    const char *solver;          /* backend name, see solver.h */
    unsigned solver_timeout_ms;
    uint64_t crash_after;        /* fault injection for tests: abort() once this many
                                    instructions were interpreted (0: never) */
};

struct session;

struct session *session_create(const struct session_config *cfg);
void session_free(struct session *s);
/* Serve one request in `slot` (from the thread that owns the slot); fills the reply. */
void session_handle(struct session *s, struct sc_slot *slot);

#endif
