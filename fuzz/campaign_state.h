/* A campaign's state (the configuration, the queues, the current input, the counters):
 * the data of fuzz/campaign.c's decisions, read by outdir.c (loading, resuming) and
 * stats.c (fuzzer_stats, the status line) too, so that those need no call into the
 * campaign's code. Functions: campaign.h. */
#ifndef FUZZ_CAMPAIGN_STATE_H
#define FUZZ_CAMPAIGN_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fuzz.h"

/* The coverage when the target has no map: the branch sides of concolic runs. */
#define FZ_COVERAGE_SIDES "symbolic-sides"

enum fuzz_mode {
    FUZZ_CAMPAIGN, /* symhv fuzz */
    FUZZ_EXPLORE,  /* symhv explore: generational concolic search, no mutation */
    FUZZ_CMIN,     /* symhv cmin -i DIR -o DIR: the smallest inputs keeping all coverage */
    FUZZ_TMIN,     /* symhv tmin -i FILE -o FILE: the smallest input failing the same way */
    FUZZ_CMPLOG_PEER, /* symhv fuzz -c's second process: runs the CMPLOG binary on the
                         inputs the campaign sends and sends their compare logs back; no
                         out_dir, no queue (hv/cmplog_peer.h) */
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
    double solve_budget_s;     /* solver time for one concolic run's flips (0: no limit) */
    unsigned concolic_every;   /* executions between concolic runs (0: never) */
    unsigned plateau_execs;    /* no new coverage for this long: a concolic run now */
    uint64_t max_execs;        /* 0: no limit */
    double max_seconds;        /* 0: no limit */
    uint64_t seed;
    bool until_crash;          /* stop at the first crash */
    const char *sync_dir;      /* -o with -M/-S: the campaign's sync directory, else NULL */
    const char *instance;      /* -M/-S NAME: this instance (out_dir is sync_dir/NAME) */
    char target[4096];         /* the target as its options named it (percent-encoded
                                  words), fuzzer_stats' symhv_target: symhv replay FILE */
    bool target_dropped;       /* too long to record */
    char inputs[256];          /* the symbolic sources an input file holds, in order, as
                                  NAME:SIZE,... (SIZE * for the one source that takes the
                                  whole input): fuzzer_stats' symhv_inputs, for symhv show */
    bool main_instance;        /* -M (recorded; symhv's instances all work alike) */
    double sync_every_s;       /* import from the other instances this often */
    bool no_cmplog;            /* ignore the target's compare log (for comparisons) */
    bool no_breakpoints;       /* no binary-only coverage for programs without a map */
    uint32_t blank_seed_len;   /* explore without -i: one seed of this many zero bytes
                                  (the declared source's size; 0: one byte) */
    uint32_t blank_seed_counts;   /* > 1: that many such seeds, the byte at
                                     blank_seed_count_at of seed k being k (--sym-args:
                                     a seed per number of arguments) */
    uint32_t blank_seed_count_at;
    uint32_t blank_seed_count_min; /* the number seed k stands for is this + k (its name) */
    bool races;                /* --races: explore runs the queue again for samples */
};

/* How an execution ended. FZ_BUG: it ran on but the program reported a bug
 * (symhv_report_bug); FZ_FAILED: symhv could not complete it (no finding). */
enum fz_outcome { FZ_OK, FZ_CRASH, FZ_HANG, FZ_BUG, FZ_FAILED };

/* Where the next input comes from, in this order of priority. */
enum fz_source {
    FZ_NEXT_TOOL,        /* cmin/tmin past the seeds: the tool's next candidate */
    FZ_NEXT_KNOWN,       /* a resumed campaign's crashes, recognised, not saved again */
    FZ_NEXT_TRIM,        /* a shorter try of the newest queue entry */
    FZ_NEXT_SEED,        /* each seed once, as it is: the coverage baseline */
    FZ_NEXT_RECHECK,     /* a concolic run past its limit, again natively */
    FZ_NEXT_ORDER,       /* an input again, a race's pair of accesses forced in one order */
    FZ_NEXT_URGENT,      /* solver inputs from a division, a jump target, an address */
    FZ_NEXT_PENDING,     /* the other solver inputs */
    FZ_NEXT_CMPLOG,      /* input-to-state candidates */
    FZ_NEXT_SYNC,        /* what the other instances found */
    FZ_NEXT_CONCOLIC,    /* a queue entry run concolically (explore: every one) */
    FZ_NEXT_RACE_PASS,   /* explore --races, the search done: a queue entry again, for
                            race samples, until passes over the queue find no new race */
    FZ_NEXT_MUTATION,    /* havoc on a queue entry */
    FZ_NEXT_NONE,        /* explore with nothing left, or a tool that is done */
};

