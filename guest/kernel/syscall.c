/* System call dispatch (numbers and conventions in guest/include/kernel_abi.h). */
#include "kernel.h"
#include "syscall.h"

static int64_t sys_write(uint64_t buf, uint64_t len)
{
    if (!user_range_ok(buf, len))
        return -GUEST_EFAULT;
    return hypercall(SYMHV_HC_WRITE, buf, len, 0, 0);
}

static int64_t sys_info(uint64_t addr)
{
    if (!user_range_ok(addr, sizeof(struct guest_info)))
        return -GUEST_EFAULT;
    struct guest_info *gi = (struct guest_info *)addr;
    gi->ncpus = kernel.boot->ncpus;
    gi->reserved = 0;
    gi->mem_bytes = kernel.boot->mem_bytes;
    gi->heap_start = kernel.heap_start;
    gi->heap_end = kernel.heap_end;
    gi->tsc_khz = kernel.boot->tsc_khz;
    memcpy(gi->cmdline, kernel.boot->cmdline, sizeof gi->cmdline);
    return 0;
}

void syscall_dispatch(struct cpu *c, struct trapframe *f)
{
    uint64_t a0 = f->rdi, a1 = f->rsi, a2 = f->rdx, a3 = f->r10;
    int64_t r;
    switch (f->rax) {
    /* Calls that need no kernel state: no lock. */
    case SYS_WRITE: r = sys_write(a1, a2); break;
    case SYS_EXIT:
        linux_exit_process((int)a0);
    case SYS_CLOCK: r = (int64_t)clock_ns(); break;
    case SYS_GETCPU: r = c->id; break;
    case SYS_INFO: r = sys_info(a0); break;

    /* Calls that may switch threads: they set f->rax themselves (see sched.c). */
    case SYS_THREAD_CREATE: {
        if (!user_range_ok(a0, 1) || !user_range_ok(a1 - 8, 8)) {
            r = -GUEST_EFAULT;
            break;
        }
        spin_lock(&big_kernel_lock);
        struct thread *t = thread_create(a0, a1, a2, a3);
        r = t ? t->tid : -GUEST_ENOMEM;
        spin_unlock(&big_kernel_lock);
        break;
    }
    case SYS_THREAD_EXIT:
        spin_lock(&big_kernel_lock);
        sched_exit_current(c, f, a0);
        spin_unlock(&big_kernel_lock);
        return;
    case SYS_THREAD_JOIN:
        spin_lock(&big_kernel_lock);
        sched_join(c, f, (int)a0);
        spin_unlock(&big_kernel_lock);
        return;
    case SYS_YIELD:
        f->rax = 0;
        spin_lock(&big_kernel_lock);
        sched_preempt(c, f);
        spin_unlock(&big_kernel_lock);
        return;
    case SYS_FUTEX_WAIT:
        spin_lock(&big_kernel_lock);
        sched_futex_wait(c, f, a0, (uint32_t)a1, ~0u, 0);
        spin_unlock(&big_kernel_lock);
        return;
    case SYS_FUTEX_WAKE:
        if ((a0 & 3) || !user_range_ok(a0, 4)) {
            r = -GUEST_EFAULT;
            break;
        }
        spin_lock(&big_kernel_lock);
        r = sched_futex_wake(a0, (int)a1, ~0u);
        spin_unlock(&big_kernel_lock);
        break;
    default:
        r = -GUEST_ENOSYS;
        break;
    }
    f->rax = (uint64_t)r;
}
