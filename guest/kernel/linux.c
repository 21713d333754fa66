/* The Linux x86-64 system-call ABI: dispatch, threads (clone, clone3, exit, futex,
 * set_tid_address, arch_prctl), time, identity and limits. Files are linux_fs.c,
 * memory linux_mm.c, signals linux_signal.c. The program is process 1, alone: no fork,
 * no exec. A call the kernel lacks returns -ENOSYS and is listed once when the program
 * ends. Every call but a few stateless ones runs under the big kernel lock; calls that
 * block put their result in f->rax before they switch threads and return LX_KEEP_RAX. */
#include "kernel.h"
#include "linux.h"
#include "linux_fs.h"
#include "linux_mm.h"
#include "linux_signal.h"
#include "program.h"
#include "sched.h"
#include "linux_abi.h"


static int64_t not_here(uint64_t nr)
{
    process_note_unknown(nr);
    return -LX_ENOSYS;
}

/* ---- threads -------------------------------------------------------------------------- */

static int64_t do_clone(struct cpu *c, struct trapframe *f, uint64_t flags, uint64_t stack,
                        uint64_t ptid, uint64_t ctid, uint64_t tls, uint64_t nr)
{
    if (!(flags & LX_CLONE_VM) || (flags & LX_CLONE_VFORK))
        return not_here(nr == LX_clone3 ? LX_fork : nr); /* a new process: fork, spawn */
    if (((flags & LX_CLONE_PARENT_SETTID) && !user_range_ok(ptid, 4)) ||
        ((flags & (LX_CLONE_CHILD_SETTID | LX_CLONE_CHILD_CLEARTID)) && !user_range_ok(ctid, 4)))
        return -LX_EFAULT;
    if ((flags & LX_CLONE_SETTLS) && tls >= LX_TASK_SIZE_MAX)
        return -LX_EPERM; /* as Linux: a non-canonical base would #GP at the switch */
    struct thread *parent = c->current, *t = thread_alloc();
    if (!t)
        return -LX_EAGAIN;
    t->frame = *f;
    t->frame.rax = 0;
    if (stack)
        t->frame.rsp = stack;
    __asm__ volatile("fxsave64 %0" : "=m"(t->fx)); /* the parent's FPU state, live now */
    t->fs_base = (flags & LX_CLONE_SETTLS) ? tls : parent->fs_base;
    t->gs_base = parent->gs_base;
    t->sig_blocked = parent->sig_blocked;
    t->linux_thread = true;
    if (flags & LX_CLONE_CHILD_CLEARTID)
        t->clear_child_tid = ctid;
    if (flags & LX_CLONE_PARENT_SETTID)
        *(uint32_t *)ptid = (uint32_t)t->tid;
    if (flags & LX_CLONE_CHILD_SETTID)
        *(uint32_t *)ctid = (uint32_t)t->tid;
    sched_make_runnable(t);
    return t->tid;
}

static int64_t do_clone3(struct cpu *c, struct trapframe *f, uint64_t uargs, uint64_t size)
{
    struct lx_clone_args a = { 0 };
    if (size < 64 || size > 4096 || !user_range_ok(uargs, size))
        return -LX_EINVAL;
    memcpy(&a, (const void *)uargs, size < sizeof a ? size : sizeof a);
    if (a.set_tid || a.set_tid_size || (a.flags & LX_CLONE_PIDFD))
        return -LX_EINVAL;
    uint64_t top = a.stack ? a.stack + a.stack_size : 0;
    return do_clone(c, f, a.flags, top, a.parent_tid, a.child_tid, a.tls, LX_clone3);
}

static void exit_thread(struct cpu *c, struct trapframe *f, uint64_t status)
{
    struct thread *t = c->current;
    if (t->clear_child_tid && user_range_ok(t->clear_child_tid, 4)) {
        *(uint32_t *)t->clear_child_tid = 0; /* pthread_join waits for this */
        sched_futex_wake(t->clear_child_tid, 1, LX_FUTEX_BITSET_ALL);
    }
    sched_exit_current(c, f, status);
}