#define FZ_MAX_CRASH_WHYS 64 /* without a map: distinct crash descriptions kept */

struct fz_counters {
    uint64_t execs, execs_before;         /* this run's and a resumed campaign's */
    uint64_t crashes, hangs;              /* saved (unique) */
    uint64_t total_crashes, total_hangs, bugs_reported, symhv_failures;
    uint64_t concolic_runs, solver_inputs, solver_kept, cmplog_inputs, cmplog_kept;
    uint64_t concolic_timeouts;           /* concolic runs past their limit (rechecked) */
    uint64_t order_trials, orders_dropped; /* inputs run with a pair forced; trials not made */
    uint64_t orders_flaky;     /* order trials' crashes that did not come with the order
                                  forced every time */
    uint64_t imported, imported_kept, trimmed_bytes, tool_failed;
    uint64_t execs_at_last_new, execs_at_last_crash, last_concolic_exec;
    uint64_t last_find_time, last_crash_time, last_hang_time; /* unix seconds, 0: never */
    /* AFL++'s queue cycle, for a schedule that picks entries at random: a cycle is done
     * when every entry of the queue has been mutated in it (entries that join count) */
    uint64_t cycles_done, cycle_picked; /* ...; entries mutated in the current cycle */
    size_t cur_item;                    /* the entry mutated last */
    size_t picked_ever;                 /* entries mutated at least once (pending_total:
                                           the others) */
};

/* The input being executed. */
struct fz_current {
    uint8_t *data;             /* FZ_MAX_INPUT bytes */
    uint32_t len;
    enum fz_origin origin;
    bool concolic;             /* run through the sidecar */
    int signal;                /* the crash's signal (sig:NN in its file name), 0: none */
    size_t entry;              /* FZ_FROM_SEED, FZ_FROM_RACE_PASS: its queue entry */
    char from[FZ_NAME_MAX];    /* FZ_FROM_SYNC: the instance it came from */
    const char *output;        /* the end of what the execution wrote (a crash's note) */
    size_t output_len;
    bool has_order;            /* a held access went right after another's in it
                                  (--races): a crash or hang file carries that order
                                  (sched: in its name) */
    struct fz_order order;
    bool force_order;          /* FZ_FROM_ORDER: the VMM forces `forced` */
    struct fz_order forced;
    uint8_t order_crashes;     /* FZ_FROM_ORDER: earlier runs of this input and order
                                  that crashed (it is confirmed before it is saved) */
};

#define FZ_MAX_ORDERS 64          /* races' orders tried on inputs; past it, said, not tried */
#define FZ_ORDERS_PENDING_MAX 1024 /* trials waiting; past it, counted (orders_dropped) */
#define FZ_ORDERS_PENDING_BYTES (64u << 20) /* their inputs' bytes, at most (a copy each) */
#define FZ_RACE_QUIET_PASSES 3    /* explore --races ends after this many passes over the
                                      queue in a row found no new race */
#define FZ_ORDER_CONFIRM 3         /* a crash with an order forced is saved once the order
                                      gives it again this many times in a row */
#define FZ_ORDERS_PER_ENTRY 8     /* trials of known orders on each new queue entry */

