#include "races.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest_mem.h"
#include "log.h"
#include "memory.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define HOLD_SLICE_US 200
/* How long the releasing vCPU's next access waits for the released one (which runs). */
#define TURN_WAIT_S 0.2
#define SAMPLER_SLICE_US 20000
/* A watch whose sampled vCPU never touches the page (an interrupt came first, the
 * instruction faulted) ends after this. */
#define EXPIRY_S(window_us) (0.02 + 4e-6 * (window_us))

static void sleep_us(unsigned us)
{
    struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static uint64_t next_random(struct races *r) /* xorshift64*, under r->lock */
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545F4914F6CDD1Dull;
}

/* ---- the watch ------------------------------------------------------------------------ */

/* End watch number `gen` if it is still on (idle_only: unless its access is held); a
 * later watch, of the same page or not, is not its caller's to end. */
static void end_watch(struct races *r, uint64_t gen, bool idle_only, bool expired)
{
    pthread_mutex_lock(&r->traps);
    pthread_mutex_lock(&r->lock);
    uint64_t page = r->watch.page;
    bool mine = r->watch.active && r->watch.gen == gen && !(idle_only && r->watch.holding);
    if (mine) {
        if (r->watch.forced && r->order_result == ORDER_ARMED)
            r->order_result = r->watch.first_seen ? ORDER_TIMED_OUT : ORDER_UNREACHED;
        r->watch.active = false;
        r->watch.holding = false;
        r->stats.expired += expired;
        pthread_cond_broadcast(&r->turn);
    }
    pthread_mutex_unlock(&r->lock);
    if (mine) {
        struct trap_change c = { page, false, MEM_TRAP_WATCH };
        if (memory_set_traps(&r->vm->mem, &c, 1) != 0)
            hv_error("races: the watched page 0x%llx could not rejoin the memslots",
                     (unsigned long long)page);
    }
    pthread_mutex_unlock(&r->traps);
}

/* A new watch of `page`, the next generation, nothing seen yet. Under r->lock. */
static void new_watch(struct races *r, uint64_t page)
{
    uint64_t gen = r->watch.gen + 1;
    memset(&r->watch, 0, sizeof r->watch);
    r->watch.gen = gen;
    r->watch.active = true;
    r->watch.page = page;
    r->watch.armed_at = now_s();
}

/* Under `traps`, the new watch's state set: its page leaves the memslots. 0, or -1 (the
 * memslot could not be split) and the watch is over. */
static int trap_watched_page(struct races *r, uint64_t page)
{
    struct trap_change c = { page, true, MEM_TRAP_WATCH };
    if (memory_set_traps(&r->vm->mem, &c, 1) == 0)
        return 0;
    pthread_mutex_lock(&r->lock);
    r->watch.active = false;
    if (r->watch.forced)
        r->order_result = ORDER_LOST;
    pthread_mutex_unlock(&r->lock);
    return -1;
}

/* v's registers and its address space, with the rights of the ring it is in. 0 or -1. */
static int where_it_stands(struct races *r, struct vcpu *v, struct kvm_regs *regs,
                           struct kvm_sregs *s, struct guest_as *as)
{
    if (vcpu_get_regs(v, regs) < 0 || vcpu_get_sregs(v, s) < 0)
        return -1;
    guest_as_from_sregs(as, r->vm, s, (s->cs.selector & 3) == 3);
    return 0;
}

enum sample { SAMPLED, NO_ACCESS, NO_STEP };

/* Sample the instruction v stands at: watch the data page it touches. NO_ACCESS if it
 * touches none that can be watched (no memory, its own stack); NO_STEP if v must not be
 * stepped on from here: not in ring 3, or at an instruction that would keep the trap
 * flag of a single step (pushf pushes it, syscall saves it, an int's frame holds it). */
