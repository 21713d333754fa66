/* Symbolic pages: guest-physical pages holding symbolic bytes are taken out of KVM's
 * memslots, so every access to them by any vCPU exits to the VMM (KVM_EXIT_MMIO).
 *
 * The VMM keeps one bit per byte of such a page (is it symbolic?), a copy of the
 * engine's shadow kept for the cheap per-exit question "any symbolic byte here?".
 * Reads of concrete bytes are emulated from RAM, writes by vCPUs make bytes concrete,
 * and a page with no symbolic byte left goes back into the memslots. Changing the slot layout needs every
 * other vCPU out of KVM_RUN (KVM cannot split a slot atomically): see vm_pause(). */
#ifndef HV_SYMBOLIC_H
#define HV_SYMBOLIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct sym_page {
    uint64_t gpa;            /* page aligned */
    uint64_t bits[64];       /* one bit per byte: symbolic */
    unsigned count;          /* symbolic bytes in the page */
};

struct mem_range {
    uint64_t gpa, size;
};

struct installed_slot {
    uint32_t id;
    struct mem_range range;
};

#define SYM_MAX_SLOTS 1024

struct sym_stats {
    uint64_t pages_marked, pages_released;
    uint64_t reads_emulated, writes_concretised, symbolic_reads, slot_changes;
};

struct symbolic_mem {
    pthread_mutex_t lock;          /* guards everything below */
    struct sym_page *pages;        /* sorted by gpa */
    size_t npages, cap;
    struct installed_slot slots[SYM_MAX_SLOTS]; /* RAM minus symbolic pages */
    size_t nslots;
    uint32_t next_slot_id;
    struct sym_stats stats;
    bool dirty_logging;            /* slots are installed with KVM_MEM_LOG_DIRTY_PAGES */
    uint64_t *dirty_bitmap;        /* scratch for KVM_GET_DIRTY_LOG */
    uint64_t dirty_words;
};

void symmem_init(struct symbolic_mem *sm);
void symmem_destroy(struct symbolic_mem *sm);

/* RAM [0, mem_bytes) minus the given sorted symbolic pages, as maximal ranges.
 * Returns the number of ranges written to `out` (at most npages + 1). */
size_t symmem_layout(uint64_t mem_bytes, const struct sym_page *pages, size_t npages,
                     struct mem_range *out);

/* Install the initial slot covering all RAM. */
int symmem_install_ram(struct vm *vm);
/* Replace the symbolic bits of one page; the page leaves or rejoins the memslots as
 * needed. The engine's shadow is the authority: it calls this for every page whose
 * shadow changed (engine.c), so the bitmap is always derived from it. */
int symmem_set_page(struct vm *vm, uint64_t page, const uint64_t bits[64]);
/* KVM's dirty page logging on every slot (snapshot fuzzing), now and for slots made
 * later. */
int symmem_set_dirty_logging(struct vm *vm, bool on);
/* Call page() for every page written since the last call (KVM_GET_DIRTY_LOG, which
 * also clears the log); page == NULL just clears the log. Caller keeps the vCPUs out
 * of KVM_RUN. */
int symmem_collect_dirty(struct vm *vm, void (*page)(void *ctx, uint64_t gpa), void *ctx);
/* Every page concrete again (the sidecar is gone). */
void symmem_release_all(struct vm *vm);
/* Does [gpa, gpa+len) hold a symbolic byte? */
bool symmem_any(struct vm *vm, uint64_t gpa, uint64_t len);
enum sym_access { SYM_READ_EMULATED, SYM_WRITE_CONCRETISED, SYM_READ_SYMBOLIC };
void symmem_note(struct vm *vm, enum sym_access what);
struct sym_stats symmem_stats(struct vm *vm);

#endif
