/* `symhv fuzz`: snapshot fuzzing of a guest target (the guest agent's
 * symhv_fuzz_start / symhv_fuzz_end).
 *
 * The first symhv_fuzz_start takes a snapshot: every vCPU's registers, LAPIC and
 * events, the irqchip, and guest RAM; KVM's dirty logging is switched on. Each
 * execution then ends at symhv_fuzz_end, a crash of the guest program or the
 * per-execution timeout; the VMM restores the pages written since the snapshot (KVM's
 * dirty log plus the pages the VMM wrote itself), every vCPU's state, writes the next
 * input into the target's buffer and lets the vCPUs go again.
 *
 * All of this runs on the main thread while every vCPU thread is parked (a
 * rendezvous: kicked out of KVM_RUN, pending I/O completed, waiting). The fuzzer's
 * decisions (fuzz/fuzz.h) are made there too: coverage, queue, crashes, mutations,
 * and every --concolic-every executions (or on a coverage plateau) one concolic
 * execution through the sidecar whose generated inputs are tried next.
 */
#ifndef HV_FUZZER_H
#define HV_FUZZER_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

struct fuzz_config {
    const char *in_dir;        /* seeds; may be NULL when resuming out_dir */
    const char *out_dir;
    const char *dict_path;     /* NULL: no dictionary */
    double exec_timeout_s;     /* per execution; then it is a hang */
    double concolic_timeout_s; /* for a concolic execution (interpreted: slower) */
    unsigned concolic_every;   /* executions between concolic runs (0: never) */
    unsigned plateau_execs;    /* no new coverage for this long: a concolic run now */
    uint64_t max_execs;        /* 0: no limit */
    double max_seconds;        /* 0: no limit */
    uint64_t seed;
    bool until_crash;          /* stop at the first crash */
};

int fuzzer_create(struct vm *vm, const struct fuzz_config *cfg);
void fuzzer_destroy(struct vm *vm);

/* Hypercalls, on the calling vCPU's thread. */
int32_t fuzzer_hc_start(struct vcpu *v, uint64_t buf, uint64_t max_len, uint64_t map,
                        uint64_t map_size);
/* The execution ended: status 0 fine, else a crash described by `why` (NULL for a
 * plain non-zero status). */
void fuzzer_end_execution(struct vcpu *v, int status, const char *why);

/* The VMM wrote guest RAM behind KVM's dirty log (a hypercall's output): the next
 * restore copies all of RAM. Any thread. */
void fuzzer_note_host_write(struct vm *vm);

/* vCPU threads: park here (top of the run loop) when the main thread asks. */
void fuzzer_park_point(struct vcpu *v);
/* Asked from vm_enter_guest: must this vCPU stay out of the guest? */
bool fuzzer_park_requested(struct vcpu *v);

/* The main thread's loop while fuzzing; returns when the run should end (limits,
 * signal, error). */
void fuzzer_main_loop(struct vm *vm);

#endif