static enum sample sample_here(struct races *r, struct vcpu *v)
{
    struct kvm_regs regs;
    struct kvm_sregs s;
    struct guest_as as;
    if (where_it_stands(r, v, &regs, &s, &as) < 0 || (s.cs.selector & 3) != 3)
        return NO_STEP; /* the program's accesses only: the kernel's are symhv's own */
    struct guest_insn in;
    uint64_t code, page = UINT64_MAX;
    if (guest_insn_decode(&as, &regs, &s, regs.rip, &in) < 0 ||
        guest_translate(&as, regs.rip, false, &code) < 0)
        return NO_STEP;
    static const char *const keep_tf[] = { "pushfq", "pushfd", "pushf", "popfq", "popfd",
                                           "popf", "syscall", "sysenter", "int", "int1",
                                           "int3", "into", "iretq", "iretd" };
    for (size_t i = 0; i < sizeof keep_tf / sizeof keep_tf[0]; i++)
        if (strcmp(in.mnemonic, keep_tf[i]) == 0)
            return NO_STEP;
    /* an instruction that faults (a page not there yet, copy-on-write) leaves the trap
     * flag in its exception's frame: the guest would take a #DB of its own after it */
    uint64_t pa;
    if (guest_translate(&as, regs.rip + in.len - 1, false, &pa) < 0)
        return NO_STEP;
    /* nor does a step go through an access to a trapped page, the stack's included (a
     * symbolic one goes to the interpreter, trap flag and all) */
    bool trapped = false;
    for (unsigned i = 0; i < in.nmem; i++)
        for (uint64_t end = 0; end < 2; end++) {
            if (guest_translate(&as, in.mem[i].gva + end * (in.mem[i].size - 1),
                                in.mem[i].write, &pa) < 0)
                return NO_STEP;
            trapped |= memory_is_trapped(&r->vm->mem, page_floor(pa));
        }
    /* only memory the program may write can race: not its code or constants */
    for (unsigned i = 0; i < in.nmem && page == UINT64_MAX; i++)
        if (!in.mem[i].stack && guest_translate(&as, in.mem[i].gva, true, &pa) == 0 &&
            page_floor(pa) != page_floor(code) && pa < r->vm->mem.bytes)
            page = page_floor(pa);
    if (page == UINT64_MAX)
        return trapped ? NO_STEP : NO_ACCESS;
    /* a later access of the few ahead is the sample */
    if (r->skip[v->index] > 0 && !trapped) {
        r->skip[v->index]--;
        return NO_ACCESS;
    }
    pthread_mutex_lock(&r->lock);
    r->stats.samples++;
    pthread_mutex_unlock(&r->lock);
    if (memory_is_trapped(&r->vm->mem, page))
        return SAMPLED; /* symbolic, or watched already: a sample all the same */
    pthread_mutex_lock(&r->traps);
    pthread_mutex_lock(&r->lock);
    bool arm = !r->watch.active;
    if (arm) {
        new_watch(r, page);
        r->watch.vcpu = v->index;
        r->stats.watches++;
    }
    pthread_mutex_unlock(&r->lock);
    if (arm)
        trap_watched_page(r, page); /* past the memslot cap: no watch */
    pthread_mutex_unlock(&r->traps);
    return SAMPLED;
}

static void stop_stepping(struct races *r, struct vcpu *v)
{
    r->steps_left[v->index] = 0;
    if (vcpu_single_step(v, false) < 0)
        hv_error_errno("races: vCPU %u: single-stepping could not be switched off", v->index);
}

/* A kicked vCPU takes a sample: the data page its next memory access touches. A kick
 * lands after the slow instructions (an interrupt waits for the one running), so where
 * it stands may touch no memory: then it steps on, up to RACES_STEPS instructions. */
