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

/* The sidecar in this process instead (tests: the session linked in, no child and no
 * doorbells): open makes its state over the shared area and guest RAM, serve answers
 * one request in a slot, on the calling thread. */
struct sidecar_in_process {
    void *(*open)(struct sc_shared *shared, uint8_t *ram, uint64_t ram_bytes);
    void (*serve)(void *ctx, struct sc_slot *slot);
    void (*close)(void *ctx);
};

struct sidecar_config {
    const struct sidecar_in_process *in_process; /* NULL: a sidecar process */
    const char *socket_path;     /* NULL: start symhv-symex; else attach there */
    unsigned solver_timeout_ms;
    const char *solver;          /* backend name for a started sidecar; NULL: default */
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
/* The symbolic-byte bitmap (NULL before start) and the data area. */
const uint64_t *sidecar_bitmap(const struct sidecar *sc);
/* The lock the VMM's and the sidecar's locked read-modify-writes share (sidecar.h
 * sc_shared.rmw_lock); NULL before the sidecar's memory exists. */
uint32_t *sidecar_rmw_lock(struct sidecar *sc);

/* ---- the requests, one function each (the slot is the caller's: `index`) ----------------
 * Each returns 0 with the answer, 1 if the sidecar refused (why in `why`, one line), or
 * -1 if it is dead (the death callback has run). After make_symbolic, concretise and a
 * handoff, sidecar_reply_pages names the pages whose symbolic bytes may have changed. */

/* Declare input `name` of len bytes at the guest-physical extents (the caller's paging
 * state lets the sidecar walk its page tables later). */
struct sc_paging { uint64_t cr0, cr3, cr4, efer, cpl; };
int sidecar_make_symbolic(struct sidecar *sc, unsigned index, const struct sc_paging *pg,
                          const char *name, uint32_t len, const struct sc_extent *extents,
                          uint32_t nextents, char *why, size_t why_size);
/* Concrete bytes were written at [gpa, gpa+len) (pin: record byte == value, for an
 * instruction the CPU must run natively). */
int sidecar_concretise(struct sidecar *sc, unsigned index, uint64_t gpa, uint64_t len, bool pin,
                       char *why, size_t why_size);
/* Interpret from *cpu until its registers are concrete; *cpu becomes the state to go on
 * from. rent_ns: how long to stay after that (0: none). */
struct sc_handoff_reply {
    enum sc_stop stop;
    char stopped_at[64];       /* SC_STOP_NATIVE: the instruction left to the CPU */
    uint64_t served_ns, rented_returns;
    uint64_t fault_addr;       /* SC_STOP_PAGE_FAULT: the #PF to deliver */
    uint32_t fault_error;
};
int sidecar_handoff(struct sidecar *sc, unsigned index, struct sc_cpu *cpu, uint64_t rent_ns,
                    struct sc_handoff_reply *reply);
/* The last state a handoff that did not answer published (the checkpoint after its last
 * retired instruction): true if there is one. */
bool sidecar_checkpoint(struct sidecar *sc, unsigned index, struct sc_cpu *out);
/* Solve the flips of the path (flags: SC_FINISH_*; budget_ms > 0: no flip asked past
 * it); the totals in *st. */
/* Ask the request in flight on slot `index` to stop early (solving keeps what it has). */
void sidecar_cancel(struct sidecar *sc, unsigned index);
int sidecar_finish(struct sidecar *sc, unsigned index, uint32_t flags, uint64_t budget_ms,
                   struct sc_stats *st, char *why, size_t why_size);
/* Every result FINISH kept, in order, each as every input's bytes (input i of n):
 * fn(ctx, result, i, n, bytes) until it returns false. 0, or -1 (dead or refused). */
typedef bool (*sidecar_result_fn)(void *ctx, const struct sc_result *r, uint32_t input,
                                  uint32_t ninputs, const uint8_t *bytes);
int sidecar_results(struct sidecar *sc, unsigned index, uint64_t nresults, uint32_t ninputs,
                    sidecar_result_fn fn, void *ctx);
/* The whole text `which` (enum sc_text) appended to t. */
struct text;
int sidecar_text(struct sidecar *sc, unsigned index, enum sc_text which, struct text *t);
/* Forget the inputs, shadow and path (the next concolic execution). */
int sidecar_reset(struct sidecar *sc, unsigned index);
/* The pages the last reply in `index` names (n of them, into pages[SC_MAX_PAGES]), or
 * false if it named too many (then every page must be re-read). */
bool sidecar_reply_pages(struct sidecar *sc, unsigned index, uint64_t *pages, size_t *n);

/* Ask every handoff in progress to stop soon (concretised). */
void sidecar_cancel_handoffs(struct sidecar *sc);
/* Orderly end: QUIT, reap (or kill after a grace period); says nothing unless it fails.
 * Then frees everything. */
void sidecar_free(struct sidecar *sc);

#endif
