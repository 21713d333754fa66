/* Data races between vCPUs, found the DataCollider way with symhv's page traps.
 *
 * Now and then (`rate` a second) one vCPU running a program in ring 3 is kicked and
 * steps (single-stepped by KVM, up to RACES_STEPS instructions) to its next instruction
 * that touches memory other than its own stack; that data page is watched: trapped (memory.h, owner MEM_TRAP_WATCH) as symbolic
 * pages are, so every vCPU's access to it exits here. The sampled vCPU's access is held
 * (up to `window_us`) while the others run on; an access by another vCPU in that window
 * to an overlapping byte, one of the two a write, is a race: the two accesses were not
 * ordered by anything (a lock the first one held would have kept the second away). The
 * held access then goes right after it, before that vCPU's next access to the page (a
 * handoff: the order in which a check-then-use breaks); the watch ends and the page
 * rejoins the memslots. The sample is one of the next RACES_SKIP accesses, so that the
 * second access of a pair is sampled too, not only the first after a loop's slow part.
 *
 * Schedule control: a crash right after a handoff keeps that pair (fuzz.h's fz_order)
 * in its file's name; races_force_order makes a watch of its own that holds the access
 * at wait_pc until another vCPU's at for_pc, whatever the timing, so a replay (and
 * `--schedule`) gets the same order at that point.
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
 * never held across a call out; a held access, and another vCPU waiting for its turn,
 * wait on `turn` with it, a slice at a time, never holding `access` or `traps`). */
#ifndef HV_RACES_H
#define HV_RACES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
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
                                  Linux keeps: a SIGTRAP, a triple fault; PVM hosts: a
                                  ring-3 step's #DB goes into the guest) */
    bool no_sampling;          /* no race detection: a forced order only (a replay) */
};
#define RACES_DEFAULT_WINDOW_US 1000
#define RACES_DEFAULT_RATE 100
#define RACES_STEPS 32         /* instructions a kicked vCPU steps to a memory access */
#define RACES_SKIP 4           /* the sample is one of the next RACES_SKIP accesses */
#define RACES_KICKS_AGAIN 16   /* without single steps: kicks after one that sampled nothing */
#define RACES_KICK_AGAIN_US 500 /* ... this soon after it */
#define RACES_RETRIES 32       /* an unemulated instruction retried after its watch ended */
#define RACES_MAX 256          /* distinct pairs of pcs kept; past it, counted and said */
#define RACES_ORDER_WAIT_S 2.0 /* a forced order's access waits this long for its other */

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
    uint64_t handoffs;         /* held accesses that went right after the one they waited for */
    uint64_t found;            /* distinct races kept */
};

/* What became of a forced order (races_force_order). */
enum order_result {
    ORDER_NONE,        /* none was forced */
    ORDER_ARMED,       /* its page is watched; wait_pc not reached yet */
    ORDER_FORCED,      /* wait_pc's access ran right after for_pc's */
    ORDER_TIMED_OUT,   /* wait_pc's access waited RACES_ORDER_WAIT_S, for_pc never came */
    ORDER_UNREACHED,   /* the execution ended before an access at wait_pc to the page */
    ORDER_LOST,        /* an instruction KVM cannot emulate touched the page: watch ended */
    ORDER_CUT,         /* wait_pc's access waited; the execution ended meanwhile */
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
    unsigned skip[SYMHV_MAX_VCPUS]; /* vCPU i's thread's: accesses to step past first */
    _Atomic bool no_stepping;  /* KVM could not single-step: samples at kicks only */
    _Atomic bool missed;       /* the last kick found no access to sample (no stepping) */
    uint64_t retry_rip[SYMHV_MAX_VCPUS]; /* vCPU i's thread's: its last instruction KVM */
    unsigned retries[SYMHV_MAX_VCPUS];   /* could not emulate, how often in a row, when */
    double retry_at[SYMHV_MAX_VCPUS];

    pthread_mutex_t traps;
    pthread_mutex_t lock;      /* guards everything below */
    pthread_cond_t turn;       /* with `lock`: a held access released, or done */
    struct {
        uint64_t gen;          /* counts the watches: which one a caller may end */
        bool active, holding;
        uint64_t page;         /* guest-physical */
        unsigned vcpu;         /* the sampled vCPU */
        double armed_at;
        bool first_seen;
        struct race_access first;
        bool forced;           /* a forced order's: held at wait_pc, released at for_pc */
        uint64_t wait_pc, for_pc;
        bool released;         /* the access that releases the held one came */
        bool releaser_done;    /* and was done: the held one's turn */
        bool held_done;        /* the held one was done: the others go on */
        struct race_access releaser;
    } watch;
    struct {
        bool have;             /* a held access went right after another (this execution) */
        bool forced;           /* by the forced order: kept, not replaced by a sample's */
        struct fz_order order; /* the last such pair */
    } handoff;
    enum order_result order_result;
    double order_wait_s;       /* how long a forced order's access waits */
    bool order_fail_said;
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

/* Force an order for the next execution (vCPUs settled or not started): the first access
 * at o->wait_pc to o->page waits (wait_s, RACES_ORDER_WAIT_S at most) for another vCPU's
 * at o->for_pc, then goes before that vCPU's next access to the page. Sampling pauses
 * until then. 0, or -1 (said once: the page cannot be watched). */
int races_force_order(struct races *r, const struct fz_order *o, double wait_s);
/* What became of it (after the execution: races_quiesce first). */
enum order_result races_order_result(struct races *r);
/* The last pair of accesses of this execution that ran back to back because one was
 * held for the other (a sample's, or the forced order's): true and *o, once; cleared. */
bool races_take_handoff(struct races *r, struct fz_order *o);

/* Copy up to max races not handed out before; returns how many. */
size_t races_take_new(struct races *r, struct race *out, size_t max);
struct race_stats races_stats(struct races *r);
/* The report of one race (text, ends in a newline); input: the file holding the
 * execution's input, or NULL. */
void races_format(const struct race *race, const char *input, char *buf, size_t size);

#endif
