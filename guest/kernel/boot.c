/* Bring-up: global init on vCPU 0 (descriptor tables, page protection, loading the
 * ring-3 program from the initrd), then per-vCPU init on every vCPU. */
#include <elf.h>

#include "kernel.h"
#include "kernel_asm.h"

_Static_assert(sizeof(struct trapframe) == TRAPFRAME_SIZE, "entry.S frame layout");

struct symhv_boot_info *boot_info;
struct cpu cpus[SYMHV_MAX_VCPUS];
uint64_t user_heap_start, user_heap_end;

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, zero;
} __attribute__((packed));

struct table_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static uint64_t gdt[GDT_TSS_FIRST + 2 * SYMHV_MAX_VCPUS] __attribute__((aligned(16)));
static struct tss tss[SYMHV_MAX_VCPUS] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static volatile int global_init_done;

extern const uint64_t trap_stubs[32];
extern const uint64_t trap_stub_timer, trap_stub_wakeup, trap_stub_syscall,
    trap_stub_spurious;
extern void enter_scheduler(void) __attribute__((noreturn));

struct cpu *this_cpu(void)
{
    /* Each vCPU runs on its own SYMHV_STACK_SIZE stack: the stack says who we are. */
    uint64_t sp = (uint64_t)__builtin_frame_address(0);
    return &cpus[(sp - SYMHV_STACKS_ADDR) / SYMHV_STACK_SIZE];
}

int user_range_ok(uint64_t addr, uint64_t len)
{
    return addr >= GUEST_USER_BASE && addr <= boot_info->mem_bytes &&
           len <= boot_info->mem_bytes - addr;
}