static void take_sample(struct vcpu *v, void *opaque)
{
    struct races *r = opaque;
    /* A step cut short (kicked meanwhile): off, whatever comes next; but not while an
     * access of the stepped instruction waits to be completed (a kick ends KVM_RUN
     * before it is): KVM's emulator holds the step's trap flag until then, and with
     * stepping off it would give the guest a #DB of its own. The next step ends it. */
    if (v->stepping && !v->completion_due)
        stop_stepping(r, v);
    if (!atomic_load(&r->due[v->index]))
        return;
    /* Not always the next access: a kick lands mostly in a loop's slow instructions, so
     * the first access after them (a loop's condition) would be sampled nearly always;
     * one of the next RACES_SKIP is (with single steps; without, the next). */
    pthread_mutex_lock(&r->lock);
    r->skip[v->index] = atomic_load(&r->no_stepping) ? 0 : (unsigned)(next_random(r) % RACES_SKIP);
    pthread_mutex_unlock(&r->lock);
    if (!atomic_exchange(&r->due[v->index], false) || vm_is_stopping(r->vm) ||
        vm_settle_requested(r->vm))
        return;
    enum sample here = sample_here(r, v);
    if (here != SAMPLED && atomic_load(&r->no_stepping)) {
        atomic_store(&r->missed, true); /* no step to an access: another kick, soon */
        return;
    }
    if (here != NO_ACCESS)
        return;
    if (vcpu_single_step(v, true) < 0) {
        if (!atomic_exchange(&r->no_stepping, true))
            hv_notice("races: KVM cannot single-step here (KVM_SET_GUEST_DEBUG: %s): samples "
                      "are taken only where a kicked vCPU stands", strerror(errno));
        return;
    }
    r->steps_left[v->index] = RACES_STEPS;
}

/* One more instruction of a vCPU looking for its next memory access. */
static void take_step(struct vcpu *v, void *opaque)
{
    struct races *r = opaque;
    if (r->steps_left[v->index] == 0 || --r->steps_left[v->index] == 0 ||
        vm_is_stopping(r->vm) || vm_settle_requested(r->vm) || sample_here(r, v) != NO_ACCESS)
        stop_stepping(r, v);
}

static void *sampler(void *arg)
{
    struct races *r = arg;
    unsigned period = 1000000 / (r->cfg.rate ? r->cfg.rate : 1), again = 0;
    while (!atomic_load(&r->stop)) {
        /* a kick that found no access to sample (without single steps) is followed by
         * another soon, a few times, so that `rate` counts samples rather than kicks */
        unsigned first = RACES_KICK_AGAIN_US < period ? RACES_KICK_AGAIN_US : period;
        sleep_us(first);
        bool missed = atomic_exchange(&r->missed, false);
        unsigned wait = missed && again < RACES_KICKS_AGAIN ? 0 : period - first;
        again = wait ? 0 : again + 1;
        for (unsigned slept = 0; slept < wait && !atomic_load(&r->stop);) {
            unsigned us = wait - slept < SAMPLER_SLICE_US ? wait - slept : SAMPLER_SLICE_US;
            sleep_us(us);
            slept += us;
        }
        if (atomic_load(&r->stop) || vm_is_stopping(r->vm))
            break;
        double now = now_s();
        int pick = -1;
        bool expire = false;
        uint64_t gen = 0;
        pthread_mutex_lock(&r->lock);
        if (r->watch.active) { /* a forced order's watch lasts until it is done */
            expire = !r->watch.forced && !r->watch.holding &&
                     now - r->watch.armed_at > EXPIRY_S(r->cfg.window_us);
            gen = r->watch.gen;
        } else {
            pick = (int)(next_random(r) % r->vm->ncpus);
            r->stats.kicks++;
        }
        pthread_mutex_unlock(&r->lock);
        if (expire) {
            end_watch(r, gen, true, true);
        } else if (pick >= 0 && !vm_settle_requested(r->vm)) {
            atomic_store(&r->due[pick], true);
            vm_kick(&r->vm->vcpus[pick]);
        }
    }
    return NULL;
}

/* ---- accesses to a watched page ------------------------------------------------------- */

