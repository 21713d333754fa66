#include "engine.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest_clock.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "log.h"
#include "outputs.h"
#include "sidecar_client.h"
#include "symbolic_pages.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_INPUTS 64
#define MAX_BUG_FILES 100             /* reports past this are counted, not saved or shown */
#define MAX_EXPRESSION_TEXT (16u << 20)

struct input_record {
    char name[SYMHV_INPUT_NAME_MAX + 1];
    uint32_t len;
    uint8_t *initial;                 /* the concrete input of this run */
};

struct preset {
    char name[SYMHV_INPUT_NAME_MAX + 1]; /* "": the unnamed file (--seed/--replay) */
    uint8_t *bytes;
    size_t len;
};

struct engine {
    struct vm *vm;
    struct engine_config cfg;
    pthread_mutex_t lock;             /* inputs, bugs, expressions; held across the
                                         make_symbolic request (ids stay in order) */
    struct input_record inputs[MAX_INPUTS];
    uint32_t ninputs;
    struct preset presets[ENGINE_MAX_PRESETS];
    unsigned npresets;
    size_t unnamed_used;              /* bytes of the unnamed preset given to inputs */
    unsigned bugs;
    struct text expressions;          /* printed natively (concrete values) */

    struct outputs out;
    struct sidecar *sc;
    struct guest_clock clock;
    struct sym_pages pages;
    struct solve_job *job;            /* a campaign's solving in the background, or NULL
                                         (the main thread's: it starts and collects it) */
};

/* A concolic run's solving in a thread of its own while the campaign runs native
 * executions (engine_solve_begin): the only user of the sidecar's control slot meanwhile.
 * It keeps the generated inputs until the main thread collects them. */
#define JOB_MAX_RESULTS 4096
struct job_result {
    uint8_t *data;
    size_t len;
    struct engine_result why;
};
struct solve_job {
    pthread_t thread;
    struct engine *e;
    double budget_s;
    uint32_t ninputs;
    struct sc_stats st;
    bool solved;
    struct job_result *res;           /* JOB_MAX_RESULTS; more are counted, not kept */
    size_t nres, dropped;
    _Atomic bool done;
};

static void on_sidecar_death(void *ctx, const char *why)
{
    (void)why;
    struct engine *e = ctx;
    sym_pages_release_all(&e->pages); /* memory holds the concrete values: that is all */
}

/* The bytes for the next input called `name`, *len of them (NULL: none). A named preset
 * gives its file; the unnamed one (--seed/--replay FILE) fills the inputs without a name
 * of their own in the order they are made, each as far as its length, as explore and
 * fuzz write a program's several buffers into one file. */
static const uint8_t *preset_for(struct engine *e, const char *name, size_t want, size_t *len,
                                 bool take)
{
    const struct preset *unnamed = NULL;
    for (unsigned i = 0; i < e->npresets; i++) {
        const struct preset *p = &e->presets[i];
        if (p->name[0] && strcmp(p->name, name) == 0) {
            *len = p->len;
            return p->bytes;
        }
        if (!p->name[0])
            unnamed = p;
    }
    if (!unnamed || e->unnamed_used >= unnamed->len)
        return NULL;
    size_t off = e->unnamed_used;
    *len = unnamed->len - off;
    if (take)
        e->unnamed_used += want < *len ? want : *len;
    return unnamed->bytes + off;
}

/* ---- make_symbolic -------------------------------------------------------------------- */

struct extents {
    struct sc_extent e[SC_MAX_EXTENTS];
    uint32_t n;
};

static int add_extent(uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    struct extents *x = ctx;
    if (x->n == SC_MAX_EXTENTS)
        return -1;
    x->e[x->n++] = (struct sc_extent){ gpa, (uint32_t)n, (uint32_t)off };
    return 0;
}

