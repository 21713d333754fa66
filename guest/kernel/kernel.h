/* symhv's kernel: a small SMP kernel whose real work runs in ring 3, and which speaks
 * two system-call ABIs at once: its own (int $0x80, guest/include/kernel_abi.h, for the
 * programs of guest/lib) and enough of Linux's x86-64 one (`syscall`) to run static
 * musl and glibc programs unmodified.
 *
 * Design, chosen for hosts where guest ring 0 is emulated (slow: every memory
 * access is emulated on PVM; README has the figures) and ring 3 native:
 *  - one kernel stack per vCPU (the VMM's boot stack, also TSS.RSP0); a trap saves the
 *    user registers in a trapframe on it, and switching threads means copying that
 *    frame to/from the thread table, so there is no kernel-side context switch code;
 *  - one big kernel lock; interrupts stay off in ring 0, so ring-0 paths are short;
 *  - a global FIFO run queue; LAPIC (x2APIC) timer preemption; IPIs wake idle vCPUs;
 *  - one process, identity-mapped: user memory is [USER_AREA_START, kernel.user_top) of the
 *    VMM's 2 MiB identity map, so mmap and brk only hand out address ranges (no page
 *    tables change, no page faults); bulk copies and zeroing go to the VMM
 *    (SYMHV_HC_KCOPY/KZERO), which does them natively;
 *  - files come from the launch image the VMM built (symhv/launch.h): a read-only file
 *    system already indexed, so a lookup is one hash and a short chain;
 *  - no xsave, no int3: FPU/SSE state is switched with fxsave/fxrstor.
 *
 * Lock: big_kernel_lock guards every table here (threads, run queue, futex and sleep
 * lists, file descriptors, the address space, signal handlers). It is the only lock.
 *
 * Layers, each file using only those below it (a header per file; this one holds the
 * types they all share): console (hypercalls) < base (boot info, CPUs, user bounds,
 * bulk copies) < apic, process (the process's end) < sched < linux_fs < linux_mm <
 * program, linux_signal, syscall < linux < trap < boot. Two calls go up through hooks
 * that boot.c sets: the first thread's start (program_start_sources) and the input
 * file's first use (program_input_touched). Shared mutable state: `kernel` (set at boot,
 * then read-only but cpus_online), `cpus`, `big_kernel_lock`, `sched_next_deadline`.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel_abi.h"
#include "symhv/abi.h"
#include "symhv/launch.h"

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define GDT_TSS_FIRST 5 /* TSS of vCPU i at GDT entries 5+2i, 5+2i+1 */

#define VEC_TIMER 0x20
#define VEC_WAKEUP 0x21
#define VEC_SYSCALL 0x80
#define VEC_SPURIOUS 0xff
#define VEC_LINUX_SYSCALL 0x100 /* not a vector: the `syscall` entry's frame says so */

#define TIMER_HZ 100

/* Ring 3 owns [USER_AREA_START, kernel.user_top); below is the kernel (supervisor pages). */
#define USER_AREA_START 0x400000ull     /* where static Linux programs link */
#define MAIN_STACK_BYTES (8ull << 20)   /* RLIMIT_STACK, as Linux's default */

#define RFLAGS_IF (1ull << 9)
/* Flags a program may set (CF PF AF ZF SF TF DF OF AC ID, the reserved bit 1). */
#define RFLAGS_USER 0x254dd7ull

/* Saved by entry.S, in this order (lowest address first): struct symhv_user_regs. */
struct trapframe {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

enum thread_state { T_FREE = 0, T_RUNNABLE, T_RUNNING, T_BLOCKED, T_DEAD };

struct thread {
    uint8_t fx[512] __attribute__((aligned(16))); /* fxsave image */
    struct trapframe frame;
    enum thread_state state;
    int tid;
    struct thread *next;        /* run queue or futex wait list */
    uint64_t futex_addr;        /* blocked in a futex wait on this address (0: not) */
    uint32_t futex_bitset;
    uint64_t wake_at;           /* blocked with a deadline (clock ns), 0: none */
    struct thread *sleep_next;  /* the list of threads with a deadline */
    struct thread *joiner;      /* thread blocked joining this one (symhv ABI) */
    uint64_t exit_value;
    int joined_by_someone;
    /* Linux */
    uint64_t fs_base, gs_base;
    uint64_t clear_child_tid;   /* set_tid_address / CLONE_CHILD_CLEARTID */
    uint64_t sig_blocked, sig_pending;
    uint64_t altstack_sp, altstack_size;
    int in_sigwait;             /* blocked in a wait a signal interrupts (EINTR) */
    bool start_hook;            /* the main thread: program_start_sources() first */
    bool linux_thread;          /* made by clone (or the main thread): freed at exit,
                                   its exit status is the process's if it is the last */
};

struct cpu {
    unsigned id;
    struct thread *current;     /* NULL while idle */
    volatile int idle;          /* in hlt, waiting for work */
    uint64_t fs_base, gs_base;  /* what the MSRs hold now */
};

/* The `syscall` entry's per-vCPU data, reached through GS after swapgs. */
struct percpu {
    uint64_t kernel_rsp;        /* offset 0: top of this vCPU's kernel stack */
    uint64_t user_rsp;          /* offset 8: scratch for the user's rsp */
};

struct spinlock { volatile int locked; };

#define LX_KEEP_RAX INT64_MIN /* a call's result: it set the registers itself */

/* lib (shared with the user library) */
int vformat(char *buf, size_t size, const char *fmt, va_list ap);
int format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084

#endif
