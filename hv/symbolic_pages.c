#include "symbolic_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_insn.h"
#include "guest_mem.h"
#include "log.h"
#include "sidecar_client.h"
#include "vcpu.h"
#include "vm.h"

void sym_pages_init(struct sym_pages *sp, struct vm *vm, struct sidecar *sc,
                    struct guest_clock *clock)
{
    memset(sp, 0, sizeof *sp);
    sp->vm = vm;
    sp->sc = sc;
    sp->clock = clock;
}

static int sidecar_gone(void *sc) { return !sidecar_alive(sc); }

/* The RMW lock shared with the sidecar (held while emulating an access to trapped RAM);
 * false if there is none (no sidecar memory: then nothing is trapped either). */
static bool rmw_lock(struct sym_pages *sp)
{
    uint32_t *l = sidecar_rmw_lock(sp->sc);
    if (l)
        sc_rmw_lock(l, sidecar_gone, sp->sc); /* a dead sidecar's hold ends the wait */
    return l != NULL;
}

static void rmw_unlock(struct sym_pages *sp)
{
    uint32_t *l = sidecar_rmw_lock(sp->sc);
    if (l)
        sc_rmw_unlock(l);
}

bool sym_pages_any(struct sym_pages *sp, uint64_t gpa, uint64_t len)
{
    const uint64_t *bits = sidecar_bitmap(sp->sc);
    if (!bits || atomic_load(&sp->detached) || !sidecar_alive(sp->sc) || gpa >= sp->vm->mem.bytes)
        return false;
    uint64_t end = gpa + len < sp->vm->mem.bytes ? gpa + len : sp->vm->mem.bytes;
    for (uint64_t a = gpa; a < end; a++)
        if (__atomic_load_n(&bits[a / 64], __ATOMIC_ACQUIRE) & (1ull << (a % 64)))
            return true;
    return false;
}

static bool page_symbolic(struct sym_pages *sp, const uint64_t *bits, uint64_t page)
{
    for (uint64_t w = 0; w < SYMHV_PAGE_WORDS; w++)
        if (__atomic_load_n(&bits[page / 64 + w], __ATOMIC_ACQUIRE))
            return sidecar_alive(sp->sc);
    return false;
}

static void pin_bytes(struct sym_pages *sp, unsigned slot_index, uint64_t gpa, uint64_t len);

/* Trap the listed pages that hold symbolic bytes, release the others. slot_index: the
 * caller's sidecar slot. Past the memslot cap the pages that would need a trap of their
 * own are pinned (their bytes concrete, their values constraints): a symbolic byte on a
 * page the CPU reads natively would be read as a stale concrete value, silently. */
static void apply(struct sym_pages *sp, unsigned slot_index, const uint64_t *pages, size_t n)
{
    const uint64_t *bits = sidecar_bitmap(sp->sc);
    struct trap_change *changes = malloc((n ? n : 1) * sizeof *changes);
    if (!changes || !bits) {
        free(changes);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t page = page_floor(pages[i]);
        if (page >= sp->vm->mem.bytes)
            continue;
        bool want = page_symbolic(sp, bits, page);
        if (want == memory_trapped_by(&sp->vm->mem, page, MEM_TRAP_SYMBOLIC))
            continue;
        changes[k++] = (struct trap_change){ page, want, MEM_TRAP_SYMBOLIC };
    }
    int rc = k ? memory_set_traps(&sp->vm->mem, changes, k) : 0;
    if (rc == MEMORY_TOO_MANY_SLOTS) {
        size_t releases = 0;
        uint64_t pinned = 0;
        for (size_t i = 0; i < k; i++) {
            if (changes[i].trapped) {
                pin_bytes(sp, slot_index, changes[i].page, SYMHV_PAGE_SIZE);
                pinned++;
            } else {
                changes[releases++] = changes[i];
            }
        }
        atomic_fetch_add(&sp->stats.pinned_at_slot_cap, pinned);
        if (!atomic_exchange(&sp->stats.slot_cap_said, true))
            hv_error("symbolic pages: more separate symbolic pages than memslots (%d): the "
                     "symbolic bytes of pages past that are made concrete, their values kept "
                     "as path constraints (summary.txt counts them)", MEM_MAX_SLOTS);
        k = releases;
        rc = k ? memory_set_traps(&sp->vm->mem, changes, k) : 0;
    }
    for (size_t i = 0; rc == 0 && i < k; i++)
        atomic_fetch_add(changes[i].trapped ? &sp->stats.pages_marked : &sp->stats.pages_released,
                         1);
    if (rc < 0)
        hv_error("symbolic pages: the memslot layout could not follow; the guest may read "
                 "stale concrete values");
    free(changes);
}

