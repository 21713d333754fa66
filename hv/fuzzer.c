#include "fuzzer.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "dump.h"
#include "engine.h"
#include "campaign.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "log.h"
#include "snapshot.h"
#include "symhv/sidecar.h" /* SC_FLIP_*: what a solver input flips */
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_BUF_PAGES (FZ_MAX_INPUT / SYMHV_PAGE_SIZE + 2)
#define MAX_MAP_PAGES (FZ_MAP_MAX / SYMHV_PAGE_SIZE + 2)
#define STATUS_PERIOD_S 1.0
#define STATS_PERIOD_S 5.0
#define REQUEST_WAIT_MS 10
/* A buffer a program gave symhv_make_symbolic before the snapshot was taken: its bytes
 * are written (and, in a concolic run, marked) again after every restore. */
#define MAX_SNAP_INPUTS 8
struct snap_input {
    struct guest_as as;        /* the caller's address space (caller NULL: the main thread's) */
    uint64_t gva;
    uint32_t len;
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
    char why[256];
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
    bool limit_noted, ended_before_start, end_in_window_noted;
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
    struct snapshot *snap;
    struct phases phases;
    /* the current concolic run: bytes marked symbolic (the cap then: the solver may make
     * the input longer), and whether the length word is symbolic too */
    uint32_t cur_marked;
    bool cur_length_symbolic;
    struct engine_search search; /* the concolic runs' search */
    double exec_started, last_status, last_stats;
    bool tty;
};

/* ---- setup ---------------------------------------------------------------------------- */

