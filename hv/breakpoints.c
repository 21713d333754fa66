#include "breakpoints.h"

#include <Zydis/Zydis.h>
#include <elf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define INT3 0xcc
#define NO_GPA UINT64_MAX
#define MAX_PROGRAM_BYTES (256u << 20) /* a program file read whole: bigger is refused */
#define MAX_RANGES (1u << 18)          /* functions swept one by one; more: by section */

struct breakpoints {
    /* lock order: lock, then guest memory's (a hit writes RAM under it) */
    pthread_mutex_t lock;
    size_t n;
    uint64_t entry;     /* the ELF's e_entry */
    uint64_t *addr;     /* the blocks' addresses, sorted (read-only after open) */
    uint64_t *gpa;      /* where each is in guest RAM (NO_GPA: not mapped), set by arm */
    uint8_t *orig;      /* the byte an int3 replaced */
    uint8_t *hit;       /* 1 once hit (never armed again) */
    uint8_t *trace;     /* hit since the last breakpoints_take_trace */
    struct vm *vm;      /* set by arm */
    struct snapshot *snap;
    uint64_t bias;      /* set by arm: a position-independent program's load base */
};

/* ---- finding the blocks ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct range {
    uint64_t addr, len;
};

struct sweep {
    uint64_t *cand;     /* branch targets and fall-throughs (may hold duplicates) */
    size_t ncand, cap;
    bool full;
};

static void add_candidate(struct sweep *s, uint64_t a)
{
    if (s->ncand == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        uint64_t *p = cap <= 4 * (size_t)BREAKPOINTS_MAX ? realloc(s->cand, cap * sizeof *p) : NULL;
        if (!p) {
            s->full = true;
            return;
        }
        s->cand = p;
        s->cap = cap;
    }
    s->cand[s->ncand++] = a;
}

/* Code at vaddr, len bytes (at byte `base` of its segment). starts[] (the segment's) gets
 * a bit per byte where an instruction of the sweep begins. */
static void sweep_segment(ZydisDecoder *dec, const uint8_t *code, size_t len, uint64_t vaddr,
                          uint8_t *starts, uint64_t base, struct sweep *s)
{
    size_t off = 0;
    while (off < len) {
        ZydisDecodedInstruction d;
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL, code + off, len - off, &d))) {
            off++; /* data or padding: resynchronise a byte further */
            continue;
        }
        starts[(base + off) / 8] |= (uint8_t)(1u << ((base + off) % 8));
        uint64_t next = vaddr + off + d.length;
        bool relative = (d.attributes & ZYDIS_ATTRIB_IS_RELATIVE) && d.raw.imm[0].is_relative;
        if (relative && (d.meta.category == ZYDIS_CATEGORY_COND_BR ||
                         d.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
                         d.meta.category == ZYDIS_CATEGORY_CALL))
            add_candidate(s, next + (uint64_t)d.raw.imm[0].value.s);
        if (d.meta.category == ZYDIS_CATEGORY_COND_BR)
            add_candidate(s, next);
        off += d.length;
    }
}

/* Where code starts: the functions of the symbol table (STT_FUNC with a size), else the
 * executable sections; 0 ranges when the file has neither (a sweep per segment then). */
static size_t code_ranges(const uint8_t *file, size_t size, const Elf64_Ehdr *eh,
                          struct range *out, size_t max)
{
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size || eh->e_shoff % 8 ||
        (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size - eh->e_shoff)
        return 0;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
    size_t n = 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
            sh[i].sh_offset > size || sh[i].sh_offset % 8 || sh[i].sh_size > size - sh[i].sh_offset)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(file + sh[i].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym && n < max; k++)
            if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && sym[k].st_size && sym[k].st_value)
                out[n++] = (struct range){ sym[k].st_value, sym[k].st_size };
    }
    if (n == max) /* more functions than room: the sections, whole */
        n = 0;
    if (n)
        return n;
    for (unsigned i = 0; i < eh->e_shnum && n < max; i++)
        if ((sh[i].sh_flags & SHF_EXECINSTR) && sh[i].sh_type == SHT_PROGBITS && sh[i].sh_size)
            out[n++] = (struct range){ sh[i].sh_addr, sh[i].sh_size };
    return n;
}

