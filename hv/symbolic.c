#include "symbolic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vm.h"

#define PAGE 4096ull

void symmem_init(struct symbolic_mem *sm)
{
    memset(sm, 0, sizeof *sm);
    pthread_mutex_init(&sm->lock, NULL);
}

void symmem_destroy(struct symbolic_mem *sm)
{
    free(sm->pages);
    free(sm->dirty_bitmap);
    sm->dirty_bitmap = NULL;
    sm->pages = NULL;
    sm->npages = sm->cap = 0;
}

size_t symmem_layout(uint64_t mem_bytes, const struct sym_page *pages, size_t npages,
                     struct mem_range *out)
{
    size_t n = 0;
    uint64_t start = 0;
    for (size_t i = 0; i < npages; i++) {
        if (pages[i].gpa > start)
            out[n++] = (struct mem_range){ start, pages[i].gpa - start };
        start = pages[i].gpa + PAGE;
    }
    if (start < mem_bytes)
        out[n++] = (struct mem_range){ start, mem_bytes - start };
    return n;
}

static int set_slot(struct vm *vm, uint32_t id, struct mem_range r)
{
    struct kvm_userspace_memory_region region = {
        .slot = id,
        .guest_phys_addr = r.gpa,
        .memory_size = r.size,
        .userspace_addr = r.size ? (uint64_t)(uintptr_t)(vm->mem + r.gpa) : 0,
        .flags = r.size && vm->symbolic.dirty_logging ? KVM_MEM_LOG_DIRTY_PAGES : 0,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        hv_error_errno("KVM_SET_USER_MEMORY_REGION (slot %u, gpa 0x%llx, %llu bytes) failed",
                       id, (unsigned long long)r.gpa, (unsigned long long)r.size);
        return -1;
    }
    return 0;
}

int symmem_install_ram(struct vm *vm)
{
    struct symbolic_mem *sm = &vm->symbolic;
    struct mem_range all = { 0, vm->mem_bytes };
    if (set_slot(vm, 0, all) < 0)
        return -1;
    sm->slots[0] = (struct installed_slot){ 0, all };
    sm->nslots = 1;
    sm->next_slot_id = 1;
    return 0;
}

/* Make the installed slots match RAM minus the symbolic pages. Caller holds sm->lock
 * and has paused every other vCPU. */
static int apply_layout(struct vm *vm)
{
    struct symbolic_mem *sm = &vm->symbolic;
    struct mem_range *want = malloc((sm->npages + 1) * sizeof *want);
    if (!want)
        return -1;
    size_t nwant = symmem_layout(vm->mem_bytes, sm->pages, sm->npages, want);
    if (nwant > SYM_MAX_SLOTS) {
        hv_error("too many separate symbolic pages: RAM would need %zu memslots (max %d)",
                 nwant, SYM_MAX_SLOTS);
        free(want);
        return -1;
    }
    bool *kept = calloc(nwant ? nwant : 1, sizeof *kept);
    pthread_rwlock_wrlock(&vm->slots_lock);
    struct installed_slot next[SYM_MAX_SLOTS];
    size_t nnext = 0;
    int rc = 0;
    /* Keep slots that are still wanted as they are; delete the others first, so no two
     * slots ever overlap. */
    for (size_t i = 0; i < sm->nslots; i++) {
        size_t j;
        for (j = 0; j < nwant; j++)
            if (!kept[j] && want[j].gpa == sm->slots[i].range.gpa &&
                want[j].size == sm->slots[i].range.size)
                break;
        if (j < nwant) {
            kept[j] = true;
            next[nnext++] = sm->slots[i];
        } else if (set_slot(vm, sm->slots[i].id, (struct mem_range){ sm->slots[i].range.gpa, 0 }) < 0) {
            rc = -1;
        }
    }
    for (size_t j = 0; j < nwant && rc == 0; j++) {
        if (kept[j])
            continue;
        /* Slot ids: reuse one freed above if possible, else a new one. */
        uint32_t id = sm->next_slot_id;
        for (size_t i = 0; i < sm->nslots; i++) {
            bool used = false;
            for (size_t k = 0; k < nnext; k++)
                used |= next[k].id == sm->slots[i].id;
            if (!used) {
                id = sm->slots[i].id;
                break;
            }
        }
        if (id == sm->next_slot_id)
            sm->next_slot_id++;
        if (set_slot(vm, id, want[j]) < 0)
            rc = -1;
        else
            next[nnext++] = (struct installed_slot){ id, want[j] };
    }
    memcpy(sm->slots, next, nnext * sizeof *next);
    sm->nslots = nnext;
    sm->stats.slot_changes++;
    pthread_rwlock_unlock(&vm->slots_lock);
    free(kept);
    free(want);
    return rc;
}