void sym_pages_sync(struct sym_pages *sp, unsigned slot_index)
{
    /* a copy (pinning past the memslot cap reuses the slot), per thread: this runs after
     * every handoff, and apply never comes back here */
    static __thread uint64_t listed[SC_MAX_PAGES];
    size_t nlisted = 0;
    if (sidecar_reply_pages(sp->sc, slot_index, listed, &nlisted)) {
        apply(sp, slot_index, listed, nlisted);
        return;
    }
    /* every page with a symbolic bit, and every page trapped now */
    const uint64_t *bits = sidecar_bitmap(sp->sc);
    struct memory *m = &sp->vm->mem;
    size_t cap = 64, n = 0;
    uint64_t *pages = malloc(cap * sizeof *pages);
    for (uint64_t page = 0; pages && bits && page < m->bytes; page += SYMHV_PAGE_SIZE) {
        if (!page_symbolic(sp, bits, page) && !memory_trapped_by(m, page, MEM_TRAP_SYMBOLIC))
            continue;
        if (n == cap) {
            uint64_t *p = realloc(pages, 2 * cap * sizeof *p);
            if (!p)
                break;
            pages = p;
            cap *= 2;
        }
        pages[n++] = page;
    }
    if (pages)
        apply(sp, slot_index, pages, n);
    free(pages);
}

void sym_pages_release_all(struct sym_pages *sp)
{
    uint64_t *pages;
    size_t n = memory_trapped_list(&sp->vm->mem, MEM_TRAP_SYMBOLIC, &pages);
    struct trap_change *changes = malloc((n ? n : 1) * sizeof *changes);
    for (size_t i = 0; changes && i < n; i++)
        changes[i] = (struct trap_change){ pages[i], false, MEM_TRAP_SYMBOLIC };
    free(pages);
    if (!changes)
        return;
    atomic_fetch_add(&sp->stats.pages_released, n);
    if (n && memory_set_traps(&sp->vm->mem, changes, n) < 0)
        hv_error("symbolic pages: releasing the trapped pages failed");
    free(changes);
}

static unsigned slot_of(struct sym_pages *sp, struct vcpu *caller)
{
    return caller ? caller->index : sidecar_control(sp->sc);
}

void sym_pages_concretise(struct sym_pages *sp, struct vcpu *caller, uint64_t gpa, uint64_t len)
{
    if (!sym_pages_any(sp, gpa, len))
        return;
    unsigned index = slot_of(sp, caller);
    char why[SC_MESSAGE_MAX];
    /* in pieces the sidecar takes (the guest kernel zeroes a whole mapping at once when
     * the program lets it go: AFL++'s driver's input buffer is 1 MiB + 4 KiB) */
    for (uint64_t at = 0; at < len; at += SYMHV_SYMBOLIC_MAX_BYTES) {
        uint64_t n = len - at < SYMHV_SYMBOLIC_MAX_BYTES ? len - at : SYMHV_SYMBOLIC_MAX_BYTES;
        if (!sym_pages_any(sp, gpa + at, n))
            continue;
        int rc = sidecar_concretise(sp->sc, index, gpa + at, n, false, why, sizeof why);
        if (rc < 0)
            return; /* dead: everything is concrete now */
        if (rc > 0)
            hv_error("sidecar: concretising 0x%llx+%llu failed: %s",
                     (unsigned long long)(gpa + at), (unsigned long long)n, why);
    }
    sym_pages_sync(sp, index);
}

