/* The agent's fuzzing calls, on the vCPU threads, and the fuzzer as the VM's end policy:
 * each posts what the main thread (fuzzer.c) must do under the fuzzer's lock and settles
 * the VM (fuzz_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "fuzz_internal.h"
#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

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
    bool afl_map = map_size & SYMHV_FUZZ_MAP_AFL;
    map_size &= ~SYMHV_FUZZ_MAP_AFL;
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
    f->c.coverage_name = !map_size ? FZ_COVERAGE_SIDES : afl_map ? "afl-map" : "symhv-map";
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
    bool concrete = c->arg[3] & SYMHV_INPUT_CONCRETE; /* written, never marked */
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
        si->concrete = concrete;
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
        if (concrete)
            fz_note_concrete(&f->claims.concrete, off, len);
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
    if (f->c.cur.concolic && !concrete &&
        engine_make_symbolic(f->engine, c->v, &c->as, buf, len, name) < 0)
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

/* An AFL++ CMPLOG build's map (the kernel's, for the -c peer): 64 MiB, more than a
 * buffer translates; read through the snapshot's page tables when it is wanted. */
static int64_t afl_cmp_map(struct fuzzer *f, struct hc_call *c, uint64_t buf)
{
    if (buf + SYMHV_AFL_CMP_MAP_BYTES < buf || f->c.cfg.mode != FUZZ_CMPLOG_PEER)
        return -SYMHV_EINVAL;
    if (!claim_before_start(f, &f->claims.cmplog))
        return -SYMHV_EBUSY;
    if (guest_for_each_chunk(&c->as, buf, SYMHV_AFL_CMP_MAP_BYTES, true, NULL, NULL) < 0)
        return unclaim(f, &f->claims.cmplog, -SYMHV_EFAULT);
    /* the snapshot follows: its map holds no comparison of the program's start-up (as
     * afl-fuzz clears the headers before each CMPLOG run) */
    static const uint8_t zeros[4096];
    for (uint64_t at = 0; at < SYMHV_AFL_CMP_MAP_W * 8ull; at += sizeof zeros)
        if (guest_write(&c->as, buf + at, zeros, sizeof zeros) < 0)
            return unclaim(f, &f->claims.cmplog, -SYMHV_EFAULT);
    f->afl_cmp_map = buf; /* read by the main thread after the snapshot's settle */
    return 0;
}

/* symhv_fuzz_cmplog: before symhv_fuzz_start, once. */
static int64_t hc_fuzz_cmplog(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t buf = c->arg[0], size = c->arg[1];
    if (size == (SYMHV_AFL_CMP_MAP_BYTES | SYMHV_FUZZ_MAP_AFL))
        return afl_cmp_map(f, c, buf);
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
    bool before = !atomic_load(&f->have_snapshot);
    if (!f->end.bug_reported && !before) {
        f->end.bug_reported = true;
        snprintf(f->end.bug_message, sizeof f->end.bug_message, "%s", msg);
    }
    bool say = before && !f->claims.early_bug_noted;
    f->claims.early_bug_noted |= say;
    pthread_mutex_unlock(&f->lock);
    if (say) /* no execution yet: nothing to save the input of */
        hv_error("fuzz: vCPU %u reported a bug before the snapshot (the program's start-up, "
                 "no input yet): \"%.200s\"; it is no finding", c->v->index, msg);
    return 0;
}

/* Copy between host memory and a translated guest buffer (writes are the VMM's). */
void fuzz_buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host, uint64_t len,
                      bool to_guest)
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

void fuzz_calls_attach(struct fuzzer *f, struct hypercalls *hc)
{
    hypercall_register(hc, SYMHV_HC_FUZZ_START, hc_fuzz_start, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_END, hc_fuzz_end, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_CMPLOG, hc_fuzz_cmplog, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_LENGTH, hc_fuzz_length, f);
    hypercall_register(hc, SYMHV_HC_MAKE_SYMBOLIC, hc_fuzz_make_symbolic, f);
    hypercall_register(hc, SYMHV_HC_REPORT_BUG, hc_fuzz_report_bug, f);
    vm_set_end_policy(f->vm, fuzz_end_policy, f);
}