struct fz_campaign {
    struct fuzz_config cfg;
    char out_dir[PATH_MAX], queue_dir[PATH_MAX + 8], crash_dir[PATH_MAX + 8],
        hang_dir[PATH_MAX + 8], notes_dir[PATH_MAX + 16];
    int lock_fd;               /* flock on out_dir/.symhv-fuzz.lock, held to the end */
    struct fz_queue queue;     /* the corpus */
    struct fz_queue pending, urgent, synced, known, cmp_pending, recheck, orders; /* waiting */
    struct fz_order race_orders[FZ_MAX_ORDERS]; /* each race's pair, both ways */
    size_t nrace_orders, race_orders_before; /* ...; how many before this execution */
    size_t order_cursor;       /* the next of them to try on a new queue entry */
    uint64_t orders_bytes;     /* the waiting trials' inputs, in bytes */
    bool race_orders_full_said;
    size_t race_pass_next;     /* FZ_NEXT_RACE_PASS: the queue entry to run next */
    size_t race_pass_orders;   /* nrace_orders when the pass began */
    unsigned race_quiet_passes; /* passes in a row that found no new race */
    bool race_passes_said;
    struct fz_dict dict;
    struct fz_rng rng;
    size_t map_len;            /* the target's coverage map (0: none) */
    bool map_one_shot;         /* a map whose bytes are set once in a campaign (the
                                  VMM's breakpoints: only new blocks show): crashes are
                                  told apart by place, and entries are not trimmed */
    bool solving;              /* a concolic run's solving goes on in the background: no
                                  other concolic run until its inputs are in */
    const char *coverage_name; /* what the map is: "symhv-map", "afl-map"; NULL:
                                  FZ_COVERAGE_SIDES (fuzzer_stats' coverage, the status) */
    uint8_t *seen, *trace, *crash_seen, *hang_seen; /* coverage: buckets, this run's */
    uint32_t *edge_hits;       /* executions that hit each edge (the power schedule) */
    struct fz_cmin cmin;
    struct fz_tmin tmin, trim; /* symhv tmin; trimming the newest queue entry */
    bool trimming;
    size_t trim_entry;
    uint64_t trim_hash;
    char tmin_fault[200];      /* tmin: how the original input fails ("" before it ran) */
    bool tool_error;           /* tmin: the input does not fail; cmin: no coverage map */
    char crash_whys[FZ_MAX_CRASH_WHYS][448];
    unsigned ncrash_whys;
    bool crash_whys_full_said;
    uint8_t *cmp_scratch;      /* input-to-state's candidate (FZ_MAX_INPUT bytes) */
    struct fz_current cur;
    uint32_t input_cap;        /* the longest input that reaches the program */
    size_t nseeds, seeds_left, next_concolic, edges;
    struct fz_counters n;
    double started;            /* monotonic seconds */
    double minute_mark;        /* execs_ps_last_min: when the last minute began (monotonic) */
    uint64_t minute_execs;     /* ...: executions then */
    double eps_last_min;       /* ...: over the last whole minute (0: none yet) */
    time_t start_time;
    double last_sync;
    bool judged_new;           /* the execution just judged joined the queue */
    bool done, plot_failed;
};

/* A mode that writes its result at the end and nothing while it runs. */
static inline bool fz_mode_is_tool(enum fuzz_mode m)
{
    return m == FUZZ_CMIN || m == FUZZ_TMIN || m == FUZZ_CMPLOG_PEER;
}

/* What only the VM knows, for fuzzer_stats and the status line. */
struct fz_vm_figures {
    uint64_t restored_pages;     /* by the last restore */
    double restore_us, exec_us, settle_us, judge_us, next_us; /* means per execution */
    uint64_t guest_ram_mib;
    uint64_t queries, cache_hits, flips_pruned; /* the concolic runs' solver */
    uint64_t flips_unasked; /* left unasked when a run's solving stopped at a limit (the
                                budget, the sidecar's memory or time), pruned ones too */
    uint64_t branches_pruned; /* hot branches' occurrences the concolic runs ran as if
                                 concrete (QSYM's pruning) */
    double solver_seconds;
    const char *solver;          /* the backend's name (NULL: none) */
    double concolic_for_s;       /* a concolic execution in flight this long (0: none) */
    bool races_on;               /* --races: the figures below */
    uint64_t races_found, race_samples, race_held, race_sync_pairs, race_dropped;
    uint64_t race_handoffs;      /* held accesses that went right after a conflicting one */
};

/* What the campaign's coverage is, as the status line and fuzzer_stats say it. */
static inline const char *fz_coverage_name(const struct fz_campaign *c)
{
    return c->map_len && c->coverage_name ? c->coverage_name : FZ_COVERAGE_SIDES;
}

/* "fuzz", "explore", "cmin", "tmin" or "cmplog peer": how the campaign's messages begin. */
static inline const char *fz_mode_name(enum fuzz_mode m)
{
    return m == FUZZ_EXPLORE ? "explore" : m == FUZZ_CMIN ? "cmin" : m == FUZZ_TMIN ? "tmin"
         : m == FUZZ_CMPLOG_PEER ? "cmplog peer" : "fuzz";
}

#endif