/* Who accessed [gpa, gpa+len), with what instruction. */
static void describe(struct races *r, struct vcpu *v, uint64_t gpa, unsigned len, bool write,
                     struct race_access *acc)
{
    memset(acc, 0, sizeof *acc);
    acc->vcpu = v->index;
    acc->gpa = gpa;
    acc->len = len;
    acc->write = write;
    acc->gva = UINT64_MAX;
    struct kvm_regs regs;
    struct kvm_sregs s;
    struct guest_as as;
    if (where_it_stands(r, v, &regs, &s, &as) < 0)
        return;
    acc->user = (s.cs.selector & 3) == 3;
    acc->pc = regs.rip;
    acc->pc_exact = !write;
    struct guest_insn in;
    int found = write ? guest_insn_before(&as, &regs, &s, regs.rip, page_floor(gpa), &in)
                      : guest_insn_decode(&as, &regs, &s, regs.rip, &in);
    if (found < 0)
        return;
    acc->pc = in.rip;
    acc->pc_exact = true;
    acc->locked = in.locked_rmw;
    acc->write |= in.locked_rmw; /* its read half exits first; it writes too */
    snprintf(acc->insn, sizeof acc->insn, "%s", in.text);
    for (unsigned i = 0; i < in.nmem && acc->gva == UINT64_MAX; i++) {
        uint64_t ends[2] = { in.mem[i].gva, in.mem[i].gva + in.mem[i].size - 1 }, pa;
        for (int k = 0; k < 2 && acc->gva == UINT64_MAX; k++)
            if (guest_translate(&as, ends[k], false, &pa) == 0 && page_floor(pa) == page_floor(gpa))
                acc->gva = page_floor(ends[k]) + (gpa - page_floor(gpa));
    }
}

static bool same_pair(const struct race *x, uint64_t a, uint64_t b)
{
    return (x->first.pc == a && x->second.pc == b) || (x->first.pc == b && x->second.pc == a);
}

/* Under r->lock. */
static void record(struct races *r, const struct race_access *second)
{
    r->stats.races_seen++;
    for (size_t i = 0; i < r->nfound; i++)
        if (same_pair(&r->found[i], r->watch.first.pc, second->pc)) {
            r->found[i].seen++;
            return;
        }
    if (r->nfound == RACES_MAX) {
        r->stats.dropped++;
        if (!r->cap_said)
            hv_error("races: %d distinct races kept; later new pairs of pcs are counted "
                     "(race_dropped in fuzzer_stats), not kept", RACES_MAX);
        r->cap_said = true;
        return;
    }
    r->found[r->nfound++] = (struct race){ .first = r->watch.first, .second = *second, .seen = 1 };
}

/* Judge one access to the watched page; true if it is the one to hold (*gen: its
 * watch): the sampled vCPU's first, or a forced order's access at wait_pc. *releases:
 * it is the access the held one waits for (another vCPU's conflicting one; a forced
 * order's at for_pc): the held one goes right after it. Never during a settle: a vCPU
 * completing its exit for one counts as in the guest, and ending a watch pauses the VM. */
static bool observe(struct races *r, const struct race_access *acc, uint64_t *gen, bool *releases)
{
    bool settling = vm_settle_requested(r->vm);
    pthread_mutex_lock(&r->lock);
    bool hold = false;
    *releases = false;
    if (r->watch.active && page_floor(acc->gpa) == r->watch.page) {
        const struct race_access *first = &r->watch.first;
        bool its = r->watch.forced ? acc->pc == r->watch.wait_pc : acc->vcpu == r->watch.vcpu;
        if (!r->watch.first_seen) {
            if (its && !settling) { /* before it, others' accesses are no window's */
                r->watch.first_seen = true;
                r->watch.first = *acc;
                r->watch.holding = hold = true;
                *gen = r->watch.gen;
            }
        } else if (r->watch.holding && acc->vcpu != first->vcpu) {
            bool conflict = (acc->write || first->write) && acc->gpa < first->gpa + first->len &&
                            first->gpa < acc->gpa + acc->len;
            bool sync = conflict && (acc->locked || first->locked);
            if (sync)
                r->stats.sync_pairs++;
            else if (conflict)
                record(r, acc);
            bool frees = r->watch.forced ? acc->pc == r->watch.for_pc : conflict && !sync;
            if (frees && !r->watch.released && !settling) {
                r->watch.released = true;
                r->watch.releaser = *acc;
                *releases = true;
                *gen = r->watch.gen;
            }
        }
    }
    pthread_mutex_unlock(&r->lock);
    return hold;
}

static struct timespec deadline_in(double s) /* on CLOCK_MONOTONIC, as `turn` waits */
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long ns = ts.tv_nsec + (long)((s - (double)(long)s) * 1e9);
    ts.tv_sec += (time_t)s + ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    return ts;
}

