#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "elf_loader.h"
#include "interp.h"
#include "log.h"
#include "self_mem.h"
#include "solver.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_INPUTS 64
#define HANDOFF_STEP_LIMIT 50000000ull /* then concretise: a runaway symbolic loop */
#define MAX_FLIPS 1000
#define SOLVER_TIMEOUT_MS 10000

struct input_record {
    char name[SYMHV_INPUT_NAME_MAX + 1];
    uint32_t len;
    uint8_t *initial; /* the concrete input of this run */
};

struct engine {
    pthread_mutex_t lock; /* one interpreter at a time: sx_ctx is single-threaded */
    struct sx_ctx *ctx;
    struct sx_shadow *shadow; /* keyed by guest-physical address */
    struct sx_path path;
    struct input_record inputs[MAX_INPUTS];
    uint32_t ninputs;
    char output_dir[PATH_MAX];
    uint8_t *preset;      /* bytes written into the input buffer (--replay, --seed) */
    size_t preset_len;
    bool replaying;       /* --replay: the input stays concrete */
    uint64_t handoffs, instructions, stops_unsupported;
    unsigned bugs;
    double seconds;
};

/* ---- guest memory for the interpreter (virtual addresses of one vCPU) -------------- */

struct guest_access {
    struct vcpu *v;
    uint64_t vpage, ppage;
    int valid;
    uint64_t *touched; /* guest-physical pages written */
    size_t ntouched, cap;
};

static int ga_translate(void *o, uint64_t vpage, uint64_t *ppage)
{
    struct guest_access *g = o;
    if (g->valid && g->vpage == vpage) {
        *ppage = g->ppage;
        return 0;
    }
    if (vcpu_translate(g->v, vpage, ppage) < 0)
        return -1;
    *ppage &= ~4095ull;
    g->vpage = vpage;
    g->ppage = *ppage;
    g->valid = 1;
    return 0;
}

/* Host pointer for [addr, addr+len) if it stays in one page and in RAM. */
static uint8_t *ga_host(struct guest_access *g, uint64_t addr, size_t len)
{
    uint64_t p;
    if (ga_translate(g, addr & ~4095ull, &p) < 0)
        return NULL;
    return vm_gpa_to_host(g->v->vm, p | (addr & 4095), len);
}

static void ga_touch(struct guest_access *g, uint64_t gpa_page)
{
    for (size_t i = 0; i < g->ntouched; i++)
        if (g->touched[i] == gpa_page)
            return;
    if (g->ntouched == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->touched = realloc(g->touched, g->cap * sizeof *g->touched);
        if (!g->touched)
            abort();
    }
    g->touched[g->ntouched++] = gpa_page;
}

static int ga_copy(struct guest_access *g, uint64_t addr, void *buf, size_t len, int write)
{
    uint8_t *b = buf;
    while (len > 0) {
        size_t n = 4096 - (addr & 4095);
        if (n > len)
            n = len;
        uint8_t *h = ga_host(g, addr, n);
        if (!h)
            return -1;
        if (write) {
            memcpy(h, b, n);
            ga_touch(g, (uint64_t)(h - g->v->vm->mem) & ~4095ull);
        } else {
            memcpy(b, h, n);
        }
        addr += n;
        b += n;
        len -= n;
    }
    return 0;
}

static int ga_read(void *o, uint64_t addr, void *buf, size_t len) { return ga_copy(o, addr, buf, len, 0); }
static int ga_write(void *o, uint64_t addr, const void *buf, size_t len)
{
    return ga_copy(o, addr, (void *)buf, len, 1);
}

static int ga_cmpxchg(void *o, uint64_t addr, size_t len, uint64_t expected, uint64_t desired,
                      uint64_t *old)
{
    struct guest_access *g = o;
    uint8_t *h = ga_host(g, addr, len);
    if (!h || (addr & (len - 1))) /* split or unaligned locked access: not atomic here */
        return h ? (*old = expected, ga_write(o, addr, &desired, len)) : -1;
    if (sx_host_cmpxchg(h, len, expected, desired, old))
        ga_touch(g, (uint64_t)(h - g->v->vm->mem) & ~4095ull);
    return 0;
}

static const struct sx_mem_ops guest_mem_ops = { ga_read, ga_write, ga_cmpxchg, ga_translate };