/* Concretise the symbolic bytes of [gpa, gpa+len), recording their values as
 * constraints; the reply is not synced (the caller knows what changed). */
static void pin_bytes(struct sym_pages *sp, unsigned slot_index, uint64_t gpa, uint64_t len)
{
    char why[SC_MESSAGE_MAX];
    if (sidecar_concretise(sp->sc, slot_index, gpa, len, true, why, sizeof why) > 0)
        hv_error("sidecar: pinning 0x%llx+%llu failed: %s", (unsigned long long)gpa,
                 (unsigned long long)len, why);
}

/* Concretise every symbolic byte of a page, recording its value as a constraint. */
static void pin_page(struct sym_pages *sp, struct vcpu *v, uint64_t page, const char *why)
{
    pin_bytes(sp, v->index, page, SYMHV_PAGE_SIZE);
    if (!sidecar_alive(sp->sc))
        return;
    atomic_fetch_add(&sp->stats.pinned_pages, 1);
    hv_info("vCPU %u: page 0x%llx made concrete (%s)", v->index, (unsigned long long)page, why);
    sym_pages_sync(sp, v->index);
}

/* ---- the RAM trap --------------------------------------------------------------------- */

/* Is the instruction at v's rip a locked read-modify-write of memory (lock prefix, or
 * xchg with a memory operand)? Only asked with several vCPUs. */
static bool locked_rmw(struct sym_pages *sp, struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (vcpu_get_regs(v, &r) < 0 || vcpu_get_sregs(v, &s) < 0)
        return false;
    struct guest_as as;
    guest_as_from_sregs(&as, sp->vm, &s, (s.cs.selector & 3) == 3);
    struct guest_insn in;
    return guest_insn_decode(&as, &r, &s, r.rip, &in) == 0 && in.locked_rmw;
}

static int trap_read(struct vcpu *v, uint64_t gpa, uint8_t *data, unsigned len, void *opaque)
{
    struct sym_pages *sp = opaque;
    if (sym_pages_any(sp, gpa, len)) {
        atomic_fetch_add(&sp->stats.symbolic_reads, 1);
        if (handoff_run(v, sp->sc, sp->clock, &sp->handoff) < 0)
            return -1;
        if (sidecar_alive(sp->sc))
            sym_pages_sync(sp, v->index);
        return 0;
    }
    atomic_fetch_add(&sp->stats.reads_emulated, 1);
    bool nested = sp->in_rmw[v->index]; /* the read half of our own RMW's completion */
    bool rmw = !nested && sp->vm->ncpus > 1 && locked_rmw(sp, v); /* one vCPU: no race */
    bool locked = !nested && rmw_lock(sp);
    memcpy(data, vm_gpa_to_host(sp->vm, gpa, len), len); /* completed on the next KVM_RUN */
    int rc = 0;
    if (rmw) { /* complete it now, its write half included, before another access */
        sp->in_rmw[v->index] = true;
        rc = vcpu_complete_pending_exit(v);
        sp->in_rmw[v->index] = false;
    }
    if (locked)
        rmw_unlock(sp);
    return rc;
}

static int trap_write(struct vcpu *v, uint64_t gpa, const uint8_t *data, unsigned len,
                      void *opaque)
{
    struct sym_pages *sp = opaque;
    bool locked = !sp->in_rmw[v->index] && rmw_lock(sp); /* else our RMW holds it already */
    /* the instruction has retired; a native vCPU only ever writes concrete values */
    memory_write(&sp->vm->mem, gpa, data, len);
    if (locked) /* before any sidecar call: its threads may be waiting for the lock */
        rmw_unlock(sp);
    if (sym_pages_any(sp, gpa, len)) {
        atomic_fetch_add(&sp->stats.writes_concretised, 1);
        sym_pages_concretise(sp, v, gpa, len);
    }
    return 0;
}

