/* What a guest needs on a PVM host (KVM backed by kvm_pvm: ring 0 emulated; the
 * README's "Linux guests" and "symhv's kernel and this machine's KVM") and no other
 * host gets:
 *  - the instructions the host's emulator fails on in ring 0 and the VMM can finish:
 *    int3 (RIP past it, #BP injected: Linux's int3 self-test and kprobes) and fwait
 *    (nothing to wait for: skipped);
 *  - the Linux command-line options without which Linux stalls or dies there. */
#ifndef HV_PVM_H
#define HV_PVM_H

#include <stddef.h>

#include "vm.h"

/* An emulation_fix_fn (vm.h) for PVM hosts. */
int pvm_fix_emulation(struct vcpu *v, void *opaque);

/* Put in front of `cmdline` (NUL-terminated in a buffer of `size`) what Linux needs on PVM:
 * no XSAVE (ring-0 xrstor fails), no FSGSBASE (the paranoid entry then reads the CPU
 * number with lsl, which fails), the TSC's rate from KVM (no PIT calibration there),
 * the CPU features the emulator lacks though CPUID shows them, no RCU stall warnings
 * (ring 0 at emulated speed). 0, or -1 if it does not fit. */
int pvm_linux_cmdline(char *cmdline, size_t size, unsigned tsc_khz);

#endif
