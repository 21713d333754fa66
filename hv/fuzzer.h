/* `symhv fuzz`: snapshot fuzzing of a guest target (the guest agent's symhv_fuzz_start /
 * symhv_fuzz_end).
 *
 * The first symhv_fuzz_start takes a snapshot of the whole machine (snapshot.h). Each
 * execution then ends at symhv_fuzz_end, at any way the guest can end (a crash of the
 * program or of the kernel, a triple fault, a KVM internal error, an access outside
 * RAM, exit, kill: the fuzzer is the VM's end policy) or at the per-execution timeout
 * (a hang). The VM is settled (vm.h), the written pages and every vCPU's state go back
 * to the snapshot, the next input is written into the target's buffer, and the vCPUs
 * go again. The decisions (fuzz/fuzz.h) are made on the main thread: coverage, queue,
 * crashes, mutations, and every --concolic-every executions (or on a coverage plateau)
 * one concolic execution through the symbolic engine whose inputs are tried next. */
#ifndef HV_FUZZER_H
#define HV_FUZZER_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct hypercalls;
struct engine;
struct console;

enum fuzz_mode {
    FUZZ_CAMPAIGN, /* symhv fuzz */
    FUZZ_EXPLORE,  /* symhv explore: generational concolic search, no mutation */
    FUZZ_CMIN,     /* symhv cmin -i DIR -o DIR: the smallest inputs keeping all coverage */
    FUZZ_TMIN,     /* symhv tmin -i FILE -o FILE: the smallest input failing the same way */
};

struct fuzz_config {
    enum fuzz_mode mode;
    const char *in_dir;        /* seeds; may be NULL when resuming out_dir (tmin: a file) */
    const char *out_dir;       /* tmin: the output file */
#define FUZZ_MAX_DICTS 8
    const char *dict_paths[FUZZ_MAX_DICTS]; /* -x FILE or DIR, repeatable */
    unsigned ndicts;
    double exec_timeout_s;     /* per execution; then it is a hang */
    double concolic_timeout_s; /* for a concolic execution (interpreted: slower) */
    unsigned concolic_every;   /* executions between concolic runs (0: never) */
    unsigned plateau_execs;    /* no new coverage for this long: a concolic run now */
    uint64_t max_execs;        /* 0: no limit */
    double max_seconds;        /* 0: no limit */
    uint64_t seed;
    bool until_crash;          /* stop at the first crash */
    const char *sync_dir;      /* -o with -M/-S: the campaign's sync directory, else NULL */
    const char *instance;      /* -M/-S NAME: this instance (out_dir is sync_dir/NAME) */
    bool main_instance;        /* -M (recorded; symhv's instances all work alike) */
    double sync_every_s;       /* import from the other instances this often */
    bool no_cmplog;            /* ignore the target's compare log (for comparisons) */
};

struct fuzzer;

/* Set up out_dir (locked for the campaign: a second symhv fuzz on it is refused), load
 * the corpus, register the fuzzing hypercalls and become the end policy. NULL after a
 * message. */
struct fuzzer *fuzzer_attach(struct vm *vm, struct hypercalls *hc, struct engine *engine,
                             struct console *console, const struct fuzz_config *cfg);
/* The main thread's work, called in a loop while the VM runs: waits up to a few ms for
 * an execution to end and handles it. false: the campaign is over (a limit). */
bool fuzzer_tick(struct fuzzer *f);
/* After the VM stopped: final stats; returns the run's exit status given the VM's. */
int fuzzer_finish(struct fuzzer *f, int status);
void fuzzer_detach(struct fuzzer *f);

#endif
