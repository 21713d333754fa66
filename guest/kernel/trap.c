/* Every interrupt, exception and system call lands in trap(). */
#include "kernel.h"

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

    switch (f->vector) {
    case VEC_TIMER:
        apic_eoi();
        /* From ring 0 we were idle in hlt: the idle loop re-checks the run queue. */
        if (from_user) {
            spin_lock(&big_kernel_lock);
            sched_preempt(c, f);
            spin_unlock(&big_kernel_lock);
        }
        return;
    case VEC_WAKEUP:
        apic_eoi();
        return;
    case VEC_SPURIOUS:
        return; /* no EOI for spurious interrupts */
    case VEC_SYSCALL:
        syscall_dispatch(c, f);
        return;
    case 6: /* #UD */
        if (from_user && user_range_ok(f->rip, 2) && *(const uint8_t *)f->rip == 0xcd &&
            *(const uint8_t *)(f->rip + 1) == VEC_SYSCALL) {
            f->rip += 2; /* PVM's form of `int $0x80`: see kernel_abi.h */
            syscall_dispatch(c, f);
            return;
        }
        break;
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
            return;
        }
        break;
    default:
        break;
    }
    if (f->vector < 32 && from_user) {
        /* The program crashed: the VMM reports it and ends the run. */
        hypercall(SYMHV_HC_USER_FAULT, f->vector, f->rip, f->vector == 14 ? read_cr2() : 0,
                  f->error);
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    panic("kernel exception %lu at rip 0x%lx (error 0x%lx, cr2 0x%lx) on vCPU %u",
          f->vector, f->rip, f->error, read_cr2(), c->id);
}
