/* The contract between the symhv VMM and software inside the guest.
 *
 * Everything a guest kernel or guest program needs to know about the VMM lives here:
 * the boot protocol (registers and memory layout at entry), the hypercall port and
 * its numbers. Both the host (hv/) and the guest (guest/, guest-agent/) include it,
 * so it must stay freestanding: fixed-width types only, no libc.
 */
#ifndef SYMHV_ABI_H
#define SYMHV_ABI_H

#include <stdint.h>

/* ---- Boot protocol ------------------------------------------------------------
 * Every vCPU starts directly in 64-bit long mode at the kernel ELF's entry point:
 *   rdi = guest-physical address of struct symhv_boot_info
 *   rsi = index of this vCPU (0 .. ncpus-1; also its LAPIC id)
 *   rsp = top of a 16 KiB stack reserved for this vCPU (16-byte aligned)
 *   rflags = 0x2 (interrupts off), CS = SYMHV_BOOT_CS, DS/ES/SS = SYMHV_BOOT_DS
 *   CR3 = identity map of the low 4 GiB with 2 MiB pages, user-accessible, writable
 *   CR0.PG|PE|MP|NE|WP, CR4.PAE|OSFXSR|OSXMMEXCPT, EFER.LME|LMA|SCE|NXE
 * All vCPUs start at the same time; the kernel sorts out who does global init.
 * The initrd (or the launch image, include/symhv/launch.h, which then takes its place)
 * sits at the top of RAM and starts on a 2 MiB boundary, so a kernel can take it away
 * from ring 3 with the identity map's own pages.
 */
#define SYMHV_BOOT_MAGIC     0x3176656d79736842ull /* "Bsymhv1\0"-ish, little endian */
#define SYMHV_BOOT_VERSION   2   /* 2: launch_addr/launch_size */

#define SYMHV_BOOT_GDT_ADDR  0x1000ull   /* boot GDT: null, code64, data */
#define SYMHV_BOOT_PML4_ADDR 0x2000ull
#define SYMHV_BOOT_PDPT_ADDR 0x3000ull
#define SYMHV_BOOT_PD_ADDR   0x4000ull   /* 4 page directories: 0x4000..0x7fff */
#define SYMHV_BOOT_INFO_ADDR 0x8000ull
#define SYMHV_STACKS_ADDR    0x100000ull /* per-vCPU boot stacks, SYMHV_STACK_SIZE each */
#define SYMHV_STACK_SIZE     0x4000ull
#define SYMHV_MAX_VCPUS      64          /* 64 * 16 KiB fills 1 MiB .. 2 MiB */
#define SYMHV_KERNEL_MIN_ADDR 0x200000ull /* kernel segments must load at or above */
#define SYMHV_IDENTITY_MAP_BYTES (4ull << 30)
#define SYMHV_INITRD_ALIGN   (2ull << 20)

#define SYMHV_BOOT_CS 0x08
#define SYMHV_BOOT_DS 0x10

/* KVM's emulated LAPIC timer counts at 1 GHz unless the VMM changes the bus cycle. */
#define SYMHV_APIC_TIMER_HZ 1000000000ull

struct symhv_boot_info {
    uint64_t magic;        /* SYMHV_BOOT_MAGIC */
    uint32_t version;      /* SYMHV_BOOT_VERSION */
    uint32_t ncpus;        /* number of vCPUs started */
    uint64_t mem_bytes;    /* guest RAM: [0, mem_bytes) */
    uint64_t kernel_end;   /* first byte after the highest kernel segment */
    uint64_t initrd_addr;  /* 0 when there is no initrd (2 MiB aligned) */
    uint64_t initrd_size;
    uint64_t tsc_khz;      /* guest TSC frequency */
    uint64_t apic_timer_hz;
    char cmdline[256];     /* NUL-terminated */
    struct symhv_pv_clock {
        /* symhv's clock correction (symhv --clock-slow-down). A kernel that reads its
         * time as symhv_pv_clock_tsc(rdtsc) sets `enabled`; the VMM then keeps time
         * still (or slowed by `divisor`) while any vCPU is interpreted instead of
         * moving the vCPUs' TSC offsets (which PVM hosts do not apply to rdtsc).
         * `seq` is odd while the VMM updates the record. */
        uint32_t enabled;  /* written by the guest */
        uint32_t seq;
        uint32_t active;   /* a vCPU is being interpreted since base_tsc */
        uint32_t divisor;  /* 0: time stands still while active; else runs 1/divisor */
        uint64_t base_tsc;
        uint64_t hidden;   /* TSC cycles taken out of the guest's time so far */
    } clock;
    /* version 2: a program to start, as struct symhv_launch (symhv/launch.h) at
     * launch_addr (then equal to initrd_addr); 0 when the initrd is a bare payload */
    uint64_t launch_addr;
    uint64_t launch_size;
    /* written by symhv's kernel: how far it moved a position-independent program from
     * the ELF's addresses (0: an ET_EXEC program, at its own); binary-only coverage's
     * breakpoints go there */
    uint64_t program_base;
};

