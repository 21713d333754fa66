/* Every interrupt, exception and system call lands in trap(). */
#include "kernel.h"
#include "linux.h"
#include "linux_signal.h"
#include "syscall.h"

extern char lx_syscall_entry[];

static uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

void trap(struct trapframe *f)
{
    struct cpu *c = this_cpu();
    int from_user = (f->cs & 3) == 3;
    uint64_t cr2 = 0;

    switch (f->vector) {
    case VEC_TIMER:
        apic_eoi();
        if (sched_next_deadline && clock_ns() >= sched_next_deadline) {
            spin_lock(&big_kernel_lock);
            sched_wake_expired(clock_ns());
            spin_unlock(&big_kernel_lock);
        }
        /* From ring 0 we were idle in hlt: the idle loop re-checks the run queue. */
        if (from_user) {
            spin_lock(&big_kernel_lock);
            sched_preempt(c, f);
            spin_unlock(&big_kernel_lock);
        }
        break;
    case VEC_WAKEUP:
        apic_eoi();
        break;
    case VEC_SPURIOUS:
        return; /* no EOI for spurious interrupts */
    case VEC_SYSCALL:
        syscall_dispatch(c, f);
        break;
    case VEC_LINUX_SYSCALL: /* entry.S: `syscall` on VMX/SVM */
        linux_syscall(c, f);
        break;
    case 14: /* #PF */
        cr2 = read_cr2();
        /* PVM hosts: `syscall` loads rip from LSTAR, rcx and r11, but stays in ring 3, so
         * the fetch at lx_syscall_entry faults as a user access. That fault is the
         * system call; it returns where `syscall` would (rcx, with rflags from r11). */
        if (from_user && f->rip == (uint64_t)lx_syscall_entry && cr2 == f->rip) {
            f->rip = f->rcx;
            f->rflags = (f->r11 & RFLAGS_USER) | RFLAGS_IF | 2;
            f->cs = USER_CS;
            f->ss = USER_DS;
            linux_syscall(c, f);
            break;
        }
        goto fault;
    case 6: /* #UD */
        if (from_user && user_range_ok(f->rip, 2) && *(const uint8_t *)f->rip == 0xcd &&
            *(const uint8_t *)(f->rip + 1) == VEC_SYSCALL) {
            f->rip += 2; /* PVM's form of `int $0x80`: see kernel_abi.h */
            syscall_dispatch(c, f);
            break;
        }
        goto fault;
    case 3: /* #BP: rip is past the int3 */
        /* The VMM's own breakpoints (binary-only coverage, hv/breakpoints.c): it puts the
         * instruction back and the program goes on there; any other int3 is the
         * program's (SIGTRAP). */
        if (from_user && hypercall(SYMHV_HC_BREAKPOINT, f->rip - 1, 0, 0, 0) == 1) {
            f->rip -= 1;
            break;
        }
        goto fault;
    case 13: /* #GP */
        /* The guest agent's instruction, `in eax, dx` from the hypercall port: ring 3
         * may not do port I/O, so the kernel issues it on the program's behalf, marked
         * SYMHV_HC_FROM_USER: the VMM then checks the program's pointers with user
         * rights (they cannot reach kernel memory). Only the agent's calls are
         * forwarded (not exit/panic). */
        if (from_user && user_range_ok(f->rip, 1) && *(const uint8_t *)f->rip == 0xed &&
            (f->rdx & 0xffff) == SYMHV_HYPERCALL_PORT &&
            (f->rdi & ~(uint64_t)SYMHV_HC_FROM_USER) >= SYMHV_HC_AGENT_FIRST) {
            f->rax = (uint32_t)hypercall(f->rdi | SYMHV_HC_FROM_USER, f->rsi, f->rcx, f->r8, f->r9);
            f->rip += 1;
            break;
        }
        goto fault;
    default:
    fault:
        if (f->vector < 32 && from_user) {
            /* The program faulted: its handler runs, or it dies (the VMM reports it). */
            signal_fault(c, f, cr2);
            break;
        }
        panic("kernel exception %lu at rip 0x%lx (error 0x%lx, cr2 0x%lx) on vCPU %u",
              f->vector, f->rip, f->error, read_cr2(), c->id);
    }
    /* back to ring 3 (possibly another thread now): signals first */
    if ((f->cs & 3) == 3 && c->current &&
        (c->current->sig_pending & ~c->current->sig_blocked))
        signal_deliver_pending(c, f);
}
