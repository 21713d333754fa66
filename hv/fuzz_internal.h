/* The fuzzer's state shared by its two files (hv/ only): fuzzer.c, the main thread
 * (snapshot, restore, the campaign's inputs placed, the settle between executions), and
 * fuzz_calls.c, the agent's calls from the vCPU threads and the end policy. Under
 * `lock`: `end` and `claims`; the rest is the main thread's, or written once before the
 * snapshot by the call that claims it. */
#ifndef HV_FUZZ_INTERNAL_H
#define HV_FUZZ_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "campaign.h"
#include "console.h"
#include "engine.h"
#include "fuzzer.h"
#include "guest_mem.h"
#include "hypercall.h"

#define MAX_BUF_PAGES (FZ_MAX_INPUT / SYMHV_PAGE_SIZE + 2)
#define MAX_MAP_PAGES (FZ_MAP_MAX / SYMHV_PAGE_SIZE + 2)
/* A buffer a program gave symhv_make_symbolic before the snapshot was taken: its bytes
 * are written (and, in a concolic run, marked) again after every restore. */
#define MAX_SNAP_INPUTS 8
struct snap_input {
    struct guest_as as;        /* the caller's address space (caller NULL: the main thread's) */
    uint64_t gva;
    uint32_t len;
    bool concrete;             /* SYMHV_INPUT_CONCRETE: written, never marked */
    char name[SYMHV_INPUT_NAME_MAX + 1];
};
/* Past these the program's later buffers stay concrete and outside the input file. */
#define MAX_INPUT_BUFFERS 64   /* the engine's MAX_INPUTS */

/* A guest-virtual buffer, translated once at the snapshot (the page tables are part of
 * the snapshot, so the translation holds for every execution). */
struct guest_buffer {
    uint64_t gva, len;
    uint64_t gpa[MAX_MAP_PAGES > MAX_BUF_PAGES ? MAX_MAP_PAGES : MAX_BUF_PAGES];
    unsigned npages;
};

enum request { REQ_NONE, REQ_SNAPSHOT, REQ_END, REQ_HANG };

/* The end of an execution, posted by a vCPU thread for the main thread (under lock). */
struct ending {
    enum request request;      /* posted with a settle of the VM (vm_begin_settle) */
    enum fz_outcome outcome;
    int status, signal;
    char why[448];
    double t_posted;
    bool bug_reported;         /* symhv_report_bug during this execution: bug_message */
    char bug_message[HC_MESSAGE_MAX];
};

/* Who owns the snapshot and which buffers a program marks (under lock): a fuzz target's
 * symhv_fuzz_start and its registrations before it, or symhv_make_symbolic's buffers (the
 * input file is their concatenation in call order; the snapshot is taken at the first
 * call; later ones take their bytes as each call comes: offset, calls). */
struct claims {
    bool start, cmplog, length; /* each registration once */
    bool by_make_symbolic;
    struct snap_input snap_inputs[MAX_SNAP_INPUTS];
    unsigned nsnap_inputs;
    uint64_t offset;
    unsigned calls;
    struct fz_concrete_parts concrete; /* this execution's (SYMHV_INPUT_CONCRETE) */
    bool limit_noted, ended_before_start, end_in_window_noted, early_bug_noted;
    unsigned start_vcpu;
};

/* Where one execution's time goes (bench-fuzz prints it): the target running, the end
 * reaching the main thread and the vCPUs settling, judging, restoring, the next input
 * placed; sums in seconds over `samples` executions. */
struct phases {
    double released, exec, settle, judge, next, restore;
    uint64_t samples, restores, restored_pages;
};

struct fuzzer {
    struct vm *vm;
    struct engine *engine;
    struct console *console;
    struct fz_campaign c;      /* the decisions (the main thread's) */

    pthread_mutex_t lock;      /* between vCPU threads and the main thread */
    pthread_cond_t cond;
    struct ending end;
    struct claims claims;
    _Atomic bool have_snapshot;

    struct guest_buffer input, map, cmplog, length_word; /* the target's, at the snapshot */
    bool cmplog_ready;         /* written by the registering hypercall before the snapshot */
    uint8_t *cmplog_copy;
    /* -c: the campaign's CMPLOG peer (NULL: none), or in the peer itself the campaign's
     * socket (peer_fd, mode FUZZ_CMPLOG_PEER) and its program's AFL++ compare map (a gva,
     * 0: not attached; written before the snapshot like cmplog_ready) */
    struct cmplog_peer *peer;
    int peer_fd;
    bool peer_over, peer_cut_noted;
    uint64_t afl_cmp_map;
    uint64_t *afl_headers;
    struct fz_compare *peer_log;
    struct snapshot *snap;
    struct phases phases;
    /* the current concolic run: bytes marked symbolic (the cap then: the solver may make
     * the input longer), and whether the length word is symbolic too */
    uint32_t cur_marked;
    bool cur_length_symbolic;
    /* the concolic run whose inputs are being collected: how they are cut (add_solver_input);
     * a background solving's, kept from its run while other executions go on */
    struct { uint32_t marked, len; bool length_symbolic; struct fz_concrete_parts concrete; }
        solved_run;
    bool concrete_overflow_noted;
    uint8_t *whole;            /* a solver's input with its concrete parts put back */
    struct engine_search search; /* the concolic runs' search */
    double exec_started, last_status, last_stats;
    bool tty;
    char output_tail[CONSOLE_TAIL]; /* the execution's output's end, for a crash's note */
    struct races *races;       /* --races, or NULL */
    const char *program;       /* the program's host path (binary-only coverage), or NULL */
    struct breakpoints *bps;   /* binary-only coverage, or NULL */
    size_t races_saved;        /* files in OUT/races/ (the next one's id) */
};

/* Copy between host memory and a translated guest buffer (writes are the VMM's). */
void fuzz_buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host, uint64_t len,
                      bool to_guest);
/* The agent's fuzzing calls (symhv_fuzz_start/end/cmplog/length, make_symbolic and
 * report_bug in a campaign) and the end policy: fuzz_calls.c. */
void fuzz_calls_attach(struct fuzzer *f, struct hypercalls *hc);

#endif
