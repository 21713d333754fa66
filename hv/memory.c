#include "memory.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

static size_t bitmap_words(uint64_t npages) { return (size_t)((npages + 63) / 64); }

int memory_init(struct memory *m, int vm_fd, uint64_t bytes, const struct memory_pause_ops *pause,
                void *pause_ctx)
{
    m->vm_fd = vm_fd;
    m->pause_ops = pause;
    m->pause_ctx = pause_ctx;
    m->npages = bytes / SYMHV_PAGE_SIZE;
    m->fd = memfd_create("symhv-guest-ram", MFD_CLOEXEC);
    if (m->fd < 0) {
        hv_error_errno("memfd_create for guest RAM failed");
        return -1;
    }
    if (ftruncate(m->fd, (off_t)bytes) < 0) {
        hv_error_errno("cannot size guest RAM memfd to %llu MiB",
                       (unsigned long long)(bytes >> 20));
        return -1;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
    if (p == MAP_FAILED) {
        hv_error_errno("cannot map %llu MiB of guest RAM", (unsigned long long)(bytes >> 20));
        return -1;
    }
    m->ram = p;
    m->bytes = bytes;
    size_t words = bitmap_words(m->npages);
    m->slots = calloc(MEM_MAX_SLOTS, sizeof *m->slots);
    m->dirty = calloc(words, sizeof *m->dirty);
    m->log_scratch = calloc(words, sizeof *m->log_scratch);
    m->host_written = calloc(words, sizeof *m->host_written);
    if (!m->slots || !m->dirty || !m->log_scratch || !m->host_written) {
        hv_error("out of memory for the memslot tables");
        return -1;
    }
    return memory_set_traps(m, NULL, 0); /* one slot over all of RAM */
}

void memory_destroy(struct memory *m)
{
    if (m->ram)
        munmap(m->ram, m->bytes);
    if (m->fd >= 0)
        close(m->fd);
    free(m->trapped);
    free(m->trap_owners);
    free(m->slots);
    free(m->dirty);
    free(m->log_scratch);
    free(m->host_written);
    *m = (struct memory){ .fd = -1, .lock = m->lock };
}

size_t memory_layout(uint64_t bytes, const uint64_t *trapped, size_t n, struct mem_range *out)
{
    size_t k = 0;
    uint64_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (trapped[i] > start)
            out[k++] = (struct mem_range){ start, trapped[i] - start };
        start = trapped[i] + SYMHV_PAGE_SIZE;
    }
    if (start < bytes)
        out[k++] = (struct mem_range){ start, bytes - start };
    return k;
}

static int set_slot(struct memory *m, uint32_t id, struct mem_range r)
{
    struct kvm_userspace_memory_region region = {
        .slot = id,
        .guest_phys_addr = r.gpa,
        .memory_size = r.size,
        .userspace_addr = r.size ? (uint64_t)(uintptr_t)(m->ram + r.gpa) : 0,
        .flags = r.size && m->dirty_logging ? KVM_MEM_LOG_DIRTY_PAGES : 0,
    };
    if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        hv_error_errno("KVM_SET_USER_MEMORY_REGION (slot %u, gpa 0x%llx, %llu bytes) failed",
                       id, (unsigned long long)r.gpa, (unsigned long long)r.size);
        return -1;
    }
    return 0;
}

