#include "guest_mem.h"

#include <stdlib.h>
#include <string.h>

#include "self_mem.h"

void guest_view_init(struct guest_view *g, uint8_t *ram, uint64_t ram_bytes,
                     uint64_t *written, uint32_t *rmw_lock, const struct sc_cpu *cpu)
{
    memset(g, 0, sizeof *g);
    g->ram = ram;
    g->ram_bytes = ram_bytes;
    g->written = written;
    g->rmw_lock = rmw_lock;
    g->paging = (struct x86_paging){ cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer };
    g->user = cpu->cpl == 3;
}

void guest_view_release(struct guest_view *g)
{
    free(g->touched);
    g->touched = NULL;
}

static int walk(struct guest_view *g, uint64_t vaddr, bool write, uint64_t *paddr)
{
    unsigned access = X86_SET_AD | (write ? X86_WRITE : X86_READ) | (g->user ? X86_USER : 0);
    return x86_translate(&g->paging, g->ram, g->ram_bytes, vaddr, access, paddr);
}

int guest_view_translate(struct guest_view *g, uint64_t vaddr, bool write, uint64_t *paddr)
{
    uint64_t vpage = vaddr & ~4095ull, ppage;
    struct guest_tlb_entry *t = &(write ? g->wtlb : g->rtlb)[(vpage >> 12) % GUEST_TLB_SIZE];
    if (t->valid && t->vpage == vpage) {
        *paddr = t->ppage | (vaddr & 4095);
        return 0;
    }
    if (walk(g, vpage, write, &ppage) < 0)
        return -1;
    ppage &= ~4095ull;
    *t = (struct guest_tlb_entry){ vpage, ppage, true };
    *paddr = ppage | (vaddr & 4095);
    return 0;
}

void guest_view_touch(struct guest_view *g, uint64_t gpa_page)
{
    if (g->written && gpa_page < g->ram_bytes) {
        uint64_t p = gpa_page / 4096;
        if (!(__atomic_load_n(&g->written[p / 64], __ATOMIC_RELAXED) & (1ull << (p % 64))))
            __atomic_fetch_or(&g->written[p / 64], 1ull << (p % 64), __ATOMIC_RELAXED);
    }
    for (size_t i = g->ntouched; i-- > 0;)
        if (g->touched[i] == gpa_page)
            return;
    if (g->ntouched == SC_MAX_PAGES) {
        g->touched_overflow = true;
        return;
    }
    if (g->ntouched == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->touched = realloc(g->touched, g->cap * sizeof *g->touched);
        if (!g->touched)
            abort();
    }
    g->touched[g->ntouched++] = gpa_page;
}

static int copy(struct guest_view *g, uint64_t addr, void *buf, size_t len, bool write)
{
    uint8_t *b = buf;
    while (len > 0) {
        size_t n = 4096 - (addr & 4095);
        if (n > len)
            n = len;
        uint64_t pa;
        if (guest_view_translate(g, addr, write, &pa) < 0)
            return -1;
        if (write) {
            memcpy(g->ram + pa, b, n);
            guest_view_touch(g, pa & ~4095ull);
        } else {
            memcpy(b, g->ram + pa, n);
        }
        addr += n;
        b += n;
        len -= n;
    }
    return 0;
}

static int gm_read(void *o, uint64_t addr, void *buf, size_t len) { return copy(o, addr, buf, len, false); }
static int gm_write(void *o, uint64_t addr, const void *buf, size_t len)
{
    return copy(o, addr, (void *)buf, len, true);
}

static int gm_cmpxchg(void *o, uint64_t addr, size_t len, uint64_t expected, uint64_t desired,
                      uint64_t *old)
{
    struct guest_view *g = o;
    uint64_t pa;
    int rc = 0;
    if (g->rmw_lock) /* against the VMM emulating one on trapped RAM (sidecar.h) */
        sc_rmw_lock(g->rmw_lock, NULL, NULL);
    if ((addr & 4095) + len > 4096 || (addr & (len - 1))) {
        /* split or unaligned locked access: atomic only against the VMM (see interp.h) */
        *old = 0;
        rc = gm_read(o, addr, old, len) < 0 ? -1 : *old == expected ? gm_write(o, addr, &desired, len) : 0;
    } else if (guest_view_translate(g, addr, true, &pa) < 0) {
        rc = -1;
    } else if (sx_host_cmpxchg(g->ram + pa, len, expected, desired, old)) {
        guest_view_touch(g, pa & ~4095ull);
    }
    if (g->rmw_lock)
        sc_rmw_unlock(g->rmw_lock);
    return rc;
}

static int gm_translate(void *o, uint64_t vpage, uint64_t *ppage)
{
    return guest_view_translate(o, vpage, false, ppage);
}

const struct sx_mem_ops guest_mem_ops = { gm_read, gm_write, gm_cmpxchg, gm_translate };