int engine_make_symbolic(struct engine *e, struct vcpu *caller, const struct guest_as *as,
                         uint64_t gva, uint64_t len, const char *name)
{
    if (len == 0 || len > SYMHV_SYMBOLIC_MAX_BYTES || gva + len < gva)
        return -SYMHV_EINVAL;
    if (guest_for_each_chunk(as, gva, len, false, NULL, NULL) < 0)
        return -SYMHV_EFAULT;
    pthread_mutex_lock(&e->lock);
    if (e->ninputs == MAX_INPUTS) {
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EINVAL;
    }
    uint32_t id = e->ninputs;
    struct input_record *in = &e->inputs[id];
    size_t plen = 0;
    const uint8_t *preset = preset_for(e, name, len, &plen, true);
    if (preset && guest_write(as, gva, preset, plen < len ? plen : len) < 0) {
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EFAULT;
    }
    in->initial = malloc(len);
    if (!in->initial || guest_read(as, gva, in->initial, len) < 0) {
        free(in->initial);
        in->initial = NULL;
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EFAULT;
    }
    snprintf(in->name, sizeof in->name, "%s", name);
    in->len = (uint32_t)len;
    e->ninputs++;
    hv_info("input %u '%s': %llu bytes at 0x%llx%s", id, name, (unsigned long long)len,
            (unsigned long long)gva, e->cfg.replay ? " (replayed concretely)" : " are symbolic");
    if (e->cfg.replay) { /* the input stays concrete */
        pthread_mutex_unlock(&e->lock);
        return (int)id;
    }
    if (sidecar_start(e->sc) < 0 || !sidecar_alive(e->sc)) {
        pthread_mutex_unlock(&e->lock);
        hv_error("input '%s' stays concrete: %s", name, sidecar_death(e->sc));
        return (int)id;
    }
    unsigned index = caller ? caller->index : sidecar_control(e->sc);
    static __thread struct extents x; /* 4 KiB: not on a vCPU thread's stack */
    x.n = 0;
    const struct sc_paging pg = { as->paging.cr0, as->paging.cr3, as->paging.cr4,
                                  as->paging.efer, as->rights ? 3 : 0 };
    char why[SC_MESSAGE_MAX];
    int rc = guest_for_each_chunk(as, gva, len, false, add_extent, &x) < 0
                 ? -2 : sidecar_make_symbolic(e->sc, index, &pg, name, (uint32_t)len, x.e, x.n,
                                              why, sizeof why);
    pthread_mutex_unlock(&e->lock);
    if (rc == -2)
        hv_error("input '%s' stays concrete: its pages could not be listed", name);
    if (rc == 1)
        hv_error("sidecar refused input '%s': %s", name, why);
    if (rc >= 0)
        sym_pages_sync(&e->pages, index);
    return (int)id;
}

/* ---- hypercalls ----------------------------------------------------------------------- */

int64_t engine_make_symbolic_args(struct hc_call *c, uint64_t *buf, uint64_t *len,
                                  char name[SYMHV_INPUT_NAME_MAX + 1])
{
    *buf = c->arg[0];
    *len = c->arg[1];
    if (*len == 0 || *len > SYMHV_SYMBOLIC_MAX_BYTES || *buf + *len < *buf)
        return -SYMHV_EINVAL;
    if (hc_read_string(c, c->arg[2], name, SYMHV_INPUT_NAME_MAX + 1) < 0)
        return -SYMHV_EFAULT;
    if (name[0] == 0 || strlen(name) == SYMHV_INPUT_NAME_MAX)
        return -SYMHV_EINVAL; /* empty, or longer than the limit */
    return 0;
}

static int64_t hc_make_symbolic(struct hc_call *c, void *opaque)
{
    struct engine *e = opaque;
    char name[SYMHV_INPUT_NAME_MAX + 1];
    uint64_t buf, len;
    int64_t rc = engine_make_symbolic_args(c, &buf, &len, name);
    if (rc == 0 && (c->arg[3] & SYMHV_INPUT_CONCRETE))
        return 0; /* its bytes are the launch's already */
    return rc < 0 ? rc : engine_make_symbolic(e, c->v, &c->as, buf, len, name);
}

