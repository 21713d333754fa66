#include "session.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "guest_mem.h"
#include "interp.h"
#include "solver.h"

#define HANDOFF_STEP_LIMIT 50000000ull /* then concretise: a runaway symbolic loop */
#define MAX_FLIPS 1000

struct session {
    struct session_config cfg;
    char output_dir[PATH_MAX];
    struct sx_ctx *ctx;
    struct sx_shadow *shadow;       /* keyed by guest-physical address */
    struct sx_path path;

    pthread_mutex_t lock;           /* guards the inputs' seeds and the stats below */
    uint8_t *seed[SX_MAX_INPUTS];   /* concrete bytes of each input at declaration */
    uint32_t seed_len[SX_MAX_INPUTS];
    struct sc_stats stats;
    uint64_t active_handoffs;
    uint64_t total_instructions;    /* atomic: for crash_after */
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct session *session_create(const struct session_config *cfg)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    snprintf(s->output_dir, sizeof s->output_dir, "%s", cfg->output_dir ? cfg->output_dir : "");
    s->cfg.output_dir = s->output_dir;
    pthread_mutex_init(&s->lock, NULL);
    s->ctx = sx_ctx_new();
    s->shadow = sx_shadow_new();
    if (!s->ctx || !s->shadow) {
        session_free(s);
        return NULL;
    }
    sx_path_init(&s->path);
    sx_shadow_set_mirror(s->shadow,
                         (uint64_t *)((uint8_t *)cfg->shared + cfg->shared->bitmap_offset),
                         cfg->ram_bytes);
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
    sx_shadow_free(s->shadow);
    sx_ctx_free(s->ctx);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void reply_message(struct sc_slot *slot, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reply_message(struct sc_slot *slot, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot->message, sizeof slot->message, fmt, ap);
    va_end(ap);
}

static void reply_pages(struct sc_slot *slot, const struct guest_view *g)
{
    slot->npages = (uint32_t)g->ntouched;
    if (g->ntouched)
        memcpy(slot->pages, g->touched, g->ntouched * sizeof *g->touched);
    slot->pages_overflow = g->touched_overflow;
}

/* ---- requests ------------------------------------------------------------------------ */

static void make_symbolic(struct session *s, struct sc_slot *slot)
{
    if (slot->nextents > SC_MAX_EXTENTS || slot->input_len == 0 ||
        slot->input_len > SYMHV_SYMBOLIC_MAX_BYTES) {
        slot->status = SC_FAILED;
        reply_message(slot, "bad MAKE_SYMBOLIC request");
        return;
    }
    slot->name[sizeof slot->name - 1] = 0;
    uint8_t *seed = calloc(1, slot->input_len);
    if (!seed)
        abort();
    /* Check every extent before changing anything. */
    for (uint32_t i = 0; i < slot->nextents; i++) {
        const struct sc_extent *x = &slot->extents[i];
        if (x->gpa + x->len > s->cfg.ram_bytes || x->gpa + x->len < x->gpa ||
            (uint64_t)x->offset + x->len > slot->input_len) {
            free(seed);
            slot->status = SC_FAILED;
            reply_message(slot, "extent %u leaves guest RAM or the input", i);
            return;
        }
    }
    uint32_t id = sx_input_declare(s->ctx, slot->name, slot->input_len);
    if (id == UINT32_MAX) {
        free(seed);
        slot->status = SC_FAILED;
        reply_message(slot, "more than %d symbolic inputs", SX_MAX_INPUTS);
        return;
    }
    struct guest_view g;
    guest_view_init(&g, s->cfg.ram, s->cfg.ram_bytes, &slot->cpu);
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

static void concretise(struct session *s, struct sc_slot *slot)
{
    if (slot->gpa + slot->len > s->cfg.ram_bytes || slot->gpa + slot->len < slot->gpa ||
        slot->len > SYMHV_SYMBOLIC_MAX_BYTES) {
        slot->status = SC_FAILED;
        reply_message(slot, "bad CONCRETISE range");
        return;
    }
    struct guest_view g;
    guest_view_init(&g, s->cfg.ram, s->cfg.ram_bytes, &slot->cpu);
    for (uint64_t i = 0; i < slot->len; i++)
        sx_shadow_set(s->shadow, slot->gpa + i, NULL);
    for (uint64_t p = slot->gpa & ~4095ull; p < slot->gpa + slot->len; p += 4096)
        guest_view_touch(&g, p);
    reply_pages(slot, &g);
    guest_view_release(&g);
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
}

static void append_expression_line(struct session *s, const char *line)
{
    fprintf(stderr, "symhv-symex: %s\n", line);
    if (!s->output_dir[0])
        return;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/expressions.txt", s->output_dir);
    mkdir(s->output_dir, 0777);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

/* The agent instruction (`in eax, dx` from the hypercall port) met while interpreting:
 * print_expr and assume need the symbolic argument, so they are served here. Returns
 * true if handled (the instruction is then retired, eax = 0). */
static bool agent_call(struct session *s, struct sc_slot *slot, struct sx_state *st)
{
    if (strcmp(st->last_mnemonic, "in") != 0 || st->gpr[SX_RDX].e || st->gpr[SX_RDI].e ||
        (st->gpr[SX_RDX].c & 0xffff) != SYMHV_HYPERCALL_PORT)
        return false;
    uint8_t opcode;
    if (st->mem->read(st->mem_opaque, st->rip, &opcode, 1) < 0 || opcode != 0xed)
        return false;
    uint64_t nr = (uint64_t)st->gpr[SX_RDI].c;
    char line[4096];
    if (nr == SYMHV_HC_ASSUME) {
        struct sx_val cond = st->gpr[SX_RSI];
        bool holds = ((uint32_t)cond.c) != 0;
        if (cond.e) {
            const struct sx_expr *c32 = sx_extract(s->ctx, cond.e, 0, 32);
            sx_path_assume(&s->path, sx_lnot(s->ctx, sx_binop(s->ctx, SX_EQ, c32,
                                                             sx_const(s->ctx, 32, 0))));
        }
        pthread_mutex_lock(&s->lock);
        s->stats.assumptions++;
        pthread_mutex_unlock(&s->lock);
        if (!holds) {
            snprintf(line, sizeof line, "vCPU %u: symhv_assume at rip 0x%llx is false on the "
                     "current input (new inputs will satisfy it)", slot->vcpu,
                     (unsigned long long)st->rip);
            append_expression_line(s, line);
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
        int n = snprintf(line, sizeof line, "vCPU %u: %s = ", slot->vcpu, name);
        if (v.e)
            sx_expr_print(v.e, s->ctx, line + n, sizeof line - (size_t)n);
        else
            snprintf(line + n, sizeof line - (size_t)n, "0x%llx", (unsigned long long)v.c);
        size_t len = strlen(line);
        snprintf(line + len, sizeof line - len, " (concrete 0x%llx)", (unsigned long long)v.c);
        append_expression_line(s, line);
        pthread_mutex_lock(&s->lock);
        s->stats.expressions_printed++;
        pthread_mutex_unlock(&s->lock);
    } else {
        return false;
    }
    st->gpr[SX_RAX] = sx_v(64, 0);
    st->rip += 1;
    return true;
}

static void handoff(struct session *s, struct sc_slot *slot)
{
    double t0 = now();
    uint64_t active = __atomic_add_fetch(&s->active_handoffs, 1, __ATOMIC_SEQ_CST);
    struct guest_view g;
    guest_view_init(&g, s->cfg.ram, s->cfg.ram_bytes, &slot->cpu);
    struct sx_state st;
    sx_state_init(&st, s->ctx, &guest_mem_ops, &g, s->shadow, &s->path);
    load_state(&st, &slot->cpu);

    slot->stop = SC_STOP_CONCRETE;
    for (uint64_t steps = 1;; steps++) {
        enum sx_status r = sx_step(&st);
        if (r == SX_UNSUPPORTED && agent_call(s, slot, &st))
            r = SX_OK;
        if (r != SX_OK) {
            /* Not modelled, or it faults: the CPU runs it (operands were concretised). */
            slot->stop = SC_STOP_NATIVE;
            snprintf(slot->message, sizeof slot->message, "%s", st.last_mnemonic);
            sx_state_concretize(&st);
            break;
        }
        checkpoint(slot, &st);
        if (s->cfg.crash_after &&
            __atomic_add_fetch(&s->total_instructions, 1, __ATOMIC_RELAXED) == s->cfg.crash_after) {
            fprintf(stderr, "symhv-symex: crashing on purpose (SYMHV_SYMEX_CRASH_AFTER)\n");
            abort();
        }
        if (!sx_state_has_symbolic_regs(&st)) {
            uint64_t pa;
            /* not done while the next instruction's bytes are symbolic */
            if (guest_translate(&g, st.rip, false, &pa) < 0 || !sx_shadow_any(s->shadow, pa, 1))
                break;
        }
        if (steps >= HANDOFF_STEP_LIMIT || __atomic_load_n(&slot->cancel, __ATOMIC_ACQUIRE)) {
            slot->stop = steps >= HANDOFF_STEP_LIMIT ? SC_STOP_LIMIT : SC_STOP_CANCELLED;
            sx_state_concretize(&st);
            break;
        }
    }
    store_state(&st, &slot->cpu);
    reply_pages(slot, &g);
    guest_view_release(&g);
    slot->instructions = st.instructions;
    slot->status = SC_OK;

    double dt = now() - t0;
    pthread_mutex_lock(&s->lock);
    s->stats.instructions += st.instructions;
    s->stats.stops_native += slot->stop == SC_STOP_NATIVE;
    s->stats.interpreter_seconds += dt;
    if (active > s->stats.parallel_peak)
        s->stats.parallel_peak = active;
    pthread_mutex_unlock(&s->lock);
    __atomic_sub_fetch(&s->active_handoffs, 1, __ATOMIC_SEQ_CST);
}

/* ---- end of the run: the other side of every symbolic branch ---------------------------- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len)
        fprintf(stderr, "symhv-symex: cannot write %s: %s\n", path, strerror(errno));
    if (f)
        fclose(f);
}

static void finish(struct session *s, struct sc_slot *slot)
{
    struct sc_stats *st = &s->stats;
    uint32_t ninputs = sx_input_count(s->ctx);
    st->constraints = s->path.n;
    st->branches = s->path.nbranches;
    if (!s->output_dir[0] || ninputs == 0) {
        slot->stats = *st;
        slot->status = SC_OK;
        return;
    }
    if (mkdir(s->output_dir, 0777) < 0 && errno != EEXIST) {
        slot->status = SC_FAILED;
        reply_message(slot, "cannot create %s: %s", s->output_dir, strerror(errno));
        return;
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/constraints.txt", s->output_dir);
    FILE *cf = fopen(path, "w");
    if (cf) {
        char buf[4096];
        for (size_t i = 0; i < s->path.n; i++) {
            sx_expr_print(s->path.constraints[i], s->ctx, buf, sizeof buf);
            fprintf(cf, "%s\n", buf);
        }
        fclose(cf);
    }
    struct sx_solver *solver = sx_solver_new(s->ctx, s->cfg.solver, s->cfg.solver_timeout_ms);
    if (!solver) {
        slot->status = SC_FAILED;
        reply_message(slot, "unknown solver backend '%s'", s->cfg.solver);
        return;
    }
    struct sx_model seed = { ninputs, s->seed, s->seed_len };
    size_t flips = s->path.nbranches < MAX_FLIPS ? s->path.nbranches : MAX_FLIPS;
    for (size_t b = 0; b < flips; b++) {
        struct sx_model *m = sx_model_new(s->ctx, &seed);
        enum sx_sat r = sx_path_flip(&s->path, s->ctx, solver, b, m);
        if (r == SX_SAT) {
            st->flipped_sat++;
            for (uint32_t i = 0; i < ninputs; i++) {
                char name[128];
                snprintf(name, sizeof name, "branch-%03zu-%s.bin", b, sx_input_get(s->ctx, i)->name);
                write_file(s->output_dir, name, m->bytes[i], m->lengths[i]);
            }
        } else if (r == SX_UNSAT) {
            st->flipped_unsat++;
        } else {
            st->flipped_unknown++;
        }
        sx_model_free(m);
    }
    st->solver_seconds = sx_solver_stats(solver)->seconds;
    sx_solver_free(solver);
    slot->stats = *st;
    slot->status = SC_OK;
}

/* A new round on the same guest (fuzzing): no inputs, nothing symbolic, no path.
 * Called while no other request is in flight (the VMM's vCPUs are parked). */
static void reset(struct session *s, struct sc_slot *slot)
{
    sx_shadow_clear(s->shadow);
    sx_path_release(&s->path);
    sx_path_init(&s->path);
    sx_ctx_free(s->ctx);
    s->ctx = sx_ctx_new();
    for (unsigned i = 0; i < SX_MAX_INPUTS; i++) {
        free(s->seed[i]);
        s->seed[i] = NULL;
        s->seed_len[i] = 0;
    }
    memset(&s->stats, 0, sizeof s->stats);
    slot->status = s->ctx ? SC_OK : SC_FAILED;
}

void session_handle(struct session *s, struct sc_slot *slot)
{
    slot->status = SC_OK;
    slot->message[0] = 0;
    slot->npages = 0;
    slot->pages_overflow = 0;
    switch (slot->op) {
    case SC_OP_MAKE_SYMBOLIC: make_symbolic(s, slot); break;
    case SC_OP_CONCRETISE: concretise(s, slot); break;
    case SC_OP_HANDOFF: handoff(s, slot); break;
    case SC_OP_FINISH: finish(s, slot); break;
    case SC_OP_QUIT: break;
    case SC_OP_RESET: reset(s, slot); break;
    default:
        slot->status = SC_FAILED;
        reply_message(slot, "unknown request %u", slot->op);
        break;
    }
}
