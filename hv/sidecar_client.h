/* The VMM's side of the symbolic sidecar process (symhv-symex): starting it (or
 * attaching to one waiting on a socket), the shared slots and doorbells of
 * include/symhv/sidecar.h, one request at a time per slot, and its death.
 *
 * Slot i belongs to vCPU i's thread; the last slot (sidecar_control) to the main thread.
 * A call waits for the answer while watching the VM and the sidecar: a stopping VM or
 * a settle request cancels a handoff; a sidecar that exits, or whose heartbeat stands
 * still for the stall limit (stopped, stuck), is killed and declared dead: the owner's
 * death callback then makes everything concrete and the run goes on without it. */
#ifndef HV_SIDECAR_CLIENT_H
#define HV_SIDECAR_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "symhv/sidecar.h"

struct vm;

struct sidecar_config {
    const char *socket_path;     /* NULL: start symhv-symex; else attach there */
    unsigned solver_timeout_ms;
    double stall_timeout_s;      /* no heartbeat for this long: dead */
    uint64_t max_memory_bytes;   /* the sidecar's limits (0: none) */
    double max_seconds;
};

struct sidecar;

struct sidecar *sidecar_new(struct vm *vm, const struct sidecar_config *cfg,
                            void (*on_death)(void *ctx, const char *why), void *ctx);
/* Start (or attach to) the process; once. 0, or -1 (message; the run stays concrete). */
__attribute__((warn_unused_result)) int sidecar_start(struct sidecar *sc);
bool sidecar_alive(struct sidecar *sc);
/* Why it died ("" while alive or never started). */
const char *sidecar_death(struct sidecar *sc);
unsigned sidecar_control(const struct sidecar *sc);
struct sc_slot *sidecar_slot(struct sidecar *sc, unsigned index);
/* The symbolic-byte bitmap (NULL before start) and the data area. */
const uint64_t *sidecar_bitmap(const struct sidecar *sc);
/* The lock the VMM's and the sidecar's locked read-modify-writes share (sidecar.h
 * sc_shared.rmw_lock); NULL before the sidecar's memory exists. */
uint32_t *sidecar_rmw_lock(struct sidecar *sc);
const uint8_t *sidecar_data(const struct sidecar *sc);
/* Send the request filled in slot `index`, wait for the answer. 0 with the reply in the
 * slot, or -1: the sidecar is dead (the death callback has run). */
__attribute__((warn_unused_result))
int sidecar_call(struct sidecar *sc, unsigned index, const char *what);
/* Ask every handoff in progress to stop soon (concretised). */
void sidecar_cancel_handoffs(struct sidecar *sc);
/* Orderly end: QUIT, reap (or kill after a grace period); says nothing unless it fails.
 * Then frees everything. */
void sidecar_free(struct sidecar *sc);

#endif
