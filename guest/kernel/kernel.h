/* symhv's test kernel: a small SMP kernel whose real work runs in ring 3.
 *
 * Design, chosen for hosts where guest ring 0 is emulated (slow) and ring 3 native:
 *  - one kernel stack per vCPU (the VMM's boot stack, also TSS.RSP0); a trap saves the
 *    user registers in a trapframe on it, and switching threads means copying that
 *    frame to/from the thread table, so there is no kernel-side context switch code;
 *  - one big kernel lock; interrupts stay off in ring 0, so ring-0 paths are short;
 *  - a global FIFO run queue; LAPIC (x2APIC) timer preemption; IPIs wake idle vCPUs;
 *  - no xsave, no int3: FPU/SSE state is switched with fxsave/fxrstor.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel_abi.h"
#include "symhv/abi.h"

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define GDT_TSS_FIRST 5 /* TSS of vCPU i at GDT entries 5+2i, 5+2i+1 */

#define VEC_TIMER 0x20
#define VEC_WAKEUP 0x21
#define VEC_SYSCALL 0x80
#define VEC_SPURIOUS 0xff

#define TIMER_HZ 100

/* Saved by entry.S, in this order (lowest address first). */
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
    uint64_t futex_addr;        /* blocked in futex_wait on this address */
    struct thread *joiner;      /* thread blocked joining this one */
    uint64_t exit_value;
    int joined_by_someone;
};

struct cpu {
    unsigned id;
    struct thread *current;     /* NULL while idle */
    volatile int idle;          /* in hlt, waiting for work */
};

struct spinlock { volatile int locked; };

/* boot.c */
extern struct symhv_boot_info *boot_info;
extern struct cpu cpus[SYMHV_MAX_VCPUS];
extern uint64_t user_heap_start, user_heap_end;
struct cpu *this_cpu(void);
int user_range_ok(uint64_t addr, uint64_t len);

/* apic.c */
void apic_init_this_cpu(void);
void apic_eoi(void);
void apic_send_ipi(unsigned cpu, unsigned vector);

/* sched.c (all need the big kernel lock, except sched_lock/unlock themselves) */
extern struct spinlock big_kernel_lock;
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
struct thread *thread_create(uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1);
void sched_preempt(struct cpu *c, struct trapframe *f);
void sched_block(struct cpu *c, struct trapframe *f);
void sched_exit_current(struct cpu *c, struct trapframe *f, uint64_t value);
void sched_make_runnable(struct thread *t);
void sched_join(struct cpu *c, struct trapframe *f, int tid);
void sched_futex_wait(struct cpu *c, struct trapframe *f, uint64_t addr, uint32_t expected);
int sched_futex_wake(uint64_t addr, int count);
void sched_start_cpu(struct trapframe *f);   /* first entry of a vCPU into ring 3 */

/* syscall.c */
void syscall_dispatch(struct cpu *c, struct trapframe *f);

/* console.c */
int64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* lib (shared with the user library) */
int vformat(char *buf, size_t size, const char *fmt, va_list ap);
void *memcpy(void *dst, const void *src, size_t n);
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

#endif