static int64_t hc_report_bug(struct hc_call *c, void *opaque)
{
    struct engine *e = opaque;
    char msg[HC_MESSAGE_MAX];
    if (hc_read_string(c, c->arg[0], msg, sizeof msg) < 0)
        return -SYMHV_EFAULT;
    pthread_mutex_lock(&e->lock);
    unsigned n = e->bugs++;
    if (n < MAX_BUG_FILES) {
        hv_error("vCPU %u: bug reported by the guest: %s", c->v->index, msg);
        char name[160], text[HC_MESSAGE_MAX + 64];
        int len = snprintf(text, sizeof text, "bug reported on vCPU %u: %s\n", c->v->index, msg);
        snprintf(name, sizeof name, "bug-%03u.txt", n);
        outputs_write(&e->out, name, text, (size_t)len);
        for (uint32_t i = 0; i < e->ninputs; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "bug-%03u-", n);
            outputs_name(name, sizeof name, prefix, e->inputs[i].name, ".bin");
            outputs_write(&e->out, name, e->inputs[i].initial, e->inputs[i].len);
        }
    } else if (n == MAX_BUG_FILES) {
        hv_error("more than %d bug reports: counting the rest without messages or files",
                 MAX_BUG_FILES);
    }
    pthread_mutex_unlock(&e->lock);
    return 0;
}

/* Concrete bytes of src into dst (the symbolic state of src is untouched; dst's bytes
 * become concrete). */
static int64_t hc_get_example(struct hc_call *c, void *opaque)
{
    (void)opaque;
    uint64_t dst = c->arg[0], src = c->arg[1], len = c->arg[2];
    if (len == 0 || len > SYMHV_SYMBOLIC_MAX_BYTES || dst + len < dst || src + len < src)
        return -SYMHV_EINVAL;
    if (guest_for_each_chunk(&c->as, src, len, false, NULL, NULL) < 0 ||
        guest_for_each_chunk(&c->as, dst, len, true, NULL, NULL) < 0)
        return -SYMHV_EFAULT;
    uint8_t *tmp = malloc(len);
    if (!tmp)
        return -SYMHV_EINVAL;
    int rc = guest_read(&c->as, src, tmp, len) < 0 || guest_write(&c->as, dst, tmp, len) < 0
                 ? -SYMHV_EFAULT : 0;
    free(tmp);
    return rc;
}

