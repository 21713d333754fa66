#include "shadow.h"

#include <pthread.h>
#include <stdlib.h>

#define PAGE 4096u
#define BUCKETS 256u

struct shadow_page {
    struct shadow_page *next;
    uint64_t page;       /* address / PAGE */
    size_t count;        /* symbolic bytes in this page */
    const struct sx_expr *bytes[PAGE];
};

/* Shared by the sidecar's interpreter threads. Writers take `lock`; readers take no
 * lock (every interpreted load asks, so a shared lock word would bounce between the
 * cores): a page, once linked into its bucket, stays until sx_shadow_free, and its
 * byte slots are read and written atomically. */
struct sx_shadow {
    pthread_mutex_t lock;
    struct shadow_page *buckets[BUCKETS];
    size_t total;
    uint64_t *mirror;     /* optional: one bit per byte, kept equal to "is symbolic" */
    uint64_t mirror_limit;
};

struct sx_shadow *sx_shadow_new(void)
{
    struct sx_shadow *sh = calloc(1, sizeof(struct sx_shadow));
    if (sh)
        pthread_mutex_init(&sh->lock, NULL);
    return sh;
}

void sx_shadow_set_mirror(struct sx_shadow *sh, uint64_t *bits, uint64_t limit)
{
    pthread_mutex_lock(&sh->lock);
    sh->mirror = bits;
    sh->mirror_limit = limit;
    pthread_mutex_unlock(&sh->lock);
}

static void mirror_bit(struct sx_shadow *sh, uint64_t addr, bool symbolic)
{
    if (!sh->mirror || addr >= sh->mirror_limit)
        return;
    uint64_t bit = 1ull << (addr % 64);
    if (symbolic)
        __atomic_fetch_or(&sh->mirror[addr / 64], bit, __ATOMIC_RELEASE);
    else
        __atomic_fetch_and(&sh->mirror[addr / 64], ~bit, __ATOMIC_RELEASE);
}

void sx_shadow_free(struct sx_shadow *sh)
{
    if (!sh)
        return;
    for (unsigned i = 0; i < BUCKETS; i++) {
        for (struct shadow_page *p = sh->buckets[i], *next; p; p = next) {
            next = p->next;
            free(p);
        }
    }
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

/* The page record, or NULL. Lock-free: new pages are published at a bucket's head
 * with a release store, and never unlinked while the shadow lives. */
static struct shadow_page *find(const struct sx_shadow *sh, uint64_t page)
{
    struct shadow_page *p = __atomic_load_n(&sh->buckets[page % BUCKETS], __ATOMIC_ACQUIRE);
    while (p && p->page != page)
        p = p->next;
    return p;
}

const struct sx_expr *sx_shadow_get(struct sx_shadow *sh, uint64_t addr)
{
    struct shadow_page *p = find(sh, addr / PAGE);
    return p ? __atomic_load_n(&p->bytes[addr % PAGE], __ATOMIC_ACQUIRE) : NULL;
}

void sx_shadow_set(struct sx_shadow *sh, uint64_t addr, const struct sx_expr *e)
{
    if (e && sx_is_const(e))
        e = NULL;
    struct shadow_page *p = find(sh, addr / PAGE);
    if (!p && !e)
        return; /* concrete, and stays so */
    pthread_mutex_lock(&sh->lock);
    if (!p && !(p = find(sh, addr / PAGE))) {
        p = calloc(1, sizeof *p);
        if (!p)
            abort();
        p->page = addr / PAGE;
        p->next = sh->buckets[p->page % BUCKETS];
        __atomic_store_n(&sh->buckets[p->page % BUCKETS], p, __ATOMIC_RELEASE);
    }
    const struct sx_expr **slot = &p->bytes[addr % PAGE];
    if (!*slot && e) {
        __atomic_add_fetch(&p->count, 1, __ATOMIC_RELEASE);
        sh->total++;
    } else if (*slot && !e) {
        __atomic_sub_fetch(&p->count, 1, __ATOMIC_RELEASE);
        sh->total--;
    }
    __atomic_store_n(slot, e, __ATOMIC_RELEASE);
    mirror_bit(sh, addr, e != NULL);
    pthread_mutex_unlock(&sh->lock);
}

void sx_shadow_clear(struct sx_shadow *sh)
{
    pthread_mutex_lock(&sh->lock);
    for (unsigned i = 0; i < BUCKETS; i++)
        for (struct shadow_page *p = sh->buckets[i]; p; p = p->next) {
            for (unsigned b = 0; b < PAGE && p->count; b++)
                if (p->bytes[b]) {
                    __atomic_store_n(&p->bytes[b], NULL, __ATOMIC_RELEASE);
                    __atomic_sub_fetch(&p->count, 1, __ATOMIC_RELEASE);
                    mirror_bit(sh, p->page * PAGE + b, false);
                }
        }
    sh->total = 0;
    pthread_mutex_unlock(&sh->lock);
}

bool sx_shadow_any(struct sx_shadow *sh, uint64_t addr, uint64_t len)
{
    bool any = false;
    for (uint64_t a = addr; a - addr < len;) {
        struct shadow_page *p = find(sh, a / PAGE);
        uint64_t end = (a / PAGE + 1) * PAGE;
        if (p && __atomic_load_n(&p->count, __ATOMIC_ACQUIRE)) {
            for (uint64_t b = a; b < end && b - addr < len && !any; b++)
                any = __atomic_load_n(&p->bytes[b % PAGE], __ATOMIC_ACQUIRE) != NULL;
        }
        if (any || end <= a)
            break; /* found, or wrapped around the address space */
        a = end;
    }
    return any;
}

size_t sx_shadow_page_count(struct sx_shadow *sh, uint64_t page_addr)
{
    struct shadow_page *p = find(sh, page_addr / PAGE);
    return p ? __atomic_load_n(&p->count, __ATOMIC_ACQUIRE) : 0;
}

size_t sx_shadow_total(struct sx_shadow *sh)
{
    pthread_mutex_lock(&sh->lock);
    size_t n = sh->total;
    pthread_mutex_unlock(&sh->lock);
    return n;
}
