/* The symbolic run, as the VMM sees it: inputs, the sidecar, symbolic pages, the guest
 * clock, bug reports and the output directory. engine.c is the facade; the concerns
 * live in sidecar_client.c (the process), symbolic_pages.c (the trap path), handoff.c,
 * guest_clock.c and outputs.c.
 *
 * A vCPU whose native execution reads symbolic bytes is handed to the sidecar process
 * (symhv-symex, started at the first symhv_make_symbolic) until its registers and flags
 * are concrete again; the other vCPUs keep running in KVM meanwhile, and several vCPUs
 * can be in the sidecar at once. If the sidecar dies, the run continues concretely and
 * says so. */
#ifndef HV_ENGINE_H
#define HV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symhv/abi.h"

struct vm;
struct vcpu;
struct hypercalls;
struct hc_call;
struct guest_as;

#define ENGINE_MAX_PRESETS 64

struct engine_config {
    const char *output_dir;     /* where results go ("" or NULL: nowhere) */
    bool output_numbered;       /* output_dir is a base: OUTPUT_DIR-N, the next N, and a
                                   symhv-last link to it (no -o given) */
    bool replay;                /* presets are a concrete replay: nothing symbolic */
    /* input bytes written into the buffers the guest makes symbolic (--replay/--seed
     * FILE: the first input; --input NAME=FILE: the input called NAME) */
    struct engine_preset { const char *name; const char *path; } presets[ENGINE_MAX_PRESETS];
    unsigned npresets;
    unsigned solver_timeout_ms;
    const char *solver;         /* the sidecar's solver backend; NULL: its default */
    const char *symex_socket;   /* NULL: start symhv-symex; else attach to it there */
    double clock_slow_down;     /* 0: off; INFINITY: time stands still */
    bool pvh;                   /* the guest booted through PVH (no symhv_pv_clock) */
    double stall_timeout_s;     /* a sidecar request without progress this long: dead */
    uint64_t symex_max_memory;  /* the sidecar's limits (0: none) */
    double symex_max_seconds;
    bool no_renting;            /* hand vCPUs back as soon as their registers are concrete
                                   (sidecar.h: rent_ns); campaigns set it */
    bool campaign;              /* fuzz/explore: the campaign owns make_symbolic,
                                   report_bug and fuzz_start (fuzzer.c) */
};

struct engine;

/* Create it and register its hypercalls (get_example, print_expr; and make_symbolic,
 * report_bug and fuzz_start of a single run, unless cfg->campaign) and the RAM trap.
 * NULL after a message. */
struct engine *engine_attach(struct vm *vm, struct hypercalls *hc, const struct engine_config *cfg);
/* Orderly end (before the VM goes): the sidecar quits, everything is freed. */
void engine_detach(struct engine *e);

/* [gva, gva+len) of `as` becomes input `name` (a preset's bytes are written there
 * first). caller: the vCPU whose thread this is, NULL for the main thread (a parked
 * VM). Returns the input id, or -SYMHV_E*. */
int engine_make_symbolic(struct engine *e, struct vcpu *caller, const struct guest_as *as,
                         uint64_t gva, uint64_t len, const char *name);
/* The arguments of a symhv_make_symbolic hypercall (buffer, length, name), checked as
 * every handler of it must: 0, or -SYMHV_EINVAL / -SYMHV_EFAULT. */
int64_t engine_make_symbolic_args(struct hc_call *c, uint64_t *buf, uint64_t *len,
                                  char name[SYMHV_INPUT_NAME_MAX + 1]);

/* End of a plain run: solve for the other side of every symbolic branch and write the
 * output directory. 0, or -1 if a result could not be written (said). */
int engine_finish(struct engine *e);
/* Write one more result file of a plain run into its output directory (NAME or
 * SUB/NAME). 0, or -1 (said). */
int engine_write_output(struct engine *e, const char *name, const void *data, size_t len);
/* Where the run's results went (a numbered one: after its first file). */
const char *engine_output_dir(struct engine *e);
/* The solver backend the sidecar runs, as summary.txt and fuzzer_stats name it
 * ("attached-sidecar" with --symex-socket: that sidecar chose its own). */
const char *engine_solver_name(const struct engine *e);

/* Fuzzing: solve the concolic execution that just ended, hand each generated input
 * to add() (every symbolic input's bytes, in the order they were made symbolic), then forget it all (inputs, symbolic pages,
 * the sidecar's path) for the next one. The search across executions prunes (the
 * sidecar remembers the branch sides seen and the flips tried, sidecar.h
 * SC_FINISH_PRUNE); *search (may be NULL) bounds the solving (budget_s) and gets this run's new branch sides and adds up
 * the rest. Returns the number of inputs. The VM must be settled (vm_pause_settled). */
struct engine_result {
    uint64_t pc;
    uint32_t branch, taken;
    uint32_t kind;              /* enum sc_flip: a branch, a division by zero, a target... */
};
struct engine_search {
    double budget_s;            /* in: solving time left (0: no limit) */
    uint64_t new_branch_edges;  /* of the run just collected */
    uint64_t flips_pruned, queries, cache_hits;
    uint64_t flips_unasked;      /* left unasked: a run's solving stopped at a limit
                                    (--solve-budget, the sidecar's memory or time) */
    uint64_t branches_pruned;    /* hot branches' occurrences run as if concrete */
    double solver_seconds;
};
int engine_concolic_collect(struct engine *e,
                            void (*add)(void *ctx, const uint8_t *data, size_t len,
                                        const struct engine_result *why),
                            void *ctx, struct engine_search *search);

/* Print the symbolic memory and handoff counts (verbose log). */
void engine_report(struct engine *e);
/* A campaign's concolic run, solved in the background: the run's symbolic state is let
 * go at once (native executions may go on) and a thread of the engine solves it; no
 * other symbolic work until it is collected. 0, or -1 (not started: use
 * engine_concolic_collect). */
int engine_solve_begin(struct engine *e, double budget_s);
/* Nothing being solved, or the solving is over (does not wait). */
bool engine_solve_done(struct engine *e);
/* Wait for the solving, hand each generated input to add (on this thread), reset the
 * sidecar; how many. add NULL: they are dropped (the campaign ended). */
int engine_solve_collect(struct engine *e,
                         void (*add)(void *ctx, const uint8_t *data, size_t len,
                                     const struct engine_result *why),
                         void *ctx, struct engine_search *search);

#endif