static uint64_t realtime_base(void) { return kernel.launch ? kernel.launch->realtime_ns : 0; }

/* A timespec of the program as nanoseconds, or -EFAULT / -EINVAL. */
static int64_t read_timespec(uint64_t addr, uint64_t *ns)
{
    if (!user_range_ok(addr, sizeof(struct lx_timespec)))
        return -LX_EFAULT;
    const struct lx_timespec *ts = (const struct lx_timespec *)addr;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
        return -LX_EINVAL;
    *ns = (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
    return 0;
}

static int64_t do_futex(struct cpu *c, struct trapframe *f)
{
    uint64_t uaddr = f->rdi, op = f->rsi, val = f->rdx, arg4 = f->r10, uaddr2 = f->r8;
    uint32_t val3 = (uint32_t)f->r9;
    uint64_t cmd = op & 127, deadline = 0, ns;
    switch (cmd) {
    case LX_FUTEX_WAIT: case LX_FUTEX_WAIT_BITSET: {
        if (arg4) {
            int64_t r = read_timespec(arg4, &ns);
            if (r < 0)
                return r;
            if (cmd == LX_FUTEX_WAIT) { /* relative */
                deadline = clock_ns() + ns;
            } else { /* absolute, on CLOCK_MONOTONIC or (flag) CLOCK_REALTIME */
                uint64_t base = (op & LX_FUTEX_CLOCK_REALTIME) ? realtime_base() : 0;
                deadline = ns > base ? ns - base : 1;
            }
        }
        sched_futex_wait(c, f, uaddr, (uint32_t)val,
                         cmd == LX_FUTEX_WAIT ? LX_FUTEX_BITSET_ALL : val3, deadline);
        return LX_KEEP_RAX;
    }
    case LX_FUTEX_WAKE: case LX_FUTEX_WAKE_BITSET:
        if ((uaddr & 3) || !user_range_ok(uaddr, 4))
            return -LX_EINVAL;
        return sched_futex_wake(uaddr, (int)val, cmd == LX_FUTEX_WAKE ? LX_FUTEX_BITSET_ALL : val3);
    case LX_FUTEX_REQUEUE: case LX_FUTEX_CMP_REQUEUE:
        if ((uaddr & 3) || (uaddr2 & 3) || !user_range_ok(uaddr, 4) || !user_range_ok(uaddr2, 4))
            return -LX_EINVAL;
        if (cmd == LX_FUTEX_CMP_REQUEUE &&
            __atomic_load_n((uint32_t *)uaddr, __ATOMIC_SEQ_CST) != val3)
            return -LX_EAGAIN;
        return sched_futex_requeue(uaddr, uaddr2, (int)val, (int)arg4);
    case LX_FUTEX_WAKE_OP: {
        if ((uaddr & 3) || (uaddr2 & 3) || !user_range_ok(uaddr, 4) || !user_range_ok(uaddr2, 4))
            return -LX_EINVAL;
        unsigned oper = (val3 >> 28) & 7, cmp = (val3 >> 24) & 15;
        uint32_t oparg = (val3 >> 12) & 0xfff, cmparg = val3 & 0xfff;
        if (val3 & (8u << 28))
            oparg = 1u << (oparg & 31);
        uint32_t *p = (uint32_t *)uaddr2, old = *p, now = old;
        switch (oper) {
        case 0: now = oparg; break;
        case 1: now = old + oparg; break;
        case 2: now = old | oparg; break;
        case 3: now = old & ~oparg; break;
        case 4: now = old ^ oparg; break;
        default: return -LX_EINVAL;
        }
        *p = now;
        int woken = sched_futex_wake(uaddr, (int)val, LX_FUTEX_BITSET_ALL);
        bool hit = cmp == 0 ? old == cmparg : cmp == 1 ? old != cmparg
                 : cmp == 2 ? (int32_t)old < (int32_t)cmparg : cmp == 3 ? (int32_t)old <= (int32_t)cmparg
                 : cmp == 4 ? (int32_t)old > (int32_t)cmparg : (int32_t)old >= (int32_t)cmparg;
        if (hit)
            woken += sched_futex_wake(uaddr2, (int)arg4, LX_FUTEX_BITSET_ALL);
        return woken;
    }
    default:
        return -LX_ENOSYS; /* priority-inheritance futexes */
    }
}

/* ---- time ----------------------------------------------------------------------------- */

static int64_t put_time(uint64_t addr, uint64_t ns, bool micro)
{
    if (!user_range_ok(addr, 16))
        return -LX_EFAULT;
    int64_t *p = (int64_t *)addr;
    p[0] = (int64_t)(ns / 1000000000ull);
    p[1] = (int64_t)(ns % 1000000000ull / (micro ? 1000 : 1));
    return 0;
}

static uint64_t clock_value(uint64_t clk)
{
    uint64_t now = clock_ns();
    return clk == LX_CLOCK_REALTIME || clk == LX_CLOCK_REALTIME_COARSE ? realtime_base() + now : now;
}

static int64_t do_sleep(struct cpu *c, struct trapframe *f, uint64_t clk, uint64_t flags,
                        uint64_t req)
{
    uint64_t ns;
    int64_t r = read_timespec(req, &ns);
    if (r < 0)
        return r;
    uint64_t deadline;
    if (flags & LX_TIMER_ABSTIME) {
        uint64_t base = clk == LX_CLOCK_REALTIME ? realtime_base() : 0;
        deadline = ns > base ? ns - base : 0;
    } else {
        deadline = clock_ns() + ns;
    }
    sched_sleep_until(c, f, deadline);
    return LX_KEEP_RAX;
}

/* ---- identity, limits, the machine ---------------------------------------------------- */

static void copy_field(char *dst, const char *src) { memcpy(dst, src, strlen(src) + 1); }

static int64_t do_uname(uint64_t addr)
{
    if (!user_range_ok(addr, sizeof(struct lx_utsname)))
        return -LX_EFAULT;
    struct lx_utsname *u = (struct lx_utsname *)addr;
    memset(u, 0, sizeof *u);
    copy_field(u->sysname, "Linux");
    copy_field(u->nodename, "symhv");
    copy_field(u->release, "6.1.0-symhv");
    copy_field(u->version, "#1 SMP symhv");
    copy_field(u->machine, "x86_64");
    copy_field(u->domainname, "(none)");
    return 0;
}

static struct lx_rlimit rlimit_of(uint64_t resource)
{
    if (resource == LX_RLIMIT_STACK)
        return (struct lx_rlimit){ MAIN_STACK_BYTES, LX_RLIM_INFINITY };
    if (resource == LX_RLIMIT_NOFILE)
        return (struct lx_rlimit){ 1024, 1024 };
    return (struct lx_rlimit){ LX_RLIM_INFINITY, LX_RLIM_INFINITY };
}

static int64_t do_prlimit(uint64_t resource, uint64_t old)
{
    if (resource >= LX_RLIMIT_NLIMITS)
        return -LX_EINVAL;
    if (old) {
        if (!user_range_ok(old, sizeof(struct lx_rlimit)))
            return -LX_EFAULT;
        *(struct lx_rlimit *)old = rlimit_of(resource);
    }
    return 0; /* new limits are accepted and change nothing */
}

static int64_t zero_out(uint64_t addr, uint64_t len)
{
    if (!user_range_ok(addr, len))
        return -LX_EFAULT;
    memset((void *)addr, 0, len);
    return 0;
}

static int64_t dispatch(struct cpu *c, struct trapframe *f, uint64_t nr)
{
    uint64_t a0 = f->rdi, a1 = f->rsi, a2 = f->rdx, a3 = f->r10, a4 = f->r8;
    struct thread *t = c->current;
    bool handled;
    int64_t r = fs_syscall(c, f, nr, &handled);
    if (handled)
        return r;
    r = signal_syscall(c, f, nr, &handled);
    if (handled)
        return r;
    switch (nr) {
    /* memory */
    case LX_brk: return mm_brk(a0);
    case LX_mmap: return mm_mmap(a0, a1, a2, a3, (int)a4, f->r9);
    case LX_munmap: return mm_munmap(a0, a1);
    case LX_mremap: return mm_mremap(a0, a1, a2, a3, a4);
    case LX_madvise: return mm_madvise(a0, a1, a2);
    case LX_mprotect: return (a0 & 0xfff) ? -LX_EINVAL : 0; /* not enforced (linux_mm.c) */
    case LX_msync: case LX_mlock: case LX_munlock: return 0;
    case LX_shmat: return mm_shmat(a0, a1);
    case LX_shmdt: return mm_shmdt(a0);
    case LX_shmctl: return mm_shmctl(a0, a1);
    case LX_mincore: { /* everything is resident */
        uint64_t pages = (a1 + 0xfff) >> 12;
        if ((a0 & 0xfff) || !user_range_ok(a2, pages))
            return -LX_EINVAL;
        memset((void *)a2, 1, pages);
        return 0;
    }
    case LX_membarrier: return a0 == 0 ? 0 : -LX_EINVAL; /* QUERY: no commands */

    /* threads */
    case LX_clone: return do_clone(c, f, a0, a1, a2, a3, a4, nr);
    case LX_clone3: return do_clone3(c, f, a0, a1);
    case LX_fork: case LX_vfork: case LX_execve: return not_here(nr);
    case LX_exit:
        exit_thread(c, f, a0 & 0xff);
        return LX_KEEP_RAX;
    case LX_exit_group:
        spin_unlock(&big_kernel_lock);
        linux_exit_process((int)a0);
    case LX_wait4: return -LX_ECHILD;
    case LX_set_tid_address:
        t->clear_child_tid = a0;
        return t->tid;
    case LX_set_robust_list: return a1 == 24 ? 0 : -LX_EINVAL;
    case LX_rseq: return -LX_ENOSYS; /* libcs do without it */
    case LX_futex: return do_futex(c, f);
    case LX_arch_prctl:
        switch (a0) {
        case LX_ARCH_SET_FS:
            if (a1 >= LX_TASK_SIZE_MAX) /* a non-canonical base: wrmsr would #GP */
                return -LX_EPERM;
            t->fs_base = a1;
            wrmsr(MSR_FS_BASE, c->fs_base = a1);
            return 0;
        case LX_ARCH_SET_GS:
            if (a1 >= LX_TASK_SIZE_MAX)
                return -LX_EPERM;
            t->gs_base = a1;
            wrmsr(MSR_GS_BASE, c->gs_base = a1);
            return 0;
        case LX_ARCH_GET_FS: case LX_ARCH_GET_GS:
            if (!user_range_ok(a1, 8))
                return -LX_EFAULT;
            *(uint64_t *)a1 = a0 == LX_ARCH_GET_FS ? t->fs_base : t->gs_base;
            return 0;
        default:
            return -LX_EINVAL;
        }
    case LX_sched_yield:
        f->rax = 0;
        sched_preempt(c, f);
        return LX_KEEP_RAX;
    case LX_sched_getaffinity: { /* every vCPU: nproc is the vCPU count */
        if (a1 < 8 || (a1 & 7) || !user_range_ok(a2, a1))
            return -LX_EINVAL;
        memset((void *)a2, 0, a1);
        for (unsigned i = 0; i < kernel.boot->ncpus; i++)
            ((uint8_t *)a2)[i / 8] |= (uint8_t)(1u << (i % 8));
        return 8 * ((kernel.boot->ncpus + 63) / 64);
    }
    case LX_sched_setaffinity: case LX_sched_setscheduler: case LX_setpriority:
    case LX_setrlimit: case LX_personality:
        return 0;
    case LX_sched_getscheduler: return 0; /* SCHED_OTHER */
    case LX_sched_getparam: return zero_out(a1, 4);
    case LX_sched_get_priority_max: case LX_sched_get_priority_min: return 0;
    case LX_getpriority: return 20;
    case LX_getcpu:
        if (a0 && user_range_ok(a0, 4))
            *(uint32_t *)a0 = c->id;
        if (a1 && user_range_ok(a1, 4))
            *(uint32_t *)a1 = 0;
        return 0;

    /* time */
    case LX_nanosleep: return do_sleep(c, f, LX_CLOCK_MONOTONIC, 0, a0);
    case LX_clock_nanosleep: return do_sleep(c, f, a0, a1, a2);
    case LX_clock_gettime: return a0 > LX_CLOCK_BOOTTIME ? -LX_EINVAL : put_time(a1, clock_value(a0), false);
    case LX_clock_getres:
        if (!a1)
            return 0;
        return put_time(a1, 1, false);
    case LX_gettimeofday: return a0 ? put_time(a0, clock_value(LX_CLOCK_REALTIME), true) : 0;
    case LX_time: {
        int64_t s = (int64_t)(clock_value(LX_CLOCK_REALTIME) / 1000000000ull);
        if (a0 && user_range_ok(a0, 8))
            *(int64_t *)a0 = s;
        return s;
    }

    /* identity */
    case LX_getpid: return 1;
    case LX_gettid: return t->tid;
    case LX_getppid: return 0;
    case LX_getuid: case LX_geteuid: case LX_getgid: case LX_getegid: case LX_getgroups:
        return 0;
    case LX_setuid: case LX_setgid: return a0 == 0 ? 0 : -LX_EPERM;
    case LX_getpgrp: case LX_getpgid: case LX_getsid: case LX_setsid: return 1;
    case LX_setpgid: return 0;
    case LX_uname: return do_uname(a0);
    case LX_prctl: return a0 == 15 || a0 == 16 ? 0 : -LX_EINVAL; /* PR_SET/GET_NAME */

    /* limits and the machine */
    case LX_prlimit64: return (a0 && a0 != 1) ? -LX_ESRCH : do_prlimit(a1, a3);
    case LX_getrlimit: return do_prlimit(a0, a1);
    case LX_getrusage: return zero_out(a1, 144);
    case LX_times: {
        if (a0 && zero_out(a0, 32) < 0)
            return -LX_EFAULT;
        return (int64_t)(clock_ns() / (1000000000ull / TIMER_HZ));
    }
    case LX_sysinfo: {
        if (!user_range_ok(a0, sizeof(struct lx_sysinfo)))
            return -LX_EFAULT;
        struct lx_sysinfo *si = (struct lx_sysinfo *)a0;
        memset(si, 0, sizeof *si);
        si->uptime = (int64_t)(clock_ns() / 1000000000ull);
        si->totalram = kernel.boot->mem_bytes;
        si->freeram = kernel.user_top - USER_AREA_START;
        si->procs = (uint16_t)sched_live_threads();
        si->mem_unit = 1;
        return 0;
    }
    case LX_getrandom:
        if (a1 > (1u << 20) || !user_range_ok(a0, a1))
            return -LX_EFAULT;
        random_fill((void *)a0, a1);
        return (int64_t)a1;
    default:
        return not_here(nr);
    }
}

void linux_syscall(struct cpu *c, struct trapframe *f)
{
    uint64_t nr = f->rax;
    int64_t r;
    switch (nr) { /* stateless: no lock */
    case LX_getpid: r = 1; break;
    case LX_gettid: r = c->current->tid; break;
    case LX_clock_gettime:
        r = f->rdi > LX_CLOCK_BOOTTIME ? -LX_EINVAL : put_time(f->rsi, clock_value(f->rdi), false);
        break;
    default:
        spin_lock(&big_kernel_lock);
        r = dispatch(c, f, nr);
        spin_unlock(&big_kernel_lock);
        break;
    }
    if (r != LX_KEEP_RAX)
        f->rax = (uint64_t)r;
}
