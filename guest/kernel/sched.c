/* Threads, the run queue, blocking and waking. Everything here runs with the big
 * kernel lock held and interrupts off. */
#include "kernel.h"

struct spinlock big_kernel_lock;

static struct thread threads[GUEST_MAX_THREADS];
static struct thread *runq_head, *runq_tail;
static struct thread *futex_waiters; /* singly linked through ->next */
static int live_threads;
static int next_tid = 1;

/* The FPU image a new thread starts with: x87 control word 0x37f, MXCSR 0x1f80. */
static void fx_init(uint8_t *fx)
{
    memset(fx, 0, 512);
    fx[0] = 0x7f;
    fx[1] = 0x03;
    fx[24] = 0x80;
    fx[25] = 0x1f;
}

void spin_lock(struct spinlock *l)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (l->locked)
            cpu_relax();
}

void spin_unlock(struct spinlock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

static void runq_push(struct thread *t)
{
    t->next = NULL;
    if (runq_tail)
        runq_tail->next = t;
    else
        runq_head = t;
    runq_tail = t;
}

static struct thread *runq_pop(void)
{
    struct thread *t = runq_head;
    if (t) {
        runq_head = t->next;
        if (!runq_head)
            runq_tail = NULL;
        t->next = NULL;
    }
    return t;
}

/* Wake one idle vCPU (if any) so it picks up newly runnable work. */
static void kick_idle_cpu(void)
{
    unsigned self = this_cpu()->id;
    for (unsigned i = 0; i < boot_info->ncpus; i++) {
        if (i != self && cpus[i].idle) {
            cpus[i].idle = 0; /* one IPI per newly runnable thread is enough */
            apic_send_ipi(i, VEC_WAKEUP);
            return;
        }
    }
}

void sched_make_runnable(struct thread *t)
{
    t->state = T_RUNNABLE;
    runq_push(t);
    kick_idle_cpu();
}

struct thread *thread_create(uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1)
{
    struct thread *t = NULL;
    for (int i = 0; i < GUEST_MAX_THREADS; i++) {
        if (threads[i].state == T_FREE) {
            t = &threads[i];
            break;
        }
    }
    if (!t)
        return NULL;
    memset(&t->frame, 0, sizeof t->frame);
    fx_init(t->fx);
    t->frame.rip = rip;
    t->frame.rsp = rsp;
    t->frame.rdi = arg0;
    t->frame.rsi = arg1;
    t->frame.cs = USER_CS;
    t->frame.ss = USER_DS;
    t->frame.rflags = 0x202; /* IF */
    t->tid = next_tid++;
    t->joiner = NULL;
    t->joined_by_someone = 0;
    t->futex_addr = 0;
    live_threads++;
    sched_make_runnable(t);
    return t;
}

/* Save the running thread's user state; the vCPU no longer runs it. */
static void save_current(struct cpu *c, struct trapframe *f)
{
    struct thread *t = c->current;
    t->frame = *f;
    __asm__ volatile("fxsave64 %0" : "=m"(t->fx));
    c->current = NULL;
}

/* Pick the next thread and load it into the frame; idle in hlt until there is one. */
static void run_next(struct cpu *c, struct trapframe *f)
{
    struct thread *t;
    while (!(t = runq_pop())) {
        c->idle = 1;
        spin_unlock(&big_kernel_lock);
        /* sti's one-instruction shadow makes "sti; hlt" atomic against a wakeup IPI. */
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        spin_lock(&big_kernel_lock);
        c->idle = 0;
    }
    t->state = T_RUNNING;
    c->current = t;
    *f = t->frame;
    __asm__ volatile("fxrstor64 %0" ::"m"(t->fx));
}

void sched_start_cpu(struct trapframe *f)
{
    struct cpu *c = this_cpu();
    spin_lock(&big_kernel_lock);
    run_next(c, f);
    spin_unlock(&big_kernel_lock);
}

void sched_preempt(struct cpu *c, struct trapframe *f)
{
    if (!runq_head)
        return; /* nobody waiting: keep running */
    struct thread *t = c->current;
    save_current(c, f);
    t->state = T_RUNNABLE;
    runq_push(t);
    run_next(c, f);
}

void sched_block(struct cpu *c, struct trapframe *f)
{
    c->current->state = T_BLOCKED;
    save_current(c, f);
    run_next(c, f);
}

static void free_thread(struct thread *t) { t->state = T_FREE; }

void sched_exit_current(struct cpu *c, struct trapframe *f, uint64_t value)
{
    struct thread *t = c->current;
    t->state = T_DEAD;
    t->exit_value = value;
    c->current = NULL;
    if (t->joiner) {
        t->joiner->frame.rax = value;
        sched_make_runnable(t->joiner);
        free_thread(t);
    }
    if (--live_threads == 0) {
        spin_unlock(&big_kernel_lock);
        hypercall(SYMHV_HC_EXIT, 0, 0, 0, 0); /* last thread gone: the program is done */
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    run_next(c, f);
}

static struct thread *find_thread(int tid)
{
    for (int i = 0; i < GUEST_MAX_THREADS; i++)
        if (threads[i].state != T_FREE && threads[i].tid == tid)
            return &threads[i];
    return NULL;
}

/* Syscall results go into f->rax here, before any switch: once the vCPU moves to
 * another thread, `f` holds that thread's registers. */
void sched_join(struct cpu *c, struct trapframe *f, int tid)
{
    struct thread *t = find_thread(tid);
    if (!t || t->joined_by_someone) {
        f->rax = (uint64_t)-GUEST_ESRCH;
        return;
    }
    if (t == c->current) {
        f->rax = (uint64_t)-GUEST_EDEADLK;
        return;
    }
    t->joined_by_someone = 1;
    if (t->state == T_DEAD) {
        f->rax = t->exit_value;
        free_thread(t);
        return;
    }
    t->joiner = c->current;
    sched_block(c, f); /* the exiting thread writes its value into our saved rax */
}

void sched_futex_wait(struct cpu *c, struct trapframe *f, uint64_t addr, uint32_t expected)
{
    if ((addr & 3) || !user_range_ok(addr, 4)) {
        f->rax = (uint64_t)-GUEST_EFAULT;
        return;
    }
    if (__atomic_load_n((uint32_t *)addr, __ATOMIC_SEQ_CST) != expected) {
        f->rax = (uint64_t)-GUEST_EAGAIN;
        return;
    }
    struct thread *t = c->current;
    t->futex_addr = addr;
    /* On the wait list before blocking: run_next() may drop the lock while idle. */
    t->next = futex_waiters;
    futex_waiters = t;
    f->rax = 0;
    sched_block(c, f);
}

int sched_futex_wake(uint64_t addr, int count)
{
    int woken = 0;
    struct thread **link = &futex_waiters;
    while (*link && woken < count) {
        struct thread *t = *link;
        if (t->futex_addr == addr) {
            *link = t->next;
            t->futex_addr = 0;
            sched_make_runnable(t);
            woken++;
        } else {
            link = &t->next;
        }
    }
    return woken;
}
