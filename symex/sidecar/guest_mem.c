#include "guest_mem.h"

#include <stdlib.h>
#include <string.h>

#include "self_mem.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull
#define CR0_PG (1ull << 31)
#define CR4_LA57 (1ull << 12)

void guest_view_init(struct guest_view *g, uint8_t *ram, uint64_t ram_bytes,
                     const struct sc_cpu *cpu)
{
    memset(g, 0, sizeof *g);
    g->ram = ram;
    g->ram_bytes = ram_bytes;
    g->cr0 = cpu->cr0;
    g->cr3 = cpu->cr3;
    g->cr4 = cpu->cr4;
    g->efer = cpu->efer;
    g->user = cpu->cpl == 3;
}

void guest_view_release(struct guest_view *g)
{
    free(g->touched);
    g->touched = NULL;
}

static uint64_t *entry_at(struct guest_view *g, uint64_t table, unsigned index)
{
    uint64_t gpa = (table & PTE_ADDR) + 8ull * index;
    return gpa + 8 <= g->ram_bytes ? (uint64_t *)(g->ram + gpa) : NULL;
}

/* A long-mode walk (4 or 5 levels, 1 GiB and 2 MiB pages). */
static int walk(struct guest_view *g, uint64_t vaddr, bool write, uint64_t *paddr)
{
    if (!(g->cr0 & CR0_PG)) {
        *paddr = vaddr;
        return vaddr < g->ram_bytes ? 0 : -1;
    }
    int levels = g->cr4 & CR4_LA57 ? 5 : 4;
    uint64_t table = g->cr3;
    uint64_t *entries[5];
    int n = 0;
    for (int level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t *e = entry_at(g, table, (unsigned)(vaddr >> shift) & 511);
        if (!e)
            return -1;
        uint64_t v = __atomic_load_n(e, __ATOMIC_RELAXED);
        if (!(v & PTE_P) || (write && !(v & PTE_W)) || (g->user && !(v & PTE_U)))
            return -1;
        entries[n++] = e;
        if (level == 1 || ((level == 2 || level == 3) && (v & PTE_PS))) {
            uint64_t size = 1ull << shift;
            *paddr = (v & PTE_ADDR & ~(size - 1)) | (vaddr & (size - 1));
            /* the CPU's accessed/dirty bits (the guest kernel may rely on them); set
             * only when missing, so walks on other threads do not fight over lines */
            for (int i = 0; i < n; i++) {
                uint64_t want = PTE_A | (i == n - 1 && write ? PTE_D : 0);
                if ((__atomic_load_n(entries[i], __ATOMIC_RELAXED) & want) != want)
                    __atomic_fetch_or(entries[i], want, __ATOMIC_RELAXED);
            }
            return *paddr < g->ram_bytes ? 0 : -1;
        }
        table = v;
    }
    return -1;
}

int guest_translate(struct guest_view *g, uint64_t vaddr, bool write, uint64_t *paddr)
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
        if (guest_translate(g, addr, write, &pa) < 0)
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
    if ((addr & 4095) + len > 4096 || (addr & (len - 1))) {
        /* split or unaligned locked access: not atomic from here (see interp.h) */
        *old = 0;
        if (gm_read(o, addr, old, len) < 0)
            return -1;
        return *old == expected ? gm_write(o, addr, &desired, len) : 0;
    }
    if (guest_translate(g, addr, true, &pa) < 0)
        return -1;
    if (sx_host_cmpxchg(g->ram + pa, len, expected, desired, old))
        guest_view_touch(g, pa & ~4095ull);
    return 0;
}

static int gm_translate(void *o, uint64_t vpage, uint64_t *ppage)
{
    return guest_translate(o, vpage, false, ppage);
}

const struct sx_mem_ops guest_mem_ops = { gm_read, gm_write, gm_cmpxchg, gm_translate };