/* Guest time in TSC cycles from a raw TSC reading, under symhv_pv_clock. */
static inline uint64_t symhv_pv_clock_tsc(const volatile struct symhv_pv_clock *c, uint64_t tsc)
{
    uint32_t seq;
    uint64_t base, hidden;
    uint32_t active, divisor;
    do {
        seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        active = c->active;
        divisor = c->divisor;
        base = c->base_tsc;
        hidden = c->hidden;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((seq & 1) || seq != __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE));
    if (active && tsc > base)
        tsc = base + (divisor ? (tsc - base) / divisor : 0);
    return tsc - hidden;
}

/* ---- Ports ----------------------------------------------------------------------- */
#define SYMHV_SERIAL_PORT    0x3f8  /* 8250 UART, COM1: THR/LSR are emulated */
#define SYMHV_HYPERCALL_PORT 0x510

/* ---- Hypercalls -----------------------------------------------------------------
 * Issued with a 32-bit IN from SYMHV_HYPERCALL_PORT:
 *   rdi = hypercall number, rsi = arg0, rcx = arg1, r8 = arg2, r9 = arg3
 *   in eax, dx        ; dx = SYMHV_HYPERCALL_PORT
 *   eax = result: >= 0 success, < 0 a negated SYMHV_E* code
 * Pointer arguments are guest-virtual addresses in the calling vCPU's address space;
 * the VMM translates and bounds-checks them, with user rights when the caller runs in
 * ring 3 or a guest kernel issues the call on a ring-3 program's behalf: it then adds
 * SYMHV_HC_FROM_USER to the number (symhv's kernel does, see guest/kernel/trap.c). Such
 * callers may use the agent's numbers only (>= SYMHV_HC_AGENT_FIRST).
 */
#define SYMHV_HC_FROM_USER 0x80000000u
/* The same call as a 32-bit read from this guest-physical page (outside RAM, mapped
 * user-accessible by symhv's identity map): `mov eax, [SYMHV_HC_MMIO_ADDR]` with the
 * registers above. A ring-3 program reaches the VMM with it directly, without a trip
 * through its kernel (ring 0 is slow to emulate on PVM hosts); the caller's CPL decides
 * the rights, as for IN. */
#define SYMHV_HC_MMIO_ADDR 0xf0000000u
#define SYMHV_HC_MMIO_SIZE 0x1000u
enum symhv_hypercall {
    SYMHV_HC_NOP = 0,
    SYMHV_HC_WRITE = 1,      /* arg0 = buf, arg1 = len, arg2 = 2 for symhv's stderr (else
                                stdout): the guest's output */
    SYMHV_HC_EXIT = 2,       /* arg0 = status: end the run, status -> symhv's exit code */
    SYMHV_HC_PANIC = 3,      /* arg0 = message (NUL-terminated, <= 1 KiB): kernel panic */
    SYMHV_HC_USER_FAULT = 4, /* arg0 = vector, arg1 = rip, arg2 = fault address,
                                arg3 = error code: a guest program crashed */
    SYMHV_HC_CPU_ONLINE = 5, /* arg0 = vCPU index: the kernel brought this vCPU up */
    /* Services for a guest kernel (ring 0 only), bulk work that is slow where ring 0 is
     * emulated: guest-physical addresses, bounded to RAM. */
    SYMHV_HC_KCOPY = 6,      /* arg0 = dst, arg1 = src, arg2 = len: memmove in RAM */
    SYMHV_HC_KZERO = 7,      /* arg0 = gpa, arg1 = len: zero RAM */
    SYMHV_HC_LOG = 8,        /* arg0 = message (NUL-terminated, <= 1 KiB): a note from the
                                guest kernel for symhv's stderr (not the guest's output) */
    SYMHV_HC_USER_CRASH = 9, /* arg0 = struct symhv_user_regs, arg1 = signal, arg2 = fault
                                address: a guest program died of a signal (registers
                                shown; the run ends as for USER_FAULT) */
    SYMHV_HC_READ_CONSOLE = 10, /* arg0 = buf, arg1 = len: bytes of symhv's stdin -> n,
                                   0 at its end */
    SYMHV_HC_BREAKPOINT = 11,   /* arg0 = address of an int3 a program hit: 1 if it was
                                   the VMM's (the instruction is back: resume there), 0 if
                                   the program's own */

