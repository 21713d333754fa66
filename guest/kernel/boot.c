/* Bring-up: global init on vCPU 0 (descriptor tables, page protection, the program),
 * then per-vCPU init on every vCPU. */
#include "kernel.h"
#include "linux_signal.h"
#include "program.h"
#include "sched.h"
#include "kernel_asm.h"

_Static_assert(sizeof(struct trapframe) == TRAPFRAME_SIZE, "entry.S frame layout");
_Static_assert(sizeof(struct trapframe) == sizeof(struct symhv_user_regs),
               "the crash report's register layout is the trapframe's");


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
static struct percpu percpu[SYMHV_MAX_VCPUS];
static volatile int global_init_done;

extern const uint64_t trap_stubs[32];
extern const uint64_t trap_stub_timer, trap_stub_wakeup, trap_stub_syscall,
    trap_stub_spurious;
extern void enter_scheduler(void) __attribute__((noreturn));
extern char lx_syscall_entry[];

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
    for (unsigned i = 0; i < kernel.boot->ncpus; i++) {
        uint64_t base = (uint64_t)&tss[i], limit = sizeof(struct tss) - 1;
        tss[i].rsp[0] = SYMHV_STACKS_ADDR + (i + 1) * SYMHV_STACK_SIZE;
        tss[i].iomap_base = sizeof(struct tss); /* no I/O bitmap: ring 3 gets no ports */
        gdt[GDT_TSS_FIRST + 2 * i] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
                                     (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
                                     ((base >> 24 & 0xff) << 56);
        gdt[GDT_TSS_FIRST + 2 * i + 1] = base >> 32;
        percpu[i].kernel_rsp = tss[i].rsp[0];
    }
    /* #BP with DPL 3, as Linux has it: a program's int3 raises #BP (SIGTRAP, or one of
     * the VMM's breakpoints: trap.c), not #GP */
    for (int v = 0; v < 32; v++)
        set_gate(v, trap_stubs[v], v == 3 ? 3 : 0);
    set_gate(VEC_TIMER, trap_stub_timer, 0);
    set_gate(VEC_WAKEUP, trap_stub_wakeup, 0);
    set_gate(VEC_SYSCALL, trap_stub_syscall, 3);
    set_gate(VEC_SPURIOUS, trap_stub_spurious, 0);
}

/* The PD entry of the VMM's identity map that maps the 2 MiB page holding addr. */
static uint64_t *identity_pde(uint64_t addr)
{
    return (uint64_t *)(SYMHV_BOOT_PD_ADDR + (addr >> 30) * 4096) + ((addr >> 21) & 511);
}

/* The VMM maps the low 4 GiB user-accessible. Ring 3 keeps [USER_AREA_START, kernel.user_top):
 * the kernel below (code, boot data, stacks, page tables) and the initrd or launch image
 * above become supervisor-only. A launched program also loses the addresses past RAM
 * (its wild accesses fault in the guest, as SIGSEGV) but the hypercall page. Each vCPU
 * reloads CR3 later. */
static void protect_memory(void)
{
    for (uint64_t a = 0; a < USER_AREA_START; a += 2u << 20)
        *identity_pde(a) &= ~4ull; /* clear U/S */
    uint64_t ram_end = (kernel.boot->mem_bytes + (2u << 20) - 1) & ~((2ull << 20) - 1);
    for (uint64_t a = kernel.user_top; a < ram_end; a += 2u << 20)
        *identity_pde(a) &= ~4ull;
    if (!kernel.launch)
        return;
    for (uint64_t a = ram_end; a < SYMHV_IDENTITY_MAP_BYTES; a += 2u << 20)
        if (a != (SYMHV_HC_MMIO_ADDR & ~((2ull << 20) - 1)))
            *identity_pde(a) = 0;
}

static void global_init(void)
{
    if (kernel.boot->magic != SYMHV_BOOT_MAGIC || kernel.boot->version != SYMHV_BOOT_VERSION)
        panic("not started by this symhv (boot info magic or version %u, expected %u)",
              kernel.boot->version, SYMHV_BOOT_VERSION);
    if (kernel.boot->ncpus > SYMHV_MAX_VCPUS)
        panic("too many vCPUs");
    if (!kernel.boot->initrd_addr)
        panic("no program: pass one with symhv run ... -- PROGRAM, or --initrd");
    if (kernel.boot->initrd_addr & (SYMHV_INITRD_ALIGN - 1))
        panic("the initrd is not on a 2 MiB boundary");
    if (kernel.boot->launch_addr) {
        kernel.launch = (const struct symhv_launch *)kernel.boot->launch_addr;
        if (kernel.launch->magic != SYMHV_LAUNCH_MAGIC || kernel.launch->version != SYMHV_LAUNCH_VERSION)
            panic("the launch image is not this kernel's (magic or version)");
    }
    kernel.user_top = kernel.boot->initrd_addr;
    if (kernel.user_top < USER_AREA_START + MAIN_STACK_BYTES + (4u << 20))
        panic("not enough guest RAM for the program, its stack and heap");
    protect_memory();
    build_tables();
    fs_init();
    fs_on_input_touched(program_input_touched);
    sched_on_first_start(program_start_sources);
    signal_init();
    uint64_t entry = program_load();
    uint64_t rsp = mm_alloc_stack_top(); /* the Linux initial stack is already there */
    struct thread *t = thread_create(entry, rsp, 0, 0);
    if (!t)
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
    /* `syscall`: kernel CS/SS from STAR[47:32], user ones (sysret) from STAR[63:48];
     * interrupts, TF, DF, AC and NT off at the entry. */
    wrmsr(MSR_STAR, (0x10ull << 48) | ((uint64_t)KERNEL_CS << 32));
    wrmsr(MSR_LSTAR, (uint64_t)lx_syscall_entry);
    wrmsr(MSR_FMASK, 0x47700);
    wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)&percpu[id]);
    apic_init_this_cpu();
}

__attribute__((noreturn)) void kmain(struct symhv_boot_info *info, uint64_t cpu_index)
{
    if (cpu_index == 0) {
        kernel.boot = info;
        info->clock.enabled = 1; /* clock_ns() reads time through symhv_pv_clock_tsc */
        global_init();
        __atomic_store_n(&global_init_done, 1, __ATOMIC_RELEASE);
    } else {
        while (!__atomic_load_n(&global_init_done, __ATOMIC_ACQUIRE))
            cpu_relax();
    }
    this_cpu_init((unsigned)cpu_index);
    hypercall(SYMHV_HC_CPU_ONLINE, cpu_index, 0, 0, 0);
    if (!kernel.launch) /* a launched program's stdout is its own (symhv -v logs the vCPUs) */
        kprintf("symhv-kernel: vCPU %lu online\n", cpu_index);
    __atomic_add_fetch(&kernel.cpus_online, 1, __ATOMIC_RELEASE);
    enter_scheduler();
}