/* Under r->lock: wait on `turn` a slice at most, so that a settle or a stop is seen. */
static void wait_slice(struct races *r, double left_s)
{
    double slice = HOLD_SLICE_US / 1e6;
    struct timespec ts = deadline_in(left_s < slice ? (left_s > 0 ? left_s : 0) : slice);
    pthread_cond_timedwait(&r->turn, &r->lock, &ts);
}

static bool leaving(struct races *r)
{
    return vm_is_stopping(r->vm) || vm_settle_requested(r->vm);
}

enum hold_end { HOLD_RELEASED, HOLD_TIMED_OUT, HOLD_CUT };

/* The held access of watch `gen` waits for the access that releases it (its window, or
 * a forced order's bound): RELEASED if that one came (its access done), CUT if a settle
 * or a stop ended the wait. */
static enum hold_end hold_for_release(struct races *r, uint64_t gen)
{
    pthread_mutex_lock(&r->lock);
    double end = now_s() + (r->watch.forced ? r->order_wait_s : r->cfg.window_us / 1e6);
    bool mine = r->watch.active && r->watch.gen == gen, cut = false;
    while (mine && !r->watch.releaser_done && !(cut = leaving(r)) && now_s() < end) {
        wait_slice(r, end - now_s());
        mine = r->watch.active && r->watch.gen == gen;
    }
    enum hold_end how = mine && r->watch.releaser_done ? HOLD_RELEASED
                        : cut                          ? HOLD_CUT
                                                       : HOLD_TIMED_OUT;
    pthread_mutex_unlock(&r->lock);
    return how;
}

/* A released held access goes before the releasing vCPU's next access to the page (and
 * before any other vCPU's, from the moment the releasing one came): those wait here, a
 * moment at most. */
static void wait_for_turn(struct races *r, unsigned vcpu, uint64_t gpa)
{
    double end = now_s() + TURN_WAIT_S;
    pthread_mutex_lock(&r->lock);
    while (r->watch.active && r->watch.released && !r->watch.held_done &&
           page_floor(gpa) == r->watch.page && vcpu != r->watch.first.vcpu && !leaving(r) &&
           now_s() < end)
        wait_slice(r, end - now_s());
    pthread_mutex_unlock(&r->lock);
}

static int watched_access(struct races *r, struct vcpu *v, uint64_t gpa, uint8_t *data,
                          unsigned len, bool write)
{
    bool nested = r->in_rmw[v->index]; /* the write half of our own locked RMW */
    struct race_access acc = { 0 };
    bool hold = false, releases = false;
    enum hold_end how = HOLD_TIMED_OUT;
    uint64_t gen = 0;
    if (!nested) {
        wait_for_turn(r, v->index, gpa);
        describe(r, v, gpa, len, write, &acc);
        hold = observe(r, &acc, &gen, &releases);
    }
    if (hold)
        how = hold_for_release(r, gen);
    if (!nested)
        pthread_mutex_lock(&r->access);
    bool rmw = !nested && !write && acc.locked;
    if (rmw)
        r->in_rmw[v->index] = true;
    int rc = write ? r->inner->write(v, gpa, data, len, r->inner_opaque)
                   : r->inner->read(v, gpa, data, len, r->inner_opaque);
    if (rmw)
        r->in_rmw[v->index] = false;
    if (!nested)
        pthread_mutex_unlock(&r->access);
    if (releases) { /* done: the held access's turn */
        pthread_mutex_lock(&r->lock);
        if (r->watch.active && r->watch.gen == gen)
            r->watch.releaser_done = true;
        pthread_cond_broadcast(&r->turn);
        pthread_mutex_unlock(&r->lock);
    }
    if (hold) {
        pthread_mutex_lock(&r->lock);
        r->stats.held++;
        if (r->watch.active && r->watch.gen == gen) {
            r->watch.held_done = true;
            /* the two accesses ran in this order, back to back; a forced order's pair is
             * the one the execution keeps (later samples' do not replace it) */
            if (how == HOLD_RELEASED && (r->watch.forced || !r->handoff.forced)) {
                r->stats.handoffs++;
                r->handoff.have = true;
                r->handoff.forced = r->watch.forced;
                r->handoff.order = (struct fz_order){ r->watch.first.pc, r->watch.releaser.pc,
                                                      r->watch.page };
            }
            if (r->watch.forced)
                r->order_result = how == HOLD_RELEASED ? ORDER_FORCED
                                  : how == HOLD_CUT    ? ORDER_CUT
                                                       : ORDER_TIMED_OUT;
        }
        pthread_cond_broadcast(&r->turn);
        pthread_mutex_unlock(&r->lock);
        end_watch(r, gen, false, false);
    }
    return rc;
}