    /* The guest agent (guest-agent/symhv/agent.h), numbers >= SYMHV_HC_AGENT_FIRST.
     * A guest kernel may forward these from ring 3 (see guest/kernel/trap.c). */
    SYMHV_HC_AGENT_FIRST = 16,
    SYMHV_HC_MAKE_SYMBOLIC = 16, /* arg0 = buf, arg1 = len, arg2 = name, arg3 = flags
                                    (SYMHV_INPUT_CONCRETE): -> input id */
    SYMHV_HC_KILL = 17,          /* arg0 = status, arg1 = message: end the run */
    SYMHV_HC_REPORT_BUG = 18,    /* arg0 = message */
    SYMHV_HC_GET_EXAMPLE = 19,   /* arg0 = dst, arg1 = src, arg2 = len: concrete bytes */
    SYMHV_HC_PRINT_EXPR = 20,    /* arg0 = name, arg1 = value: print it (its expression
                                    if symbolic: handled by the interpreter) */
    SYMHV_HC_ASSUME = 21,        /* arg0 = condition: constrain the inputs (interpreter);
                                    a concrete false ends the run */
    SYMHV_HC_FUZZ_START = 22,    /* arg0 = buf, arg1 = max len, arg2 = coverage map,
                                    arg3 = map size, with SYMHV_FUZZ_MAP_AFL when the map
                                    is an AFL++ build's (the kernel's): snapshot; -> this
                                    input's length */
    SYMHV_HC_FUZZ_END = 23,      /* arg0 = status (0 = fine): end one execution */
    SYMHV_HC_FUZZ_CMPLOG = 24,   /* arg0 = compare log (struct symhv_cmplog), arg1 = its
                                    size (or SYMHV_AFL_CMP_MAP_BYTES | SYMHV_FUZZ_MAP_AFL:
                                    an AFL++ CMPLOG build's map, the kernel's): before
                                    FUZZ_START; symhv reads the operands the target
                                    compared (-EINVAL outside symhv fuzz or late) */
    SYMHV_HC_FUZZ_LENGTH = 25,   /* arg0 = struct symhv_fuzz_length (two 32-bit words):
                                    before FUZZ_START; symhv writes each input's length
                                    (symbolic in a concolic run, so the solver can make
                                    inputs longer) and the cap on it there (-EINVAL
                                    outside symhv fuzz/explore, -EBUSY late) */
    SYMHV_HC_PRINT = 26,         /* arg0 = buf, arg1 = len: text for symhv's stdout (the
                                    agent's `print`; HC_WRITE is the kernel's own) */
    SYMHV_HC_PROGRAM_CRASH = 27, /* arg0 = struct symhv_program_crash: a program the
                                    agent ran (under ptrace) died of a signal; the run
                                    ends as for USER_CRASH */
};

/* In SYMHV_HC_FUZZ_START's map size: the map is the AFL++ runtime's shared memory, which
 * symhv's kernel gave it (shmat of SYMHV_AFL_SHM_ID, the id in __AFL_SHM_ID). */
#define SYMHV_FUZZ_MAP_AFL (1ull << 62)
#define SYMHV_AFL_SHM_ID 24081
#define SYMHV_AFL_SHM_ID_TEXT "24081" /* as the environment says it (atoi) */
/* An AFL++ CMPLOG build (AFL_LLVM_CMPLOG=1) logs its comparisons' operands into the map
 * whose id is in __AFL_CMPLOG_SHM_ID: AFL++ 4's struct cmp_map, W 8-byte headers (hits:24
 * id:24 shape:5 type:2 attribute:4 overflow:1, from bit 0), then W x H 32-byte operand
 * slots (two u64 operands and their high halves; a routine's two 31-byte strings and
 * their lengths take two slots). */