static struct sym_page *find_page(struct symbolic_mem *sm, uint64_t gpa, size_t *insert_at)
{
    size_t lo = 0, hi = sm->npages;
    uint64_t page = gpa & ~(PAGE - 1);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sm->pages[mid].gpa < page)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (insert_at)
        *insert_at = lo;
    return lo < sm->npages && sm->pages[lo].gpa == page ? &sm->pages[lo] : NULL;
}

/* A new, all-concrete record for `page` at sorted position `at`; NULL if out of memory. */
static struct sym_page *insert_page(struct symbolic_mem *sm, size_t at, uint64_t page)
{
    if (sm->npages == sm->cap) {
        size_t cap = sm->cap ? 2 * sm->cap : 16;
        struct sym_page *np = realloc(sm->pages, cap * sizeof *np);
        if (!np)
            return NULL;
        sm->pages = np;
        sm->cap = cap;
    }
    memmove(&sm->pages[at + 1], &sm->pages[at], (sm->npages - at) * sizeof *sm->pages);
    struct sym_page *p = &sm->pages[at];
    memset(p, 0, sizeof *p);
    p->gpa = page;
    sm->npages++;
    sm->stats.pages_marked++;
    return p;
}

static void remove_page(struct symbolic_mem *sm, struct sym_page *p)
{
    size_t idx = (size_t)(p - sm->pages);
    memmove(p, p + 1, (sm->npages - idx - 1) * sizeof *p);
    sm->npages--;
    sm->stats.pages_released++;
}

/* Copy bits into the page record (adding or removing it); returns whether the set of
 * symbolic pages changed. Caller holds sm->lock. */
static int store_page_bits(struct symbolic_mem *sm, uint64_t page, const uint64_t bits[64],
                           bool *changed)
{
    unsigned count = 0;
    for (int i = 0; i < 64; i++)
        count += (unsigned)__builtin_popcountll(bits[i]);
    size_t at;
    struct sym_page *p = find_page(sm, page, &at);
    if (p && count == 0) {
        remove_page(sm, p);
        *changed = true;
    } else if (!p && count > 0) {
        if (!(p = insert_page(sm, at, page)))
            return -1;
        *changed = true;
    }
    if (p && count > 0) {
        memcpy(p->bits, bits, sizeof p->bits);
        p->count = count;
    }
    return 0;
}

int symmem_set_page(struct vm *vm, uint64_t page, const uint64_t bits[64])
{
    struct symbolic_mem *sm = &vm->symbolic;
    page &= ~(PAGE - 1);
    bool any = false;
    for (int i = 0; i < 64; i++)
        any |= bits[i] != 0;
    pthread_mutex_lock(&sm->lock);
    bool member = find_page(sm, page, NULL) != NULL;
    if (member == any) { /* same slot layout: just the bits */
        bool changed = false;
        int rc = store_page_bits(sm, page, bits, &changed);
        pthread_mutex_unlock(&sm->lock);
        return rc;
    }
    pthread_mutex_unlock(&sm->lock);
    vm_pause(vm);
    pthread_mutex_lock(&sm->lock);
    bool changed = false;
    int rc = store_page_bits(sm, page, bits, &changed);
    if (rc == 0 && changed)
        rc = apply_layout(vm);
    pthread_mutex_unlock(&sm->lock);
    vm_resume(vm);
    return rc;
}

