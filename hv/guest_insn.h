/* One guest instruction, decoded where a vCPU stands: its text, whether it is a locked
 * read-modify-write, and the memory it touches (the symbolic-page trap, race watches).
 * Addresses are computed from the registers given, so they hold for the instruction at
 * those registers' rip (before it runs). */
#ifndef HV_GUEST_INSN_H
#define HV_GUEST_INSN_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

#define GUEST_INSN_MAX_MEM 4
#define GUEST_INSN_TEXT 96

struct guest_mem_operand {
    uint64_t gva;
    unsigned size;             /* bytes */
    bool read, write;
    bool stack;                /* through rsp (push, pop, call, a local): the thread's own */
};

struct guest_insn {
    uint64_t rip;
    unsigned len;
    bool locked_rmw;           /* lock prefix, or xchg with memory */
    char text[GUEST_INSN_TEXT]; /* Intel syntax */
    char mnemonic[24];
    struct guest_mem_operand mem[GUEST_INSN_MAX_MEM];
    unsigned nmem;
};

/* Decode the instruction at rip in `as` with registers r, s. 0, or -1 (not mapped, not
 * an instruction). */
int guest_insn_decode(const struct guest_as *as, const struct kvm_regs *r,
                      const struct kvm_sregs *s, uint64_t rip, struct guest_insn *out);

/* The instruction that ends at `end` and wrote guest-physical page `page` (a write exits
 * after its instruction retired, with rip past it): tries each length back from end, the
 * registers as they are now. 0 and *out, or -1 (none fits). */
int guest_insn_before(const struct guest_as *as, const struct kvm_regs *r,
                      const struct kvm_sregs *s, uint64_t end, uint64_t page,
                      struct guest_insn *out);

/* Guest-physical pages the memory operands of `in` touch (up to max). */
size_t guest_insn_pages(const struct guest_as *as, const struct guest_insn *in, uint64_t *pages,
                        size_t max);

#endif