/* Watched and not symbolic: a symbolic page's accesses are the inner trap's alone (a
 * handoff to the interpreter may pause the VM: never under `access`). */
static bool watched_only(struct races *r, uint64_t gpa)
{
    return memory_trap_owners(&r->vm->mem, gpa) == MEM_TRAP_WATCH;
}

static int races_read(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len, void *opaque)
{
    struct races *r = opaque;
    if (!watched_only(r, gpa))
        return r->inner->read(v, gpa, data, len, r->inner_opaque);
    return watched_access(r, v, gpa, data, len, false);
}

static int races_write(struct vcpu *v, uint64_t gpa, const uint8_t *data, unsigned len,
                       void *opaque)
{
    struct races *r = opaque;
    if (!watched_only(r, gpa))
        return r->inner->write(v, gpa, data, len, r->inner_opaque);
    return watched_access(r, v, gpa, (uint8_t *)data, len, true);
}

static void races_overwritten(struct vcpu *caller, uint64_t gpa, uint64_t len, void *opaque)
{
    struct races *r = opaque;
    if (r->inner->overwritten)
        r->inner->overwritten(caller, gpa, len, r->inner_opaque);
}

/* The guest-physical pages v's instruction touches, its code's included, and its rip. */
static size_t insn_pages(struct races *r, struct vcpu *v, uint64_t *pages, size_t max,
                         uint64_t *rip)
{
    struct kvm_regs regs;
    struct kvm_sregs s;
    struct guest_as as;
    struct guest_insn in;
    if (where_it_stands(r, v, &regs, &s, &as) < 0)
        return 0;
    *rip = regs.rip;
    size_t n = 0;
    uint64_t ends[2] = { regs.rip, regs.rip + 14 }, pa; /* an instruction is 15 bytes at most */
    for (int k = 0; k < 2 && n < max; k++)
        if (guest_translate(&as, ends[k], false, &pa) == 0)
            pages[n++] = page_floor(pa);
    if (guest_insn_decode(&as, &regs, &s, regs.rip, &in) == 0)
        n += guest_insn_pages(&as, &in, pages + n, max - n);
    return n;
}

/* An instruction KVM cannot emulate (SSE, x87 ...) exited: if it touches (or is fetched
 * from) the watched page, the watch ends and it retries (natively, if no other trap is
 * in its way); if none of its pages is trapped any more (a watch ended, or one is being
 * armed, while it exited), it retries as well, a few times in a row at most; else it is
 * the inner trap's case. */
static int races_cannot_emulate(struct vcpu *v, void *opaque)
{
    struct races *r = opaque;
    uint64_t pages[10], rip = 0;
    size_t n = insn_pages(r, v, pages, 10, &rip);
    /* under `traps` the watch's state and its trap agree (arming and ending change both
     * holding it): a page trapped for a watch is the current watch's */
    pthread_mutex_lock(&r->traps);
    pthread_mutex_lock(&r->lock);
    uint64_t gen = r->watch.gen;
    pthread_mutex_unlock(&r->lock);
    bool any_trapped = false, retry = false;
    for (size_t i = 0; i < n; i++) {
        retry |= memory_trapped_by(&r->vm->mem, pages[i], MEM_TRAP_WATCH);
        any_trapped |= memory_is_trapped(&r->vm->mem, pages[i]);
    }
    pthread_mutex_unlock(&r->traps);
    if (retry) {
        pthread_mutex_lock(&r->lock);
        if (r->watch.gen == gen && r->watch.forced && r->order_result == ORDER_ARMED)
            r->order_result = ORDER_LOST;
        pthread_mutex_unlock(&r->lock);
        end_watch(r, gen, false, false);
        return 1;
    }
    /* "in a row": the same rip again within a moment */
    double now = now_s();
    unsigned *tries = &r->retries[v->index];
    *tries = rip == r->retry_rip[v->index] && now - r->retry_at[v->index] < 0.1 ? *tries + 1 : 0;
    r->retry_rip[v->index] = rip;
    r->retry_at[v->index] = now;
    if (n && !any_trapped && *tries < RACES_RETRIES)
        return 1;
    return r->inner->cannot_emulate ? r->inner->cannot_emulate(v, r->inner_opaque) : 0;
}