void symmem_release_all(struct vm *vm)
{
    struct symbolic_mem *sm = &vm->symbolic;
    vm_pause(vm);
    pthread_mutex_lock(&sm->lock);
    sm->stats.pages_released += sm->npages;
    sm->npages = 0;
    apply_layout(vm);
    pthread_mutex_unlock(&sm->lock);
    vm_resume(vm);
}

int symmem_set_dirty_logging(struct vm *vm, bool on)
{
    struct symbolic_mem *sm = &vm->symbolic;
    int rc = 0;
    vm_pause(vm);
    pthread_mutex_lock(&sm->lock);
    sm->dirty_logging = on;
    pthread_rwlock_wrlock(&vm->slots_lock);
    for (size_t i = 0; i < sm->nslots && rc == 0; i++)
        rc = set_slot(vm, sm->slots[i].id, sm->slots[i].range);
    pthread_rwlock_unlock(&vm->slots_lock);
    pthread_mutex_unlock(&sm->lock);
    vm_resume(vm);
    return rc;
}

int symmem_collect_dirty(struct vm *vm, void (*page)(void *ctx, uint64_t gpa), void *ctx)
{
    struct symbolic_mem *sm = &vm->symbolic;
    int rc = 0;
    pthread_mutex_lock(&sm->lock);
    for (size_t i = 0; i < sm->nslots && rc == 0; i++) {
        const struct installed_slot *s = &sm->slots[i];
        uint64_t npages = s->range.size / PAGE, words = (npages + 63) / 64;
        if (words > sm->dirty_words) {
            uint64_t *b = realloc(sm->dirty_bitmap, words * sizeof *b);
            if (!b) {
                rc = -1;
                break;
            }
            sm->dirty_bitmap = b;
            sm->dirty_words = words;
        }
        memset(sm->dirty_bitmap, 0, words * sizeof *sm->dirty_bitmap);
        struct kvm_dirty_log log = { .slot = s->id, .dirty_bitmap = sm->dirty_bitmap };
        if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
            hv_error_errno("KVM_GET_DIRTY_LOG (slot %u) failed", s->id);
            rc = -1;
            break;
        }
        for (uint64_t w = 0; w < words && page; w++)
            for (uint64_t bits = sm->dirty_bitmap[w]; bits; bits &= bits - 1)
                page(ctx, s->range.gpa + (w * 64 + (uint64_t)__builtin_ctzll(bits)) * PAGE);
    }
    pthread_mutex_unlock(&sm->lock);
    return rc;
}

bool symmem_any(struct vm *vm, uint64_t gpa, uint64_t len)
{
    struct symbolic_mem *sm = &vm->symbolic;
    bool any = false;
    pthread_mutex_lock(&sm->lock);
    for (uint64_t a = gpa; a < gpa + len && !any; a++) {
        struct sym_page *p = find_page(sm, a, NULL);
        unsigned off = (unsigned)(a & (PAGE - 1));
        any = p && (p->bits[off / 64] & (1ull << (off % 64)));
    }
    pthread_mutex_unlock(&sm->lock);
    return any;
}

void symmem_note(struct vm *vm, enum sym_access what)
{
    pthread_mutex_lock(&vm->symbolic.lock);
    switch (what) {
    case SYM_READ_EMULATED: vm->symbolic.stats.reads_emulated++; break;
    case SYM_WRITE_CONCRETISED: vm->symbolic.stats.writes_concretised++; break;
    case SYM_READ_SYMBOLIC: vm->symbolic.stats.symbolic_reads++; break;
    }
    pthread_mutex_unlock(&vm->symbolic.lock);
}

struct sym_stats symmem_stats(struct vm *vm)
{
    pthread_mutex_lock(&vm->symbolic.lock);
    struct sym_stats s = vm->symbolic.stats;
    pthread_mutex_unlock(&vm->symbolic.lock);
    return s;
}
