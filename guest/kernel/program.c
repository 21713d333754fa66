/* Starting the one program: its static ELF image into user memory, the initial stack a
 * Linux program expects (argc, argv, envp, the auxiliary vector), and its symbolic
 * inputs (symhv/launch.h). Runs once, on vCPU 0 during boot, except the sources, which
 * the main thread's first dispatch marks (or snapshots, under symhv fuzz/explore). */
#include <elf.h>

#include "kernel.h"
#include "program.h"
#include "sched.h"
#include "linux_abi.h"
#include "linux_mm.h"


static uint64_t arg_addr[SYMHV_MAX_SYM_SOURCES]; /* a symbolic argv entry on the stack */
static uint64_t initial_sp;

/* The program's bytes: its file in the launch image, or the bare ELF initrd. */
static const uint8_t *program_bytes(uint64_t *size)
{
    if (kernel.launch) {
        const struct symhv_file *f = fs_file(kernel.launch->exe);
        if (!f)
            panic("the launch image names no program");
        *size = f->size;
        return (const uint8_t *)fs_file_data(f);
    }
    *size = kernel.boot->initrd_size;
    return (const uint8_t *)kernel.boot->initrd_addr;
}

struct image {
    uint64_t base;             /* added to every p_vaddr (static-pie) */
    uint64_t lo, hi;           /* the pages it occupies */
    uint64_t entry, phdr;
    unsigned phnum;
};

static void load_elf(struct image *im)
{
    uint64_t size;
    const uint8_t *file = program_bytes(&size);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    if (size < sizeof(Elf64_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
        (eh->e_type != ET_EXEC && eh->e_type != ET_DYN))
        panic("%s is not a static x86-64 ELF64 executable", kernel.launch ? "the program" : "the initrd");
    if (eh->e_phoff > size || (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
        panic("program ELF: program headers truncated");
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    uint64_t lo = ~0ull, hi = 0, align = 0x1000;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (ph[i].p_vaddr < lo)
            lo = ph[i].p_vaddr;
        if (ph[i].p_vaddr + ph[i].p_memsz > hi)
            hi = ph[i].p_vaddr + ph[i].p_memsz;
        if (ph[i].p_align > align && ph[i].p_align <= (2u << 20))
            align = ph[i].p_align;
    }
    if (lo >= hi)
        panic("program ELF: no loadable segment");
    /* static-pie: where a position-independent program goes */
    im->base = eh->e_type == ET_DYN ? ((USER_AREA_START + align - 1) & ~(align - 1)) - (lo & ~(align - 1)) : 0;
    im->lo = (lo + im->base) & ~0xfffull;
    im->hi = (hi + im->base + 0xfff) & ~0xfffull;
    uint64_t stack_bottom = kernel.user_top - MAIN_STACK_BYTES;
    if (im->lo < USER_AREA_START || im->hi > stack_bottom || im->hi < im->lo)
        panic("program ELF: it occupies 0x%lx..0x%lx, outside user memory 0x%llx..0x%lx "
              "(a bigger --mem may help)", im->lo, im->hi, USER_AREA_START, stack_bottom);
    im->phdr = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_PHDR)
            im->phdr = ph[i].p_vaddr + im->base;
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > size ||
            size - ph[i].p_offset < ph[i].p_filesz)
            panic("program ELF: segment %u lies outside the file", i);
        /* fresh RAM is zero, so .bss needs nothing; the VMM copies natively */
        kcopy(ph[i].p_vaddr + im->base, (uint64_t)file + ph[i].p_offset, ph[i].p_filesz);
        if (!im->phdr && eh->e_phoff >= ph[i].p_offset &&
            eh->e_phoff - ph[i].p_offset < ph[i].p_filesz)
            im->phdr = ph[i].p_vaddr + im->base + (eh->e_phoff - ph[i].p_offset);
    }
    im->entry = eh->e_entry + im->base;
    im->phnum = eh->e_phnum;
}

