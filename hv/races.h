/* Data races between vCPUs, found the DataCollider way with symhv's page traps.
 *
 * Now and then (`rate` a second) one vCPU running a program in ring 3 is kicked and
 * steps (single-stepped by KVM, up to RACES_STEPS instructions) to its next instruction
 * that touches memory other than its own stack; that data page is watched: trapped (memory.h, owner MEM_TRAP_WATCH) as symbolic
 * pages are, so every vCPU's access to it exits here. The sampled vCPU's access is held
 * for `window_us` while the others run on; any access by another vCPU in that window to
 * an overlapping byte, one of the two a write, is a race: the two accesses were not
 * ordered by anything (a lock the first one held would have kept the second away). The
 * watch then ends and the page rejoins the memslots.
 *
 * Not races: a pair where either access is a locked instruction (lock prefix, xchg):
 * atomics, and the spin-then-compare-exchange of locks, are synchronisation; such pairs
 * are counted (sync_pairs). A race is reported with both vCPUs, both pcs and
 * instructions, read/write and sizes, deduplicated by its pair of pcs.
 *
 * This wraps the VM's RAM trap (the symbolic pages'): accesses to pages it does not
 * watch, and every access's emulation, go to that inner trap.
 *
 * Locks, in order: `access` (an emulated access to a watched page; a locked RMW holds it
 * from its read to its write), then the inner trap's (the sidecar's RMW lock), then
 * `traps` (arming or ending a watch: the state and the memslot change together, held
 * across memory_set_traps), then `lock` (the watch's state and the findings: a leaf,
 * never held across a call out). */
#ifndef HV_RACES_H
#define HV_RACES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_insn.h"
#include "symhv/abi.h"

struct vm;
struct vcpu;
struct ram_trap_ops;

struct races_config {
    bool on;
    unsigned window_us;        /* how long a sampled access waits for another vCPU's */
    unsigned rate;             /* samples a second */
    bool no_stepping;          /* sample only where a kicked vCPU stands (Linux guests:
                                  stepping their processes left the trap flag in frames
                                  Linux keeps: a SIGTRAP, a triple fault) */
};
#define RACES_DEFAULT_WINDOW_US 1000
#define RACES_DEFAULT_RATE 100
#define RACES_STEPS 32         /* instructions a kicked vCPU steps to a memory access */
#define RACES_RETRIES 4        /* an unemulated instruction retried after its watch ended */
#define RACES_MAX 256          /* distinct pairs of pcs kept; past it, counted and said */

struct race_access {
    unsigned vcpu;
    bool user;                 /* ring 3 (else the guest kernel, on the program's behalf) */
    bool write, locked;
    bool pc_exact;             /* false: the writing instruction was not found; pc is the
                                  one after it */
    uint64_t pc, gva, gpa;     /* gva: UINT64_MAX if not known */
    unsigned len;
    char insn[GUEST_INSN_TEXT];
};

struct race {
    struct race_access first;  /* the sampled access, held */
    struct race_access second; /* another vCPU's, within the window */
    uint64_t seen;             /* times this pair of pcs raced */
    bool taken;                /* handed out by races_take_new */
};

struct race_stats {
    uint64_t kicks, samples, watches, held, expired, sync_pairs, races_seen, dropped;
    uint64_t found;            /* distinct races kept */
};

struct races {
    struct vm *vm;
    struct races_config cfg;
    const struct ram_trap_ops *inner;
    void *inner_opaque;

    pthread_mutex_t access;
    bool in_rmw[SYMHV_MAX_VCPUS]; /* vCPU i holds `access` across its locked RMW */
    _Atomic bool due[SYMHV_MAX_VCPUS]; /* vCPU i is to take a sample at its kick */
    unsigned steps_left[SYMHV_MAX_VCPUS]; /* vCPU i's thread's: single steps to its next
                                             memory access */
    _Atomic bool no_stepping;  /* KVM could not single-step: samples at kicks only */
    uint64_t retry_rip[SYMHV_MAX_VCPUS]; /* vCPU i's thread's: its last instruction KVM */
    unsigned retries[SYMHV_MAX_VCPUS];   /* could not emulate, how often in a row, when */
    double retry_at[SYMHV_MAX_VCPUS];

    pthread_mutex_t traps;
    pthread_mutex_t lock;      /* guards everything below */
    struct {
        uint64_t gen;          /* counts the watches: which one a caller may end */
        bool active, holding;
        uint64_t page;         /* guest-physical */
        unsigned vcpu;         /* the sampled vCPU */
        double armed_at;
        bool first_seen;
        struct race_access first;
    } watch;
    struct race found[RACES_MAX];
    size_t nfound;
    bool cap_said;
    struct race_stats stats;
    uint64_t rng;

    pthread_t sampler;
    bool sampler_started;
    _Atomic bool stop;
};

/* Wrap the VM's RAM trap (set it first: the engine's) and take the vCPUs' kicks. NULL
 * (said) on failure. */
struct races *races_attach(struct vm *vm, const struct races_config *cfg);
/* Start sampling (after the vCPUs started). 0 or -1 (said). */
int races_start(struct races *r);
/* End the watch, if any (between executions, before a snapshot). Not on a vCPU
 * thread that holds a watched access. */
void races_quiesce(struct races *r);
/* Stop sampling (before the vCPU threads are joined: it kicks them). */
void races_stop(struct races *r);
/* Stop sampling, end the watch, give the RAM trap back. */
void races_detach(struct races *r);

/* Copy up to max races not handed out before; returns how many. */
size_t races_take_new(struct races *r, struct race *out, size_t max);
struct race_stats races_stats(struct races *r);
/* The report of one race (text, ends in a newline); input: the file holding the
 * execution's input, or NULL. */
void races_format(const struct race *race, const char *input, char *buf, size_t size);

#endif
