#include "fuzzer.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fuzz.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_BUF_PAGES (FZ_MAX_INPUT / 4096 + 2)
#define MAX_MAP_PAGES (FZ_MAP_MAX / 4096 + 2)
#define STATUS_PERIOD_S 1.0
#define STATS_PERIOD_S 5.0

/* What one vCPU looks like in the snapshot. */
struct cpu_snapshot {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_lapic_state lapic;
    struct kvm_mp_state mp;
    struct kvm_vcpu_events events;
};

/* A guest-virtual buffer, translated once at the snapshot (the page tables are part of
 * the snapshot, so the translation holds for every execution). */
struct guest_buffer {
    uint64_t gva, len;
    uint64_t gpa[MAX_MAP_PAGES > MAX_BUF_PAGES ? MAX_MAP_PAGES : MAX_BUF_PAGES];
    unsigned npages;
};

enum request { REQ_NONE, REQ_SNAPSHOT, REQ_END };
enum outcome { OUT_OK, OUT_CRASH, OUT_HANG };

struct fuzzer {
    struct vm *vm;
    struct fuzz_config cfg;
    char out_dir[PATH_MAX], queue_dir[PATH_MAX + 8], crash_dir[PATH_MAX + 8],
        hang_dir[PATH_MAX + 8];

    /* rendezvous (guarded by lock) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum request request;
    int end_status;
    char end_why[256];
    uint64_t park_gen;         /* atomic: vCPUs park while their seen gen differs */
    uint64_t release_gen;
    unsigned parked;
    uint64_t seen_gen[SYMHV_MAX_VCPUS];

    /* snapshot (main thread only, while the vCPUs are parked) */
    bool start_claimed;        /* a symhv_fuzz_start owns the snapshot (under lock) */
    bool have_snapshot;
    unsigned start_vcpu;
    struct guest_buffer input, map;
    struct cpu_snapshot cpus[SYMHV_MAX_VCPUS];
    struct kvm_irqchip chips[3];
    uint8_t *ram;              /* copy of guest RAM */
    bool full_restore_next;    /* memslots or the sidecar touched RAM: copy it all */
    bool host_wrote;           /* atomic: a hypercall wrote RAM (fuzzer_note_host_write) */
    uint64_t restored_pages, restores;
    double restore_seconds;    /* all restores so far (for stats) */

