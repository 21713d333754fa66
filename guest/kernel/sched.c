/* Threads, the run queue, blocking and waking. Everything here runs with the big
 * kernel lock held and interrupts off. */
#include "kernel.h"
#include "sched.h"
#include "linux_abi.h"

static void (*first_start)(void); /* set once at boot, before any thread runs */

void sched_on_first_start(void (*fn)(void)) { first_start = fn; }

struct spinlock big_kernel_lock;

static struct thread threads[GUEST_MAX_THREADS];
static struct thread *runq_head, *runq_tail;
static struct thread *futex_waiters; /* singly linked through ->next */
static struct thread *sleepers;      /* threads with a deadline, through ->sleep_next */
volatile uint64_t sched_next_deadline;
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

uint64_t clock_ns(void)
{
    uint64_t tsc = symhv_pv_clock_tsc(&kernel.boot->clock, rdtsc()), khz = kernel.boot->tsc_khz;
    return tsc / khz * 1000000 + tsc % khz * 1000000 / khz;
}

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
    for (unsigned i = 0; i < kernel.boot->ncpus; i++) {
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
    t->in_sigwait = 0;
    runq_push(t);
    kick_idle_cpu();
}

struct thread *thread_alloc(void)
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
    memset(t, 0, sizeof *t);
    fx_init(t->fx);
    t->frame.cs = USER_CS;
    t->frame.ss = USER_DS;
    t->frame.rflags = 0x202; /* IF */
    t->tid = next_tid++;
    t->state = T_BLOCKED; /* until made runnable */
    live_threads++;
    return t;
}

struct thread *thread_create(uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1)
{
    struct thread *t = thread_alloc();
    if (!t)
        return NULL;
    t->frame.rip = rip;
    t->frame.rsp = rsp;
    t->frame.rdi = arg0;
    t->frame.rsi = arg1;
    t->start_hook = t->linux_thread = t->tid == 1; /* the program's main thread */
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
    if (t->start_hook) { /* without the lock: the other vCPUs are to settle in idle */
        t->start_hook = false;
        spin_unlock(&big_kernel_lock);
        if (first_start)
            first_start();
        spin_lock(&big_kernel_lock);
    }
    *f = t->frame;
    __asm__ volatile("fxrstor64 %0" ::"m"(t->fx));
    if (t->fs_base != c->fs_base)
        wrmsr(MSR_FS_BASE, c->fs_base = t->fs_base);
    if (t->gs_base != c->gs_base)
        wrmsr(MSR_GS_BASE, c->gs_base = t->gs_base);
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

int sched_live_threads(void) { return live_threads; }

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
    } else if (t->linux_thread) {
        free_thread(t); /* Linux threads are joined through their clear_child_tid */
    }
    if (--live_threads == 0) {
        spin_unlock(&big_kernel_lock);
        linux_exit_process(t->linux_thread ? (int)value : 0); /* the program is done */
    }
    run_next(c, f);
}

struct thread *sched_find(int tid)
{
    for (int i = 0; i < GUEST_MAX_THREADS; i++)
        if (threads[i].state != T_FREE && threads[i].state != T_DEAD && threads[i].tid == tid)
            return &threads[i];
    return NULL;
}

struct thread *sched_not_blocking(uint64_t sigbit)
{
    for (int i = 0; i < GUEST_MAX_THREADS; i++)
        if (threads[i].state != T_FREE && threads[i].state != T_DEAD &&
            !(threads[i].sig_blocked & sigbit))
            return &threads[i];
    return NULL;
}

/* Syscall results go into f->rax here, before any switch: once the vCPU moves to
 * another thread, `f` holds that thread's registers. */
