/* A snapshot of the whole machine: every vCPU (registers, sregs, FPU/XSAVE state, XCRs,
 * the MSRs a kernel sets (not the TSC), LAPIC, MP state, pending events), the irqchip,
 * the devices' state (vm_register_state: the UART, the PIT) and guest RAM. Taken and restored
 * while the VM is settled (vm_pause_settled). Restoring copies back only the pages
 * written since (memory.h's dirty tracking: vCPUs, the VMM, the sidecar). */
#ifndef HV_SNAPSHOT_H
#define HV_SNAPSHOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct snapshot;

/* NULL after a message. */
struct snapshot *snapshot_take(struct vm *vm);
/* 0, or -1 (message). *pages: how many pages were copied back. */
__attribute__((warn_unused_result))
int snapshot_restore(struct snapshot *s, struct vm *vm, uint64_t *pages);
void snapshot_free(struct snapshot *s);
/* Change the snapshot's copy of guest RAM at gpa (bytes outside RAM are left alone): what
 * every later restore brings back. */
void snapshot_poke(struct snapshot *s, uint64_t gpa, const void *src, size_t len);
/* The saved registers of one vCPU (the fuzzer sets the input length in rax). */
struct kvm_regs *snapshot_regs(struct snapshot *s, unsigned vcpu);
const struct kvm_sregs *snapshot_sregs(const struct snapshot *s, unsigned vcpu);

#endif
