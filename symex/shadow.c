#include "shadow.h"

#include <stdlib.h>

#define PAGE 4096u
#define BUCKETS 256u

struct shadow_page {
    struct shadow_page *next;
    uint64_t page;       /* address / PAGE */
    size_t count;        /* symbolic bytes in this page */
    const struct sx_expr *bytes[PAGE];
};

struct sx_shadow {
    struct shadow_page *buckets[BUCKETS];
    size_t total;
};

struct sx_shadow *sx_shadow_new(void) { return calloc(1, sizeof(struct sx_shadow)); }

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
    free(sh);
}

static struct shadow_page **find(const struct sx_shadow *sh, uint64_t page)
{
    struct shadow_page **link = (struct shadow_page **)&sh->buckets[page % BUCKETS];
    while (*link && (*link)->page != page)
        link = &(*link)->next;
    return link;
}

const struct sx_expr *sx_shadow_get(const struct sx_shadow *sh, uint64_t addr)
{
    struct shadow_page *p = *find(sh, addr / PAGE);
    return p ? p->bytes[addr % PAGE] : NULL;
}

void sx_shadow_set(struct sx_shadow *sh, uint64_t addr, const struct sx_expr *e)
{
    if (e && sx_is_const(e))
        e = NULL;
    struct shadow_page **link = find(sh, addr / PAGE);
    struct shadow_page *p = *link;
    if (!p) {
        if (!e)
            return;
        p = calloc(1, sizeof *p);
        if (!p)
            abort();
        p->page = addr / PAGE;
        *link = p;
    }
    const struct sx_expr **slot = &p->bytes[addr % PAGE];
    if (!*slot && e) {
        p->count++;
        sh->total++;
    } else if (*slot && !e) {
        p->count--;
        sh->total--;
    }
    *slot = e;
    if (p->count == 0) { /* no symbolic byte left: drop the page */
        *link = p->next;
        free(p);
    }
}

bool sx_shadow_any(const struct sx_shadow *sh, uint64_t addr, uint64_t len)
{
    for (uint64_t a = addr; a - addr < len;) {
        struct shadow_page *p = *find(sh, a / PAGE);
        uint64_t end = (a / PAGE + 1) * PAGE;
        if (p) {
            for (uint64_t b = a; b < end && b - addr < len; b++)
                if (p->bytes[b % PAGE])
                    return true;
        }
        if (end <= a)
            break; /* wrapped around the address space */
        a = end;
    }
    return false;
}

size_t sx_shadow_page_count(const struct sx_shadow *sh, uint64_t page_addr)
{
    struct shadow_page *p = *find(sh, page_addr / PAGE);
    return p ? p->count : 0;
}

size_t sx_shadow_total(const struct sx_shadow *sh) { return sh->total; }
