#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "branch_map.h"
#include "guest_mem.h"
#include "interp.h"
#include "solver.h"
#include "util.h"

#define HANDOFF_STEP_LIMIT 50000000ull /* then concretise: a runaway symbolic loop */
#define MAX_FLIPS 1000
#define LIMIT_CHECK_STEPS 65536         /* how often a handoff looks at the limits */
#define CHECKPOINT_EVERY 1024           /* steps redone natively at most, after a crash */
#define MAX_EXPRESSION_TEXT (16u << 20) /* printed expressions kept (bytes) */

/* A generated input: the seed with these bytes changed. */
struct change {
    uint32_t input, offset;
    uint8_t value;
};

struct result {
    struct sc_result meta;
    struct change *changes;
    size_t nchanges;
};

struct session {
    struct session_config cfg;
    struct sx_ctx *ctx;
    struct sx_shadow *shadow;       /* keyed by guest-physical address */
    struct sx_path path;
    uint64_t *written;              /* the shared written-page bitmap */

    pthread_mutex_t lock;           /* guards everything below */
    uint8_t *seed[SX_MAX_INPUTS];   /* concrete bytes of each input at declaration */
    uint32_t seed_len[SX_MAX_INPUTS];
    struct sc_stats stats;
    struct text expressions;        /* lines printed on symbolic values */
    struct text constraints;        /* rendered at FINISH */
    struct result *results;
    size_t nresults;
    double spent_before;            /* interpreter + solver seconds of earlier rounds
                                       (fuzzing resets): the time limit counts them */
    bool exhausted;                 /* a limit was reached: symbolic execution is over */
    double next_limit_check;        /* now_s() after which a handoff's end checks limits */
    char exhausted_why[SC_MESSAGE_MAX];
    struct sx_branch_map *seen;     /* branch sides across executions (SC_FINISH_PRUNE):
                                       survives RESET, used by FINISH only */
    /* decoded instructions, one cache per slot (one thread serves a slot), kept from
     * one handoff to the next; allocated at a slot's first handoff */
    struct sx_decode_cache *dcache[SYMHV_MAX_VCPUS + 1];
    struct sx_query_dump *dump;     /* the query corpus, when cfg.query_dir; its dir is
                                       one per context (RESET makes a new one) */
    unsigned rounds;                /* RESETs so far */
    bool dump_said;                 /* the corpus's cap or failure was said */
    unsigned long serial;           /* this session's number in the process */
    uint64_t active_handoffs;       /* atomic */
    uint64_t total_instructions;    /* atomic: for crash_after */
};

static void reply_message(struct sc_slot *slot, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reply_message(struct sc_slot *slot, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot->message, sizeof slot->message, fmt, ap);
    va_end(ap);
}

static void beat(struct sc_slot *slot)
{
    __atomic_store_n(&slot->heartbeat, slot->heartbeat + 1, __ATOMIC_RELEASE);
}

static void beat_slot(void *slot) { beat(slot); }

static void clear_results(struct session *s)
{
    for (size_t i = 0; i < s->nresults; i++)
        free(s->results[i].changes);
    free(s->results);
    s->results = NULL;
    s->nresults = 0;
    text_free(&s->constraints);
}

/* An empty path, with the comparisons the benchmarks ask for. */
static void new_path(struct session *s)
{
    sx_path_init(&s->path);
    s->path.no_slicing = s->cfg.no_slicing;
    s->path.no_pruning = s->cfg.no_pruning;
    s->path.no_context = s->cfg.no_context;
    s->path.select_chain = s->cfg.select_chain;
}

struct session *session_create(const struct session_config *cfg)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    pthread_mutex_init(&s->lock, NULL);
    s->ctx = sx_ctx_new();
    s->shadow = sx_shadow_new();
    s->seen = calloc(1, sizeof *s->seen);
    if (!s->ctx || !s->shadow || !s->seen) {
        session_free(s);
        return NULL;
    }
    new_path(s);
    sx_shadow_set_mirror(s->shadow,
                         (uint64_t *)((uint8_t *)cfg->shared + cfg->shared->bitmap_offset),
                         cfg->ram_bytes);
    s->written = (uint64_t *)((uint8_t *)cfg->shared + cfg->shared->written_offset);
    static _Atomic unsigned long sessions; /* numbers the corpus directories; atomic */
    s->serial = ++sessions;
    if (cfg->query_dir) {
        s->dump = calloc(1, sizeof *s->dump);
        if (!s->dump) {
            session_free(s);
            return NULL;
        }
        s->dump->max_queries = cfg->query_max;
        s->dump->max_bytes = 4ull << 30;
    }
    return s;
}