#define SYMHV_AFL_CMPLOG_SHM_ID 24082
#define SYMHV_AFL_CMPLOG_SHM_ID_TEXT "24082"
#define SYMHV_AFL_CMP_MAP_W 65536u
#define SYMHV_AFL_CMP_MAP_H 32u
#define SYMHV_AFL_CMP_SLOT 32u
#define SYMHV_AFL_CMP_MAP_BYTES \
    (SYMHV_AFL_CMP_MAP_W * 8ull + SYMHV_AFL_CMP_MAP_W * SYMHV_AFL_CMP_MAP_H * SYMHV_AFL_CMP_SLOT)

/* Issue hypercall `nr` (the agent instruction; the kernel uses it too). */
static inline long symhv_port_hypercall(long nr, long a0, long a1, long a2, long a3)
{
    unsigned int result;
    register long r8 __asm__("r8") = a2;
    register long r9 __asm__("r9") = a3;
    __asm__ volatile("inl %%dx, %%eax"
                     : "=a"(result)
                     : "d"(SYMHV_HYPERCALL_PORT), "D"(nr), "S"(a0), "c"(a1), "r"(r8), "r"(r9)
                     : "memory");
    return (int)result;
}

/* The same through the hypercall page (symhv's guests: see SYMHV_HC_MMIO_ADDR). */
static inline long symhv_mmio_hypercall(long nr, long a0, long a1, long a2, long a3)
{
    unsigned int result;
    register long r8 __asm__("r8") = a2;
    register long r9 __asm__("r9") = a3;
    __asm__ volatile("movl (%[page]), %%eax"
                     : "=a"(result)
                     : [page] "r"((unsigned long)SYMHV_HC_MMIO_ADDR), "D"(nr), "S"(a0), "c"(a1),
                       "r"(r8), "r"(r9)
                     : "memory");
    return (int)result;
}

/* SYMHV_HC_FUZZ_LENGTH's words, written by symhv before each execution. */
struct symhv_fuzz_length {
    uint32_t len;   /* the input's length (symbolic in a concolic run) */
    uint32_t limit; /* the longest it may be this run: take min(len, limit) */
};

/* A crashed program's registers, as the guest kernel saved them at the fault
 * (SYMHV_HC_USER_CRASH); vector is the exception (< 32) or ~0 for a signal sent by a
 * program (abort()), error its error code. */
struct symhv_user_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* SYMHV_HC_PROGRAM_CRASH's report: what `symhv-agent run` read of its program through
 * ptrace when the fatal signal came (the VMM cannot read that process's memory: the
 * call comes from the agent's). */
#define SYMHV_CRASH_FRAMES 5
struct symhv_program_crash {
    struct symhv_user_regs regs; /* vector: ~0 (a signal; the exception is not known) */
    uint64_t signal, code;       /* si_signo, si_code */
    uint64_t address;            /* si_addr (the fault address for SEGV/BUS/ILL/FPE) */
    uint64_t frames[SYMHV_CRASH_FRAMES]; /* return addresses on its stack, 0 after the last */
    uint8_t insn[16];            /* the bytes at rip */
    uint32_t insn_len;           /* how many of them could be read */
    uint32_t pid;
    char program[64];            /* its path as the agent ran it, NUL-terminated */
};

#define SYMHV_SYMBOLIC_MAX_BYTES (1u << 20) /* per make_symbolic call */
/* make_symbolic's flag for a part of the input that stays concrete: a campaign writes
 * the input's bytes there as for the others, nothing marks them (symhv's kernel reads
 * --sym-args' count from one). Outside a campaign the call does nothing. */
#define SYMHV_INPUT_CONCRETE 1u
#define SYMHV_INPUT_NAME_MAX 63

enum symhv_errno {
    SYMHV_EINVAL = 22,  /* bad argument */
    SYMHV_EBUSY = 16,   /* already done by another call (e.g. a second symhv_fuzz_start) */
    SYMHV_EFAULT = 14,  /* a pointer/length the VMM could not translate or that leaves RAM */
    SYMHV_ENOSYS = 38,  /* unknown hypercall */
};

#endif
