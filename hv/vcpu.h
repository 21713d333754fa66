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

/* Copy between host and guest-virtual memory of this vCPU's current address space.
 * Must be called from the vCPU's own thread while it is stopped in an exit.
 * Returns 0, or -1 if some page is unmapped or outside RAM. */
int vcpu_read_virt(struct vcpu *v, uint64_t gva, void *dst, size_t len);
int vcpu_write_virt(struct vcpu *v, uint64_t gva, const void *src, size_t len);

/* Print registers, control registers and the instruction at RIP to stderr. */
void vcpu_dump_state(struct vcpu *v);

#endif
