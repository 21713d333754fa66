/* The interpreter's view of one vCPU's guest memory from the sidecar: guest RAM is the
 * VMM's memfd, mapped here; virtual addresses are translated by walking the guest's
 * page tables from the vCPU's CR3 (no KVM_TRANSLATE: the vCPU fd belongs to the VMM).
 *
 * Writes honour the page tables' write permission (a write to a read-only page, e.g.
 * copy-on-write, "faults": the interpreter hands the instruction back to the CPU so the
 * guest kernel handles it) and set the accessed/dirty bits as the CPU would. */
#ifndef SIDECAR_GUEST_MEM_H
#define SIDECAR_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "interp.h"
#include "pagewalk.h"
#include "symhv/sidecar.h"

#define GUEST_TLB_SIZE 16

struct guest_view {
    uint8_t *ram;
    uint64_t ram_bytes;
    struct x86_paging paging;
    bool user;               /* CPL 3: supervisor-only pages fault */
    uint64_t *written;       /* shared written-page bitmap (sidecar.h), or NULL */
    uint32_t *rmw_lock;      /* sc_shared.rmw_lock, or NULL (no VMM: tests) */
    /* small direct-mapped TLBs for reads and writes (code, stack and data pages
     * alternate; a walk per access would also bounce the page-table lines between the
     * interpreter threads) */
    struct guest_tlb_entry {
        uint64_t vpage, ppage;
        bool valid;
    } rtlb[GUEST_TLB_SIZE], wtlb[GUEST_TLB_SIZE];
    /* guest-physical pages written (the VMM re-reads their symbolic bits) */
    uint64_t *touched;
    size_t ntouched, cap;
    bool touched_overflow;
};

void guest_view_init(struct guest_view *g, uint8_t *ram, uint64_t ram_bytes,
                     uint64_t *written, uint32_t *rmw_lock, const struct sc_cpu *cpu);
void guest_view_release(struct guest_view *g);
/* Virtual -> physical for an access; -1 if not mapped (or not writable for a write, or
 * not canonical). */
int guest_view_translate(struct guest_view *g, uint64_t vaddr, bool write, uint64_t *paddr);
void guest_view_touch(struct guest_view *g, uint64_t gpa_page);

extern const struct sx_mem_ops guest_mem_ops;

#endif