static const struct ram_trap_ops races_trap = {
    .read = races_read,
    .write = races_write,
    .overwritten = races_overwritten,
    .cannot_emulate = races_cannot_emulate,
};

/* ---- life ----------------------------------------------------------------------------- */

struct races *races_attach(struct vm *vm, const struct races_config *cfg)
{
    if (!vm->ram_trap) {
        hv_error("races: nothing serves trapped RAM (the engine attaches first)");
        return NULL;
    }
    struct races *r = calloc(1, sizeof *r);
    if (!r) {
        hv_error("races: out of memory");
        return NULL;
    }
    r->vm = vm;
    r->cfg = *cfg;
    if (!r->cfg.window_us)
        r->cfg.window_us = RACES_DEFAULT_WINDOW_US;
    if (!r->cfg.rate)
        r->cfg.rate = RACES_DEFAULT_RATE;
    r->inner = vm->ram_trap;
    r->inner_opaque = vm->ram_trap_opaque;
    atomic_store(&r->no_stepping, cfg->no_stepping);
    r->rng = (uint64_t)now_s() * 1000003u ^ 0x9e3779b97f4a7c15ull;
    pthread_mutex_init(&r->access, NULL);
    pthread_mutex_init(&r->traps, NULL);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wall clock set back waits no longer */
    pthread_cond_init(&r->turn, &ca);
    pthread_condattr_destroy(&ca);
    r->order_wait_s = RACES_ORDER_WAIT_S;
    vm_set_ram_trap(vm, &races_trap, r);
    vm_set_kick_hooks(vm, take_sample, take_step, r);
    return r;
}

int races_start(struct races *r)
{
    if (r->cfg.no_sampling)
        return 0;
    int err = pthread_create(&r->sampler, NULL, sampler, r);
    if (err) {
        errno = err;
        hv_error_errno("races: cannot start the sampling thread");
        return -1;
    }
    r->sampler_started = true;
    return 0;
}

void races_quiesce(struct races *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    bool active = r->watch.active;
    uint64_t gen = r->watch.gen;
    pthread_mutex_unlock(&r->lock);
    if (active)
        end_watch(r, gen, false, false);
    /* the vCPUs are settled (or gone): no step is to survive into the next execution */
    for (unsigned i = 0; i < r->vm->ncpus; i++) {
        struct vcpu *v = &r->vm->vcpus[i];
        r->steps_left[i] = 0;
        if (v->stepping && vcpu_single_step(v, false) < 0)
            hv_error_errno("races: vCPU %u: single-stepping could not be switched off", i);
    }
}

void races_stop(struct races *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    if (r->sampler_started)
        pthread_join(r->sampler, NULL);
    r->sampler_started = false;
}

void races_detach(struct races *r)
{
    if (!r)
        return;
    races_stop(r);
    races_quiesce(r);
    if (r->vm->ram_trap_opaque == r)
        vm_set_ram_trap(r->vm, r->inner, r->inner_opaque);
    if (r->vm->kick_opaque == r)
        vm_set_kick_hooks(r->vm, NULL, NULL, NULL);
    pthread_mutex_destroy(&r->access);
    pthread_mutex_destroy(&r->traps);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->turn);
    free(r);
}

/* ---- a forced order ------------------------------------------------------------------- */

