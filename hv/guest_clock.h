/* --clock-slow-down: while a vCPU is interpreted its guest time stands still (or runs N
 * times slower), so guest timeouts do not fire because interpretation is slow.
 *
 * symhv's own kernel reads its clock through symhv_pv_clock in the boot info (PVM does
 * not apply TSC offsets to rdtsc): the whole guest's time is held while any vCPU is
 * interpreted, so clocks stay monotonic across vCPUs. Other guests (PVH) get the
 * interpreted time taken out of the vCPU's TSC offset (KVM_VCPU_TSC_OFFSET). */
#ifndef HV_GUEST_CLOCK_H
#define HV_GUEST_CLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

struct guest_clock {
    struct vm *vm;
    double slow_down;          /* 0: off; INFINITY: time stands still */
    bool pv_possible;          /* symhv's boot protocol: the boot info has the record */
    pthread_mutex_t lock;      /* the pv clock record */
    unsigned active;           /* vCPUs being interpreted */
    atomic_ullong hidden_cycles;
};

/* 0, or -1 when the TSC offset is needed and this KVM lacks it. */
__attribute__((warn_unused_result))
int guest_clock_init(struct guest_clock *c, struct vm *vm, double slow_down, bool pvh);
/* Bracket one interpretation of v; leave gets the host TSC at enter. */
uint64_t guest_clock_enter(struct guest_clock *c);
void guest_clock_leave(struct guest_clock *c, struct vcpu *v, uint64_t entered_tsc);

#endif