void sched_join(struct cpu *c, struct trapframe *f, int tid)
{
    struct thread *t = NULL;
    for (int i = 0; i < GUEST_MAX_THREADS; i++)
        if (threads[i].state != T_FREE && threads[i].tid == tid)
            t = &threads[i];
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

/* ---- deadlines ------------------------------------------------------------------------ */

static void recompute_next_deadline(void)
{
    uint64_t next = 0;
    for (struct thread *t = sleepers; t; t = t->sleep_next)
        if (!next || t->wake_at < next)
            next = t->wake_at;
    sched_next_deadline = next;
}

static void sleeper_add(struct thread *t, uint64_t deadline)
{
    t->wake_at = deadline;
    t->sleep_next = sleepers;
    sleepers = t;
    if (!sched_next_deadline || deadline < sched_next_deadline)
        sched_next_deadline = deadline;
}

static void sleeper_remove(struct thread *t)
{
    if (!t->wake_at)
        return;
    for (struct thread **link = &sleepers; *link; link = &(*link)->sleep_next)
        if (*link == t) {
            *link = t->sleep_next;
            break;
        }
    t->wake_at = 0;
    recompute_next_deadline();
}

static void futex_remove(struct thread *t)
{
    for (struct thread **link = &futex_waiters; *link; link = &(*link)->next)
        if (*link == t) {
            *link = t->next;
            break;
        }
    t->futex_addr = 0;
}

/* End t's wait with `result` in its rax. */
static void end_wait(struct thread *t, int64_t result)
{
    if (t->futex_addr)
        futex_remove(t);
    sleeper_remove(t);
    t->frame.rax = (uint64_t)result;
    sched_make_runnable(t);
}

void sched_wake_expired(uint64_t now)
{
    for (bool again = true; again;) {
        again = false;
        for (struct thread *t = sleepers; t; t = t->sleep_next)
            if (t->wake_at <= now) {
                /* a futex wait times out; a plain sleep ends well */
                end_wait(t, t->futex_addr ? -LX_ETIMEDOUT : 0);
                again = true; /* the list changed under us */
                break;
            }
    }
}

bool sched_interrupt_wait(struct thread *t)
{
    if (t->state != T_BLOCKED || !t->in_sigwait)
        return false;
    end_wait(t, -LX_EINTR);
    return true;
}

void sched_sleep_until(struct cpu *c, struct trapframe *f, uint64_t deadline)
{
    f->rax = 0;
    if (deadline <= clock_ns())
        return;
    struct thread *t = c->current;
    sleeper_add(t, deadline);
    t->in_sigwait = 1;
    sched_block(c, f);
}

/* ---- futexes -------------------------------------------------------------------------- */

void sched_futex_wait(struct cpu *c, struct trapframe *f, uint64_t addr, uint32_t expected,
                      uint32_t bitset, uint64_t deadline)
{
    if ((addr & 3) || !user_range_ok(addr, 4) || !bitset) {
        f->rax = (uint64_t)-((addr & 3) || !bitset ? LX_EINVAL : LX_EFAULT);
        return;
    }
    if (__atomic_load_n((uint32_t *)addr, __ATOMIC_SEQ_CST) != expected) {
        f->rax = (uint64_t)-GUEST_EAGAIN;
        return;
    }
    if (deadline && deadline <= clock_ns()) {
        f->rax = (uint64_t)-LX_ETIMEDOUT;
        return;
    }
    struct thread *t = c->current;
    t->futex_addr = addr;
    t->futex_bitset = bitset;
    /* On the wait list before blocking: run_next() may drop the lock while idle. */
    t->next = futex_waiters;
    futex_waiters = t;
    if (deadline)
        sleeper_add(t, deadline);
    t->in_sigwait = 1;
    f->rax = 0;
    sched_block(c, f);
}

int sched_futex_wake(uint64_t addr, int count, uint32_t bitset)
{
    int woken = 0;
    struct thread **link = &futex_waiters;
    while (*link && woken < count) {
        struct thread *t = *link;
        if (t->futex_addr == addr && (t->futex_bitset & bitset)) {
            *link = t->next;
            t->futex_addr = 0;
            sleeper_remove(t);
            t->frame.rax = 0;
            sched_make_runnable(t);
            woken++;
        } else {
            link = &t->next;
        }
    }
    return woken;
}

int sched_futex_requeue(uint64_t addr, uint64_t addr2, int nwake, int nmove)
{
    int done = sched_futex_wake(addr, nwake, LX_FUTEX_BITSET_ALL);
    for (struct thread *t = futex_waiters; t && nmove > 0; t = t->next)
        if (t->futex_addr == addr) {
            t->futex_addr = addr2;
            nmove--;
            done++;
        }
    return done;
}