int races_force_order(struct races *r, const struct fz_order *o, double wait_s)
{
    if (o->page >= r->vm->mem.bytes || (o->page & (SYMHV_PAGE_SIZE - 1))) {
        hv_error("schedule: page 0x%llx is no page of the guest's %llu MiB",
                 (unsigned long long)o->page, (unsigned long long)(r->vm->mem.bytes >> 20));
        return -1;
    }
    races_quiesce(r);
    pthread_mutex_lock(&r->traps);
    pthread_mutex_lock(&r->lock);
    new_watch(r, o->page);
    r->watch.forced = true;
    r->watch.wait_pc = o->wait_pc;
    r->watch.for_pc = o->for_pc;
    r->order_wait_s = wait_s > 0 && wait_s < RACES_ORDER_WAIT_S ? wait_s : RACES_ORDER_WAIT_S;
    r->order_result = ORDER_ARMED;
    pthread_mutex_unlock(&r->lock);
    int rc = trap_watched_page(r, o->page);
    if (rc != 0) {
        if (!r->order_fail_said)
            hv_error("schedule: page 0x%llx could not be watched (its memslot could not be "
                     "split: the memslot cap, or memory): the order is not forced (said once)",
                     (unsigned long long)o->page);
        r->order_fail_said = true;
    }
    pthread_mutex_unlock(&r->traps);
    return rc == 0 ? 0 : -1;
}

enum order_result races_order_result(struct races *r)
{
    pthread_mutex_lock(&r->lock);
    enum order_result res = r->order_result;
    pthread_mutex_unlock(&r->lock);
    return res;
}

bool races_take_handoff(struct races *r, struct fz_order *o)
{
    pthread_mutex_lock(&r->lock);
    bool have = r->handoff.have;
    if (have)
        *o = r->handoff.order;
    r->handoff.have = r->handoff.forced = false;
    pthread_mutex_unlock(&r->lock);
    return have;
}

/* ---- findings ------------------------------------------------------------------------- */

size_t races_take_new(struct races *r, struct race *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nfound && n < max; i++)
        if (!r->found[i].taken) {
            r->found[i].taken = true;
            out[n++] = r->found[i];
        }
    pthread_mutex_unlock(&r->lock);
    return n;
}

struct race_stats races_stats(struct races *r)
{
    pthread_mutex_lock(&r->lock);
    struct race_stats s = r->stats;
    s.found = r->nfound;
    pthread_mutex_unlock(&r->lock);
    return s;
}

static int format_access(char *buf, size_t size, const struct race_access *a, const char *role)
{
    char pc[64];
    if (a->pc_exact)
        snprintf(pc, sizeof pc, "pc 0x%llx", (unsigned long long)a->pc);
    else
        snprintf(pc, sizeof pc, "the instruction before pc 0x%llx", (unsigned long long)a->pc);
    return snprintf(buf, size, "  vCPU %u %s %u byte%s at %s: %s (%s%s; %s)\n", a->vcpu,
                    a->write ? "wrote" : "read", a->len, a->len == 1 ? "" : "s", pc,
                    a->insn[0] ? a->insn : "(not decoded)", a->user ? "ring 3" : "kernel",
                    a->locked ? ", locked" : "", role);
}

void races_format(const struct race *race, const char *input, char *buf, size_t size)
{
    size_t n = 0;
    int k;
    char where[64] = "";
    if (race->first.gva != UINT64_MAX)
        snprintf(where, sizeof where, "0x%llx, ", (unsigned long long)race->first.gva);
    k = snprintf(buf, size, "data race: vCPUs %u and %u at %sguest-physical 0x%llx, nothing "
                 "ordering the two accesses; seen %llu time%s\n", race->first.vcpu,
                 race->second.vcpu, where, (unsigned long long)race->first.gpa,
                 (unsigned long long)race->seen, race->seen == 1 ? "" : "s");
    n += k > 0 ? (size_t)k : 0;
    if (n < size)
        n += (size_t)format_access(buf + n, size - n, &race->first, "the sampled access, held");
    if (n < size)
        n += (size_t)format_access(buf + n, size - n, &race->second, "during the hold");
    if (n < size && input)
        snprintf(buf + n, size - n, "  input: %s\n", input);
}
