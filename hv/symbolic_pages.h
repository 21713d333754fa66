/* Symbolic pages: the whole trap path of symbolic execution, in one place.
 *
 * A guest-physical page that holds a symbolic byte is trapped (out of KVM's memslots,
 * memory.h), so every access to it by any vCPU exits here (the VM's RAM trap):
 *  - a read of concrete bytes is emulated from RAM;
 *  - a read of symbolic bytes hands the vCPU to the sidecar's interpreter (handoff.h)
 *    until its registers are concrete again; the other vCPUs keep running natively;
 *  - a write (a native vCPU holds only concrete values), or the VMM writing on the
 *    guest's behalf, makes the bytes concrete;
 *  - an instruction KVM cannot emulate on a trapped page (x87, SSE4, AVX ... ): its
 *    pages are pinned (symbolic bytes concretised with a recorded constraint each), so
 *    they rejoin the memslots and the CPU runs it; code fetched from a symbolic page is
 *    interpreted first.
 * Which bytes are symbolic is the sidecar's shared bitmap (sidecar.h); after each reply
 * the pages it names are re-read and trapped or released, in one layout change.
 *
 * Atomics: KVM emulates a locked read-modify-write on trapped RAM as a read exit and a
 * write exit, so two vCPUs' `lock cmpxchg` on a mutex that shares a page with symbolic
 * data would interleave, and so would one vCPU's emulated RMW and another's interpreted
 * one (a real compare-exchange in the sidecar). Every emulated access takes the lock
 * the sidecar's compare-exchanges take too (sidecar.h sc_shared.rmw_lock), and a locked
 * RMW holds it from its read until the instruction has completed. Lock order: that
 * lock, then the sidecar's slots (a concretising write calls the sidecar holding it: a
 * slot's thread never waits for the lock while it serves a concretise). */
#ifndef HV_SYMBOLIC_PAGES_H
#define HV_SYMBOLIC_PAGES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "symhv/abi.h"

#include "handoff.h"

struct vm;
struct vcpu;
struct sidecar;
struct guest_clock;

struct sym_stats {
    atomic_ullong pages_marked, pages_released, reads_emulated, writes_concretised,
        symbolic_reads, pinned_pages;
    atomic_ullong pinned_at_slot_cap; /* pages made concrete: no memslot left to trap them */
    atomic_bool slot_cap_said;
};

struct sym_pages {
    struct vm *vm;
    struct sidecar *sc;
    struct guest_clock *clock;
    struct sym_stats stats;
    struct handoff_stats handoff;
    bool in_rmw[SYMHV_MAX_VCPUS];        /* vCPU i holds the RMW lock across its RMW */
    _Atomic bool detached;               /* the sidecar's bitmap is a run's being solved in
                                            the background (engine_solve_begin): every byte
                                            of RAM is concrete to the VMM until the reset */
};

void sym_pages_init(struct sym_pages *sp, struct vm *vm, struct sidecar *sc,
                    struct guest_clock *clock);
/* Become the VM's RAM trap. */
void sym_pages_attach(struct sym_pages *sp);
/* Does [gpa, gpa+len) hold a symbolic byte? */
bool sym_pages_any(struct sym_pages *sp, uint64_t gpa, uint64_t len);
/* Re-read the pages the reply in sidecar slot `slot_index` names (all of RAM when it
 * overflowed): trap or release. The slot is the caller's (it may be used again). */
void sym_pages_sync(struct sym_pages *sp, unsigned slot_index);
/* Every page concrete again (the sidecar is gone, or a fuzzing round ends). */
void sym_pages_release_all(struct sym_pages *sp);
/* Concrete bytes were written over [gpa, gpa+len) (by `caller`'s thread, NULL: main):
 * they stop being symbolic. */
void sym_pages_concretise(struct sym_pages *sp, struct vcpu *caller, uint64_t gpa, uint64_t len);

#endif
