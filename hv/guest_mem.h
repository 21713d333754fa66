/* The VMM's access to guest memory by virtual address: pointers a guest hands over in
 * hypercalls, buffers the VMM fills. Addresses are translated by walking the guest's
 * page tables over guest RAM (x86/pagewalk.h), as the CPU would for the caller: a call
 * from ring 3, or made by the guest kernel on a ring-3 program's behalf, gets user
 * rights and cannot reach kernel memory; non-canonical addresses fail.
 *
 * Writes by the VMM are noted for snapshot restores (memory_note_write); a write into
 * trapped RAM is reported to the trap's owner (its bytes become concrete). */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagewalk.h"
#include "vm.h"

struct guest_as {
    struct vm *vm;
    struct vcpu *caller;       /* the vCPU whose thread acts, or NULL (main thread) */
    struct x86_paging paging;
    unsigned rights;           /* X86_USER, or 0 for the kernel */
};

void guest_as_from_sregs(struct guest_as *as, struct vm *vm, const struct kvm_sregs *s,
                         bool user);
/* v's current address space (at an exit, or parked); user: with ring-3 rights. */
__attribute__((warn_unused_result))
int guest_as_of_vcpu(struct guest_as *as, struct vcpu *v, bool user);

/* 0 and the guest-physical address, or -1 (not mapped, not allowed, outside RAM). */
int guest_translate(const struct guest_as *as, uint64_t va, bool write, uint64_t *pa);
/* Walk [va, va+len) page by page: fn(gpa, n, off, ctx) for each chunk of n bytes at
 * guest-physical gpa (offset off in the range). -1 as soon as a page fails, the range
 * is empty or wraps, or fn returns < 0. fn may be NULL (just check the range). */
typedef int (*guest_chunk_fn)(uint64_t gpa, uint64_t n, uint64_t off, void *ctx);
int guest_for_each_chunk(const struct guest_as *as, uint64_t va, uint64_t len, bool write,
                         guest_chunk_fn fn, void *ctx);
int guest_read(const struct guest_as *as, uint64_t va, void *dst, size_t len);
int guest_write(const struct guest_as *as, uint64_t va, const void *src, size_t len);
/* The bytes of the instruction at va (up to 15): byte by byte, since an instruction may
 * straddle into an unmapped page. How many could be read (0: none). */
size_t guest_fetch_insn(const struct guest_as *as, uint64_t va, uint8_t bytes[15]);
/* A NUL-terminated string of at most max-1 bytes (longer: cut, still terminated). */
int guest_read_string(const struct guest_as *as, uint64_t va, char *buf, size_t max);

/* Write guest-physical bytes as the VMM: noted, and reported if the RAM is trapped. */
void guest_write_phys(struct vm *vm, struct vcpu *caller, uint64_t gpa, const void *src,
                      uint64_t len);
/* The same for a memmove inside RAM and for zeroing RAM. -1 if a range leaves RAM. */
int guest_move_phys(struct vm *vm, struct vcpu *caller, uint64_t dst, uint64_t src,
                    uint64_t len);
int guest_zero_phys(struct vm *vm, struct vcpu *caller, uint64_t gpa, uint64_t len);

#endif
