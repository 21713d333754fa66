/* Guest RAM and KVM's memslots.
 *
 * RAM is one memfd (other processes, the sidecar, map it) mapped here at `ram`. KVM sees
 * it as memslots covering RAM minus a set of "trapped" pages: a trapped page is in no
 * memslot, so every vCPU access to it exits (KVM_EXIT_MMIO) to whoever trapped it (the
 * RAM-trap hook, vm.h). Changing the slot layout needs every vCPU out of KVM_RUN (KVM
 * cannot split a slot atomically): memory_* functions pause the VM themselves.
 *
 * Dirty tracking for snapshots: while on, every page written since memory_dirty_reset()
 * is remembered, whoever wrote it: vCPUs (KVM's dirty log, fetched before a slot goes
 * away so nothing is lost when the layout changes), the VMM (memory_note_write), and
 * other processes that report their writes in a shared bitmap (memory_add_writer).
 */
#ifndef HV_MEMORY_H
#define HV_MEMORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symhv/page.h"

struct mem_range {
    uint64_t gpa, size;
};

struct installed_slot {
    uint32_t id;
    struct mem_range range;
};

/* KVM offers tens of thousands; each trapped page costs up to one more slot. */
#define MEM_MAX_SLOTS 4096
#define MEM_MAX_WRITERS 4

/* Stopping the vCPUs around memslot changes is the machine's business (vm.c): it hands
 * the memory layer these hooks, so memory depends on nothing above it. */
struct memory_pause_ops {
    void (*pause)(void *ctx);      /* returns once no vCPU is inside KVM_RUN */
    void (*resume)(void *ctx);
};

struct memory {
    int fd;                        /* the RAM memfd */
    int vm_fd;                     /* the KVM VM its slots belong to */
    const struct memory_pause_ops *pause_ops;
    void *pause_ctx;
    uint8_t *ram;                  /* guest-physical 0 .. bytes */
    uint64_t bytes;
    uint64_t npages;

    pthread_mutex_t lock;          /* guards everything below */
    uint64_t *trapped;             /* sorted page addresses outside the memslots */
    uint8_t *trap_owners;          /* beside each: who wants it trapped (MEM_TRAP_*) */
    size_t ntrapped, trapped_cap;
    struct installed_slot *slots;  /* RAM minus trapped pages, MEM_MAX_SLOTS of room */
    size_t nslots;
    uint32_t next_slot_id;
    uint64_t slot_changes;
    bool dirty_logging;            /* slots carry KVM_MEM_LOG_DIRTY_PAGES */
    uint64_t *dirty;               /* one bit per page: written since the reset */
    uint64_t *log_scratch;         /* for KVM_GET_DIRTY_LOG */
    uint64_t *host_written;        /* atomic bits: the VMM wrote the page */
    uint64_t *writers[MEM_MAX_WRITERS]; /* other processes' written-page bitmaps (atomic) */
    size_t nwriters;
};

/* Create the memfd, map it, install one slot over all of RAM. 0, or -1 (message). */
__attribute__((warn_unused_result))
int memory_init(struct memory *m, int vm_fd, uint64_t bytes, const struct memory_pause_ops *pause,
                void *pause_ctx);
void memory_destroy(struct memory *m);

/* Host pointer for guest-physical [gpa, gpa+len), or NULL if that leaves RAM. */
static inline void *memory_host(struct memory *m, uint64_t gpa, uint64_t len)
{
    return gpa <= m->bytes && len <= m->bytes - gpa ? m->ram + gpa : NULL;
}

/* RAM [0, bytes) minus the sorted trapped pages, as maximal ranges. Returns how many
 * were written to `out` (at most n + 1). Pure, for tests. */
size_t memory_layout(uint64_t bytes, const uint64_t *trapped, size_t n, struct mem_range *out);

/* Trap (take out of the memslots) or release pages, all in one layout change.
 * Two owners may trap a page: it stays out of the memslots while either wants it, and
 * each owner releases only its own hold (symbolic bytes, a race watch, races.h).
 * 0; MEMORY_TOO_MANY_SLOTS (no message, nothing changed) when the layout would need more
 * than MEM_MAX_SLOTS memslots; or -1 (message). */
#define MEMORY_TOO_MANY_SLOTS (-2)
enum mem_trap_owner {
    MEM_TRAP_SYMBOLIC = 1 << 0,
    MEM_TRAP_WATCH = 1 << 1,
    MEM_TRAP_COMPLETION = 1 << 2, /* a read's instruction is finished on it (vcpu.c) */
};
struct trap_change {
    uint64_t page;
    bool trapped;
    enum mem_trap_owner owner;
};
__attribute__((warn_unused_result))
int memory_set_traps(struct memory *m, const struct trap_change *changes, size_t n);
/* Out of the memslots (for any owner)? */
bool memory_is_trapped(struct memory *m, uint64_t page);
/* Trapped for this owner? */
bool memory_trapped_by(struct memory *m, uint64_t page, enum mem_trap_owner owner);
/* Who holds the page trapped (MEM_TRAP_* bits, 0: nobody). */
unsigned memory_trap_owners(struct memory *m, uint64_t page);
/* The pages trapped for `owner` (a malloc'd array in *pages, its length returned; 0 and
 * NULL when there are none or no memory). */
size_t memory_trapped_list(struct memory *m, enum mem_trap_owner owner, uint64_t **pages);
size_t memory_trapped_count(struct memory *m);

/* The VMM wrote guest RAM at [gpa, gpa+len) (KVM's log does not see it). Any thread. */
void memory_note_write(struct memory *m, uint64_t gpa, uint64_t len);
/* Copy into guest RAM and note it: the one way the VMM writes guest memory. */
void memory_write(struct memory *m, uint64_t gpa, const void *src, uint64_t len);
/* Another process marks pages it writes in `bits` (one bit per page, atomically). */
void memory_add_writer(struct memory *m, uint64_t *bits);
void memory_remove_writer(struct memory *m, uint64_t *bits);

/* Dirty tracking: switch KVM's logging on for every slot (0 or -1), forget what was
 * written so far (the snapshot moment), and hand every page written since to page()
 * (then forget them). Callers keep the vCPUs out of KVM_RUN for reset and collect. */
__attribute__((warn_unused_result)) int memory_dirty_start(struct memory *m);
__attribute__((warn_unused_result)) int memory_dirty_reset(struct memory *m);
__attribute__((warn_unused_result))
int memory_dirty_collect(struct memory *m, void (*page)(void *ctx, uint64_t gpa), void *ctx);

uint64_t memory_slot_changes(struct memory *m);

#endif