void session_free(struct session *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < SX_MAX_INPUTS; i++)
        free(s->seed[i]);
    if (s->ctx)
        sx_path_release(&s->path);
    clear_results(s);
    text_free(&s->expressions);
    sx_shadow_free(s->shadow);
    sx_ctx_free(s->ctx);
    free(s->seen);
    free(s->dump);
    for (unsigned i = 0; i <= SYMHV_MAX_VCPUS; i++)
        sx_decode_cache_free(s->dcache[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void reply_pages(struct sc_slot *slot, const struct guest_view *g)
{
    slot->npages = (uint32_t)g->ntouched;
    if (g->ntouched)
        memcpy(slot->pages, g->touched, g->ntouched * sizeof *g->touched);
    slot->pages_overflow = g->touched_overflow;
}

static void view_init(struct session *s, struct guest_view *g, const struct sc_cpu *cpu)
{
    guest_view_init(g, s->cfg.ram, s->cfg.ram_bytes, s->written, &s->cfg.shared->rmw_lock, cpu);
}

/* ---- limits --------------------------------------------------------------------------- */

/* The sidecar's own resident memory: resident minus shared (file and shmem) pages, so the
 * guest RAM and slot memfds it maps do not count, however much of them it touched. */
static uint64_t own_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0, shared = 0;
    if (f) {
        if (fscanf(f, "%llu %llu %llu", &size, &resident, &shared) != 3)
            resident = shared = 0;
        fclose(f);
    }
    return (resident > shared ? resident - shared : 0) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Every byte concrete; later requests are told. Caller holds s->lock. */
static void exhaust_locked(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exhaust_locked(struct session *s, const char *fmt, ...)
{
    if (s->exhausted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->exhausted_why, sizeof s->exhausted_why, fmt, ap);
    va_end(ap);
    s->exhausted = true;
    fprintf(stderr, "symhv-symex: %s\n", s->exhausted_why);
}

/* Past a limit? (then exhausted). The guest RAM mapping is not ours to count. */
static bool over_limits(struct session *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->exhausted && s->cfg.max_memory_bytes) {
        uint64_t own = own_resident_bytes();
        if (own > s->stats.peak_memory_bytes)
            s->stats.peak_memory_bytes = own;
        if (own > s->cfg.max_memory_bytes)
            exhaust_locked(s, "symbolic execution stopped: the sidecar reached its memory limit "
                           "(%llu MiB, symhv --symex-max-memory)",
                           (unsigned long long)(s->cfg.max_memory_bytes >> 20));
    }
    if (!s->exhausted && s->cfg.max_seconds > 0 &&
        s->spent_before + s->stats.interpreter_seconds + s->stats.solver_seconds > s->cfg.max_seconds)
        exhaust_locked(s, "symbolic execution stopped: the sidecar reached its time limit "
                       "(%.0f s, symhv --symex-max-time)", s->cfg.max_seconds);
    bool ex = s->exhausted;
    pthread_mutex_unlock(&s->lock);
    return ex;
}

static bool is_exhausted(struct session *s, struct sc_slot *slot)
{
    pthread_mutex_lock(&s->lock);
    bool ex = s->exhausted;
    if (ex) {
        slot->exhausted = 1;
        reply_message(slot, "%s", s->exhausted_why);
    }
    pthread_mutex_unlock(&s->lock);
    return ex;
}

/* Everything concrete (the VMM re-reads every page: overflow). */
static void drop_shadow(struct session *s, struct sc_slot *slot)
{
    sx_shadow_clear(s->shadow);
    slot->pages_overflow = 1;
}

/* ---- requests ------------------------------------------------------------------------ */

static void make_symbolic(struct session *s, struct sc_slot *slot)
{
    if (is_exhausted(s, slot)) {
        slot->status = SC_FAILED;
        return;
    }
    if (slot->nextents > SC_MAX_EXTENTS || slot->input_len == 0 ||
        slot->input_len > SYMHV_SYMBOLIC_MAX_BYTES) {
        slot->status = SC_FAILED;
        reply_message(slot, "bad MAKE_SYMBOLIC request");
        return;
    }
    slot->name[sizeof slot->name - 1] = 0;
    /* Check every extent before changing anything. */
    for (uint32_t i = 0; i < slot->nextents; i++) {
        const struct sc_extent *x = &slot->extents[i];
        if (x->gpa > s->cfg.ram_bytes || x->len > s->cfg.ram_bytes - x->gpa ||
            (uint64_t)x->offset + x->len > slot->input_len) {
            slot->status = SC_FAILED;
            reply_message(slot, "extent %u leaves guest RAM or the input", i);
            return;
        }
    }
    uint8_t *seed = calloc(1, slot->input_len);
    if (!seed)
        abort();
    uint32_t id = sx_input_declare(s->ctx, slot->name, slot->input_len);
    if (id == UINT32_MAX) {
        free(seed);
        slot->status = SC_FAILED;
        reply_message(slot, "more than %d symbolic inputs", SX_MAX_INPUTS);
        return;
    }
    struct guest_view g;
    view_init(s, &g, &slot->cpu);
    for (uint32_t i = 0; i < slot->nextents; i++) {
        const struct sc_extent *x = &slot->extents[i];
        memcpy(seed + x->offset, s->cfg.ram + x->gpa, x->len);
        for (uint32_t b = 0; b < x->len; b++)
            sx_shadow_set(s->shadow, x->gpa + b, sx_input_byte(s->ctx, id, x->offset + b));
        for (uint64_t p = x->gpa & ~4095ull; p < x->gpa + x->len; p += 4096)
            guest_view_touch(&g, p);
    }
    pthread_mutex_lock(&s->lock);
    s->seed[id] = seed;
    s->seed_len[id] = slot->input_len;
    pthread_mutex_unlock(&s->lock);
    reply_pages(slot, &g);
    guest_view_release(&g);
    slot->input_id = (int32_t)id;
    slot->status = SC_OK;
}

static bool range_ok(struct session *s, struct sc_slot *slot)
{
    if (slot->gpa > s->cfg.ram_bytes || slot->len > s->cfg.ram_bytes - slot->gpa ||
        slot->len > SYMHV_SYMBOLIC_MAX_BYTES) {
        slot->status = SC_FAILED;
        reply_message(slot, "bad range 0x%llx+%llu", (unsigned long long)slot->gpa,
                      (unsigned long long)slot->len);
        return false;
    }
    return true;
}

/* CONCRETISE (concrete bytes were written: no constraint) and PIN (the bytes' current
 * values become constraints). */
static void concretise(struct session *s, struct sc_slot *slot, bool pin)
{
    if (!range_ok(s, slot))
        return;
    struct guest_view g;
    view_init(s, &g, &slot->cpu);
    uint64_t pinned = 0;
    for (uint64_t i = 0; i < slot->len; i++) {
        uint64_t a = slot->gpa + i;
        const struct sx_expr *e = sx_shadow_get(s->shadow, a);
        if (!e)
            continue;
        if (pin) {
            sx_path_assume(&s->path, sx_binop(s->ctx, SX_EQ, e, sx_const(s->ctx, 8, s->cfg.ram[a])));
            pinned++;
        }
        sx_shadow_set(s->shadow, a, NULL);
    }
    for (uint64_t p = slot->gpa & ~4095ull; p < slot->gpa + slot->len; p += 4096)
        guest_view_touch(&g, p);
    reply_pages(slot, &g);
    guest_view_release(&g);
    if (pinned) {
        pthread_mutex_lock(&s->lock);
        s->stats.pinned_bytes += pinned;
        pthread_mutex_unlock(&s->lock);
    }
    slot->status = SC_OK;
}

/* ---- handoff ------------------------------------------------------------------------- */

static void load_state(struct sx_state *st, const struct sc_cpu *cpu)
{
    for (int i = 0; i < 16; i++) {
        st->gpr[i] = sx_v(64, cpu->gpr[i]);
        sx_u128 x;
        memcpy(&x, cpu->xmm[i], 16);
        st->xmm[i] = sx_v(128, x);
    }
    sx_state_set_rflags(st, cpu->rflags);
    st->rip = cpu->rip;
    st->fs_base = cpu->fs_base;
    st->gs_base = cpu->gs_base;
}

/* The concrete side of the state (what the CPU continues from). */
static void store_state(struct sx_state *st, struct sc_cpu *cpu)
{
    for (int i = 0; i < 16; i++) {
        cpu->gpr[i] = (uint64_t)st->gpr[i].c;
        sx_u128 x = st->xmm[i].c;
        memcpy(cpu->xmm[i], &x, 16);
    }
    cpu->rip = st->rip;
    cpu->rflags = sx_state_rflags(st);
}

static void checkpoint(struct sc_slot *slot, struct sx_state *st)
{
    uint64_t seq = slot->checkpoint_seq;
    __atomic_store_n(&slot->checkpoint_seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    store_state(st, &slot->checkpoint);
    __atomic_store_n(&slot->checkpoint_seq, seq + 2, __ATOMIC_RELEASE);
    __atomic_store_n(&slot->heartbeat, slot->heartbeat + 1, __ATOMIC_RELEASE);
}

static void expression_line(struct session *s, const char *line)
{
    fprintf(stderr, "symhv-symex: %s\n", line);
    pthread_mutex_lock(&s->lock);
    if (s->expressions.len < MAX_EXPRESSION_TEXT)
        text_printf(&s->expressions, "%s\n", line);
    pthread_mutex_unlock(&s->lock);
}

/* The agent instruction (`in eax, dx` from the hypercall port) met while interpreting:
 * print_expr and assume need the symbolic argument, so they are served here (the
 * interpreter's port hook; other agent calls go back to the CPU and the VMM). */
struct agent_ctx {
    struct session *s;
    struct sc_slot *slot;
};

static bool agent_call(void *opaque, struct sx_state *st, uint16_t port, unsigned size)
{
    struct agent_ctx *a = opaque;
    struct session *s = a->s;
    if ((port != SYMHV_HYPERCALL_PORT && port != SX_PORT_MMIO) || size != 4 ||
        st->gpr[SX_RDI].e)
        return false;
    uint64_t nr = (uint64_t)st->gpr[SX_RDI].c & ~(uint64_t)SYMHV_HC_FROM_USER;
    uint64_t pc = st->insn_pc;
    char line[8192];
    if (nr == SYMHV_HC_ASSUME) {
        struct sx_val cond = st->gpr[SX_RSI];
        bool holds = ((uint32_t)cond.c) != 0;
        if (cond.e) {
            const struct sx_expr *c32 = sx_extract(s->ctx, cond.e, 0, 32);
            sx_path_require(&s->path, sx_lnot(s->ctx, sx_binop(s->ctx, SX_EQ, c32,
                                                             sx_const(s->ctx, 32, 0))));
        }
        pthread_mutex_lock(&s->lock);
        s->stats.assumptions++;
        pthread_mutex_unlock(&s->lock);
        if (!holds) {
            snprintf(line, sizeof line, "vCPU %u: symhv_assume at rip 0x%llx is false on the "
                     "current input (new inputs will satisfy it)", a->slot->vcpu,
                     (unsigned long long)pc);
            expression_line(s, line);
        }
    } else if (nr == SYMHV_HC_PRINT_EXPR) {
        char name[SYMHV_INPUT_NAME_MAX + 1] = "?";
        if (!st->gpr[SX_RSI].e) {
            for (size_t i = 0; i + 1 < sizeof name; i++) {
                if (st->mem->read(st->mem_opaque, (uint64_t)st->gpr[SX_RSI].c + i, &name[i], 1) < 0)
                    name[i] = 0;
                if (!name[i])
                    break;
                name[i + 1] = 0;
            }
        }
        struct sx_val v = st->gpr[SX_RCX];
        int n = snprintf(line, sizeof line, "vCPU %u: %s = ", a->slot->vcpu, name);
        if (v.e) {
            size_t need = sx_expr_print(v.e, s->ctx, line + n, sizeof line - (size_t)n);
            if (need >= sizeof line - (size_t)n)
                snprintf(line + sizeof line - 32, 32, " ... (%zu bytes)", need);
        } else {
            snprintf(line + n, sizeof line - (size_t)n, "0x%llx", (unsigned long long)v.c);
        }
        size_t len = strlen(line);
        if (v.e) /* a concrete value reads as when the VMM prints it natively */
            snprintf(line + len, sizeof line - len, " (concrete 0x%llx)", (unsigned long long)v.c);
        else
            snprintf(line + len, sizeof line - len, " (concrete)");
        expression_line(s, line);
        pthread_mutex_lock(&s->lock);
        s->stats.expressions_printed++;
        pthread_mutex_unlock(&s->lock);
    } else {
        return false;
    }
    st->gpr[SX_RAX] = sx_v(64, 0);
    return true;
}

/* While renting, the clock is read every this many steps (a read costs a fraction of a
 * step). */
#define RENT_CLOCK_STEPS 16

static void handoff(struct session *s, struct sc_slot *slot)
{
    double t0 = now_s();
    uint64_t active = __atomic_add_fetch(&s->active_handoffs, 1, __ATOMIC_SEQ_CST);
    struct guest_view g;
    view_init(s, &g, &slot->cpu);
    struct sx_state st;
    sx_state_init(&st, s->ctx, &guest_mem_ops, &g, s->shadow, &s->path);
    if (slot->vcpu <= SYMHV_MAX_VCPUS) {
        if (!s->dcache[slot->vcpu])
            s->dcache[slot->vcpu] = sx_decode_cache_new(); /* NULL: decode each step */
        st.dcache = s->dcache[slot->vcpu];
    }
    load_state(&st, &slot->cpu);
    st.ring0 = slot->cpu.cpl == 0;
    struct agent_ctx agent = { s, slot };
    st.port_in = agent_call;
    st.port_opaque = &agent;
    st.agent_mmio_addr = SYMHV_HC_MMIO_ADDR;

    slot->stop = SC_STOP_CONCRETE;
    slot->rented_returns = 0;
    uint64_t effects = st.side_effects;
    bool renting = false;
    uint64_t rent_since = 0;
    double rent_t0 = 0, rent_s = (double)slot->rent_ns * 1e-9;
    for (uint64_t steps = 1;; steps++) {
        enum sx_status r = sx_step(&st);
        uint64_t pa;
        if (r == SX_FAULT && st.fault_vector == 14 &&
            x86_translate(&g.paging, g.ram, g.ram_bytes, st.fault_addr,
                          (st.fault_write ? X86_WRITE : X86_READ) | (g.user ? X86_USER : 0),
                          &pa) == -1) {
            /* A page the guest has yet to map (a fresh destination of a copy): its own
             * handler must map it. Natively the instruction would trap on its symbolic
             * operand first, come back here and fault again, for ever. (An address
             * outside RAM, the hypercall page say, is no fault: the CPU runs it.) */
            bool present = guest_view_translate(&g, st.fault_addr, false, &pa) == 0;
            slot->stop = SC_STOP_PAGE_FAULT;
            slot->fault_addr = st.fault_addr;
            slot->fault_error = (present ? 1u : 0u) | (st.fault_write ? 2u : 0u) |
                                (slot->cpu.cpl == 3 ? 4u : 0u);
            snprintf(slot->message, sizeof slot->message, "%s", st.last_mnemonic);
            sx_state_release(&st);
            break;
        }
        if (r != SX_OK) {
            /* Not modelled, or another fault: the CPU runs it (operands were
             * concretised) and takes the fault itself. */
            slot->stop = SC_STOP_NATIVE;
            snprintf(slot->message, sizeof slot->message, "%s", st.last_mnemonic);
            sx_state_release(&st); /* its own inputs are pinned already */
            break;
        }
        /* The checkpoint the VMM resumes from if we die: needed after a step that
         * cannot be redone (a memory write, an agent call); steps that only read and
         * compute are redone natively from it, a legal execution of the same code, at
         * most CHECKPOINT_EVERY of them. The heartbeat goes on every step. */
        if (st.side_effects != effects || steps % CHECKPOINT_EVERY == 0) {
            effects = st.side_effects;
            checkpoint(slot, &st);
        } else {
            __atomic_store_n(&slot->heartbeat, slot->heartbeat + 1, __ATOMIC_RELEASE);
        }
        if (s->cfg.crash_after &&
            __atomic_add_fetch(&s->total_instructions, 1, __ATOMIC_RELAXED) == s->cfg.crash_after) {
            fprintf(stderr, "symhv-symex: crashing on purpose (SYMHV_SYMEX_CRASH_AFTER)\n");
            abort();
        }
        if (!sx_state_has_symbolic_regs(&st)) {
            uint64_t pa;
            /* not done while the next instruction's bytes are symbolic; then rent: go on
             * for as long as giving the vCPU back and taking it again would cost, as a
             * loop over symbolic data reads it again within a few instructions */
            if (guest_view_translate(&g, st.rip, false, &pa) < 0 || !sx_shadow_any(s->shadow, pa, 1)) {
                if (!slot->rent_ns)
                    break; /* the VMM asks for no renting */
                if (!renting) {
                    renting = true;
                    rent_since = steps;
                    rent_t0 = now_s();
                } else if ((steps - rent_since) % RENT_CLOCK_STEPS == 0 &&
                           now_s() - rent_t0 >= rent_s) {
                    slot->rented_returns = 1;
                    break;
                }
            }
        } else {
            renting = false; /* symbolic again: the rent paid off */
        }
        if (steps % LIMIT_CHECK_STEPS == 0) {
            pthread_mutex_lock(&s->lock);
            s->stats.interpreter_seconds += now_s() - t0;
            pthread_mutex_unlock(&s->lock);
            t0 = now_s();
            if (over_limits(s)) {
                slot->stop = SC_STOP_EXHAUSTED;
                sx_state_concretise(&st);
                break;
            }
        }
        if (steps >= HANDOFF_STEP_LIMIT || __atomic_load_n(&slot->cancel, __ATOMIC_ACQUIRE)) {
            slot->stop = steps >= HANDOFF_STEP_LIMIT ? SC_STOP_LIMIT : SC_STOP_CANCELLED;
            sx_state_concretise(&st);
            break;
        }
    }
    store_state(&st, &slot->cpu);
    reply_pages(slot, &g);
    guest_view_release(&g);

    double end = now_s();
    pthread_mutex_lock(&s->lock);
    s->stats.instructions += st.instructions;
    s->stats.concretised_deep += st.depth_cuts;
    s->stats.concretised_stack += st.stack_cuts;
    s->stats.released_regs += st.released_regs;
    s->stats.stops_native += slot->stop == SC_STOP_NATIVE;
    s->stats.interpreter_seconds += end - t0;
    if (active > s->stats.parallel_peak)
        s->stats.parallel_peak = active;
    /* Many short handoffs never reach LIMIT_CHECK_STEPS: check at their ends too, a few
     * times a second. */
    bool check = end >= s->next_limit_check;
    if (check)
        s->next_limit_check = end + 0.1;
    pthread_mutex_unlock(&s->lock);
    if (slot->stop == SC_STOP_EXHAUSTED || (check && over_limits(s)) || is_exhausted(s, slot)) {
        drop_shadow(s, slot);
        is_exhausted(s, slot);
    }
    slot->instructions = st.instructions;
    slot->status = SC_OK;
    __atomic_sub_fetch(&s->active_handoffs, 1, __ATOMIC_SEQ_CST);
}

/* ---- end of the run: the other side of every symbolic branch ---------------------------- */

static void render_constraints(struct session *s)
{
    char small[4096];
    for (size_t i = 0; i < s->path.n; i++) {
        if (i % SX_PROGRESS_EVERY == SX_PROGRESS_EVERY - 1)
            sx_progress_beat(&s->path.progress);
        size_t need = sx_expr_print(s->path.constraints[i], s->ctx, small, sizeof small);
        if (need < sizeof small) {
            text_printf(&s->constraints, "%s\n", small);
            continue;
        }
        char *big = malloc(need + 1);
        if (!big)
            abort();
        sx_expr_print(s->path.constraints[i], s->ctx, big, need + 1);
        text_append(&s->constraints, big, need);
        text_append(&s->constraints, "\n", 1);
        free(big);
    }
}

static void keep_result(struct session *s, size_t b, const struct sx_model *m, uint32_t variant,
                        bool optimistic)
{
    struct result r = { 0 };
    const struct sx_branch *br = &s->path.branches[b];
    r.meta = (struct sc_result){ .branch = (uint32_t)b, .kind = br->kind, .pc = br->pc,
                                 .taken = br->jumped, .variant = variant,
                                 .optimistic = optimistic };
    for (uint32_t i = 0; i < m->ninputs; i++)
        for (uint32_t o = 0; o < m->lengths[i]; o++)
            if (!s->seed[i] || o >= s->seed_len[i] || m->bytes[i][o] != s->seed[i][o])
                r.nchanges++;
    r.changes = malloc((r.nchanges ? r.nchanges : 1) * sizeof *r.changes);
    struct result *grown = realloc(s->results, (s->nresults + 1) * sizeof *grown);
    if (!r.changes || !grown)
        abort();
    s->results = grown;
    size_t k = 0;
    for (uint32_t i = 0; i < m->ninputs; i++)
        for (uint32_t o = 0; o < m->lengths[i]; o++)
            if (!s->seed[i] || o >= s->seed_len[i] || m->bytes[i][o] != s->seed[i][o])
                r.changes[k++] = (struct change){ i, o, m->bytes[i][o] };
    s->results[s->nresults++] = r;
}

#define MORE_VALUES 15 /* more values asked of a pinned address or jump target */

/* A pinned address or jump target (taken: value == v0) has more values than the one a
 * flip found: ask again without the ones found, so one generation reaches every case of
 * a switch (up to MORE_VALUES more). Returns the queries made. */
static size_t more_values(struct session *s, size_t b, const struct sx_model *first,
                          struct sx_solver *solver, struct sc_stats *st, size_t budget)
{
    const struct sx_branch *br = &s->path.branches[b];
    if ((br->kind != SX_FLIP_ADDRESS && br->kind != SX_FLIP_TARGET) || br->taken->op != SX_EQ)
        return 0;
    const struct sx_expr *v = br->taken->a, *extra[MORE_VALUES];
    const struct sx_model *found = first;
    struct sx_model *own[MORE_VALUES] = { 0 };
    struct sx_model seed = { sx_input_count(s->ctx), s->seed, s->seed_len };
    size_t k = 0;
    for (; k < MORE_VALUES && k < budget; k++) {
        sx_u128 value = sx_eval(s->ctx, v, (const uint8_t *const *)found->bytes, found->lengths);
        extra[k] = sx_lnot(s->ctx, sx_binop(s->ctx, SX_EQ, v, sx_const(s->ctx, v->width, value)));
        own[k] = sx_model_new(s->ctx, &seed);
        enum sx_sat r = sx_path_flip_excluding(&s->path, s->ctx, solver, b, own[k], extra, k + 1);
        if (r != SX_SAT) {
            st->flipped_unsat += r == SX_UNSAT;
            st->flipped_unknown += r != SX_UNSAT;
            k++;
            break;
        }
        st->flipped_sat++;
        keep_result(s, b, own[k], (uint32_t)k + 1, false);
        found = own[k];
    }
    for (size_t j = 0; j < MORE_VALUES; j++)
        sx_model_free(own[j]);
    return k;
}

/* The query corpus: this context's directory, made at its first query. A cap reached or
 * a failed write is said once, on stderr (the VMM's terminal). */
static void start_dump(struct session *s, struct sx_solver *solver)
{
    struct sx_query_dump *d = s->dump;
    if (!d)
        return;
    if (!d->failed && !d->capped && !d->dir[0]) {
        snprintf(d->dir, sizeof d->dir, "%s/p%d-s%lu-r%u", s->cfg.query_dir, (int)getpid(),
                 s->serial, s->rounds);
        d->request = 0;
        if (mkdir(d->dir, 0755) != 0 && errno != EEXIST) {
            d->failed = true;
            d->error = errno;
        }
    }
    if (!d->failed && !d->capped) {
        d->request++;
        sx_solver_set_dump(solver, d);
        return;
    }
    if (s->dump_said)
        return;
    s->dump_said = true;
    if (d->failed)
        fprintf(stderr, "symhv-symex: cannot write a solver query into %s: %s; no more are "
                "written\n", d->dir, strerror(d->error));
    else
        fprintf(stderr, "symhv-symex: the query corpus reached its cap (%llu queries or %llu "
                "MiB a session); no more are written\n", (unsigned long long)d->max_queries,
                (unsigned long long)(d->max_bytes >> 20));
}

/* A solver for a FINISH, with the query corpus on it when one is written. */
static struct sx_solver *new_solver(struct session *s, unsigned timeout_ms)
{
    struct sx_solver *solver = sx_solver_new(s->ctx, s->cfg.solver, timeout_ms);
    if (solver) {
        sx_solver_set_progress(solver, &s->path.progress);
        start_dump(s, solver);
    }
    return solver;
}

/* Its counts into st, then freed. */
static void finish_solver(struct sx_solver *solver, struct sc_stats *st)
{
    st->flipped_too_large += sx_solver_stats(solver)->too_large;
    st->solver_cache_hits += sx_solver_stats(solver)->cache_hits;
    sx_solver_free(solver);
}

/* One FINISH's asking of its flips. */
struct asking {
    struct session *s;
    struct sc_slot *slot;
    struct sc_stats *st;
    const struct sx_model *seed;
    const uint32_t *other;   /* SC_FINISH_PRUNE: the side each flip reaches; NULL: none */
    double t0;               /* when the asking began */
    size_t queries;
};

/* Whether a limit ends the asking now: symhv stopping, the sidecar's memory or time, the
 * run's budget (slot->len ms); `left` flips are then counted unasked. */
static bool stop_asking(struct asking *a, size_t left)
{
    struct session *s = a->s;
    struct sc_stats *st = a->st;
    beat(a->slot);
    if (__atomic_load_n(&a->slot->cancel, __ATOMIC_ACQUIRE)) { /* symhv is stopping */
        st->flipped_unknown += left;
        return true;
    }
    if (a->queries % 16 == 15 && s->cfg.max_memory_bytes &&
        own_resident_bytes() > s->cfg.max_memory_bytes) {
        pthread_mutex_lock(&s->lock);
        exhaust_locked(s, "solving stopped: the sidecar reached its memory limit (%llu MiB, "
                       "symhv --symex-max-memory)",
                       (unsigned long long)(s->cfg.max_memory_bytes >> 20));
        pthread_mutex_unlock(&s->lock);
        st->flipped_unknown += left;
        st->unsolved_past_limit += left;
        return true;
    }
    if (a->slot->len && (now_s() - a->t0) * 1000.0 >= (double)a->slot->len) { /* the budget */
        st->flipped_unknown += left;
        st->unsolved_past_limit += left;
        return true;
    }
    if (s->cfg.max_seconds > 0 && s->spent_before + st->interpreter_seconds +
                                      st->solver_seconds + (now_s() - a->t0) > s->cfg.max_seconds) {
        pthread_mutex_lock(&s->lock);
        exhaust_locked(s, "solving stopped: the sidecar reached its time limit (%.0f s, "
                       "symhv --symex-max-time)", s->cfg.max_seconds);
        pthread_mutex_unlock(&s->lock);
        st->flipped_unknown += left;
        st->unsolved_past_limit += left;
        return true;
    }
    return false;
}

/* Ask flip b (and, after it, more values or the optimistic query). With `may_defer`
 * (the first pass): true when the flip's own query or, after an unsat one, the
 * optimistic query ran out of time (not too large for the solver); the flip is then not
 * counted, and is to be asked again in the second pass. */
static bool ask_flip(struct asking *a, struct sx_solver *solver, size_t b, bool may_defer)
{
    struct session *s = a->s;
    struct sc_stats *st = a->st;
    a->queries++;
    struct sx_model *m = sx_model_new(s->ctx, a->seed);
    uint64_t too_large = sx_solver_stats(solver)->too_large;
    bool cut_short = false;
    enum sx_sat r = sx_path_flip(&s->path, s->ctx, solver, b, m);
    if (r == SX_SAT) {
        st->flipped_sat++;
        keep_result(s, b, m, 0, false);
        if (a->other)
            sx_branch_map_reached(s->seen, a->other[b]);
        a->queries += more_values(s, b, m, solver, st, MAX_FLIPS - a->queries);
    } else if (r == SX_UNSAT && s->cfg.no_optimistic) {
        st->flipped_unsat++;
    } else if (r == SX_UNSAT) {
        st->flipped_unsat++;
        /* optimistic: the branch alone (a value pinned on the path, say a copy's
         * length, made the whole query unsat); the next run decides */
        sx_model_free(m);
        m = sx_model_new(s->ctx, a->seed);
        a->queries++;
        enum sx_sat o = sx_path_flip_optimistic(&s->path, s->ctx, solver, b, m);
        if (o == SX_SAT) {
            st->flipped_optimistic++;
            keep_result(s, b, m, 0, true);
            if (a->other) /* tried: later paths do not ask it again */
                sx_branch_map_reached(s->seen, a->other[b]);
        } else if (o == SX_UNKNOWN && may_defer &&
                   sx_solver_stats(solver)->too_large == too_large) {
            st->flipped_unsat--; /* counted when asked again */
            cut_short = true;
        }
    } else if (may_defer && sx_solver_stats(solver)->too_large == too_large) {
        cut_short = true;
    } else {
        st->flipped_unknown++;
    }
    sx_model_free(m);
    return cut_short;
}

static void finish(struct session *s, struct sc_slot *slot)
{
    struct sc_stats *st = &s->stats;
    uint32_t ninputs = sx_input_count(s->ctx);
    clear_results(s);
    st->constraints = s->path.n;
    st->branches = s->path.nbranches;
    st->branches_pruned = s->path.pruned;
    st->flipped_sat = st->flipped_unsat = st->flipped_unknown = st->flipped_too_large = 0;
    st->flipped_optimistic = st->unsolved_past_limit = st->solver_cache_hits = 0;
    /* a long path takes long to render, slice and translate: the heartbeat goes on */
    s->path.progress = (struct sx_progress){ beat_slot, slot };
    render_constraints(s);
    pthread_mutex_lock(&s->lock);
    bool exhausted = s->exhausted; /* past a limit: no solving either */
    pthread_mutex_unlock(&s->lock);
    if (ninputs == 0 || exhausted) {
        st->flipped_unknown = exhausted ? st->branches : 0;
        st->unsolved_past_limit = st->flipped_unknown;
        if (exhausted)
            is_exhausted(s, slot); /* says why, in slot->message */
        slot->stats = *st;
        slot->status = SC_OK;
        return;
    }
    bool two_passes = s->cfg.first_timeout_ms && (!s->cfg.solver_timeout_ms ||
                                                  s->cfg.first_timeout_ms < s->cfg.solver_timeout_ms);
    struct sx_solver *solver = new_solver(s, two_passes ? s->cfg.first_timeout_ms
                                                        : s->cfg.solver_timeout_ms);
    if (!solver) {
        slot->status = SC_FAILED;
        reply_message(slot, "solver backend '%s' unknown or unable to start (out of memory?)",
                      s->cfg.solver);
        return;
    }
    struct sx_model seed = { ninputs, s->seed, s->seed_len };
    size_t flips = s->path.nbranches < MAX_FLIPS ? s->path.nbranches : MAX_FLIPS;
    uint32_t *other = NULL; /* SC_FINISH_PRUNE: the side each flip would reach */
    st->new_branch_edges = st->flips_pruned = st->flips_deferred = 0;
    if (slot->input & SC_FINISH_PRUNE) {
        size_t n = s->path.nbranches;
        other = malloc((n ? n : 1) * sizeof *other);
        uint64_t *scratch = malloc(4 * (n ? n : 1) * sizeof *scratch);
        if (!other || !scratch)
            abort();
        st->new_branch_edges = sx_branch_map_visit(s->seen, s->path.branches, n, other, scratch);
        free(scratch);
        flips = n; /* pruned ones cost nothing: MAX_FLIPS counts the queries */
    }
    /* Two passes: every flip first with the short timeout, then the ones it cut short
     * with the full one, so that a budget goes to the many cheap queries before the few
     * dear ones (which a one-pass run meets in path order). */
    size_t *deferred = two_passes ? malloc((flips ? flips : 1) * sizeof *deferred) : NULL;
    if (two_passes && !deferred)
        abort();
    struct asking a = { s, slot, st, &seed, other, now_s(), 0 };
    size_t ndeferred = 0, b = 0, asked = 0, cut = 0; /* asked and cut short at first_ms */
    unsigned first_ms = s->cfg.first_timeout_ms;
    for (; b < flips && a.queries < MAX_FLIPS; b++) {
        if (other && !sx_branch_map_wanted(s->seen, other[b])) {
            st->flips_pruned++;
            continue;
        }
        if (stop_asking(&a, flips - b + ndeferred))
            break;
        asked++;
        if (ask_flip(&a, solver, b, two_passes)) { /* timed out: later */
            deferred[ndeferred++] = b;
            /* A first timeout that cuts short more than a quarter of the queries is too
             * short for this machine (or this program): each of them would be solved
             * twice. Doubled, it stays below the full one. */
            struct sx_solver *longer;
            if (++cut * 4 > asked && asked >= 8 &&
                (!s->cfg.solver_timeout_ms || 2 * first_ms < s->cfg.solver_timeout_ms) &&
                (longer = new_solver(s, 2 * first_ms))) {
                first_ms *= 2;
                finish_solver(solver, st);
                solver = longer;
                asked = cut = 0; /* those cut short so far still go to the second pass */
            }
        }
    }
    bool stopped = b < flips && a.queries < MAX_FLIPS;
    finish_solver(solver, st);
    if (ndeferred && !stopped) {
        st->flips_deferred = ndeferred;
        solver = new_solver(s, s->cfg.solver_timeout_ms);
        if (!solver) {
            st->flipped_unknown += ndeferred;
        } else {
            size_t k = 0;
            for (; k < ndeferred; k++) {
                if (a.queries >= MAX_FLIPS) { /* as the first pass: not asked */
                    st->flipped_unknown += ndeferred - k;
                    break;
                }
                if (stop_asking(&a, ndeferred - k))
                    break;
                ask_flip(&a, solver, deferred[k], false);
            }
            finish_solver(solver, st);
        }
    } else if (ndeferred) { /* a limit stopped the first pass: these stay unasked */
        st->flips_deferred = ndeferred;
    }
    free(deferred);
    free(other);
    st->solver_seconds += now_s() - a.t0;
    st->sliced_away = s->path.sliced_away;
    st->results = s->nresults;
    slot->stats = *st;
    slot->status = SC_OK;
}

static uint8_t *data_area(struct session *s)
{
    return (uint8_t *)s->cfg.shared + s->cfg.shared->data_offset;
}

static void result(struct session *s, struct sc_slot *slot)
{
    uint32_t ninputs = sx_input_count(s->ctx);
    if (slot->index >= s->nresults || slot->input >= ninputs || !s->seed[slot->input]) {
        slot->status = SC_FAILED;
        reply_message(slot, "no result %u / input %u", slot->index, slot->input);
        return;
    }
    const struct result *r = &s->results[slot->index];
    uint32_t len = s->seed_len[slot->input];
    uint8_t *out = data_area(s);
    memcpy(out, s->seed[slot->input], len);
    for (size_t k = 0; k < r->nchanges; k++)
        if (r->changes[k].input == slot->input && r->changes[k].offset < len)
            out[r->changes[k].offset] = r->changes[k].value;
    slot->result = r->meta;
    slot->result.input_len = len;
    slot->data_len = len;
    slot->status = SC_OK;
}

static void text(struct session *s, struct sc_slot *slot)
{
    const struct text *t = slot->index == SC_TEXT_CONSTRAINTS ? &s->constraints
                         : slot->index == SC_TEXT_EXPRESSIONS ? &s->expressions : NULL;
    if (!t) {
        slot->status = SC_FAILED;
        reply_message(slot, "no text %u", slot->index);
        return;
    }
    pthread_mutex_lock(&s->lock);
    uint64_t off = slot->gpa < t->len ? slot->gpa : t->len;
    uint64_t n = t->len - off < SC_DATA_MAX ? t->len - off : SC_DATA_MAX;
    if (n)
        memcpy(data_area(s), t->buf + off, n);
    slot->len = t->len;
    slot->data_len = n;
    pthread_mutex_unlock(&s->lock);
    slot->status = SC_OK;
}

/* A new round on the same guest (fuzzing): no inputs, nothing symbolic, no path.
 * Called while no other request is in flight (the VMM's vCPUs are parked). */
static void reset(struct session *s, struct sc_slot *slot)
{
    sx_shadow_clear(s->shadow);
    sx_path_release(&s->path);
    new_path(s);
    sx_ctx_free(s->ctx);
    s->ctx = sx_ctx_new();
    s->rounds++;
    if (s->dump)
        s->dump->dir[0] = 0; /* a new context: a new corpus directory */
    for (unsigned i = 0; i < SX_MAX_INPUTS; i++) {
        free(s->seed[i]);
        s->seed[i] = NULL;
        s->seed_len[i] = 0;
    }
    clear_results(s);
    text_free(&s->expressions);
    uint64_t peak = s->stats.peak_memory_bytes;
    s->spent_before += s->stats.interpreter_seconds + s->stats.solver_seconds;
    memset(&s->stats, 0, sizeof s->stats);
    s->stats.peak_memory_bytes = peak;
    slot->status = s->ctx ? SC_OK : SC_FAILED;
}

void session_handle(struct session *s, struct sc_slot *slot)
{
    slot->status = SC_OK;
    slot->message[0] = 0;
    slot->npages = 0;
    slot->pages_overflow = 0;
    slot->exhausted = 0;
    beat(slot);
    switch (slot->op) {
    case SC_OP_MAKE_SYMBOLIC: make_symbolic(s, slot); break;
    case SC_OP_CONCRETISE: concretise(s, slot, false); break;
    case SC_OP_PIN: concretise(s, slot, true); break;
    case SC_OP_HANDOFF: handoff(s, slot); break;
    case SC_OP_FINISH: finish(s, slot); break;
    case SC_OP_RESULT: result(s, slot); break;
    case SC_OP_TEXT: text(s, slot); break;
    case SC_OP_QUIT: break;
    case SC_OP_RESET: reset(s, slot); break;
    default:
        slot->status = SC_FAILED;
        reply_message(slot, "unknown request %u", slot->op);
        break;
    }
}