    /* fuzzing state (main thread) */
    struct fz_queue queue;
    struct fz_dict dict;
    struct fz_rng rng;
    uint8_t *seen, *trace;     /* coverage: buckets seen so far, this execution's map */
    uint8_t *crash_seen, *hang_seen; /* coverage of crashing / hanging executions */
    char crash_whys[64][160];  /* without a map: crash descriptions seen */
    unsigned ncrash_whys;
    uint64_t total_crashes, total_hangs;
    uint8_t *cur;              /* the input being executed */
    uint32_t cur_len;
    enum fz_origin cur_origin;
    bool cur_concolic;
    struct fz_queue pending;   /* solver inputs waiting for their execution */
    size_t next_concolic;      /* queue index of the next concolic run */
    size_t seeds_left;         /* the first executions run the seeds as they are */
    uint64_t execs, crashes, hangs, solver_inputs, solver_kept, concolic_runs;
    uint64_t execs_at_last_new, last_concolic_exec;
    double started, exec_started, last_status, last_stats;
    size_t edges;
    bool tty, done;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- setup -------------------------------------------------------------------------- */

int fuzzer_create(struct vm *vm, const struct fuzz_config *cfg)
{
    struct fuzzer *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->vm = vm;
    f->cfg = *cfg;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    snprintf(f->out_dir, sizeof f->out_dir, "%s", cfg->out_dir);
    snprintf(f->queue_dir, sizeof f->queue_dir, "%s/queue", f->out_dir);
    snprintf(f->crash_dir, sizeof f->crash_dir, "%s/crashes", f->out_dir);
    snprintf(f->hang_dir, sizeof f->hang_dir, "%s/hangs", f->out_dir);
    char err[512];
    if (fz_out_dir_init(f->out_dir, err, sizeof err) < 0) {
        hv_error("fuzz: %s", err);
        goto fail;
    }
    /* Resume: an out_dir with a queue continues from it (crashes stay numbered on). */
    int n = fz_load_dir(&f->queue, f->queue_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err);
    if (n > 0) {
        hv_info("fuzz: resuming %s: %d queue entries", f->out_dir, n);
    } else if (cfg->in_dir) {
        n = fz_load_dir(&f->queue, cfg->in_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err);
        if (n < 0) {
            hv_error("fuzz: %s", err);
            goto fail;
        }
        for (size_t i = 0; i < f->queue.n; i++) { /* the queue starts with the seeds */
            char name[64];
            snprintf(name, sizeof name, "id:%06zu,orig:seed", i);
            if (fz_write_atomic(f->queue_dir, name, f->queue.entries[i].data,
                                f->queue.entries[i].len) < 0)
                hv_error_errno("fuzz: cannot write %s/%s", f->queue_dir, name);
        }
    }
    if (n <= 0) {
        hv_error("fuzz: no seed inputs: give -i DIR with at least one non-empty file");
        goto fail;
    }
    f->crashes = fz_count_files(f->crash_dir);
    f->hangs = fz_count_files(f->hang_dir);
    if (cfg->dict_path && fz_dict_load(&f->dict, cfg->dict_path, err, sizeof err) < 0) {
        hv_error("fuzz: %s", err);
        goto fail;
    }
    fz_rng_seed(&f->rng, cfg->seed ? cfg->seed : (uint64_t)time(NULL) ^ (uint64_t)getpid());
    f->cur = malloc(FZ_MAX_INPUT);
    f->ram = malloc(vm->mem_bytes);
    if (!f->cur || !f->ram) {
        hv_error("fuzz: cannot allocate %llu MiB for the snapshot",
                 (unsigned long long)(vm->mem_bytes >> 20));
        goto fail;
    }
    f->tty = isatty(STDERR_FILENO);
    f->started = f->last_status = f->last_stats = now_s();
    vm->fuzzer = f;
    return 0;
fail:
    fz_queue_free(&f->queue);
    fz_dict_free(&f->dict);
    free(f->cur);
    free(f->ram);
    free(f);
    return -1;
}

void fuzzer_destroy(struct vm *vm)
{
    struct fuzzer *f = vm->fuzzer;
    if (!f)
        return;
    fz_queue_free(&f->queue);
    fz_queue_free(&f->pending);
    fz_dict_free(&f->dict);
    free(f->seen);
    free(f->trace);
    free(f->crash_seen);
    free(f->hang_seen);
    free(f->cur);
    free(f->ram);
    free(f);
    vm->fuzzer = NULL;
}

/* ---- hypercalls (vCPU threads) -------------------------------------------------------- */

struct buffer_pages {
    struct guest_buffer *b;
    unsigned max_pages;
};

static int add_buffer_page(struct vcpu *v, uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    (void)v, (void)n, (void)off;
    struct buffer_pages *bp = ctx;
    if (bp->b->npages == bp->max_pages)
        return -1;
    bp->b->gpa[bp->b->npages++] = gpa & ~4095ull;
    return 0;
}

static int translate_buffer(struct vcpu *v, uint64_t gva, uint64_t len, unsigned max_pages,
                            struct guest_buffer *b)
{
    b->gva = gva;
    b->len = len;
    b->npages = 0;
    struct buffer_pages bp = { b, max_pages };
    return vcpu_for_each_chunk(v, gva, len, add_buffer_page, &bp);
}

/* Start a rendezvous: every vCPU parks at its next park point (the caller's own
 * thread right after this exit). Caller holds f->lock. */
static void begin_rendezvous_locked(struct fuzzer *f)
{
    f->parked = 0;
    __atomic_add_fetch(&f->park_gen, 1, __ATOMIC_SEQ_CST);
}

/* Post a request for the main thread. */
static void post_request(struct fuzzer *f, enum request req, int status, const char *why)
{
    pthread_mutex_lock(&f->lock);
    if (f->request == REQ_NONE && !vm_is_stopping(f->vm)) { /* the first end counts */
        f->request = req;
        f->end_status = status;
        snprintf(f->end_why, sizeof f->end_why, "%s", why ? why : "");
        begin_rendezvous_locked(f);
        pthread_cond_broadcast(&f->cond);
    }
    pthread_mutex_unlock(&f->lock);
}

int32_t fuzzer_hc_start(struct vcpu *v, uint64_t buf, uint64_t max_len, uint64_t map,
                        uint64_t map_size)
{
    struct fuzzer *f = v->vm->fuzzer;
    if (max_len == 0 || max_len > FZ_MAX_INPUT || buf + max_len < buf ||
        map_size > FZ_MAP_MAX || map + map_size < map)
        return -SYMHV_EINVAL;
    /* One snapshot per run, claimed by the first call: every size below comes from
     * this one call (two vCPUs racing here once mixed one's map with the other's
     * buffer sizes). */
    pthread_mutex_lock(&f->lock);
    if (f->start_claimed) {
        pthread_mutex_unlock(&f->lock);
        return -SYMHV_EBUSY;
    }
    f->start_claimed = true;
    pthread_mutex_unlock(&f->lock);
    size_t alloc = map_size ? map_size : 1;
    int32_t err = -SYMHV_EFAULT;
    if (translate_buffer(v, buf, max_len, MAX_BUF_PAGES, &f->input) < 0 ||
        (map_size && translate_buffer(v, map, map_size, MAX_MAP_PAGES, &f->map) < 0))
        goto refuse;
    if (!map_size)
        f->map = (struct guest_buffer){ 0 };
    f->seen = calloc(1, alloc);
    f->trace = calloc(1, alloc);
    f->crash_seen = calloc(1, alloc);
    f->hang_seen = calloc(1, alloc);
    err = -SYMHV_EINVAL; /* out of host memory for the maps */
    if (!f->seen || !f->trace || !f->crash_seen || !f->hang_seen)
        goto refuse;
    f->start_vcpu = v->index;
    post_request(f, REQ_SNAPSHOT, 0, NULL);
    return 0; /* replaced by the first input's length when the vCPU is released */
refuse:
    free(f->seen), free(f->trace), free(f->crash_seen), free(f->hang_seen);
    f->seen = f->trace = f->crash_seen = f->hang_seen = NULL;
    f->input = f->map = (struct guest_buffer){ 0 };
    pthread_mutex_lock(&f->lock);
    f->start_claimed = false; /* a later call with good arguments may still start */
    pthread_mutex_unlock(&f->lock);
    return err;
}

void fuzzer_end_execution(struct vcpu *v, int status, const char *why)
{
    struct fuzzer *f = v->vm->fuzzer;
    if (!f->have_snapshot) { /* before the snapshot there is nothing to go back to */
        hv_error("vCPU %u: the target ended (status %d%s%s) before symhv_fuzz_start",
                 v->index, status, why ? ": " : "", why ? why : "");
        vm_request_stop(v->vm, status ? HV_EXIT_GUEST_CRASH : 0);
        return;
    }
    post_request(f, REQ_END, status, why);
}

void fuzzer_note_host_write(struct vm *vm)
{
    __atomic_store_n(&vm->fuzzer->host_wrote, true, __ATOMIC_RELEASE);
}

/* ---- rendezvous ----------------------------------------------------------------------- */

/* Wait on f->cond (f->lock held) for at most ms milliseconds. */
static void wait_ms(struct fuzzer *f, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000 * 1000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

bool fuzzer_park_requested(struct vcpu *v)
{
    struct fuzzer *f = v->vm->fuzzer;
    return __atomic_load_n(&f->park_gen, __ATOMIC_SEQ_CST) != f->seen_gen[v->index];
}

void fuzzer_park_point(struct vcpu *v)
{
    struct fuzzer *f = v->vm->fuzzer;
    uint64_t gen = __atomic_load_n(&f->park_gen, __ATOMIC_SEQ_CST);
    if (gen == f->seen_gen[v->index])
        return;
    /* e.g. the hypercall that ended the execution: the saved or replaced state must
     * be whole */
    vcpu_complete_pending_exit(v);
    pthread_mutex_lock(&f->lock);
    f->parked++;
    pthread_cond_broadcast(&f->cond);
    while (f->release_gen < gen && !vm_is_stopping(v->vm))
        pthread_cond_wait(&f->cond, &f->lock);
    f->seen_gen[v->index] = gen;
    pthread_mutex_unlock(&f->lock);
}

/* Main thread: get every vCPU parked (starting the rendezvous unless a vCPU's request
 * did). false if the VM stops meanwhile. */
static bool park_all(struct fuzzer *f, bool started)
{
    struct vm *vm = f->vm;
    pthread_mutex_lock(&f->lock);
    if (!started)
        begin_rendezvous_locked(f);
    pthread_mutex_unlock(&f->lock);
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_kick(&vm->vcpus[i]);
    pthread_mutex_lock(&f->lock);
    for (int rounds = 0; f->parked < vm->ncpus && !vm_is_stopping(vm); rounds++) {
        wait_ms(f, 50);
        if (rounds == 2) /* a vCPU in the sidecar: have it concretised and returned */
            engine_cancel_handoffs(vm);
        if (f->parked < vm->ncpus) /* a kick can land just before KVM_RUN: again */
            for (unsigned i = 0; i < vm->ncpus; i++)
                vcpu_kick(&vm->vcpus[i]);
    }
    bool ok = f->parked == vm->ncpus;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

static void release_all(struct fuzzer *f)
{
    pthread_mutex_lock(&f->lock);
    f->release_gen = __atomic_load_n(&f->park_gen, __ATOMIC_SEQ_CST);
    f->request = REQ_NONE;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* ---- snapshot and restore (every vCPU parked) --------------------------------------- */

static int cpu_ioctl(struct vcpu *v, unsigned long req, void *arg, const char *name)
{
    if (ioctl(v->fd, req, arg) < 0) {
        hv_error_errno("vCPU %u: %s failed", v->index, name);
        return -1;
    }
    return 0;
}

static int save_cpu(struct vcpu *v, struct cpu_snapshot *s)
{
    return cpu_ioctl(v, KVM_GET_REGS, &s->regs, "KVM_GET_REGS") ||
           cpu_ioctl(v, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS") ||
           cpu_ioctl(v, KVM_GET_FPU, &s->fpu, "KVM_GET_FPU") ||
           cpu_ioctl(v, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC") ||
           cpu_ioctl(v, KVM_GET_MP_STATE, &s->mp, "KVM_GET_MP_STATE") ||
           cpu_ioctl(v, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS") ? -1 : 0;
}

static int load_cpu(struct vcpu *v, struct cpu_snapshot *s)
{
    return cpu_ioctl(v, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS") ||
           cpu_ioctl(v, KVM_SET_REGS, &s->regs, "KVM_SET_REGS") ||
           cpu_ioctl(v, KVM_SET_FPU, &s->fpu, "KVM_SET_FPU") ||
           cpu_ioctl(v, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC") ||
           cpu_ioctl(v, KVM_SET_MP_STATE, &s->mp, "KVM_SET_MP_STATE") ||
           cpu_ioctl(v, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS") ? -1 : 0;
}

static int take_snapshot(struct fuzzer *f)
{
    struct vm *vm = f->vm;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (save_cpu(&vm->vcpus[i], &f->cpus[i]) < 0)
            return -1;
    static const unsigned chip_ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
                                          KVM_IRQCHIP_IOAPIC };
    for (int i = 0; i < 3; i++) {
        f->chips[i].chip_id = chip_ids[i];
        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &f->chips[i]) < 0) {
            hv_error_errno("KVM_GET_IRQCHIP (chip %u) failed", chip_ids[i]);
            return -1;
        }
    }
    if (symmem_set_dirty_logging(vm, true) < 0) {
        hv_error("fuzz: KVM cannot log dirty pages here; every restore copies all of RAM");
        f->full_restore_next = true;
    }
    /* after switching the log on: nothing is missed between the copy and the log */
    memcpy(f->ram, vm->mem, vm->mem_bytes);
    symmem_collect_dirty(vm, NULL, NULL); /* start from an empty log */
    f->have_snapshot = true;
    return 0;
}

static void restore_page(void *ctx, uint64_t gpa)
{
    struct fuzzer *f = ctx;
    if (gpa + 4096 <= f->vm->mem_bytes) {
        memcpy(f->vm->mem + gpa, f->ram + gpa, 4096);
        f->restored_pages++;
    }
}

static int restore_state(struct fuzzer *f);

/* Back to the snapshot, timed for the stats. */
static int restore(struct fuzzer *f)
{
    double t0 = now_s();
    int rc = restore_state(f);
    f->restore_seconds += now_s() - t0;
    f->restores++;
    return rc;
}

static int restore_state(struct fuzzer *f)
{
    struct vm *vm = f->vm;
    f->restored_pages = 0;
    if (__atomic_exchange_n(&f->host_wrote, false, __ATOMIC_ACQ_REL))
        f->full_restore_next = true;
    if (f->full_restore_next) {
        symmem_collect_dirty(vm, NULL, NULL);
        memcpy(vm->mem, f->ram, vm->mem_bytes);
        f->restored_pages = vm->mem_bytes / 4096;
        f->full_restore_next = false;
    } else if (symmem_collect_dirty(vm, restore_page, f) < 0) {
        memcpy(vm->mem, f->ram, vm->mem_bytes);
        f->restored_pages = vm->mem_bytes / 4096;
    }
    /* The pages the VMM itself writes every time (KVM does not log those). */
    for (unsigned i = 0; i < f->input.npages; i++)
        restore_page(f, f->input.gpa[i]);
    for (unsigned i = 0; i < f->map.npages; i++)
        restore_page(f, f->map.gpa[i]);
    for (int i = 0; i < 3; i++)
        if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &f->chips[i]) < 0) {
            hv_error_errno("KVM_SET_IRQCHIP (chip %u) failed", f->chips[i].chip_id);
            return -1;
        }
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (load_cpu(&vm->vcpus[i], &f->cpus[i]) < 0)
            return -1;
    return 0;
}

/* Copy between host memory and a translated guest buffer. */
static void buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host,
                        uint64_t len, bool to_guest)
{
    uint8_t *h = host;
    uint64_t done = 0;
    for (unsigned i = 0; i < b->npages && done < len; i++) {
        uint64_t off = i == 0 ? (b->gva & 4095) : 0, n = 4096 - off;
        if (n > len - done)
            n = len - done;
        uint8_t *g = f->vm->mem + b->gpa[i] + off;
        if (to_guest)
            memcpy(g, h + done, n);
        else
            memcpy(h + done, g, n);
        done += n;
    }
}

/* ---- decisions ---------------------------------------------------------------------- */

static const char *origin_name(enum fz_origin o)
{
    return o == FZ_FROM_SEED ? "seed" : o == FZ_FROM_SOLVER ? "solver" : "mutation";
}

static void save_input(struct fuzzer *f, const char *dir, uint64_t id, const char *what)
{
    char name[160];
    snprintf(name, sizeof name, "id:%06llu,%s,src:%s", (unsigned long long)id, what,
             origin_name(f->cur_origin));
    if (fz_write_atomic(dir, name, f->cur, f->cur_len) < 0)
        hv_error_errno("fuzz: cannot write %s/%s", dir, name);
}

static void add_solver_input(void *ctx, const uint8_t *data, size_t len)
{
    struct fuzzer *f = ctx;
    fz_queue_add(&f->pending, data, (uint32_t)(len > FZ_MAX_INPUT ? FZ_MAX_INPUT : len),
                 FZ_FROM_SOLVER);
    f->solver_inputs++;
}

/* Is this crash (or hang) worth a file? With a coverage map: its path adds to what
 * crashing (hanging) executions covered so far, as AFL's "unique" crashes; without one:
 * its description (fault, rip, address) is new. */
static bool unique_outcome(struct fuzzer *f, uint8_t *seen, const char *what)
{
    if (f->map.npages)
        return fz_merge_coverage(seen, f->trace, f->map.len) != 0;
    for (unsigned i = 0; i < f->ncrash_whys; i++)
        if (strcmp(f->crash_whys[i], what) == 0)
            return false;
    if (f->ncrash_whys < sizeof f->crash_whys / sizeof f->crash_whys[0])
        snprintf(f->crash_whys[f->ncrash_whys++], sizeof f->crash_whys[0], "%s", what);
    return true;
}

/* Judge the execution that just ended. */
static void judge(struct fuzzer *f, enum outcome out, int status, const char *why)
{
    f->execs++;
    int news = 0;
    if (f->map.npages) {
        buffer_copy(f, &f->map, f->trace, f->map.len, false);
        fz_classify(f->trace, f->map.len);
    }
    char what[160];
    if (out == OUT_CRASH && why && *why)
        snprintf(what, sizeof what, "%.150s", why);
    else if (out == OUT_CRASH)
        snprintf(what, sizeof what, "exit status %d", status);
    else
        snprintf(what, sizeof what, "hang");
    if (out == OUT_CRASH) {
        f->total_crashes++;
        if (unique_outcome(f, f->crash_seen, what)) {
            f->crashes++;
            save_input(f, f->crash_dir, f->crashes - 1, "crash");
            hv_info("fuzz: crash #%llu (%s) by a %s input after %llu executions",
                    (unsigned long long)f->crashes, what, origin_name(f->cur_origin),
                    (unsigned long long)f->execs);
        }
        if (f->cfg.until_crash)
            f->done = true;
    } else if (out == OUT_HANG) {
        f->total_hangs++;
        if (unique_outcome(f, f->hang_seen, what)) {
            f->hangs++;
            save_input(f, f->hang_dir, f->hangs - 1, "hang");
        }
    } else if (f->map.npages && (news = fz_merge_coverage(f->seen, f->trace, f->map.len)) &&
               f->cur_origin != FZ_FROM_SEED) { /* seeds are queued already */
        struct fz_entry *e = fz_queue_add(&f->queue, f->cur, f->cur_len, f->cur_origin);
        char what[32];
        snprintf(what, sizeof what, "%s", news == 2 ? "+cov" : "+hits");
        save_input(f, f->queue_dir, e->id, what);
        f->execs_at_last_new = f->execs;
        if (f->cur_origin == FZ_FROM_SOLVER)
            f->solver_kept++;
    }
    if (f->map.npages)
        f->edges = fz_count_edges(f->seen, f->map.len);
}

/* The next input is a stored one, as it is. */
static void take_input(struct fuzzer *f, const struct fz_entry *e, enum fz_origin origin)
{
    f->cur_len = e->len;
    memcpy(f->cur, e->data, e->len);
    f->cur_origin = origin;
}

/* Choose and place the next input; may start a concolic execution. */
static void next_input(struct fuzzer *f)
{
    f->cur_concolic = false;
    if (f->seeds_left) { /* each seed once, as it is: the coverage baseline */
        take_input(f, &f->queue.entries[f->queue.n - f->seeds_left--], FZ_FROM_SEED);
    } else if (f->pending.n) { /* solver inputs first, newest last */
        struct fz_entry *e = &f->pending.entries[--f->pending.n];
        take_input(f, e, FZ_FROM_SOLVER);
        free(e->data);
    } else {
        bool due = f->cfg.concolic_every &&
                   (f->execs - f->last_concolic_exec >= f->cfg.concolic_every ||
                    (f->cfg.plateau_execs &&
                     f->execs - f->execs_at_last_new >= f->cfg.plateau_execs &&
                     f->execs - f->last_concolic_exec >= f->cfg.plateau_execs));
        size_t candidate = f->queue.n;
        for (size_t i = 0; due && i < f->queue.n && candidate == f->queue.n; i++) {
            size_t k = (f->next_concolic + i) % f->queue.n;
            if (!f->queue.entries[k].concolic_done)
                candidate = k;
        }
        if (due && candidate < f->queue.n) {
            struct fz_entry *e = &f->queue.entries[candidate];
            e->concolic_done = true;
            f->next_concolic = candidate + 1;
            take_input(f, e, e->origin);
            f->cur_concolic = true;
            f->last_concolic_exec = f->execs;
        } else {
            size_t k = fz_rng_below(&f->rng, f->queue.n);
            f->cur_len = fz_mutate(&f->rng, &f->queue, k, &f->dict, f->cur,
                                   (uint32_t)(f->input.len < FZ_MAX_INPUT ? f->input.len : FZ_MAX_INPUT));
            f->cur_origin = FZ_FROM_MUTATION;
        }
    }
    if (f->cur_len > f->input.len)
        f->cur_len = (uint32_t)f->input.len;
    buffer_copy(f, &f->input, f->cur, f->cur_len, true);
    if (f->map.npages) { /* a fresh map for each execution */
        memset(f->trace, 0, f->map.len);
        buffer_copy(f, &f->map, f->trace, f->map.len, true);
    }
    f->cpus[f->start_vcpu].regs.rax = f->cur_len;
    struct vcpu *v = &f->vm->vcpus[f->start_vcpu];
    if (ioctl(v->fd, KVM_SET_REGS, &f->cpus[f->start_vcpu].regs) < 0)
        hv_error_errno("vCPU %u: setting the input length failed", v->index);
    if (f->cur_concolic) {
        f->concolic_runs++;
        hv_info("fuzz: concolic run %llu on queue entry %zu (%u bytes)",
                (unsigned long long)f->concolic_runs, f->next_concolic - 1, f->cur_len);
        if (engine_make_symbolic(v, f->input.gva, f->cur_len, "input") < 0)
            f->cur_concolic = false;
    }
    f->exec_started = now_s();
}

/* ---- status ------------------------------------------------------------------------- */

static void write_stats(struct fuzzer *f, double t)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "run_time          : %.0f\nexecs_done        : %llu\nexecs_per_sec     : %.1f\n"
                     "corpus_count      : %zu\nsaved_crashes     : %llu\nsaved_hangs       : %llu\n"
                     "total_crashes     : %llu\ntotal_hangs       : %llu\n"
                     "edges_found       : %zu\nconcolic_runs     : %llu\nsolver_inputs     : %llu\n"
                     "solver_inputs_kept: %llu\nlast_restore_pages: %llu\n"
                     "restore_us_avg    : %.1f\nguest_ram_mib     : %llu\n",
                     t - f->started, (unsigned long long)f->execs,
                     (double)f->execs / (t - f->started + 1e-9), f->queue.n,
                     (unsigned long long)f->crashes, (unsigned long long)f->hangs,
                     (unsigned long long)f->total_crashes, (unsigned long long)f->total_hangs,
                     f->edges, (unsigned long long)f->concolic_runs, (unsigned long long)f->solver_inputs,
                     (unsigned long long)f->solver_kept, (unsigned long long)f->restored_pages,
                     f->restores ? f->restore_seconds * 1e6 / (double)f->restores : 0.0,
                     (unsigned long long)(f->vm->mem_bytes >> 20));
    if (fz_write_atomic(f->out_dir, "stats", text, (size_t)n) < 0)
        hv_error_errno("fuzz: cannot write %s/stats", f->out_dir);
}

static void status(struct fuzzer *f, bool final)
{
    double t = now_s();
    if (final || t - f->last_stats >= STATS_PERIOD_S) {
        write_stats(f, t);
        f->last_stats = t;
    }
    if (!final && t - f->last_status < (f->tty ? STATUS_PERIOD_S : STATS_PERIOD_S))
        return;
    f->last_status = t;
    fprintf(stderr, "%ssymhv fuzz: %.0fs, %llu execs (%.0f/s), queue %zu, crashes %llu, "
            "hangs %llu, edges %zu, solver inputs %llu (%llu kept)%s",
            f->tty ? "\r\033[K" : "", t - f->started, (unsigned long long)f->execs,
            (double)f->execs / (t - f->started + 1e-9), f->queue.n,
            (unsigned long long)f->crashes, (unsigned long long)f->hangs, f->edges,
            (unsigned long long)f->solver_inputs, (unsigned long long)f->solver_kept,
            f->tty && !final ? "" : "\n");
}

/* ---- the main loop -------------------------------------------------------------------- */

static bool limits_reached(struct fuzzer *f)
{
    return f->done || (f->cfg.max_execs && f->execs >= f->cfg.max_execs) ||
           (f->cfg.max_seconds && now_s() - f->started >= f->cfg.max_seconds);
}

/* Every vCPU is parked: judge, restore, go again. false: stop fuzzing. */
static bool between_executions(struct fuzzer *f, enum request req, enum outcome out,
                               int status, const char *why)
{
    struct vm *vm = f->vm;
    if (req == REQ_SNAPSHOT) {
        if (take_snapshot(f) < 0)
            return false;
        hv_info("fuzz: snapshot taken on vCPU %u (%u vCPUs, input up to %llu bytes, "
                "coverage map %llu bytes); %zu seeds", f->start_vcpu, vm->ncpus,
                (unsigned long long)f->input.len, (unsigned long long)f->map.len, f->queue.n);
        console_mute(&vm->console, true); /* the target's output would flood the log */
        f->seeds_left = f->queue.n;
    } else {
        judge(f, out, status, why);
        if (f->cur_concolic) {
            int found = engine_concolic_collect(vm, add_solver_input, f);
            hv_info("fuzz: concolic run gave %d new inputs", found);
            f->full_restore_next = true; /* the sidecar wrote RAM, memslots changed */
        }
        if (restore(f) < 0)
            return false;
    }
    next_input(f);
    return true;
}

void fuzzer_main_loop(struct vm *vm)
{
    struct fuzzer *f = vm->fuzzer;
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    while (!vm_is_stopping(vm)) {
        struct timespec zero = { 0, 0 };
        int sig = sigtimedwait(&stop_signals, NULL, &zero);
        if (sig == SIGINT || sig == SIGTERM) {
            hv_info("fuzz: %s: stopping; everything found is in %s", strsignal(sig), f->out_dir);
            break;
        }
        pthread_mutex_lock(&f->lock);
        if (f->request == REQ_NONE)
            wait_ms(f, 10);
        enum request req = f->request;
        int st = f->end_status;
        char why[256];
        snprintf(why, sizeof why, "%s", f->end_why);
        pthread_mutex_unlock(&f->lock);

        enum outcome out = OUT_OK;
        bool started = req != REQ_NONE;
        if (req == REQ_NONE && f->have_snapshot) {
            double limit = f->cur_concolic ? f->cfg.concolic_timeout_s : f->cfg.exec_timeout_s;
            if (now_s() - f->exec_started < limit) {
                status(f, false);
                continue;
            }
            req = REQ_END; /* a hang */
            out = OUT_HANG;
        } else if (req == REQ_END) {
            out = st ? OUT_CRASH : OUT_OK;
        } else if (req == REQ_NONE) {
            continue; /* the target has not reached symhv_fuzz_start yet */
        }
        if (!park_all(f, started))
            break;
        if (!between_executions(f, req, out, st, why)) {
            vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
            release_all(f);
            break;
        }
        status(f, false);
        if (limits_reached(f)) {
            release_all(f);
            break;
        }
        release_all(f);
    }
    if (f->have_snapshot) {
        console_mute(&vm->console, false);
        status(f, true);
    } else if (vm_is_stopping(vm) && vm->exit_status < HV_EXIT_TIMEOUT) {
        hv_error("fuzz: the target ended without calling symhv_fuzz_start: nothing to fuzz "
                 "(build it with scripts/symhv-build-fuzzer, see README)");
        vm->exit_status = HV_EXIT_SETUP_ERROR;
    }
    /* Stop first, then wake every parked vCPU: each sees the stop and leaves. */
    vm_request_stop(vm, 0);
    pthread_mutex_lock(&f->lock);
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}