static bool is_start(const uint8_t *starts, uint64_t seg, uint64_t len, uint64_t a)
{
    return a >= seg && a < seg + len && (starts[(a - seg) / 8] & (1u << ((a - seg) % 8)));
}

struct breakpoints *breakpoints_open(const char *path, bool pie_ok, char *why,
                                     size_t why_size)
{
    size_t size = 0;
    char err[200];
    uint8_t *file = read_file(path, MAX_PROGRAM_BYTES, &size, err, sizeof err);
    if (!file) {
        snprintf(why, why_size, "%s: %s", path, err);
        return NULL;
    }
    struct breakpoints *b = NULL;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64) {
        snprintf(why, why_size, "%s is no ELF64 x86-64 program", path);
        goto out;
    }
    if (eh->e_type != ET_EXEC && !(pie_ok && eh->e_type == ET_DYN)) {
        snprintf(why, why_size, "%s is position-independent (its load address is the "
                 "kernel's choice): build it with -static -no-pie", path);
        goto out;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size || eh->e_phoff % 8 ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff) {
        snprintf(why, why_size, "%s has a broken program header table", path);
        goto out;
    }
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    struct sweep s = { 0 };
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    /* every executable segment's instruction starts, kept to check the candidates */
    uint8_t *starts[16] = { 0 };
    uint64_t seg_addr[16], seg_len[16];
    unsigned nseg = 0;
    uint64_t seg_off[16];
    for (unsigned i = 0; i < eh->e_phnum && nseg < 16; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X) || ph[i].p_filesz == 0)
            continue;
        if (ph[i].p_offset > size || ph[i].p_filesz > size - ph[i].p_offset) {
            snprintf(why, why_size, "%s: a code segment lies past the file's end", path);
            goto out_sweep;
        }
        starts[nseg] = calloc(ph[i].p_filesz / 8 + 1, 1);
        if (!starts[nseg]) {
            snprintf(why, why_size, "out of memory");
            goto out_sweep;
        }
        seg_addr[nseg] = ph[i].p_vaddr;
        seg_len[nseg] = ph[i].p_filesz;
        seg_off[nseg] = ph[i].p_offset;
        nseg++;
    }
    /* The sweep starts where code starts: at each function the symbol table names (one
     * sweep from a segment's start ran through the zeros between sections and came out
     * inside an instruction), else at each executable section, else at the segments. */
    struct range *ranges = malloc(MAX_RANGES * sizeof *ranges);
    if (!ranges) {
        snprintf(why, why_size, "out of memory");
        goto out_sweep;
    }
    size_t nranges = code_ranges(file, size, eh, ranges, MAX_RANGES);
    for (unsigned k = 0; k < nseg; k++) {
        bool any = false;
        for (size_t r = 0; r < nranges; r++) {
            uint64_t a = ranges[r].addr, l = ranges[r].len;
            if (a < seg_addr[k] || a >= seg_addr[k] + seg_len[k])
                continue;
            if (l > seg_addr[k] + seg_len[k] - a)
                l = seg_addr[k] + seg_len[k] - a;
            sweep_segment(&dec, file + seg_off[k] + (a - seg_addr[k]), l, a,
                          starts[k], a - seg_addr[k], &s);
            add_candidate(&s, a); /* a function reached only through a pointer (main) */
            any = true;
        }
        if (!any && nranges == 0)
            sweep_segment(&dec, file + seg_off[k], seg_len[k], seg_addr[k], starts[k], 0, &s);
    }
    free(ranges);
    add_candidate(&s, eh->e_entry);
    qsort(s.cand, s.ncand, sizeof *s.cand, cmp_u64);
    size_t n = 0;
    for (size_t i = 0; i < s.ncand; i++) {
        if (n && s.cand[n - 1] == s.cand[i])
            continue;
        bool ok = false;
        for (unsigned k = 0; k < nseg && !ok; k++)
            ok = is_start(starts[k], seg_addr[k], seg_len[k], s.cand[i]);
        if (ok)
            s.cand[n++] = s.cand[i];
    }
    if (n == 0) {
        snprintf(why, why_size, "%s: no basic block found in its code", path);
        goto out_sweep;
    }
    if (n > BREAKPOINTS_MAX || s.full)
        hv_notice("breakpoints: %s has more basic blocks than the %u symhv arms: the first "
                  "%u by address are covered", path, BREAKPOINTS_MAX, BREAKPOINTS_MAX);
    if (n > BREAKPOINTS_MAX)
        n = BREAKPOINTS_MAX;
    b = calloc(1, sizeof *b);
    if (!b || !(b->gpa = malloc(n * sizeof *b->gpa)) || !(b->orig = calloc(n, 1)) ||
        !(b->hit = calloc(n, 1)) || !(b->trace = calloc(n, 1))) {
        snprintf(why, why_size, "out of memory for %zu blocks", n);
        breakpoints_free(b);
        b = NULL;
        goto out_sweep;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->n = n;
    b->entry = eh->e_entry;
    b->addr = s.cand; /* sorted, unique, n of them */
    s.cand = NULL;
    for (size_t i = 0; i < n; i++)
        b->gpa[i] = NO_GPA;
out_sweep:
    free(s.cand);
    for (unsigned k = 0; k < nseg; k++)
        free(starts[k]);
out:
    free(file);
    return b;
}