/* KVM's dirty log of one slot into m->dirty (KVM clears it). Caller holds m->lock. */
static int fetch_log(struct memory *m, const struct installed_slot *s)
{
    if (!m->dirty_logging)
        return 0;
    uint64_t npages = s->range.size / SYMHV_PAGE_SIZE, first = s->range.gpa / SYMHV_PAGE_SIZE;
    size_t words = bitmap_words(npages);
    memset(m->log_scratch, 0, words * sizeof *m->log_scratch);
    struct kvm_dirty_log log = { .slot = s->id, .dirty_bitmap = m->log_scratch };
    if (ioctl(m->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
        hv_error_errno("KVM_GET_DIRTY_LOG (slot %u) failed", s->id);
        return -1;
    }
    for (size_t w = 0; w < words; w++)
        for (uint64_t bits = m->log_scratch[w]; bits; bits &= bits - 1) {
            uint64_t page = first + w * 64 + (uint64_t)__builtin_ctzll(bits);
            m->dirty[page / 64] |= 1ull << (page % 64);
        }
    return 0;
}

/* Make the installed slots match RAM minus the trapped pages. Caller holds m->lock and
 * has paused the VM. Slots still wanted stay as they are; the others are deleted first
 * (their dirty log saved), so no two slots ever overlap. */
static int apply_layout(struct memory *m)
{
    struct mem_range *want = malloc((m->ntrapped + 1) * sizeof *want);
    struct installed_slot *next = malloc(MEM_MAX_SLOTS * sizeof *next);
    bool *kept = NULL;
    int rc = -1;
    if (!want || !next) {
        hv_error("out of memory for a memslot layout");
        goto out;
    }
    size_t nwant = memory_layout(m->bytes, m->trapped, m->ntrapped, want);
    if (nwant > MEM_MAX_SLOTS) {
        hv_error("too many separate trapped pages: RAM would need %zu memslots (max %d)",
                 nwant, MEM_MAX_SLOTS);
        goto out;
    }
    kept = calloc(nwant ? nwant : 1, sizeof *kept);
    if (!kept)
        goto out;
    size_t nnext = 0;
    rc = 0;
    for (size_t i = 0; i < m->nslots; i++) {
        size_t j;
        for (j = 0; j < nwant; j++)
            if (!kept[j] && want[j].gpa == m->slots[i].range.gpa &&
                want[j].size == m->slots[i].range.size)
                break;
        if (j < nwant) {
            kept[j] = true;
            next[nnext++] = m->slots[i];
        } else if (fetch_log(m, &m->slots[i]) < 0 ||
                   set_slot(m, m->slots[i].id, (struct mem_range){ m->slots[i].range.gpa, 0 }) < 0) {
            rc = -1;
        }
    }
    for (size_t j = 0; j < nwant && rc == 0; j++) {
        if (kept[j])
            continue;
        /* Slot ids: reuse one freed above if possible, else a new one. */
        uint32_t id = m->next_slot_id;
        for (size_t i = 0; i < m->nslots; i++) {
            bool used = false;
            for (size_t k = 0; k < nnext && !used; k++)
                used = next[k].id == m->slots[i].id;
            if (!used) {
                id = m->slots[i].id;
                break;
            }
        }
        if (id == m->next_slot_id)
            m->next_slot_id++;
        if (set_slot(m, id, want[j]) < 0)
            rc = -1;
        else
            next[nnext++] = (struct installed_slot){ id, want[j] };
    }
    memcpy(m->slots, next, nnext * sizeof *next);
    m->nslots = nnext;
    m->slot_changes++;
out:
    free(kept);
    free(next);
    free(want);
    return rc;
}

/* Position of page in the sorted trapped list (where it is or would go). */
static size_t find_trapped(const struct memory *m, uint64_t page, bool *found)
{
    size_t lo = 0, hi = m->ntrapped;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->trapped[mid] < page)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->ntrapped && m->trapped[lo] == page;
    return lo;
}

/* Make page's owners `owners` (0: not trapped). Returns 1 if the trapped set changed,
 * 0 if not, -1 on OOM. Caller holds m->lock. */
static int set_owners(struct memory *m, uint64_t page, uint8_t owners)
{
    bool found;
    size_t at = find_trapped(m, page, &found);
    if (found) {
        if (owners) {
            m->trap_owners[at] = owners;
            return 0;
        }
        memmove(&m->trapped[at], &m->trapped[at + 1], (m->ntrapped - at - 1) * sizeof *m->trapped);
        memmove(&m->trap_owners[at], &m->trap_owners[at + 1], m->ntrapped - at - 1);
        m->ntrapped--;
        return 1;
    }
    if (!owners)
        return 0;
    if (m->ntrapped == m->trapped_cap) {
        size_t cap = m->trapped_cap ? 2 * m->trapped_cap : 16;
        uint64_t *t = realloc(m->trapped, cap * sizeof *t);
        if (!t)
            return -1;
        m->trapped = t;
        uint8_t *o = realloc(m->trap_owners, cap);
        if (!o)
            return -1;
        m->trap_owners = o;
        m->trapped_cap = cap;
    }
    memmove(&m->trapped[at + 1], &m->trapped[at], (m->ntrapped - at) * sizeof *m->trapped);
    memmove(&m->trap_owners[at + 1], &m->trap_owners[at], m->ntrapped - at);
    m->trapped[at] = page;
    m->trap_owners[at] = owners;
    m->ntrapped++;
    return 1;
}

