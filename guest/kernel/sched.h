/* sched.c: threads, the run queue, futexes, deadlines, the clock */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include "kernel.h"
#include "base.h"
#include "apic.h"
#include "process.h"

/* All need the big kernel lock, except spin_lock/unlock themselves. */
extern struct spinlock big_kernel_lock;
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
struct thread *thread_create(uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1);
struct thread *thread_alloc(void);  /* a free slot with a tid, not yet runnable */
void sched_preempt(struct cpu *c, struct trapframe *f);
void sched_block(struct cpu *c, struct trapframe *f);
void sched_exit_current(struct cpu *c, struct trapframe *f, uint64_t value);
void sched_make_runnable(struct thread *t);
void sched_join(struct cpu *c, struct trapframe *f, int tid);
/* Wait on addr while *addr == expected; deadline 0: none. The result lands in f->rax. */
void sched_futex_wait(struct cpu *c, struct trapframe *f, uint64_t addr, uint32_t expected,
                      uint32_t bitset, uint64_t deadline);
int sched_futex_wake(uint64_t addr, int count, uint32_t bitset);
int sched_futex_requeue(uint64_t addr, uint64_t addr2, int nwake, int nmove);
void sched_sleep_until(struct cpu *c, struct trapframe *f, uint64_t deadline);
void sched_wake_expired(uint64_t now);
extern volatile uint64_t sched_next_deadline; /* earliest wake_at (0: none), read unlocked */
bool sched_interrupt_wait(struct thread *t);  /* a signal ends t's wait (-EINTR) */
struct thread *sched_find(int tid);
struct thread *sched_not_blocking(uint64_t sigbit); /* a live thread that takes it */
int sched_live_threads(void);
void sched_start_cpu(struct trapframe *f);   /* first entry of a vCPU into ring 3 */
/* Run fn (once, without the lock) before the first thread created with start_hook set
 * enters ring 3 (boot.c: the program's symbolic sources). */
void sched_on_first_start(void (*fn)(void));
uint64_t clock_ns(void);

#endif