static int64_t hc_print_expr(struct hc_call *c, void *opaque)
{
    struct engine *e = opaque;
    char name[SYMHV_INPUT_NAME_MAX + 1];
    if (hc_read_string(c, c->arg[0], name, sizeof name) < 0)
        return -SYMHV_EFAULT;
    /* natively the value is concrete (a symbolic one is the interpreter's) */
    hv_info("vCPU %u: %s = 0x%llx (concrete)", c->v->index, name, (unsigned long long)c->arg[1]);
    pthread_mutex_lock(&e->lock);
    if (e->expressions.len < MAX_EXPRESSION_TEXT)
        text_printf(&e->expressions, "vCPU %u: %s = 0x%llx (concrete)\n", c->v->index, name,
                    (unsigned long long)c->arg[1]);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

/* symhv_fuzz_start outside `symhv fuzz`: one execution, with the replay (or seed) input
 * written to [buf, buf+max_len); returns its length (0 without one). */
static int64_t hc_fuzz_start(struct hc_call *c, void *opaque)
{
    struct engine *e = opaque;
    uint64_t buf = c->arg[0], max_len = c->arg[1];
    if (max_len == 0 || max_len > SYMHV_SYMBOLIC_MAX_BYTES || buf + max_len < buf)
        return -SYMHV_EINVAL;
    size_t plen = 0;
    pthread_mutex_lock(&e->lock);
    /* a symbolic run takes the bytes in engine_make_symbolic */
    const uint8_t *preset = preset_for(e, "input", max_len, &plen, e->cfg.replay);
    pthread_mutex_unlock(&e->lock);
    if (!preset)
        return 0;
    size_t n = plen < max_len ? plen : max_len;
    if (n && guest_write(&c->as, buf, preset, n) < 0)
        return -SYMHV_EFAULT;
    if (!e->cfg.replay && n) /* --seed: this execution is symbolic */
        engine_make_symbolic(e, c->v, &c->as, buf, n, "input");
    return (int64_t)n;
}

/* symhv_fuzz_end outside `symhv fuzz` (a replay): the run ends, non-zero is a crash. */
static int64_t hc_fuzz_end(struct hc_call *c, void *opaque)
{
    (void)opaque;
    unsigned status = (uint32_t)c->arg[0];
    char why[96];
    if (!status) {
        hv_info("vCPU %u: the fuzz target finished its execution", c->v->index);
        hc_end(c, &(struct guest_end){ .kind = GUEST_EXIT, .status = 0 });
        return 0;
    }
    snprintf(why, sizeof why, "the fuzz target ended its execution with status %u", status);
    hc_end(c, &(struct guest_end){ .kind = GUEST_CRASH, .why = why });
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

struct engine *engine_attach(struct vm *vm, struct hypercalls *hc, const struct engine_config *cfg)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->vm = vm;
    e->cfg = *cfg;
    pthread_mutex_init(&e->lock, NULL);
    outputs_init(&e->out, cfg->output_dir, cfg->output_numbered);
    for (unsigned i = 0; i < cfg->npresets && i < ENGINE_MAX_PRESETS; i++) {
        char err[256];
        struct preset *p = &e->presets[e->npresets];
        snprintf(p->name, sizeof p->name, "%s", cfg->presets[i].name ? cfg->presets[i].name : "");
        p->bytes = read_file(cfg->presets[i].path, SYMHV_SYMBOLIC_MAX_BYTES, &p->len, err, sizeof err);
        if (!p->bytes) {
            hv_error("%s input %s: %s", cfg->replay ? "replay" : "seed", cfg->presets[i].path, err);
            engine_detach(e);
            return NULL;
        }
        e->npresets++;
    }
    struct sidecar_config sc = {
        .socket_path = cfg->symex_socket,
        .solver_timeout_ms = cfg->solver_timeout_ms,
        .solver = cfg->solver,
        .stall_timeout_s = cfg->stall_timeout_s,
        .max_memory_bytes = cfg->symex_max_memory,
        .max_seconds = cfg->symex_max_seconds,
    };
    e->sc = sidecar_new(vm, &sc, on_sidecar_death, e);
    if (!e->sc || guest_clock_init(&e->clock, vm, cfg->clock_slow_down, cfg->pvh) < 0) {
        engine_detach(e);
        return NULL;
    }
    sym_pages_init(&e->pages, vm, e->sc, &e->clock);
    const char *rent = getenv("SYMHV_HANDOFF_RENT"); /* for benchmarks (symhv --help) */
    e->pages.handoff.rent = !cfg->no_renting && (!rent || strcmp(rent, "0") != 0);
    sym_pages_attach(&e->pages);
    hypercall_register(hc, SYMHV_HC_GET_EXAMPLE, hc_get_example, e);
    hypercall_register(hc, SYMHV_HC_PRINT_EXPR, hc_print_expr, e);
    if (!cfg->campaign) {
        hypercall_register(hc, SYMHV_HC_MAKE_SYMBOLIC, hc_make_symbolic, e);
        hypercall_register(hc, SYMHV_HC_REPORT_BUG, hc_report_bug, e);
        hypercall_register(hc, SYMHV_HC_FUZZ_START, hc_fuzz_start, e);
        hypercall_register(hc, SYMHV_HC_FUZZ_END, hc_fuzz_end, e);
    }
    return e;
}

static void forget_inputs(struct engine *e)
{
    for (uint32_t i = 0; i < e->ninputs; i++) {
        free(e->inputs[i].initial);
        e->inputs[i].initial = NULL;
    }
    e->ninputs = 0;
}

void engine_detach(struct engine *e)
{
    if (!e)
        return;
    if (e->vm->ram_trap_opaque == &e->pages)
        vm_set_ram_trap(e->vm, NULL, NULL);
    engine_solve_collect(e, NULL, NULL, NULL); /* a campaign ended while it solved */
    sidecar_free(e->sc);
    forget_inputs(e);
    for (unsigned i = 0; i < e->npresets; i++)
        free(e->presets[i].bytes);
    text_free(&e->expressions);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* ---- results -------------------------------------------------------------------------- */

/* FINISH on the control slot (flags: SC_FINISH_*; budget_s > 0: stop asking flips after
 * that long); the stats in *st. */
static bool solve(struct engine *e, struct sc_stats *st, uint32_t flags, double budget_s)
{
    if (!sidecar_alive(e->sc))
        return false;
    char why[SC_MESSAGE_MAX];
    int rc = sidecar_finish(e->sc, sidecar_control(e->sc), flags,
                            budget_s > 0 ? (uint64_t)(budget_s * 1000) + 1 : 0, st, why,
                            sizeof why);
    if (rc == 1)
        hv_error("sidecar: %s", why);
    return rc == 0;
}

static void write_summary(struct engine *e, const struct sc_stats *st, bool solved, double solving_s)
{
    struct text t = { 0 };
    text_printf(&t, "inputs: %u\n", e->ninputs);
    for (uint32_t i = 0; i < e->ninputs; i++)
        text_printf(&t, "input %u: %s, %u bytes\n", i, e->inputs[i].name, e->inputs[i].len);
    const char *death = sidecar_death(e->sc);
    text_printf(&t, "sidecar: %s\n", solved ? "ok" : death[0] ? death : "failed");
    text_printf(&t, "handoffs: %llu\n", (unsigned long long)atomic_load(&e->pages.handoff.handoffs));
    text_printf(&t, "handoffs resumed from a checkpoint: %llu\n",
                (unsigned long long)atomic_load(&e->pages.handoff.resumed_from_checkpoint));
    text_printf(&t, "parallel handoffs (peak): %llu\n", (unsigned long long)st->parallel_peak);
    text_printf(&t, "handoffs that ended after renting: %llu\n",
                (unsigned long long)atomic_load(&e->pages.handoff.rented));
    text_printf(&t, "page faults delivered for the interpreter: %llu\n",
                (unsigned long long)atomic_load(&e->pages.handoff.page_faults));
    const struct handoff_stats *h = &e->pages.handoff;
    double n = (double)(atomic_load(&h->handoffs) ? atomic_load(&h->handoffs) : 1) * 1000.0;
    text_printf(&t, "handoff us (mean): state in %.1f, pending access %.1f, sidecar call %.1f "
                "(served %.1f), state out %.1f\n", atomic_load(&h->ns_state_in) / n,
                atomic_load(&h->ns_complete) / n, atomic_load(&h->ns_call) / n,
                atomic_load(&h->ns_served) / n, atomic_load(&h->ns_state_out) / n);
    text_printf(&t, "interpreted instructions: %llu\ninterpreter seconds: %.3f\n",
                (unsigned long long)st->instructions, st->interpreter_seconds);
    text_printf(&t, "stops for native execution: %llu\n", (unsigned long long)st->stops_native);
    text_printf(&t, "guest clock cycles hidden: %llu\n",
                (unsigned long long)atomic_load(&e->clock.hidden_cycles));
    text_printf(&t, "assumptions: %llu\nexpressions printed: %llu\n",
                (unsigned long long)st->assumptions, (unsigned long long)st->expressions_printed);
    text_printf(&t, "values concretised (expression too deep): %llu\n",
                (unsigned long long)st->concretised_deep);
    text_printf(&t, "values stored concrete on a ring-0 stack: %llu\n",
                (unsigned long long)st->concretised_stack);
    text_printf(&t, "registers let go concrete at native stops (no constraint): %llu\n",
                (unsigned long long)st->released_regs);
    text_printf(&t, "path constraints: %llu\nsymbolic branches: %llu\n",
                (unsigned long long)st->constraints, (unsigned long long)st->branches);
    text_printf(&t, "hot branch occurrences pruned (past 64 on the path, only powers of "
                "two count): %llu\n", (unsigned long long)st->branches_pruned);
    text_printf(&t, "flipped: %llu sat, %llu unsat, %llu unknown\n",
                (unsigned long long)st->flipped_sat, (unsigned long long)st->flipped_unsat,
                (unsigned long long)st->flipped_unknown);
    text_printf(&t, "unsat flips solved optimistically (the branch alone): %llu\n",
                (unsigned long long)st->flipped_optimistic);
    text_printf(&t, "constraints sliced out of flip queries: %llu\n",
                (unsigned long long)st->sliced_away);
    text_printf(&t, "flips too large for the solver: %llu\n",
                (unsigned long long)st->flipped_too_large);
    text_printf(&t, "flips cut short by the first pass, asked again after it: %llu\n",
                (unsigned long long)st->flips_deferred);
    text_printf(&t, "solver seconds: %.3f\nsolving seconds (wall): %.3f\n", st->solver_seconds,
                solving_s);
    text_printf(&t, "solver backend: %s\n", engine_solver_name(e));
    text_printf(&t, "pages pinned concrete: %llu\nbytes pinned concrete: %llu\n",
                (unsigned long long)atomic_load(&e->pages.stats.pinned_pages),
                (unsigned long long)st->pinned_bytes);
    text_printf(&t, "pages pinned concrete at the memslot cap: %llu\n",
                (unsigned long long)atomic_load(&e->pages.stats.pinned_at_slot_cap));
    text_printf(&t, "sidecar peak memory MiB: %.1f\n", (double)st->peak_memory_bytes / (1 << 20));
    text_printf(&t, "bugs: %u\n", e->bugs);
    if (!t.failed)
        outputs_write(&e->out, "summary.txt", t.buf, t.len);
    text_free(&t);
}

/* One input of one result, as a file of the run: <kind>-<branch>[-<variant>]-<input>.bin */
static bool write_result(void *ctx, const struct sc_result *res, uint32_t input, uint32_t n,
                         const uint8_t *bytes)
{
    (void)n;
    struct engine *e = ctx;
    static const char *const kinds[] = { "branch",      "select",  "divzero",
                                         "divoverflow", "address", "target" };
    char prefix[48], name[160];
    const char *kind = res->kind < sizeof kinds / sizeof kinds[0] ? kinds[res->kind] : "flip";
    if (res->variant) /* another value of the same pinned address or target */
        snprintf(prefix, sizeof prefix, "%s-%03u-%u-", kind, res->branch, res->variant);
    else
        snprintf(prefix, sizeof prefix, "%s-%03u-", kind, res->branch);
    outputs_name(name, sizeof name, prefix, e->inputs[input].name, ".bin");
    outputs_write(&e->out, name, bytes, res->input_len);
    return true;
}

int engine_finish(struct engine *e)
{
    if (!e)
        return 0;
    if (e->ninputs == 0 || e->cfg.replay) {
        if (e->expressions.len)
            outputs_write(&e->out, "expressions.txt", e->expressions.buf, e->expressions.len);
        return outputs_failed(&e->out) ? -1 : 0;
    }
    struct sc_stats st = { 0 };
    hv_info("solving for the other side of the symbolic branches ...");
    double t0 = now_s();
    bool solved = solve(e, &st, 0, 0);
    double solving_s = now_s() - t0;
    uint64_t gave_up = st.flipped_unknown - st.flipped_too_large - st.unsolved_past_limit;
    if (st.flipped_unknown >= st.flipped_too_large + st.unsolved_past_limit && gave_up)
        hv_error("solver gave up (timeout %u ms) on %llu of %llu branch flips",
                 e->cfg.solver_timeout_ms, (unsigned long long)gave_up,
                 (unsigned long long)st.branches);
    if (st.unsolved_past_limit)
        hv_error("%llu branch flips not solved: the sidecar reached a limit (see above)",
                 (unsigned long long)st.unsolved_past_limit);
    if (st.flipped_too_large)
        hv_error("%llu of %llu branch flips were too large a query for the solver (skipped)",
                 (unsigned long long)st.flipped_too_large, (unsigned long long)st.branches);
    if (solved)
        sidecar_results(e->sc, sidecar_control(e->sc), st.results, e->ninputs, write_result, e);
    struct text constraints = { 0 }, exprs = { 0 };
    if (solved && sidecar_text(e->sc, sidecar_control(e->sc), SC_TEXT_CONSTRAINTS, &constraints) == 0 &&
        !constraints.failed)
        outputs_write(&e->out, "constraints.txt", constraints.buf ? constraints.buf : "",
                      constraints.len);
    text_append(&exprs, e->expressions.buf ? e->expressions.buf : "", e->expressions.len);
    if (sidecar_alive(e->sc))
        sidecar_text(e->sc, sidecar_control(e->sc), SC_TEXT_EXPRESSIONS, &exprs);
    if (exprs.len && !exprs.failed)
        outputs_write(&e->out, "expressions.txt", exprs.buf, exprs.len);
    text_free(&constraints);
    text_free(&exprs);
    write_summary(e, &st, solved, solving_s);
    hv_info("symbolic run: %llu handoffs, %llu instructions interpreted, %llu symbolic "
            "branches, %llu new inputs in %s",
            (unsigned long long)atomic_load(&e->pages.handoff.handoffs),
            (unsigned long long)st.instructions, (unsigned long long)st.branches,
            (unsigned long long)st.flipped_sat, e->out.dir);
    if (e->out.numbered && e->out.created) /* no -o: say which symhv-out-N it was */
        hv_notice("results in %s (symhv-last points there)", e->out.dir);
    return outputs_failed(&e->out) ? -1 : 0;
}

int engine_write_output(struct engine *e, const char *name, const void *data, size_t len)
{
    return outputs_write(&e->out, name, data, len);
}

const char *engine_output_dir(struct engine *e)
{
    return e ? outputs_dir(&e->out) : "";
}

const char *engine_solver_name(const struct engine *e)
{
    const char *env_solver = getenv("SYMHV_SYMEX_SOLVER"); /* the sidecar reads it too */
    return !e                          ? ""
           : e->cfg.symex_socket       ? "attached-sidecar" /* it chose its own */
           : env_solver && *env_solver ? env_solver
           : e->cfg.solver             ? e->cfg.solver
                                       : SC_DEFAULT_SOLVER;
}

/* A concolic run's results as the campaign takes them: one input file per result, every
 * input's bytes in the order they were made symbolic (a program's several buffers, as
 * the fuzzer wrote them). */
struct collect {
    void (*add)(void *ctx, const uint8_t *data, size_t len, const struct engine_result *why);
    void *ctx;
    uint8_t *all;              /* several inputs: their bytes one after the other */
    size_t len;
    struct sc_result first;
    int found;
};

static bool collect_result(void *ctx, const struct sc_result *res, uint32_t input, uint32_t n,
                           const uint8_t *bytes)
{
    struct collect *c = ctx;
    if (input == 0) {
        c->first = *res;
        c->len = 0;
    }
    if (c->all) {
        size_t k = res->input_len < SYMHV_SYMBOLIC_MAX_BYTES - c->len
                       ? res->input_len : SYMHV_SYMBOLIC_MAX_BYTES - c->len;
        memcpy(c->all + c->len, bytes, k);
        c->len += k;
    }
    if (input + 1 < n)
        return true;
    const struct sc_result *f = &c->first;
    struct engine_result why = { f->pc, f->branch, f->taken, f->kind };
    c->add(c->ctx, c->all ? c->all : bytes, c->all ? c->len : f->input_len, &why);
    c->found++;
    return true;
}

/* A concolic run's solving into the search's figures. */
static void count_solving(struct engine_search *search, const struct sc_stats *st)
{
    search->new_branch_edges = st->new_branch_edges;
    search->flips_pruned += st->flips_pruned;
    search->flips_unasked += st->unsolved_past_limit;
    search->branches_pruned += st->branches_pruned;
    search->queries += st->flipped_sat + st->flipped_unsat + st->flipped_unknown;
    search->solver_seconds += st->solver_seconds;
    search->cache_hits += st->solver_cache_hits;
}

/* The job's collect callback: a copy of each generated input, for the main thread. */
static void job_store(void *ctx, const uint8_t *data, size_t len, const struct engine_result *why)
{
    struct solve_job *j = ctx;
    uint8_t *copy = j->nres < JOB_MAX_RESULTS ? malloc(len ? len : 1) : NULL;
    if (!copy) {
        j->dropped++;
        return;
    }
    memcpy(copy, data, len);
    j->res[j->nres++] = (struct job_result){ copy, len, *why };
}

static void *solve_thread(void *arg)
{
    struct solve_job *j = arg;
    struct engine *e = j->e;
    if (solve(e, &j->st, SC_FINISH_PRUNE, j->budget_s)) {
        j->solved = true;
        struct collect c = { .add = job_store, .ctx = j,
                             .all = j->ninputs > 1 ? malloc(SYMHV_SYMBOLIC_MAX_BYTES) : NULL };
        if (c.all || j->ninputs == 1)
            sidecar_results(e->sc, sidecar_control(e->sc), j->st.results, j->ninputs,
                            collect_result, &c);
        free(c.all);
    }
    atomic_store(&j->done, true);
    return NULL;
}

int engine_solve_begin(struct engine *e, double budget_s)
{
    struct solve_job *j = e->ninputs ? calloc(1, sizeof *j) : NULL;
    if (j)
        j->res = calloc(JOB_MAX_RESULTS, sizeof *j->res);
    if (j && j->res) {
        j->e = e;
        j->budget_s = budget_s;
        j->ninputs = e->ninputs;
        if (pthread_create(&j->thread, NULL, solve_thread, j) == 0) {
            e->job = j;
            /* the sidecar keeps what it solves with: native executions may go on, and
             * nothing of theirs may ask the sidecar (the thread has its control slot) */
            atomic_store(&e->pages.detached, true);
            pthread_mutex_lock(&e->lock);
            forget_inputs(e);
            pthread_mutex_unlock(&e->lock);
            sym_pages_release_all(&e->pages);
            return 0;
        }
        hv_error("fuzz: cannot start a solving thread: solving in the foreground");
    }
    if (j)
        free(j->res);
    free(j);
    return -1;
}

bool engine_solve_done(struct engine *e)
{
    return !e->job || atomic_load(&e->job->done);
}

int engine_solve_collect(struct engine *e,
                         void (*add)(void *ctx, const uint8_t *data, size_t len,
                                     const struct engine_result *why),
                         void *ctx, struct engine_search *search)
{
    struct solve_job *j = e->job;
    if (!j)
        return 0;
    /* dropped anyway (the campaign ended): let the solving stop now, not at its budget;
     * asked again and again, since each request of the thread clears the flag */
    while (!add && !atomic_load(&j->done)) {
        sidecar_cancel(e->sc, sidecar_control(e->sc));
        struct timespec pause = { 0, 20 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    pthread_join(j->thread, NULL);
    e->job = NULL;
    if (j->solved && search) {
        count_solving(search, &j->st);
    }
    for (size_t i = 0; i < j->nres; i++) {
        if (add)
            add(ctx, j->res[i].data, j->res[i].len, &j->res[i].why);
        free(j->res[i].data);
    }
    if (j->dropped)
        hv_error("fuzz: a concolic run gave more than %d inputs: %zu more were not kept",
                 JOB_MAX_RESULTS, j->dropped);
    int found = (int)j->nres;
    free(j->res);
    free(j);
    if (sidecar_alive(e->sc) && sidecar_reset(e->sc, sidecar_control(e->sc)) == 1)
        hv_error("sidecar: reset failed");
    atomic_store(&e->pages.detached, false);
    return found;
}

int engine_concolic_collect(struct engine *e,
                            void (*add)(void *ctx, const uint8_t *data, size_t len,
                                        const struct engine_result *why),
                            void *ctx, struct engine_search *search)
{
    int found = 0;
    struct sc_stats st = { 0 };
    if (e->ninputs && solve(e, &st, SC_FINISH_PRUNE, search ? search->budget_s : 0)) {
        if (search) {
            count_solving(search, &st);
        }
        struct collect c = { .add = add, .ctx = ctx,
                             .all = e->ninputs > 1 ? malloc(SYMHV_SYMBOLIC_MAX_BYTES) : NULL };
        if (c.all || e->ninputs == 1)
            sidecar_results(e->sc, sidecar_control(e->sc), st.results, e->ninputs,
                            collect_result, &c);
        free(c.all);
        found = c.found;
    }
    if (sidecar_alive(e->sc) && sidecar_reset(e->sc, sidecar_control(e->sc)) == 1)
        hv_error("sidecar: reset failed");
    pthread_mutex_lock(&e->lock);
    forget_inputs(e);
    pthread_mutex_unlock(&e->lock);
    sym_pages_release_all(&e->pages);
    return found;
}

void engine_report(struct engine *e)
{
    struct sym_stats *s = &e->pages.stats;
    if (!atomic_load(&s->pages_marked))
        return;
    hv_info("symbolic memory: %llu pages marked, %llu released, %llu reads emulated, "
            "%llu writes concretised, %llu symbolic reads, %llu slot changes",
            (unsigned long long)atomic_load(&s->pages_marked),
            (unsigned long long)atomic_load(&s->pages_released),
            (unsigned long long)atomic_load(&s->reads_emulated),
            (unsigned long long)atomic_load(&s->writes_concretised),
            (unsigned long long)atomic_load(&s->symbolic_reads),
            (unsigned long long)memory_slot_changes(&e->vm->mem));
}
