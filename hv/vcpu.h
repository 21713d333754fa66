/* One vCPU: its KVM fd, the shared kvm_run page and the host thread that runs it. */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

int vcpu_create(struct vm *vm, unsigned index);
void vcpu_destroy(struct vcpu *v);
/* Start the host thread that runs KVM_RUN in a loop. */
int vcpu_start(struct vcpu *v);
/* Make a running KVM_RUN return soon (used to stop the VM). */
void vcpu_kick(struct vcpu *v);

/* Guest-virtual to guest-physical in this vCPU's current address space (KVM_TRANSLATE;
 * from the vCPU's own thread). Returns 0, or -1 if unmapped. */
int vcpu_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa);

/* Walk [gva, gva+len) of this vCPU's address space page by page: fn(v, gpa, n, off,
 * ctx) for each chunk of n bytes at guest-physical gpa (offset off in the range). -1 as
 * soon as a page is unmapped, outside RAM or in the boot area below the kernel (page
 * tables live there), or fn returns < 0. fn may be NULL (just check the range). */
int vcpu_for_each_chunk(struct vcpu *v, uint64_t gva, uint64_t len,
                        int (*fn)(struct vcpu *v, uint64_t gpa, uint64_t n, uint64_t off,
                                  void *ctx),
                        void *ctx);

/* Let KVM finish the exit it is waiting on (I/O or MMIO data) without running the
 * guest (KVM_RUN with immediate_exit), so the registers can be saved or replaced
 * (see ../shared/KVM-ON-THIS-MACHINE.md). From the vCPU's own thread. 0 or -1. */
int vcpu_complete_pending_exit(struct vcpu *v);

/* Copy between host and guest-virtual memory of this vCPU's current address space.
 * Must be called from the vCPU's own thread while it is stopped in an exit.
 * Returns 0, or -1 if some page is unmapped or outside RAM. */
int vcpu_read_virt(struct vcpu *v, uint64_t gva, void *dst, size_t len);
int vcpu_write_virt(struct vcpu *v, uint64_t gva, const void *src, size_t len);

/* Print registers, control registers and the instruction at RIP to stderr. */
void vcpu_dump_state(struct vcpu *v);

#endif
