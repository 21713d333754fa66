#include "pagewalk.h"

#include <stddef.h>

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

bool x86_canonical(const struct x86_paging *p, uint64_t va)
{
    unsigned bits = p->cr4 & CR4_LA57 ? 57 : 48;
    int64_t shifted = (int64_t)(va << (64 - bits)) >> (64 - bits);
    return (uint64_t)shifted == va;
}

static uint64_t *entry_at(uint8_t *ram, uint64_t ram_bytes, uint64_t table, unsigned index)
{
    uint64_t pa = (table & PTE_ADDR) + 8ull * index;
    return pa <= ram_bytes - 8 ? (uint64_t *)(ram + pa) : NULL;
}

int x86_translate(const struct x86_paging *p, uint8_t *ram, uint64_t ram_bytes, uint64_t va,
                  unsigned access, uint64_t *pa)
{
    if (ram_bytes < 8)
        return X86_OUTSIDE_RAM;
    if (!(p->cr0 & CR0_PG)) {
        *pa = va;
        return va < ram_bytes ? 0 : X86_OUTSIDE_RAM;
    }
    /* long mode only: the agent and the interpreter never meet 32-bit paging */
    if (!(p->efer & EFER_LMA) || !(p->cr4 & CR4_PAE) || !x86_canonical(p, va))
        return -1;
    bool write = access & X86_WRITE, user = access & X86_USER, fetch = access & X86_FETCH;
    /* supervisor writes ignore W only without CR0.WP; user accesses need U at every level */
    bool check_w = write && (user || (p->cr0 & CR0_WP));
    int levels = p->cr4 & CR4_LA57 ? 5 : 4;
    uint64_t table = p->cr3;
    uint64_t *walked[5];
    int n = 0;
    for (int level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t *e = entry_at(ram, ram_bytes, table, (unsigned)(va >> shift) & 511);
        if (!e)
            return X86_OUTSIDE_RAM;
        uint64_t v = __atomic_load_n(e, __ATOMIC_RELAXED);
        if (!(v & PTE_P) || (check_w && !(v & PTE_W)) || (user && !(v & PTE_U)) ||
            (fetch && (p->efer & EFER_NXE) && (v & PTE_NX)))
            return -1;
        walked[n++] = e;
        if (level == 1 || ((level == 2 || level == 3) && (v & PTE_PS))) {
            uint64_t size = 1ull << shift;
            uint64_t phys = (v & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
            if (phys >= ram_bytes)
                return X86_OUTSIDE_RAM; /* MMIO: mapped, the CPU would not fault */
            if (access & X86_SET_AD) {
                /* only when missing, so walks on other threads do not fight over lines */
                for (int i = 0; i < n; i++) {
                    uint64_t want = PTE_A | (i == n - 1 && write ? PTE_D : 0);
                    if ((__atomic_load_n(walked[i], __ATOMIC_RELAXED) & want) != want)
                        __atomic_fetch_or(walked[i], want, __ATOMIC_RELAXED);
                }
            }
            *pa = phys;
            return 0;
        }
        table = v;
    }
    return -1;
}