static uint64_t push_bytes(uint64_t sp, const void *src, uint64_t n)
{
    sp -= n;
    memcpy((void *)sp, src, n);
    return sp;
}

/* How many bytes argv[k]'s string takes in the launch strings (a symbolic one: its
 * room). */
static uint64_t arg_room(unsigned k, const char *s)
{
    for (unsigned j = 0; j < kernel.launch->nsym; j++)
        if (kernel.launch->sym[j].kind == SYMHV_SYM_ARG && kernel.launch->sym[j].index == k)
            return kernel.launch->sym[j].capacity + 1;
    return strlen(s) + 1;
}

/* The initial stack at the top of user memory, as Linux lays it out for a static
 * program; returns the program's first rsp. */
static uint64_t build_stack(const struct image *im)
{
    static const char legacy_argv0[] = "program"; /* a bare ELF initrd's only argument */
    unsigned argc = kernel.launch ? kernel.launch->argc : 1, envc = kernel.launch ? kernel.launch->envc : 0;
    if (argc > 4096 || envc > 4096)
        panic("too many program arguments or environment strings");
    /* From the top down, as Linux lays it out: a zero word, the program's path
     * (AT_EXECFN), the environment and argument strings (code like glibc's tunables
     * parser reads a byte past the last string's NUL), then the rest. */
    const char *exe = "program";
    if (kernel.launch) {
        const struct symhv_file *f = fs_file(kernel.launch->exe);
        static char exe_path[256];
        uint64_t n = f->name_len < sizeof exe_path - 1 ? f->name_len : sizeof exe_path - 1;
        memcpy(exe_path, (const char *)kernel.launch + kernel.launch->names_off + f->name_off, n);
        exe_path[n] = 0;
        exe = exe_path;
    }
    uint64_t sp = kernel.user_top - 8;
    *(uint64_t *)sp = 0;
    uint64_t execfn = sp = push_bytes(sp, exe, strlen(exe) + 1);
    if (kernel.launch) { /* every string at once, then their addresses */
        sp -= kernel.launch->strings_len;
        kcopy(sp, (uint64_t)kernel.launch + kernel.launch->strings_off, kernel.launch->strings_len);
    } else {
        sp = push_bytes(sp, legacy_argv0, sizeof legacy_argv0);
    }
    uint64_t strings = sp;
    uint64_t platform = sp = push_bytes(sp, "x86_64", 7);
    uint8_t random[16];
    uint64_t seed = kernel.launch ? kernel.launch->random_seed : 0;
    for (int i = 0; i < 16; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        random[i] = (uint8_t)(seed >> 56);
    }
    uint64_t at_random = sp = push_bytes(sp, random, sizeof random);
    /* A symbolic argument gets pages of its own (a copy of its room): the other strings
     * are read by code the interpreter may not model (SSE string functions), and they
     * would share its trapped page. */
    for (unsigned j = 0; kernel.launch && j < kernel.launch->nsym; j++) {
        const struct symhv_sym_source *src = &kernel.launch->sym[j];
        if (src->kind != SYMHV_SYM_ARG || src->index >= argc)
            continue;
        const char *text = (const char *)strings;
        for (unsigned k = 0; k < src->index; k++)
            text += arg_room(k, text);
        uint64_t room = (src->capacity + 1 + 4095) & ~4095ull;
        sp = (sp & ~4095ull) - room;
        memcpy((void *)sp, text, src->capacity + 1);
        arg_addr[j] = sp;
    }
    sp = (sp & ~4095ull) - 64; /* what follows starts on another page */
    sp &= ~15ull;

    uint32_t eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    uint64_t auxv[][2] = {
        { LX_AT_PHDR, im->phdr },  { LX_AT_PHENT, sizeof(Elf64_Phdr) },
        { LX_AT_PHNUM, im->phnum }, { LX_AT_PAGESZ, 4096 },
        { LX_AT_BASE, 0 },         { LX_AT_FLAGS, 0 },
        { LX_AT_ENTRY, im->entry }, { LX_AT_UID, 0 },
        { LX_AT_EUID, 0 },         { LX_AT_GID, 0 },
        { LX_AT_EGID, 0 },         { LX_AT_SECURE, 0 },
        { LX_AT_RANDOM, at_random }, { LX_AT_HWCAP, edx },
        { LX_AT_HWCAP2, 0 },       { LX_AT_CLKTCK, TIMER_HZ },
        { LX_AT_PLATFORM, platform }, { LX_AT_EXECFN, execfn },
        { LX_AT_MINSIGSTKSZ, LX_MINSIGSTKSZ }, { LX_AT_NULL, 0 },
    };
    uint64_t words = 1 + (argc + 1) + (envc + 1) + 2 * (sizeof auxv / sizeof auxv[0]);
    sp -= words * 8;
    sp &= ~15ull; /* rsp at entry: 16-byte aligned, argc there */
    uint64_t *w = (uint64_t *)sp;
    *w++ = argc;
    const char *s = (const char *)strings;
    for (unsigned k = 0; k < argc; k++) {
        uint64_t at = (uint64_t)s;
        for (unsigned j = 0; kernel.launch && j < kernel.launch->nsym; j++)
            if (kernel.launch->sym[j].kind == SYMHV_SYM_ARG && kernel.launch->sym[j].index == k)
                at = arg_addr[j];
        *w++ = at;
        s += kernel.launch ? arg_room(k, s) : strlen(s) + 1;
    }
    *w++ = 0;
    for (unsigned k = 0; k < envc; k++) {
        *w++ = (uint64_t)s;
        s += strlen(s) + 1;
    }
    *w++ = 0;
    memcpy(w, auxv, sizeof auxv);
    return sp;
}

