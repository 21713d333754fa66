/* What a crash looks like to the user: the vCPU's registers and the instruction at RIP,
 * and the plain run's "guest ended" policy that shows them. Above the machine (it reads
 * guest memory through guest_mem), so the vCPU loop itself stays KVM-only. */
#ifndef HV_DUMP_H
#define HV_DUMP_H

#include "vm.h"

/* Print registers, control registers and the instruction at RIP to stderr. */
void dump_vcpu_state(struct vcpu *v);
/* A crashed program's registers (as its kernel saved them) and its instruction at rip. */
void dump_program_state(struct vcpu *v, const struct guest_end *e);

/* The plain run's end policy: say why, show the state of a crash the VMM saw itself,
 * stop the VM with the guest's status (or HV_EXIT_GUEST_CRASH). */
void end_plain_run(struct vcpu *v, const struct guest_end *e, void *opaque);

#endif
