/* One vCPU: its KVM fd, the shared kvm_run page and the host thread that runs it.
 *
 * The thread's loop knows KVM only: it enters the guest (vm_enter_guest parks it while
 * the VM is paused), runs KVM_RUN and dispatches the exit through the VM's hooks (port
 * I/O bus, RAM trap, end policy; vm.h). */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

__attribute__((warn_unused_result)) int vcpu_create(struct vm *vm, unsigned index);
void vcpu_destroy(struct vcpu *v);
/* Start the host thread that runs KVM_RUN in a loop. */
__attribute__((warn_unused_result)) int vcpu_start(struct vcpu *v);
/* The same for every vCPU of the VM (vm->ncpus): create after vm_create, start when
 * everything is attached, destroy before vm_destroy. */
__attribute__((warn_unused_result)) int vcpus_create(struct vm *vm);
__attribute__((warn_unused_result)) int vcpus_start(struct vm *vm);
void vcpus_destroy(struct vm *vm);

/* Dispatch the exit in v->run: port I/O to the bus, RAM outside the memslots to the RAM
 * trap, everything that ends the guest to the end policy. Makes no KVM call itself (a
 * unit test can hand it a filled kvm_run). Returns 0 to keep running, -1 to stop the
 * thread (a setup-level failure). */
int vcpu_handle_exit(struct vcpu *v);

/* Registers. At an exit (on the vCPU's thread) they come from kvm_run's sync area
 * without an ioctl; otherwise (a parked vCPU, from the thread that paused it) through
 * KVM_GET_*. vcpu_set_regs writes them into the sync area when KVM offers it (KVM loads
 * them at the next KVM_RUN; until then the get functions read them there), else with
 * KVM_SET_REGS. 0 or -1 (message). */
__attribute__((warn_unused_result)) int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r);
__attribute__((warn_unused_result)) int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s);
__attribute__((warn_unused_result)) int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r);
/* Load registers and sregs into a parked vCPU (from the thread that paused it): through
 * kvm_run's sync area when KVM offers it (no ioctl: KVM loads them at the next KVM_RUN,
 * after whatever else the caller set with ioctls), else KVM_SET_SREGS/REGS. 0 or -1. */
__attribute__((warn_unused_result))
int vcpu_load_regs(struct vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s);
/* Another thread replaced a parked vCPU's state (registers, sregs ...): the sync copy is
 * stale until the vCPU runs again, except the parts written for KVM to load. */
void vcpu_state_replaced(struct vcpu *v);
/* The same through the ioctls only (state saved while the vCPU is parked). */
__attribute__((warn_unused_result))
int vcpu_ioctl(struct vcpu *v, unsigned long request, void *arg, const char *name);
/* The SSE registers (XMM0-15) as the guest has them. KVM_GET_FPU and KVM_SET_FPU go to
 * the legacy area of KVM's XSAVE buffer, which XSAVE leaves stale for SSE in its init
 * state and XRSTOR then ignores: a value set that way is lost (zeros) when the guest had
 * not touched its XMM registers. With KVM's XSAVE interface the state is read as the
 * guest has it and written with the SSE bit set. `state` holds the rest of the FPU state
 * between the two calls; vcpu_set_xmm writes it back when xmm differs from what was read,
 * or always (KVM may have changed them since: a completed load). 0 or -1. */
struct vcpu_fpu_state {
    bool xsave; /* which of the two below holds the state */
    struct kvm_fpu fpu;
    struct kvm_xsave area;
};
__attribute__((warn_unused_result))
int vcpu_get_xmm(struct vcpu *v, struct vcpu_fpu_state *state, uint8_t xmm[16][16]);
__attribute__((warn_unused_result))
int vcpu_set_xmm(struct vcpu *v, struct vcpu_fpu_state *state, const uint8_t xmm[16][16],
                 bool always);
/* Exit (KVM_EXIT_DEBUG, to the VM's step hook) after every instruction, or not. On v's
 * thread, outside KVM_RUN. 0, or -1 (KVM cannot: not said). */
int vcpu_single_step(struct vcpu *v, bool on);
/* Deliver exception `vector` at the next entry (on v's thread, or while it is parked). */
int vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error_code, uint32_t error_code);

/* Let KVM finish the exit it is waiting on (I/O or MMIO data) without running the
 * guest (KVM_RUN with immediate_exit), so the registers can be saved or replaced.
 * From the vCPU's own thread. 0 or -1. */
int vcpu_complete_pending_exit(struct vcpu *v);
/* The same for an access whose instruction the caller runs again itself from the
 * registers it saved before it (a handoff to the interpreter): the instruction ends after
 * the pending access (a rep string instruction's count is cut to the current iteration,
 * where KVM would otherwise exit once per element) and what it writes to trapped RAM is
 * dropped. The registers are the caller's to set afterwards. 0 or -1. */
int vcpu_abandon_pending_exit(struct vcpu *v);

#endif
