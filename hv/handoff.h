/* Handing a trapped vCPU to the sidecar's interpreter and taking it back: the vCPU's
 * registers go into its slot, the sidecar interprets until they are concrete again (or
 * an instruction it does not model), the result comes back into KVM. If the sidecar
 * dies meanwhile, the vCPU resumes after the last instruction it retired. */
#ifndef HV_HANDOFF_H
#define HV_HANDOFF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "symhv/abi.h"

struct vcpu;
struct sidecar;
struct guest_clock;
struct sc_slot;

struct handoff_fault {
    uint64_t rip, addr;        /* the last page fault delivered for an interpreted insn */
    unsigned repeats;          /* in a row */
};

/* Where a handoff's time goes (ns, summed over `handoffs`): reading the vCPU's state,
 * completing its pending access in KVM, the sidecar call (of it, the sidecar serving),
 * writing the state back. */
struct handoff_stats {
    atomic_ullong handoffs, resumed_from_checkpoint;
    atomic_ullong ns_state_in, ns_complete, ns_call, ns_served, ns_state_out;
    atomic_ullong rented;      /* handoffs that ended after renting (sidecar.h: rent_ns) */
    bool rent;                 /* let the sidecar rent (set before the vCPUs start) */
    atomic_ullong page_faults; /* delivered to the guest for the interpreter (sidecar.h:
                                  SC_STOP_PAGE_FAULT) */
    atomic_bool fault_loop_said;
    /* each vCPU's own entry, touched only by its thread: no lock */
    struct handoff_fault last_fault[SYMHV_MAX_VCPUS];
};

/* v is stopped in an exit (its pending access is completed here, before the state is
 * handed over). 0: v's registers hold the result (the reply is in the vCPU's slot, or
 * nothing happened: the sidecar is gone and the CPU retries); -1: v's state could not
 * be read or written. */
int handoff_run(struct vcpu *v, struct sidecar *sc, struct guest_clock *clk,
                struct handoff_stats *st);

#endif