uint64_t program_load(void)
{
    struct image im;
    load_elf(&im);
    ((struct symhv_boot_info *)kernel.boot)->program_base = im.base; /* for the VMM */
    mm_init(im.lo, im.hi);
    initial_sp = build_stack(&im);
    kernel.harness = kernel.launch && (kernel.launch->flags & SYMHV_LAUNCH_HARNESS);
    /* the legacy runtime's heap (SYS_INFO): the free memory, for programs of guest/lib */
    kernel.heap_start = im.hi;
    kernel.heap_end = kernel.user_top - MAIN_STACK_BYTES;
    return im.entry;
}

uint64_t mm_alloc_stack_top(void) { return initial_sp; }

static uint32_t harness_file = SYMHV_NO_FILE;

/* The snapshot every execution starts from, with the fuzzer's input in [addr, +len):
 * returns its length. */
static uint64_t harness_start(uint64_t addr, uint64_t len, const char *name)
{
    uint64_t map_size, map = mm_afl_map(&map_size); /* an AFL++ build's edges, if attached */
    uint64_t cmp_map = mm_afl_cmp_map(); /* a CMPLOG build's operands (symhv fuzz -c) */
    if (cmp_map &&
        hypercall(SYMHV_HC_FUZZ_CMPLOG, cmp_map, SYMHV_AFL_CMP_MAP_BYTES | SYMHV_FUZZ_MAP_AFL, 0, 0) < 0)
        knote("symhv_fuzz_cmplog for the AFL++ CMPLOG map was refused");
    int64_t n = hypercall(SYMHV_HC_FUZZ_START, addr, len, map,
                          map ? map_size | SYMHV_FUZZ_MAP_AFL : 0);
    if (n < 0 || (uint64_t)n > len) {
        knote("symhv_fuzz_start for %s failed (%ld)", name, n);
        n = 0;
    }
    return (uint64_t)n;
}

void program_input_touched(uint32_t file)
{
    if (file != harness_file || file == SYMHV_NO_FILE)
        return;
    harness_file = SYMHV_NO_FILE;
    const struct symhv_file *f = fs_file(file);
    if (f)
        fs_set_size(file, harness_start(fs_file_data(f), kernel.launch->sym[0].capacity, kernel.launch->sym[0].name));
}