/* ---- lifecycle ------------------------------------------------------------------------ */

int engine_create(struct vm *vm, const char *output_dir, const char *replay_path,
                  const char *seed_path)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    pthread_mutex_init(&e->lock, NULL);
    e->ctx = sx_ctx_new();
    e->shadow = sx_shadow_new();
    sx_path_init(&e->path);
    snprintf(e->output_dir, sizeof e->output_dir, "%s", output_dir ? output_dir : "");
    const char *preset = replay_path ? replay_path : seed_path;
    e->replaying = replay_path != NULL;
    if (preset) {
        char err[256];
        e->preset = read_file(preset, SYMHV_SYMBOLIC_MAX_BYTES, &e->preset_len, err, sizeof err);
        if (!e->preset) {
            hv_error("%s input %s: %s", replay_path ? "replay" : "seed", preset, err);
            sx_shadow_free(e->shadow);
            sx_ctx_free(e->ctx);
            free(e);
            return -1;
        }
    }
    vm->engine = e;
    return 0;
}

void engine_destroy(struct vm *vm)
{
    struct engine *e = vm->engine;
    if (!e)
        return;
    for (uint32_t i = 0; i < e->ninputs; i++)
        free(e->inputs[i].initial);
    sx_path_release(&e->path);
    sx_shadow_free(e->shadow);
    sx_ctx_free(e->ctx);
    free(e->preset);
    free(e);
    vm->engine = NULL;
}

/* The VMM's page bitmap (which pages must stay out of the memslots) follows the
 * shadow for the pages just written. Caller holds e->lock. */
static int sync_pages(struct vm *vm, const uint64_t *pages, size_t n)
{
    struct engine *e = vm->engine;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits[64] = { 0 };
        for (unsigned b = 0; b < 4096; b++)
            if (sx_shadow_get(e->shadow, pages[i] + b))
                bits[b / 64] |= 1ull << (b % 64);
        if (symmem_set_page(vm, pages[i], bits) < 0)
            rc = -1;
    }
    return rc;
}

int engine_make_symbolic(struct vcpu *v, uint64_t gva, uint64_t len, const char *name)
{
    struct vm *vm = v->vm;
    struct engine *e = vm->engine;
    pthread_mutex_lock(&e->lock);
    if (e->ninputs == MAX_INPUTS) {
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EINVAL;
    }
    uint32_t id = e->ninputs;
    struct input_record *in = &e->inputs[id];
    if (e->preset && id == 0) /* --replay / --seed bytes go to the first input */
        vcpu_write_virt(v, gva, e->preset, e->preset_len < len ? e->preset_len : len);
    in->initial = malloc(len);
    if (!in->initial || vcpu_read_virt(v, gva, in->initial, len) < 0) {
        free(in->initial);
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EFAULT;
    }
    snprintf(in->name, sizeof in->name, "%s", name);
    in->len = (uint32_t)len;
    e->ninputs++;
    if (e->replaying) { /* the input stays concrete */
        pthread_mutex_unlock(&e->lock);
        return (int)id;
    }
    sx_input_declare(e->ctx, name, (uint32_t)len);
    struct guest_access g = { .v = v };
    for (uint64_t i = 0; i < len; i++) {
        uint64_t page;
        if (ga_translate(&g, (gva + i) & ~4095ull, &page) < 0)
            break;
        uint64_t gpa = page | ((gva + i) & 4095);
        sx_shadow_set(e->shadow, gpa, sx_input_byte(e->ctx, id, (uint32_t)i));
        ga_touch(&g, page);
    }
    sync_pages(vm, g.touched, g.ntouched);
    free(g.touched);
    pthread_mutex_unlock(&e->lock);
    return (int)id;
}

