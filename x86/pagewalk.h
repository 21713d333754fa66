/* x86-64 guest page-table walks over guest RAM, as the CPU does them: shared by the VMM
 * (pointers a guest hands over in hypercalls) and the sidecar (the interpreter's memory).
 *
 * The walk reads the tables straight from guest RAM (no KVM_TRANSLATE): it checks what
 * the CPU checks for the access (present, writable, user-accessible for CPL 3 or for a
 * call made on a ring-3 program's behalf, no-execute for fetches, canonical addresses)
 * and, when asked, sets the accessed/dirty bits as the CPU would. Paging off means
 * virtual == physical; 32-bit paging modes (legacy, PAE without long mode) are not
 * walked (-1). */
#ifndef X86_PAGEWALK_H
#define X86_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

struct x86_paging {
    uint64_t cr0, cr3, cr4, efer;
};

enum x86_access {
    X86_READ = 0,
    X86_WRITE = 1 << 0,
    X86_FETCH = 1 << 1,
    X86_USER = 1 << 2,   /* with the rights of ring 3 */
    X86_SET_AD = 1 << 3, /* set accessed (and, for writes, dirty) bits */
};

/* Canonical for the paging mode (48 or, with CR4.LA57, 57 address bits)? */
bool x86_canonical(const struct x86_paging *p, uint64_t va);

/* Translate va for `access` (enum x86_access bits). Returns 0 and the guest-physical
 * address in *pa; -1 where the CPU would fault (not canonical, not mapped, not allowed)
 * or for an unsupported paging mode; X86_OUTSIDE_RAM where the page (or a table) lies
 * outside [0, ram_bytes): MMIO such as the hypercall page, no fault of the CPU's. */
#define X86_OUTSIDE_RAM (-2)
int x86_translate(const struct x86_paging *p, uint8_t *ram, uint64_t ram_bytes, uint64_t va,
                  unsigned access, uint64_t *pa);

#endif