static void fuzz_end_policy(struct vcpu *v, const struct guest_end *e, void *opaque);
static int64_t hc_fuzz_start(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_end(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_cmplog(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_length(struct hc_call *c, void *opaque);
static void buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host, uint64_t len,
                        bool to_guest);
static int64_t hc_fuzz_make_symbolic(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_report_bug(struct hc_call *c, void *opaque);

struct fuzzer *fuzzer_attach(struct vm *vm, struct hypercalls *hc, struct engine *engine,
                             struct console *console, const struct fuzz_config *cfg)
{
    struct fuzzer *f = calloc(1, sizeof *f);
    if (!f) {
        hv_error("fuzz: out of memory");
        return NULL;
    }
    f->vm = vm;
    f->engine = engine;
    f->console = console;
    f->c.lock_fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    if (fz_campaign_open(&f->c, cfg) < 0) {
        fuzzer_detach(f);
        return NULL;
    }
    f->tty = isatty(STDERR_FILENO);
    f->last_status = f->last_stats = now_s();
    hypercall_register(hc, SYMHV_HC_FUZZ_START, hc_fuzz_start, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_END, hc_fuzz_end, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_CMPLOG, hc_fuzz_cmplog, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_LENGTH, hc_fuzz_length, f);
    hypercall_register(hc, SYMHV_HC_MAKE_SYMBOLIC, hc_fuzz_make_symbolic, f);
    hypercall_register(hc, SYMHV_HC_REPORT_BUG, hc_fuzz_report_bug, f);
    vm_set_end_policy(vm, fuzz_end_policy, f);
    return f;
}

void fuzzer_detach(struct fuzzer *f)
{
    if (!f)
        return;
    if (f->vm->end_opaque == f)
        vm_set_end_policy(f->vm, NULL, NULL);
    snapshot_free(f->snap);
    free(f->cmplog_copy);
    fz_campaign_close(&f->c);
    free(f);
}

/* ---- from the vCPU threads ------------------------------------------------------------ */

struct buffer_pages {
    struct guest_buffer *b;
    unsigned max_pages;
};

static int add_buffer_page(uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    (void)n, (void)off;
    struct buffer_pages *bp = ctx;
    if (bp->b->npages == bp->max_pages)
        return -1;
    bp->b->gpa[bp->b->npages++] = page_floor(gpa);
    return 0;
}

static int translate_buffer(const struct guest_as *as, uint64_t gva, uint64_t len,
                            unsigned max_pages, struct guest_buffer *b)
{
    b->gva = gva;
    b->len = len;
    b->npages = 0;
    struct buffer_pages bp = { b, max_pages };
    return guest_for_each_chunk(as, gva, len, true, add_buffer_page, &bp);
}

/* Post a request for the main thread and settle the VM: this vCPU parks as soon as it
 * leaves this exit, the others are kicked out. The first request counts; the main
 * thread owns the settle from here. */
static void post_request(struct fuzzer *f, enum request req, enum fz_outcome out, int status,
                         int signal, const char *why)
{
    pthread_mutex_lock(&f->lock);
    if (f->end.request == REQ_NONE && !vm_is_stopping(f->vm)) {
        f->end.request = req;
        f->end.outcome = out;
        f->end.status = status;
        f->end.signal = signal;
        f->end.t_posted = now_s();
        snprintf(f->end.why, sizeof f->end.why, "%s", why ? why : "");
        vm_begin_settle(f->vm);
        pthread_cond_broadcast(&f->cond);
    }
    pthread_mutex_unlock(&f->lock);
}

static int64_t hc_fuzz_start(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t buf = c->arg[0], max_len = c->arg[1], map = c->arg[2], map_size = c->arg[3];
    if (max_len == 0 || max_len > FZ_MAX_INPUT || buf + max_len < buf ||
        map_size > FZ_MAP_MAX || map + map_size < map)
        return -SYMHV_EINVAL;
    /* One snapshot per run, claimed by the first call: every size below comes from
     * this one call (two vCPUs racing here once mixed one's map with the other's
     * buffer sizes: a heap overflow in the VMM). */
    pthread_mutex_lock(&f->lock);
    if (f->claims.start) {
        pthread_mutex_unlock(&f->lock);
        return -SYMHV_EBUSY;
    }
    f->claims.start = true;
    pthread_mutex_unlock(&f->lock);
    int64_t err = -SYMHV_EFAULT;
    if (translate_buffer(&c->as, buf, max_len, MAX_BUF_PAGES, &f->input) < 0 ||
        (map_size && translate_buffer(&c->as, map, map_size, MAX_MAP_PAGES, &f->map) < 0))
        goto refuse;
    if (!map_size)
        f->map = (struct guest_buffer){ 0 };
    err = -SYMHV_EINVAL; /* out of host memory for the maps */
    if (fz_campaign_set_map(&f->c, map_size) < 0)
        goto refuse;
    f->c.input_cap = (uint32_t)max_len;
    f->claims.start_vcpu = c->v->index;
    post_request(f, REQ_SNAPSHOT, FZ_OK, 0, 0, NULL);
    return 0; /* replaced by the first input's length when the vCPU is released */
refuse:
    f->input = f->map = (struct guest_buffer){ 0 };
    pthread_mutex_lock(&f->lock);
    f->claims.start = false; /* a later call with good arguments may still start */
    pthread_mutex_unlock(&f->lock);
    return err;
}

/* symhv_make_symbolic under fuzz/explore: the program's buffers are the input (see
 * by_make_symbolic). Returns the input's id, as outside a campaign. */
static int64_t hc_fuzz_make_symbolic(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    char name[SYMHV_INPUT_NAME_MAX + 1];
    uint64_t buf, len;
    int64_t bad = engine_make_symbolic_args(c, &buf, &len, name);
    if (bad < 0)
        return bad;
    if (guest_for_each_chunk(&c->as, buf, len, true, NULL, NULL) < 0)
        return -SYMHV_EFAULT; /* the campaign writes every buffer: it must be writable */
    pthread_mutex_lock(&f->lock);
    if (f->claims.start && !f->claims.by_make_symbolic) {
        pthread_mutex_unlock(&f->lock);
        return -SYMHV_EINVAL; /* a fuzz target's input is symhv_fuzz_start's buffer */
    }
    if (!atomic_load(&f->have_snapshot)) {
        /* Before the snapshot (the first call, or another vCPU's while the VM settles
         * for it): a buffer the snapshot holds. */
        if (f->claims.nsnap_inputs == MAX_SNAP_INPUTS) {
            pthread_mutex_unlock(&f->lock);
            return -SYMHV_EBUSY;
        }
        bool first = !f->claims.start;
        unsigned id = f->claims.nsnap_inputs++;
        struct snap_input *si = &f->claims.snap_inputs[id];
        si->as = c->as;
        si->as.caller = NULL; /* used from the main thread from now on */
        si->gva = buf;
        si->len = (uint32_t)len;
        snprintf(si->name, sizeof si->name, "%s", name);
        f->claims.start = f->claims.by_make_symbolic = true;
        if (first)
            f->claims.start_vcpu = c->v->index;
        pthread_mutex_unlock(&f->lock);
        if (first) {
            if (fz_campaign_set_map(&f->c, 0) < 0) {
                hv_error("fuzz: out of memory");
                vm_request_stop(f->vm, HV_EXIT_SETUP_ERROR);
                return -SYMHV_EINVAL;
            }
            post_request(f, REQ_SNAPSHOT, FZ_OK, 0, 0, NULL);
        }
        return id;
    }
    /* During an execution: the next bytes of the input, in call order. */
    uint64_t off = f->claims.offset;
    unsigned id = f->claims.calls;
    bool inside = id < MAX_INPUT_BUFFERS && off + len <= FZ_MAX_INPUT;
    if (inside) {
        f->claims.offset += len;
        f->claims.calls++;
    }
    bool note = !inside && !f->claims.limit_noted;
    f->claims.limit_noted |= note;
    pthread_mutex_unlock(&f->lock);
    if (!inside) {
        if (note)
            hv_error("fuzz: the program's symbolic buffers pass %d buffers or %u bytes: "
                     "the later ones stay concrete and are not part of the input",
                     MAX_INPUT_BUFFERS, FZ_MAX_INPUT);
        return id;
    }
    if (off < f->c.cur.len) { /* f->c.cur.data is the main thread's only between executions */
        uint64_t n = f->c.cur.len - off < len ? f->c.cur.len - off : len;
        if (guest_write(&c->as, buf, f->c.cur.data + off, n) < 0)
            return -SYMHV_EFAULT;
    }
    if (f->c.cur.concolic && engine_make_symbolic(f->engine, c->v, &c->as, buf, len, name) < 0)
        hv_error("fuzz: the input '%s' stays concrete in this concolic run", name);
    return id;
}

/* A registration that comes before symhv_fuzz_start, once (*claimed under f->lock):
 * true if this call is it. */
static bool claim_before_start(struct fuzzer *f, bool *claimed)
{
    pthread_mutex_lock(&f->lock);
    bool refuse = f->claims.start || *claimed;
    *claimed = true;
    pthread_mutex_unlock(&f->lock);
    return !refuse;
}

/* A refused registration gives its claim back: a later, valid call may still make it. */
static int64_t unclaim(struct fuzzer *f, bool *claimed, int64_t err)
{
    pthread_mutex_lock(&f->lock);
    *claimed = false;
    pthread_mutex_unlock(&f->lock);
    return err;
}

/* symhv_fuzz_cmplog: before symhv_fuzz_start, once. */
static int64_t hc_fuzz_cmplog(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t buf = c->arg[0], size = c->arg[1];
    if (size != FZ_CMPLOG_SIZE || buf + size < buf || f->c.cfg.no_cmplog)
        return -SYMHV_EINVAL;
    if (!claim_before_start(f, &f->claims.cmplog))
        return -SYMHV_EBUSY;
    if (translate_buffer(&c->as, buf, size, MAX_BUF_PAGES, &f->cmplog) < 0) {
        f->cmplog = (struct guest_buffer){ 0 };
        return unclaim(f, &f->claims.cmplog, -SYMHV_EFAULT);
    }
    if (!f->cmplog_copy)
        f->cmplog_copy = malloc(FZ_CMPLOG_SIZE);
    if (!f->cmplog_copy)
        return unclaim(f, &f->claims.cmplog, -SYMHV_EINVAL);
    f->cmplog_ready = true; /* read by the main thread after the snapshot's settle */
    return 0;
}

/* symhv_fuzz_length: before symhv_fuzz_start, once. */
static int64_t hc_fuzz_length(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t word = c->arg[0];
    if (word + sizeof(struct symhv_fuzz_length) < word)
        return -SYMHV_EINVAL;
    if (!claim_before_start(f, &f->claims.length))
        return -SYMHV_EBUSY;
    if (translate_buffer(&c->as, word, sizeof(struct symhv_fuzz_length), 2, &f->length_word) < 0) {
        f->length_word = (struct guest_buffer){ 0 };
        return unclaim(f, &f->claims.length, -SYMHV_EFAULT);
    }
    return 0; /* read by the main thread after the snapshot's settle */
}

/* After an execution that gave the queue a new entry (or ran a seed): the values its
 * comparisons wanted, put into it. */
static void input_to_state(struct fuzzer *f)
{
    buffer_copy(f, &f->cmplog, f->cmplog_copy, FZ_CMPLOG_SIZE, false);
    uint32_t count;
    memcpy(&count, f->cmplog_copy, sizeof count);
    if (count > FZ_CMPLOG_ENTRIES)
        count = FZ_CMPLOG_ENTRIES; /* the guest's word: bounded here */
    fz_campaign_compare_log(&f->c, (const struct fz_compare *)(f->cmplog_copy + 8), count);
}

static void end_execution(struct fuzzer *f, struct vcpu *v, const struct guest_end *e)
{
    if (!atomic_load(&f->have_snapshot)) {
        /* Another vCPU's call claimed the snapshot and the VM is settling for it: a
         * thread that exits in that window ends no execution (there is none yet) and
         * must not end the campaign; the snapshot holds it as it is then. */
        pthread_mutex_lock(&f->lock);
        bool in_window = f->claims.start && e->kind == GUEST_EXIT;
        bool say = in_window && !f->claims.end_in_window_noted;
        f->claims.end_in_window_noted |= say;
        f->claims.ended_before_start |= !in_window;
        pthread_mutex_unlock(&f->lock);
        if (say)
            hv_error("fuzz: vCPU %u's thread ended (%s) while the snapshot was being taken: "
                     "it is not part of any execution", v->index,
                     e->why ? e->why : "exit");
        if (!in_window) /* nothing to go back to: the run ends */
            end_plain_run(v, e, NULL);
        return;
    }
    char why[160];
    enum fz_outcome out = e->kind == GUEST_SYMHV_FAILED                 ? FZ_FAILED
                       : e->kind == GUEST_CRASH || e->status != 0 ? FZ_CRASH
                                                                  : FZ_OK;
    if (e->kind != GUEST_EXIT)
        snprintf(why, sizeof why, "%.150s", e->why ? e->why : "crash");
    else
        snprintf(why, sizeof why, "exit status %d", e->status);
    post_request(f, REQ_END, out, e->status, e->kind == GUEST_CRASH ? e->signal : 0, why);
}

/* Every way the guest ends is the end of one execution. */
static void fuzz_end_policy(struct vcpu *v, const struct guest_end *e, void *opaque)
{
    end_execution(opaque, v, e);
}

static int64_t hc_fuzz_end(struct hc_call *c, void *opaque)
{
    unsigned status = (uint32_t)c->arg[0];
    struct guest_end e = { .kind = GUEST_EXIT, .status = (int)status };
    end_execution(opaque, c->v, &e);
    return 0;
}

/* symhv_report_bug during a campaign: the execution goes on (as outside one) and, unless
 * it crashes, ends as a finding of its own (FZ_BUG). The first report counts. */
static int64_t hc_fuzz_report_bug(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    char msg[HC_MESSAGE_MAX];
    if (hc_read_string(c, c->arg[0], msg, sizeof msg) < 0)
        return -SYMHV_EFAULT;
    pthread_mutex_lock(&f->lock);
    if (!f->end.bug_reported && atomic_load(&f->have_snapshot)) {
        f->end.bug_reported = true;
        snprintf(f->end.bug_message, sizeof f->end.bug_message, "%s", msg);
    }
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* ---- the settled VM: snapshot, restore, inputs ---------------------------------------- */

static int restore(struct fuzzer *f)
{
    double t0 = now_s();
    int rc = snapshot_restore(f->snap, f->vm, &f->phases.restored_pages);
    f->phases.restore += now_s() - t0;
    f->phases.restores++;
    return rc;
}

/* Copy between host memory and a translated guest buffer (writes are the VMM's). */
static void buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host,
                        uint64_t len, bool to_guest)
{
    uint8_t *h = host;
    uint64_t done = 0;
    for (unsigned i = 0; i < b->npages && done < len; i++) {
        uint64_t off = i == 0 ? page_offset(b->gva) : 0, n = SYMHV_PAGE_SIZE - off;
        if (n > len - done)
            n = len - done;
        if (to_guest)
            guest_write_phys(f->vm, NULL, b->gpa[i] + off, h + done, n);
        else
            memcpy(h + done, f->vm->mem.ram + b->gpa[i] + off, n);
        done += n;
    }
}

/* ---- decisions ---------------------------------------------------------------------- */

static void add_solver_input(void *ctx, const uint8_t *data, size_t len,
                             const struct engine_result *why)
{
    struct fuzzer *f = ctx;
    if (f->cur_marked > f->c.cur.len || f->cur_length_symbolic) {
        /* the marked bytes, then the length word: the input is as long as the word says */
        uint32_t n = f->c.cur.len;
        if (f->cur_length_symbolic && len >= (size_t)f->cur_marked + sizeof n)
            memcpy(&n, data + f->cur_marked, sizeof n);
        len = n < f->cur_marked ? n : f->cur_marked;
    }
    fz_campaign_add_solver_input(&f->c, data, len,
                                 why->kind != SC_FLIP_BRANCH && why->kind != SC_FLIP_SELECT);
}

/* How much longer than its input a concolic run may make one: the solver tends to pick
 * the longest length a path allows, and every byte more is a loop iteration more in the
 * next run's formulas (a 4 KiB step took a TLV parser's search 1000 queries a run). */
#define CONCOLIC_GROWTH 64

static void write_length(struct fuzzer *f, uint32_t limit)
{
    struct symhv_fuzz_length l = { f->c.cur.len, limit };
    buffer_copy(f, &f->length_word, &l, sizeof l, true);
}

/* A fuzz target's input into its buffer; in a concolic run symbolic, and with a length
 * word the word and the buffer's next bytes (zero) too, so a flip may ask for a longer
 * input. */
static void place_target_input(struct fuzzer *f)
{
    uint32_t marked = f->c.cur.len;
    uint8_t *padded = NULL;
    if (f->c.cur.concolic && f->length_word.npages) {
        marked = f->c.input_cap - f->c.cur.len > CONCOLIC_GROWTH ? f->c.cur.len + CONCOLIC_GROWTH
                                                             : f->c.input_cap;
        if ((padded = calloc(1, marked)))
            memcpy(padded, f->c.cur.data, f->c.cur.len);
        else
            marked = f->c.cur.len;
    }
    buffer_copy(f, &f->input, padded ? padded : f->c.cur.data, marked, true);
    free(padded);
    if (f->length_word.npages)
        write_length(f, f->c.cur.concolic ? marked : f->c.input_cap);
    if (!f->c.cur.concolic)
        return;
    struct guest_as as;
    guest_as_from_sregs(&as, f->vm, snapshot_sregs(f->snap, f->claims.start_vcpu), false);
    if (engine_make_symbolic(f->engine, NULL, &as, f->input.gva, marked, "input") < 0) {
        f->c.cur.concolic = false;
        return;
    }
    f->cur_marked = marked;
    f->cur_length_symbolic =
        f->length_word.npages && engine_make_symbolic(f->engine, NULL, &as, f->length_word.gva,
                                                      sizeof(uint32_t), "input_len") >= 0;
}

/* symhv_make_symbolic's campaign: the input's first bytes into the buffers the snapshot
 * holds (marked symbolic in a concolic run); the program's later calls take the rest. */
static void place_snap_inputs(struct fuzzer *f)
{
    uint64_t off = 0;
    for (unsigned i = 0; i < f->claims.nsnap_inputs; i++) {
        struct snap_input *si = &f->claims.snap_inputs[i];
        if (off < f->c.cur.len) {
            uint64_t n = f->c.cur.len - off < si->len ? f->c.cur.len - off : si->len;
            if (guest_write(&si->as, si->gva, f->c.cur.data + off, n) < 0)
                hv_error("fuzz: cannot write the input into the buffer '%s'", si->name);
        }
        if (f->c.cur.concolic &&
            engine_make_symbolic(f->engine, NULL, &si->as, si->gva, si->len, si->name) < 0)
            hv_error("fuzz: the input '%s' stays concrete in this concolic run", si->name);
        off += si->len;
    }
    pthread_mutex_lock(&f->lock); /* the program's later calls read these */
    f->claims.offset = off;
    f->claims.calls = f->claims.nsnap_inputs;
    pthread_mutex_unlock(&f->lock);
}

/* Choose and place the next input; may start a concolic execution. */
/* The campaign's next input, placed into the guest; may start a concolic execution. */
static void next_input(struct fuzzer *f)
{
    pthread_mutex_lock(&f->lock); /* a new execution: no bug reported in it yet */
    f->end.bug_reported = false;
    pthread_mutex_unlock(&f->lock);
    f->cur_marked = 0;
    f->cur_length_symbolic = false;
    if (!fz_campaign_next(&f->c))
        return;
    struct kvm_regs *regs = snapshot_regs(f->snap, f->claims.start_vcpu);
    if (f->claims.by_make_symbolic) {
        place_snap_inputs(f);
        regs->rax = 0; /* the first symhv_make_symbolic's input id */
    } else {
        place_target_input(f);
        regs->rax = f->c.cur.len; /* the input's length is what symhv_fuzz_start returns */
    }
    struct vcpu *v = &f->vm->vcpus[f->claims.start_vcpu];
    if (vcpu_set_regs(v, regs) == 0)
        vcpu_state_replaced(v);
    f->exec_started = now_s();
}

/* ---- status ------------------------------------------------------------------------- */

static double per_exec_us(const struct phases *p, double sum)
{
    return p->samples ? sum * 1e6 / (double)p->samples : 0.0;
}

static void status(struct fuzzer *f, bool final)
{
    double t = now_s();
    if (fz_mode_is_tool(f->c.cfg.mode))
        return; /* the tools write their result at the end, nothing else */
    const struct phases *p = &f->phases;
    struct fz_vm_figures vm = {
        .restored_pages = p->restored_pages,
        .restore_us = p->restores ? p->restore * 1e6 / (double)p->restores : 0.0,
        .exec_us = per_exec_us(p, p->exec), .settle_us = per_exec_us(p, p->settle),
        .judge_us = per_exec_us(p, p->judge), .next_us = per_exec_us(p, p->next),
        .guest_ram_mib = f->vm->mem.bytes >> 20,
        .queries = f->search.queries, .cache_hits = f->search.cache_hits,
        .flips_pruned = f->search.flips_pruned, .solver_seconds = f->search.solver_seconds,
        .concolic_for_s = f->c.cur.concolic ? t - f->exec_started : 0,
    };
    if (final || t - f->last_stats >= STATS_PERIOD_S) {
        fz_campaign_write_stats(&f->c, &vm);
        f->last_stats = t;
    }
    if (!final && t - f->last_status < (f->tty ? STATUS_PERIOD_S : STATS_PERIOD_S))
        return;
    f->last_status = t;
    fz_campaign_status_line(&f->c, &vm, f->tty, final);
}

/* ---- the main thread ------------------------------------------------------------------ */


/* The VM is settled: take the snapshot, or judge the execution and go back to it. */
static bool between_executions(struct fuzzer *f, enum request req, enum fz_outcome out,
                               int status, const char *why)
{
    struct vm *vm = f->vm;
    if (req == REQ_SNAPSHOT) {
        /* The snapshot holds an empty coverage map: every execution starts from it, and
         * the restore empties the map pages the execution dirtied (no map write per
         * execution, which also made 16 more pages to restore each time). */
        if (f->map.npages) {
            memset(f->c.trace, 0, f->map.len);
            buffer_copy(f, &f->map, f->c.trace, f->map.len, true);
        }
        if (f->c.cfg.mode == FUZZ_CMIN && (!f->map.npages || fz_cmin_init(&f->c.cmin, f->map.len) < 0)) {
            hv_error("cmin: the target hands symhv_fuzz_start no coverage map (build it with "
                     "scripts/symhv-build-fuzzer)");
            return false;
        }
        f->snap = snapshot_take(vm);
        if (!f->snap)
            return false;
        pthread_mutex_lock(&f->lock); /* no vCPU runs: no call adds a buffer now */
        if (f->claims.by_make_symbolic) {
            uint64_t cap = 0;
            for (unsigned i = 0; i < f->claims.nsnap_inputs; i++)
                cap += f->claims.snap_inputs[i].len;
            /* several buffers (two vCPUs' 1 MiB each) may add up past what one input
             * holds: the bytes past FZ_MAX_INPUT stay as the snapshot has them */
            if (cap > FZ_MAX_INPUT)
                hv_error("fuzz: the program's %u symbolic buffers hold %llu bytes, more than "
                         "one input's %u: the bytes past it stay concrete", f->claims.nsnap_inputs,
                         (unsigned long long)cap, FZ_MAX_INPUT);
            f->c.input_cap = cap > FZ_MAX_INPUT ? FZ_MAX_INPUT : (uint32_t)cap;
        }
        atomic_store(&f->have_snapshot, true);
        pthread_mutex_unlock(&f->lock);
        if (f->claims.by_make_symbolic)
            hv_info("fuzz: snapshot taken on vCPU %u at symhv_make_symbolic (%u vCPUs, %u "
                    "buffers, %u bytes so far: the input is every buffer's bytes in call "
                    "order); %zu seeds", f->claims.start_vcpu, vm->ncpus, f->claims.nsnap_inputs,
                    f->c.input_cap, f->c.queue.n);
        else
            hv_info("fuzz: snapshot taken on vCPU %u (%u vCPUs, input up to %llu bytes, "
                    "coverage map %llu bytes); %zu seeds", f->claims.start_vcpu, vm->ncpus,
                    (unsigned long long)f->input.len, (unsigned long long)f->map.len, f->c.queue.n);
        console_mute(f->console, true); /* the target's output would flood the log */
        f->c.seeds_left = f->c.queue.n;
        size_t longer = 0;
        for (size_t i = 0; i < f->c.queue.n && !f->claims.by_make_symbolic; i++)
            longer += f->c.queue.entries[i].len > f->input.len;
        if (longer)
            hv_error("fuzz: %zu of %zu seeds are longer than the target's input buffer (%llu "
                     "bytes, symhv_fuzz_start's max_len): they run cut to that length",
                     longer, f->c.queue.n, (unsigned long long)f->input.len);
    } else {
        double t0 = now_s();
        if (f->claims.by_make_symbolic) { /* the input reaches as far as the program's buffers */
            pthread_mutex_lock(&f->lock);
            if (f->claims.offset > f->c.input_cap)
                f->c.input_cap = (uint32_t)f->claims.offset;
            pthread_mutex_unlock(&f->lock);
        }
        f->search.new_branch_edges = 0;
        f->search.budget_s = 0;
        if (f->c.cfg.max_seconds) { /* --max-time holds while the solver works, too */
            double left = f->c.cfg.max_seconds - (now_s() - f->c.started);
            f->search.budget_s = left > 0.001 ? left : 0.001;
        }
        if (f->c.cur.concolic) { /* first: its new branch sides are coverage for judge() */
            int found = engine_concolic_collect(f->engine, add_solver_input, f, &f->search);
            hv_info("fuzz: concolic run gave %d new inputs, %llu new branch sides", found,
                    (unsigned long long)f->search.new_branch_edges);
        }
        if (f->map.npages)
            buffer_copy(f, &f->map, f->c.trace, f->map.len, false);
        fz_campaign_judge(&f->c, req == REQ_HANG ? FZ_HANG : out, status, why,
                          f->c.cur.concolic ? f->search.new_branch_edges : 0);
        if (f->cmplog_ready && req != REQ_HANG && fz_campaign_wants_compare_log(&f->c))
            input_to_state(f);
        double t1 = now_s();
        if (restore(f) < 0)
            return false;
        double t2 = now_s();
        next_input(f);
        if (req == REQ_END) { /* the executions phase_samples counts */
            f->phases.judge += t1 - t0;
            f->phases.next += now_s() - t2;
        }
        return true;
    }
    next_input(f);
    return true;
}

bool fuzzer_tick(struct fuzzer *f)
{
    struct vm *vm = f->vm;
    pthread_mutex_lock(&f->lock);
    if (f->end.request == REQ_NONE) {
        struct timespec ts = deadline_after_ms(REQUEST_WAIT_MS);
        pthread_cond_timedwait(&f->cond, &f->lock, &ts);
    }
    if (f->end.request == REQ_NONE && atomic_load(&f->have_snapshot)) {
        double limit = f->c.cur.concolic ? f->c.cfg.concolic_timeout_s : f->c.cfg.exec_timeout_s;
        if (now_s() - f->exec_started >= limit) { /* a hang: settle the VM ourselves */
            f->end.request = REQ_HANG;
            vm_begin_settle(vm);
        }
    }
    enum request req = f->end.request;
    enum fz_outcome out = f->end.outcome;
    int st = f->end.status;
    f->c.cur.signal = f->end.signal;
    char why[256];
    snprintf(why, sizeof why, "%s", f->end.why);
    if (req == REQ_END && out == FZ_OK && f->end.bug_reported) { /* it ran on, then ended fine */
        out = FZ_BUG;
        snprintf(why, sizeof why, "%.240s", f->end.bug_message);
    }
    pthread_mutex_unlock(&f->lock);
    if (f->c.cfg.sync_dir && now_s() - f->c.last_sync >= f->c.cfg.sync_every_s)
        fz_campaign_sync(&f->c);
    if (req == REQ_NONE) {
        if (atomic_load(&f->have_snapshot))
            status(f, false);
        if (f->c.cfg.max_seconds && now_s() - f->c.started >= f->c.cfg.max_seconds) {
            vm_request_stop(vm, 0);
            return false;
        }
        return true;
    }
    double t_posted = f->end.t_posted; /* set before the request we read under the lock */
    if (!vm_wait_settled(vm))
        return false; /* the VM stops */
    double t_settled = now_s();
    if (req == REQ_END && f->phases.released > 0) {
        f->phases.exec += t_posted - f->phases.released;
        f->phases.settle += t_settled - t_posted;
        f->phases.samples++;
    }
    bool go = between_executions(f, req, out, st, why);
    if (!go)
        vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
    pthread_mutex_lock(&f->lock);
    f->end.request = REQ_NONE;
    pthread_mutex_unlock(&f->lock);
    status(f, false);
    bool more = go && !fz_campaign_over(&f->c);
    if (!more)
        vm_request_stop(vm, vm_is_stopping(vm) ? vm->exit_status : 0);
    f->phases.released = now_s();
    vm_resume_settled(vm); /* the stopped vCPUs see the stop and leave */
    return more;
}

int fuzzer_finish(struct fuzzer *f, int vm_status)
{
    if (atomic_load(&f->have_snapshot) && fz_mode_is_tool(f->c.cfg.mode)) {
        console_mute(f->console, false);
        if (vm_status != 0)
            return vm_status;
        return fz_campaign_finish_tool(&f->c) < 0 ? HV_EXIT_SETUP_ERROR : 0;
    }
    if (atomic_load(&f->have_snapshot)) {
        console_mute(f->console, false);
        status(f, true);
        if (vm_status == HV_EXIT_SIGNAL)
            hv_error("fuzz: stopped by a signal; everything found is in %s", f->c.out_dir);
        return vm_status;
    }
    if (f->claims.ended_before_start && vm_status < HV_EXIT_TIMEOUT) {
        hv_error("%s: the target ended before its input was read: a program (after --) must "
                 "open the @@ or --sym-file file or read stdin; a fuzz target must call "
                 "symhv_fuzz_start (scripts/symhv-build-fuzzer); a program of symhv's "
                 "runtime must call symhv_make_symbolic",
                 f->c.cfg.mode == FUZZ_EXPLORE ? "explore" : "fuzz");
        return HV_EXIT_SETUP_ERROR;
    }
    return vm_status;
}