static uint8_t owners_of(const struct memory *m, uint64_t page)
{
    bool found;
    size_t at = find_trapped(m, page, &found);
    return found ? m->trap_owners[at] : 0;
}

static uint8_t owners_after(uint8_t owners, const struct trap_change *c)
{
    return c->trapped ? owners | c->owner : owners & ~c->owner;
}

/* How many memslots RAM minus the trapped pages takes (its maximal ranges). */
static size_t layout_slots(const struct memory *m)
{
    size_t n = 0;
    uint64_t at = 0;
    for (size_t i = 0; i < m->ntrapped; i++) {
        n += m->trapped[i] > at;
        at = m->trapped[i] + SYMHV_PAGE_SIZE;
    }
    return n + (at < m->bytes);
}

int memory_set_traps(struct memory *m, const struct trap_change *changes, size_t n)
{
    /* A change of owners only, or nothing (the common case for a reply that touched
     * trapped pages only): no pause. */
    pthread_mutex_lock(&m->lock);
    bool any = m->nslots == 0;
    for (size_t i = 0; i < n && !any; i++) {
        if (changes[i].page >= m->bytes)
            continue;
        uint8_t was = owners_of(m, page_floor(changes[i].page));
        any = !was != !owners_after(was, &changes[i]);
    }
    if (!any) {
        for (size_t i = 0; i < n; i++)
            if (changes[i].page < m->bytes) {
                uint64_t page = page_floor(changes[i].page);
                set_owners(m, page, owners_after(owners_of(m, page), &changes[i]));
            }
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    pthread_mutex_unlock(&m->lock);
    uint8_t *before = calloc(n ? n : 1, 1); /* each change's page's owners before it */
    if (!before) {
        hv_error("out of memory for the trapped page list");
        return -1;
    }
    m->pause_ops->pause(m->pause_ctx);
    pthread_mutex_lock(&m->lock);
    int rc = 0, changed = m->nslots == 0;
    size_t done = 0;
    for (; done < n && rc == 0; done++) {
        if (changes[done].page >= m->bytes)
            continue;
        uint64_t page = page_floor(changes[done].page);
        before[done] = owners_of(m, page);
        int c = set_owners(m, page, owners_after(before[done], &changes[done]));
        if (c < 0) {
            hv_error("out of memory for the trapped page list");
            rc = -1;
        }
        changed |= c > 0;
    }
    if (rc == 0 && changed && layout_slots(m) > MEM_MAX_SLOTS) {
        /* the list goes back to the installed layout; the caller decides (no message) */
        for (size_t i = done; i-- > 0;)
            if (changes[i].page < m->bytes &&
                set_owners(m, page_floor(changes[i].page), before[i]) < 0)
                rc = -1; /* cannot happen: removing needs no memory, re-adding had room */
        rc = rc < 0 ? -1 : MEMORY_TOO_MANY_SLOTS;
        changed = false;
    }
    free(before);
    if (rc == 0 && changed)
        rc = apply_layout(m);
    pthread_mutex_unlock(&m->lock);
    m->pause_ops->resume(m->pause_ctx);
    return rc;
}

unsigned memory_trap_owners(struct memory *m, uint64_t page)
{
    pthread_mutex_lock(&m->lock);
    unsigned owners = owners_of(m, page_floor(page));
    pthread_mutex_unlock(&m->lock);
    return owners;
}

bool memory_is_trapped(struct memory *m, uint64_t page) { return memory_trap_owners(m, page) != 0; }

bool memory_trapped_by(struct memory *m, uint64_t page, enum mem_trap_owner owner)
{
    return (memory_trap_owners(m, page) & owner) != 0;
}

size_t memory_trapped_list(struct memory *m, enum mem_trap_owner owner, uint64_t **pages)
{
    pthread_mutex_lock(&m->lock);
    size_t n = 0;
    uint64_t *out = malloc((m->ntrapped ? m->ntrapped : 1) * sizeof *out);
    for (size_t i = 0; out && i < m->ntrapped; i++)
        if (m->trap_owners[i] & owner)
            out[n++] = m->trapped[i];
    pthread_mutex_unlock(&m->lock);
    if (!n) {
        free(out);
        out = NULL;
    }
    *pages = out;
    return n;
}

size_t memory_trapped_count(struct memory *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->ntrapped;
    pthread_mutex_unlock(&m->lock);
    return n;
}

void memory_note_write(struct memory *m, uint64_t gpa, uint64_t len)
{
    if (!len || gpa >= m->bytes)
        return;
    uint64_t last = (gpa + len - 1 < m->bytes ? gpa + len - 1 : m->bytes - 1) / SYMHV_PAGE_SIZE;
    for (uint64_t p = gpa / SYMHV_PAGE_SIZE; p <= last; p++)
        if (!(__atomic_load_n(&m->host_written[p / 64], __ATOMIC_RELAXED) & (1ull << (p % 64))))
            __atomic_fetch_or(&m->host_written[p / 64], 1ull << (p % 64), __ATOMIC_RELAXED);
}

void memory_write(struct memory *m, uint64_t gpa, const void *src, uint64_t len)
{
    uint8_t *h = memory_host(m, gpa, len);
    if (!h)
        return;
    memcpy(h, src, len);
    memory_note_write(m, gpa, len);
}

void memory_add_writer(struct memory *m, uint64_t *bits)
{
    pthread_mutex_lock(&m->lock);
    if (m->nwriters < MEM_MAX_WRITERS)
        m->writers[m->nwriters++] = bits;
    pthread_mutex_unlock(&m->lock);
}

void memory_remove_writer(struct memory *m, uint64_t *bits)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nwriters; i++)
        if (m->writers[i] == bits) {
            m->writers[i] = m->writers[--m->nwriters];
            break;
        }
    pthread_mutex_unlock(&m->lock);
}