static void trap_overwritten(struct vcpu *caller, uint64_t gpa, uint64_t len, void *opaque)
{
    sym_pages_concretise(opaque, caller, gpa, len);
}

static int trap_cannot_emulate(struct vcpu *v, void *opaque)
{
    struct sym_pages *sp = opaque;
    if (!sidecar_alive(sp->sc) || memory_trapped_count(&sp->vm->mem) == 0)
        return 0;
    struct kvm_regs r;
    struct kvm_sregs s;
    if (vcpu_get_regs(v, &r) < 0 || vcpu_get_sregs(v, &s) < 0)
        return 0;
    struct guest_as as;
    guest_as_from_sregs(&as, sp->vm, &s, (s.cs.selector & 3) == 3);
    uint64_t code_pa;
    if (guest_translate(&as, r.rip, false, &code_pa) < 0)
        return 0;
    if (memory_trapped_by(&sp->vm->mem, code_pa, MEM_TRAP_SYMBOLIC)) {
        /* code on a symbolic page: the interpreter runs it (its bytes are concretised
         * as it fetches them); if it cannot even start, the code page is pinned */
        uint64_t rip = r.rip;
        if (sym_pages_any(sp, page_floor(code_pa), SYMHV_PAGE_SIZE) &&
            handoff_run(v, sp->sc, sp->clock, &sp->handoff) == 0 && sidecar_alive(sp->sc)) {
            sym_pages_sync(sp, v->index);
            struct kvm_regs after;
            if (vcpu_get_regs(v, &after) == 0 && after.rip != rip)
                return 1;
        }
        if (memory_trapped_by(&sp->vm->mem, code_pa, MEM_TRAP_SYMBOLIC))
            pin_page(sp, v, page_floor(code_pa), "code executed from a symbolic page");
        return 1;
    }
    struct guest_insn in;
    if (guest_insn_decode(&as, &r, &s, r.rip, &in) < 0)
        return 0;
    uint64_t pages[8];
    size_t np = guest_insn_pages(&as, &in, pages, 8);
    int handled = 0;
    bool interpreted = false;
    for (size_t i = 0; i < np; i++) {
        if (!memory_trapped_by(&sp->vm->mem, pages[i], MEM_TRAP_SYMBOLIC))
            continue;
        /* The interpreter first (as for code above): it runs the instruction on the
         * page's bytes, symbolic or not (an SSE2 string function reading concrete
         * neighbours of symbolic bytes); only what it cannot model pins the page. */
        if (!interpreted) {
            interpreted = true;
            uint64_t rip = r.rip;
            if (handoff_run(v, sp->sc, sp->clock, &sp->handoff) == 0 && sidecar_alive(sp->sc)) {
                sym_pages_sync(sp, v->index);
                struct kvm_regs after;
                if (vcpu_get_regs(v, &after) == 0 && after.rip != rip)
                    return 1;
            }
        }
        if (!memory_trapped_by(&sp->vm->mem, pages[i], MEM_TRAP_SYMBOLIC))
            continue;
        char why[96];
        snprintf(why, sizeof why, "'%s' cannot run on a trapped page", in.mnemonic);
        pin_page(sp, v, pages[i], why);
        handled = 1;
    }
    return handled;
}

static const struct ram_trap_ops trap_ops = {
    .read = trap_read,
    .write = trap_write,
    .overwritten = trap_overwritten,
    .cannot_emulate = trap_cannot_emulate,
};

void sym_pages_attach(struct sym_pages *sp)
{
    vm_set_ram_trap(sp->vm, &trap_ops, sp);
}