static void set_gate(int vector, uint64_t handler, int dpl)
{
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = KERNEL_CS,
        /* Interrupt gates: interrupts stay off while in the kernel. */
        .type_attr = (uint8_t)(0x8e | dpl << 5),
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

static void build_tables(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffffull; /* kernel code, 64-bit */
    gdt[2] = 0x00cf93000000ffffull; /* kernel data */
    gdt[3] = 0x00cff3000000ffffull; /* user data, DPL 3 */
    gdt[4] = 0x00affb000000ffffull; /* user code, 64-bit, DPL 3 */
    for (unsigned i = 0; i < boot_info->ncpus; i++) {
        uint64_t base = (uint64_t)&tss[i], limit = sizeof(struct tss) - 1;
        tss[i].rsp[0] = SYMHV_STACKS_ADDR + (i + 1) * SYMHV_STACK_SIZE;
        tss[i].iomap_base = sizeof(struct tss); /* no I/O bitmap: ring 3 gets no ports */
        gdt[GDT_TSS_FIRST + 2 * i] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
                                     (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
                                     ((base >> 24 & 0xff) << 56);
        gdt[GDT_TSS_FIRST + 2 * i + 1] = base >> 32;
    }
    for (int v = 0; v < 32; v++)
        set_gate(v, trap_stubs[v], 0);
    set_gate(VEC_TIMER, trap_stub_timer, 0);
    set_gate(VEC_WAKEUP, trap_stub_wakeup, 0);
    set_gate(VEC_SYSCALL, trap_stub_syscall, 3);
    set_gate(VEC_SPURIOUS, trap_stub_spurious, 0);
}

/* The VMM maps the low 4 GiB user-accessible; take the kernel's first 16 MiB (code,
 * boot data, stacks, page tables) away from ring 3. Each vCPU reloads CR3 later. */
static void protect_kernel_memory(void)
{
    uint64_t *pd0 = (uint64_t *)SYMHV_BOOT_PD_ADDR;
    for (uint64_t i = 0; i < GUEST_USER_BASE >> 21; i++)
        pd0[i] &= ~4ull; /* clear U/S */
}

/* Copy the ring-3 program (a static ELF64 in the initrd) to its link address. */
static uint64_t load_program(uint64_t *end_out)
{
    uint64_t image = boot_info->initrd_addr, size = boot_info->initrd_size;
    if (!image)
        panic("no ring-3 program: pass one with symhv --initrd");
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
    if (size < sizeof(Elf64_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
        panic("initrd is not a static x86-64 ELF64 executable");
    if (eh->e_phoff > size || (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
        panic("initrd ELF: program headers truncated");
    uint64_t end = GUEST_USER_BASE;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(image + eh->e_phoff) + i;
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_vaddr < GUEST_USER_BASE || ph->p_memsz > image ||
            ph->p_vaddr > image - ph->p_memsz || ph->p_filesz > ph->p_memsz ||
            ph->p_offset > size || size - ph->p_offset < ph->p_filesz)
            panic("initrd ELF: segment %u (0x%lx, %lu bytes) does not fit between 16 MiB "
                  "and the initrd at 0x%lx", i, ph->p_vaddr, ph->p_memsz, image);
        memcpy((void *)ph->p_vaddr, (const void *)(image + ph->p_offset), ph->p_filesz);
        /* .bss is left to the program's start-up code: zeroing runs natively there. */
        if (ph->p_vaddr + ph->p_memsz > end)
            end = ph->p_vaddr + ph->p_memsz;
    }
    *end_out = end;
    return eh->e_entry;
}

static void global_init(void)
{
    if (boot_info->magic != SYMHV_BOOT_MAGIC || boot_info->version != SYMHV_BOOT_VERSION)
        panic("not started by symhv (bad boot info magic)");
    if (boot_info->ncpus > SYMHV_MAX_VCPUS)
        panic("too many vCPUs");
    protect_kernel_memory();
    build_tables();

    uint64_t program_end;
    uint64_t entry = load_program(&program_end);
    /* Main thread stack: 1 MiB just below the initrd; the rest is the program's heap. */
    uint64_t stack_top = boot_info->initrd_addr & ~0xfffull;
    uint64_t heap_start = (program_end + 0xfff) & ~0xfffull;
    if (stack_top < heap_start + (2u << 20))
        panic("not enough guest RAM for the program, its stack and heap");
    user_heap_start = heap_start;
    user_heap_end = stack_top - (1u << 20);
    if (!thread_create(entry, stack_top - 8, 0, 0))
        panic("cannot create the main thread");
}

static void this_cpu_init(unsigned id)
{
    cpus[id].id = id;
    struct table_pointer gdtp = { sizeof gdt - 1, (uint64_t)gdt };
    struct table_pointer idtp = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lgdt %0" ::"m"(gdtp));
    __asm__ volatile("lidt %0" ::"m"(idtp));
    /* Reload CS with a far return, then the data segments, TR and CR3. */
    __asm__ volatile("pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:" ::"i"(KERNEL_CS) : "rax", "memory");
    __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es\n\tmov %0, %%ss\n\t"
                     "mov %1, %%fs\n\tmov %1, %%gs" ::"r"(KERNEL_DS), "r"(0));
    __asm__ volatile("ltr %w0" ::"r"((GDT_TSS_FIRST + 2 * id) * 8));
    __asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" ::: "rax", "memory");
    apic_init_this_cpu();
}

__attribute__((noreturn)) void kmain(struct symhv_boot_info *info, uint64_t cpu_index)
{
    if (cpu_index == 0) {
        boot_info = info;
        info->clock.enabled = 1; /* clock_ns() reads time through symhv_pv_clock_tsc */
        global_init();
        __atomic_store_n(&global_init_done, 1, __ATOMIC_RELEASE);
    } else {
        while (!__atomic_load_n(&global_init_done, __ATOMIC_ACQUIRE))
            cpu_relax();
    }
    this_cpu_init((unsigned)cpu_index);
    hypercall(SYMHV_HC_CPU_ONLINE, cpu_index, 0, 0, 0);
    kprintf("symhv-kernel: vCPU %lu online\n", cpu_index);
    enter_scheduler();
}