int memory_dirty_start(struct memory *m)
{
    int rc = 0;
    m->pause_ops->pause(m->pause_ctx);
    pthread_mutex_lock(&m->lock);
    if (!m->dirty_logging) {
        m->dirty_logging = true;
        for (size_t i = 0; i < m->nslots && rc == 0; i++)
            rc = set_slot(m, m->slots[i].id, m->slots[i].range);
        if (rc < 0)
            m->dirty_logging = false;
    }
    pthread_mutex_unlock(&m->lock);
    m->pause_ops->resume(m->pause_ctx);
    return rc;
}

/* Gather every source into m->dirty and clear them. Caller holds m->lock. */
static int gather_dirty(struct memory *m)
{
    for (size_t i = 0; i < m->nslots; i++)
        if (fetch_log(m, &m->slots[i]) < 0)
            return -1;
    size_t words = bitmap_words(m->npages);
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = __atomic_exchange_n(&m->host_written[w], 0, __ATOMIC_RELAXED);
        for (size_t k = 0; k < m->nwriters; k++)
            bits |= __atomic_exchange_n(&m->writers[k][w], 0, __ATOMIC_RELAXED);
        m->dirty[w] |= bits;
    }
    return 0;
}

int memory_dirty_reset(struct memory *m)
{
    pthread_mutex_lock(&m->lock);
    int rc = gather_dirty(m);
    memset(m->dirty, 0, bitmap_words(m->npages) * sizeof *m->dirty);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int memory_dirty_collect(struct memory *m, void (*page)(void *ctx, uint64_t gpa), void *ctx)
{
    pthread_mutex_lock(&m->lock);
    int rc = gather_dirty(m);
    size_t words = bitmap_words(m->npages);
    for (size_t w = 0; w < words; w++) {
        for (uint64_t bits = m->dirty[w]; bits; bits &= bits - 1)
            page(ctx, (w * 64 + (uint64_t)__builtin_ctzll(bits)) * SYMHV_PAGE_SIZE);
        m->dirty[w] = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

uint64_t memory_slot_changes(struct memory *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->slot_changes;
    pthread_mutex_unlock(&m->lock);
    return n;
}