void breakpoints_free(struct breakpoints *b)
{
    if (!b)
        return;
    if (b->vm)
        vm_set_breakpoint_hook(b->vm, NULL, NULL);
    free(b->addr);
    free(b->gpa);
    free(b->orig);
    free(b->hit);
    free(b->trace);
    free(b);
}

size_t breakpoints_count(const struct breakpoints *b) { return b ? b->n : 0; }
const uint64_t *breakpoints_addresses(const struct breakpoints *b) { return b->addr; }
uint64_t breakpoints_entry(const struct breakpoints *b) { return b->entry; }

/* ---- in the guest ------------------------------------------------------------------ */

/* An int3 hit at pc (v's thread): one of ours? Then the original byte goes back (in RAM
 * and in the snapshot: never armed again) and the instruction runs. A block another vCPU
 * hit a moment before is ours too (its byte is back already). */
static bool on_breakpoint(struct vcpu *v, uint64_t pc, void *opaque)
{
    struct breakpoints *b = opaque;
    pc -= b->bias; /* the ELF's address */
    size_t lo = lower_bound_u64(b->addr, b->n, pc);
    if (lo == b->n || b->addr[lo] != pc)
        return false;
    pthread_mutex_lock(&b->lock);
    bool ours = b->gpa[lo] != NO_GPA;
    if (ours && !b->hit[lo]) {
        b->hit[lo] = b->trace[lo] = 1;
        guest_write_phys(b->vm, v, b->gpa[lo], &b->orig[lo], 1);
        snapshot_poke(b->snap, b->gpa[lo], &b->orig[lo], 1);
    }
    pthread_mutex_unlock(&b->lock);
    return ours;
}

long breakpoints_arm(struct breakpoints *b, struct vm *vm, const struct guest_as *as,
                     struct snapshot *snap, uint64_t bias)
{
    static const uint8_t int3 = INT3;
    long armed = 0;
    pthread_mutex_lock(&b->lock);
    b->vm = vm;
    b->snap = snap;
    b->bias = bias;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t pa;
        if (b->hit[i] || guest_translate(as, b->addr[i] + bias, false, &pa) < 0) {
            b->gpa[i] = NO_GPA;
            continue;
        }
        const uint8_t *host = vm_gpa_to_host(vm, pa, 1);
        if (!host || *host == INT3) { /* the program's own int3 stays the program's */
            b->gpa[i] = NO_GPA;
            continue;
        }
        b->gpa[i] = pa;
        b->orig[i] = *host;
        guest_write_phys(vm, NULL, pa, &int3, 1);
        snapshot_poke(snap, pa, &int3, 1);
        armed++;
    }
    pthread_mutex_unlock(&b->lock);
    vm_set_breakpoint_hook(vm, on_breakpoint, b);
    return armed;
}

void breakpoints_disarm_live(struct breakpoints *b, struct vm *vm)
{
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n; i++)
        if (b->gpa[i] != NO_GPA && !b->hit[i])
            guest_write_phys(vm, NULL, b->gpa[i], &b->orig[i], 1);
    pthread_mutex_unlock(&b->lock);
}

void breakpoints_take_trace(struct breakpoints *b, uint8_t *trace, size_t count)
{
    pthread_mutex_lock(&b->lock);
    size_t n = count < b->n ? count : b->n;
    memcpy(trace, b->trace, n);
    memset(b->trace, 0, b->n);
    pthread_mutex_unlock(&b->lock);
}