int engine_concretise(struct vm *vm, uint64_t gpa, uint64_t len)
{
    struct engine *e = vm->engine;
    if (!e)
        return 0;
    pthread_mutex_lock(&e->lock);
    for (uint64_t i = 0; i < len; i++)
        sx_shadow_set(e->shadow, gpa + i, NULL);
    int rc = 0;
    for (uint64_t page = gpa & ~4095ull; len && page < gpa + len; page += 4096)
        if (sync_pages(vm, &page, 1) < 0)
            rc = -1;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* Let KVM finish the access it is waiting for without running the guest, so the
 * registers can be replaced (see ../shared/KVM-ON-THIS-MACHINE.md). */
static int complete_pending_access(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    for (int rounds = 0; rounds < 64; rounds++) {
        if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
            uint8_t *h = vm_gpa_to_host(v->vm, run->mmio.phys_addr, run->mmio.len);
            memcpy(run->mmio.data, h ? h : (uint8_t[8]){ 0 }, run->mmio.len);
        }
        /* (a write exit here belongs to the trapped instruction, which the
         * interpreter executes again from its start: dropped) */
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        int rc = ioctl(v->fd, KVM_RUN, 0);
        if (rc < 0 && errno == EINTR)
            return 0;
        if (rc < 0 || run->exit_reason != KVM_EXIT_MMIO) {
            hv_error_errno("vCPU %u: completing a trapped access failed (exit %u)", v->index,
                           run->exit_reason);
            return -1;
        }
    }
    return -1;
}

int engine_handoff(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct engine *e = vm->engine;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
        ioctl(v->fd, KVM_GET_FPU, &fpu) < 0) {
        hv_error_errno("vCPU %u: reading state for the interpreter failed", v->index);
        return -1;
    }
    if (complete_pending_access(v) < 0)
        return -1;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&e->lock);
    struct guest_access g = { .v = v };
    struct sx_state st;
    sx_state_init(&st, e->ctx, &guest_mem_ops, &g, e->shadow, &e->path);
    const uint64_t kvm_order[16] = { regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp,
                                     regs.rbp, regs.rsi, regs.rdi, regs.r8, regs.r9,
                                     regs.r10, regs.r11, regs.r12, regs.r13, regs.r14,
                                     regs.r15 };
    for (int i = 0; i < 16; i++) {
        st.gpr[i] = sx_v(64, kvm_order[i]);
        sx_u128 x;
        memcpy(&x, fpu.xmm[i], 16);
        st.xmm[i] = sx_v(128, x);
    }
    sx_state_set_rflags(&st, regs.rflags);
    st.rip = regs.rip;
    st.fs_base = sregs.fs.base;
    st.gs_base = sregs.gs.base;

    uint64_t steps = 0;
    for (;;) {
        enum sx_status s = sx_step(&st);
        steps++;
        if (s != SX_OK) {
            /* Not modelled, or it faults: the CPU runs it (operands were concretised). */
            e->stops_unsupported++;
            sx_state_concretize(&st);
            break;
        }
        if (!sx_state_has_symbolic_regs(&st))
            break;
        if (steps >= HANDOFF_STEP_LIMIT) {
            hv_error("vCPU %u: %llu instructions interpreted in one go; concretising",
                     v->index, (unsigned long long)steps);
            sx_state_concretize(&st);
            break;
        }
    }
    sync_pages(vm, g.touched, g.ntouched);
    free(g.touched);
    e->handoffs++;
    e->instructions += st.instructions;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    e->seconds += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    pthread_mutex_unlock(&e->lock);

    uint64_t out[16];
    for (int i = 0; i < 16; i++) {
        out[i] = (uint64_t)st.gpr[i].c;
        sx_u128 x = st.xmm[i].c;
        memcpy(fpu.xmm[i], &x, 16);
    }
    regs.rax = out[0]; regs.rcx = out[1]; regs.rdx = out[2]; regs.rbx = out[3];
    regs.rsp = out[4]; regs.rbp = out[5]; regs.rsi = out[6]; regs.rdi = out[7];
    regs.r8 = out[8]; regs.r9 = out[9]; regs.r10 = out[10]; regs.r11 = out[11];
    regs.r12 = out[12]; regs.r13 = out[13]; regs.r14 = out[14]; regs.r15 = out[15];
    regs.rip = st.rip;
    regs.rflags = sx_state_rflags(&st);
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0 || ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
        hv_error_errno("vCPU %u: writing back the interpreted state failed", v->index);
        return -1;
    }
    return 0;
}

/* ---- outputs -------------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX + 256]; /* dir is at most PATH_MAX, names at most 128 */
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len)
        hv_error_errno("cannot write %s", path);
    if (f)
        fclose(f);
}

static int ensure_output_dir(struct engine *e)
{
    if (!e->output_dir[0])
        return -1;
    if (mkdir(e->output_dir, 0777) < 0 && errno != EEXIST) {
        hv_error_errno("cannot create output directory %s", e->output_dir);
        return -1;
    }
    return 0;
}