/* KLEE's --sym-args: the count's byte (SYMHV_SYM_NARGS, the input's, concrete) says how
 * many of the optional arguments the program sees; build_stack laid them all out, so
 * the others are cut here: argc, then argv's NULL, envp and auxv moved down over them.
 * After the sources are marked: under a campaign the byte is each execution's own. */
static void cut_optional_args(void)
{
    const struct symhv_launch *l = kernel.launch;
    const struct symhv_sym_source *nargs = NULL;
    for (unsigned k = 0; k < l->nsym && k < SYMHV_MAX_SYM_SOURCES; k++)
        if (l->sym[k].kind == SYMHV_SYM_NARGS)
            nargs = &l->sym[k];
    const struct symhv_file *f = nargs ? fs_file(nargs->index) : NULL;
    if (!f || f->size < 1 || l->nargs_min > l->nargs_max ||
        l->nargs_first + l->nargs_max != l->argc)
        return; /* the VMM checked these; a bad image keeps every argument */
    uint8_t b = *(const uint8_t *)fs_file_data(f);
    unsigned cut = l->nargs_max - (l->nargs_min + b % (l->nargs_max - l->nargs_min + 1));
    uint64_t *w = (uint64_t *)initial_sp;
    unsigned argc = (unsigned)w[0];
    if (!cut || argc != l->argc)
        return;
    /* the words from argv's NULL to auxv's AT_NULL pair */
    uint64_t *tail = &w[1 + argc], *auxv = tail + 1 + l->envc + 1;
    unsigned pairs = 0;
    while (pairs < 64 && auxv[2 * pairs] != LX_AT_NULL)
        pairs++;
    uint64_t words = 1 + l->envc + 1 + 2 * (pairs + 1);
    memmove(tail - cut, tail, words * 8);
    w[0] = argc - cut;
}

/* Mark every symbolic source. Under symhv fuzz/explore the one source is where the
 * snapshot goes: a file's (or stdin's) at the program's first look at it (open, stat,
 * read: program_input_touched), so every execution skips the program's start-up, as
 * AFL++'s fork server does; an argument's here, before the first instruction. The other
 * vCPUs are idle first, so a snapshot here has them parked in hlt. */
void program_start_sources(void)
{
    if (!kernel.launch || !kernel.launch->nsym)
        return;
    unsigned self = this_cpu()->id;
    while (__atomic_load_n(&kernel.cpus_online, __ATOMIC_ACQUIRE) < kernel.boot->ncpus)
        cpu_relax();
    for (unsigned i = 0; i < kernel.boot->ncpus; i++)
        while (i != self && !cpus[i].idle)
            cpu_relax();
    for (unsigned k = 0; k < kernel.launch->nsym && k < SYMHV_MAX_SYM_SOURCES; k++) {
        const struct symhv_sym_source *s = &kernel.launch->sym[k];
        uint64_t addr, len;
        if (s->kind == SYMHV_SYM_ARG) {
            addr = arg_addr[k];
            len = s->capacity;
        } else {
            const struct symhv_file *f = fs_file(s->index);
            if (!f)
                continue;
            addr = fs_file_data(f);
            len = kernel.harness ? s->capacity : f->size;
        }
        if (!addr || !len)
            continue;
        if (kernel.harness) { /* one source under the harness */
            if (s->kind == SYMHV_SYM_ARG)
                ((char *)addr)[harness_start(addr, len, s->name)] = 0;
            else
                harness_file = s->index; /* the snapshot waits for its first use */
            return;
        }
        int64_t id = hypercall(SYMHV_HC_MAKE_SYMBOLIC, addr, len, (uint64_t)s->name,
                               s->kind == SYMHV_SYM_NARGS ? SYMHV_INPUT_CONCRETE : 0);
        if (id < 0)
            knote("the input %s stays concrete (symhv_make_symbolic: %ld)", s->name, id);
    }
    cut_optional_args();
}