void engine_report_bug(struct vcpu *v, const char *message)
{
    struct engine *e = v->vm->engine;
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    unsigned n = e->bugs++;
    if (ensure_output_dir(e) == 0) {
        char name[64], text[2048];
        int len = snprintf(text, sizeof text, "bug reported on vCPU %u: %s\n", v->index, message);
        snprintf(name, sizeof name, "bug-%03u.txt", n);
        write_file(e->output_dir, name, text, (size_t)len);
        for (uint32_t i = 0; i < e->ninputs; i++) {
            snprintf(name, sizeof name, "bug-%03u-%s.bin", n, e->inputs[i].name);
            write_file(e->output_dir, name, e->inputs[i].initial, e->inputs[i].len);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

void engine_finish(struct vm *vm)
{
    struct engine *e = vm->engine;
    if (!e || e->ninputs == 0 || e->replaying)
        return;
    if (ensure_output_dir(e) < 0)
        return;
    FILE *cf;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/constraints.txt", e->output_dir);
    if ((cf = fopen(path, "w"))) {
        char buf[4096];
        for (size_t i = 0; i < e->path.n; i++) {
            sx_expr_print(e->path.constraints[i], e->ctx, buf, sizeof buf);
            fprintf(cf, "%s\n", buf);
        }
        fclose(cf);
    }
    struct sx_solver *solver = sx_solver_new(e->ctx, NULL, SOLVER_TIMEOUT_MS);
    struct sx_model seed = { e->ninputs, NULL, NULL };
    uint8_t *bytes[MAX_INPUTS];
    uint32_t lens[MAX_INPUTS];
    for (uint32_t i = 0; i < e->ninputs; i++) {
        bytes[i] = e->inputs[i].initial;
        lens[i] = e->inputs[i].len;
    }
    seed.bytes = bytes;
    seed.lengths = lens;
    unsigned sat = 0, unsat = 0, unknown = 0;
    size_t flips = e->path.nbranches < MAX_FLIPS ? e->path.nbranches : MAX_FLIPS;
    for (size_t b = 0; b < flips && solver; b++) {
        struct sx_model *m = sx_model_new(e->ctx, &seed);
        enum sx_sat r = sx_path_flip(&e->path, e->ctx, solver, b, m);
        if (r == SX_SAT) {
            sat++;
            for (uint32_t i = 0; i < e->ninputs; i++) {
                char name[128];
                snprintf(name, sizeof name, "branch-%03zu-%s.bin", b, e->inputs[i].name);
                write_file(e->output_dir, name, m->bytes[i], m->lengths[i]);
            }
        } else if (r == SX_UNSAT) {
            unsat++;
        } else {
            unknown++;
        }
        sx_model_free(m);
    }
    if (unknown)
        hv_error("solver gave up (timeout %d ms) on %u of %zu branch flips", SOLVER_TIMEOUT_MS,
                 unknown, flips);
    snprintf(path, sizeof path, "%s/summary.txt", e->output_dir);
    if ((cf = fopen(path, "w"))) {
        fprintf(cf, "inputs: %u\n", e->ninputs);
        for (uint32_t i = 0; i < e->ninputs; i++)
            fprintf(cf, "input %u: %s, %u bytes\n", i, e->inputs[i].name, e->inputs[i].len);
        fprintf(cf, "handoffs: %llu\ninterpreted instructions: %llu\ninterpreter seconds: %.3f\n",
                (unsigned long long)e->handoffs, (unsigned long long)e->instructions, e->seconds);
        fprintf(cf, "stops for native execution: %llu\n", (unsigned long long)e->stops_unsupported);
        fprintf(cf, "path constraints: %zu\nsymbolic branches: %zu\n", e->path.n, e->path.nbranches);
        fprintf(cf, "flipped: %u sat, %u unsat, %u unknown\nbugs: %u\n", sat, unsat, unknown, e->bugs);
        fclose(cf);
    }
    hv_info("symbolic run: %llu handoffs, %llu instructions interpreted, %zu symbolic branches, "
            "%u new inputs in %s", (unsigned long long)e->handoffs,
            (unsigned long long)e->instructions, e->path.nbranches, sat, e->output_dir);
    sx_solver_free(solver);
}
