/* Signals, enough for abort(), for programs that install handlers (including for their
 * own faults) and for threads signalling each other: rt_sigaction, rt_sigprocmask,
 * sigaltstack, kill/tkill/tgkill to the program itself, delivery on the way back to
 * ring 3 through Linux's x86-64 rt_sigframe, and rt_sigreturn. A signal whose default
 * action ends the process, or a fault without a handler, ends the run as a crash of
 * the program (the VMM shows its registers). Handlers and masks are guarded by the
 * big kernel lock. */
#include "kernel.h"
#include "linux_signal.h"
#include "linux_abi.h"


static struct lx_sigaction actions[LX_NSIG + 1];
static const uint64_t unblockable = (1ull << (LX_SIGKILL - 1)) | (1ull << (LX_SIGSTOP - 1));

static uint64_t bit(int sig) { return 1ull << (sig - 1); }

void signal_init(void) { memset(actions, 0, sizeof actions); }

/* The default action: true if it ends the process (else the signal is ignored). */
static bool default_is_fatal(int sig)
{
    switch (sig) {
    case LX_SIGCHLD: case LX_SIGCONT: case LX_SIGURG: case LX_SIGWINCH:
    case LX_SIGSTOP: case LX_SIGTSTP: case LX_SIGTTIN: case LX_SIGTTOU: /* no job control */
        return false;
    default:
        return true;
    }
}

void signal_fatal(struct trapframe *f, int sig, uint64_t addr)
{
    struct symhv_user_regs regs;
    memcpy(&regs, f, sizeof regs);
    linux_report_unknown();
    hypercall(SYMHV_HC_USER_CRASH, (uint64_t)&regs, (uint64_t)sig, addr, 0);
    for (;;)
        __asm__ volatile("cli; hlt");
}

static bool on_altstack(const struct thread *t, uint64_t sp)
{
    return t->altstack_size && sp - t->altstack_sp < t->altstack_size;
}

/* Enter the handler of `sig`: the rt_sigframe (registers, mask, FPU state) on the
 * program's stack (or its alternate stack), as Linux builds it. */
static void enter_handler(struct cpu *c, struct trapframe *f, int sig,
                          const struct lx_siginfo *info)
{
    struct thread *t = c->current;
    struct lx_sigaction *act = &actions[sig];
    uint64_t sp = f->rsp;
    bool use_alt = (act->flags & LX_SA_ONSTACK) && t->altstack_size && !on_altstack(t, sp);
    sp = use_alt ? t->altstack_sp + t->altstack_size : sp - 128; /* past the red zone */
    uint64_t fpstate = (sp - 512) & ~63ull;
    sp = ((fpstate - sizeof(struct lx_rt_sigframe)) & ~15ull) - 8; /* as after a call */
    if (!user_range_ok(sp, fpstate + 512 - sp) || !(act->flags & LX_SA_RESTORER))
        signal_fatal(f, LX_SIGSEGV, sp); /* no room to deliver it: Linux kills too */
    struct lx_rt_sigframe *frame = (struct lx_rt_sigframe *)sp;
    memset(frame, 0, sizeof *frame);
    __asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])fpstate));
    frame->pretcode = act->restorer;
    frame->info = *info;
    frame->uc.uc_stack = (struct lx_stack){ t->altstack_sp,
                                            t->altstack_size ? (on_altstack(t, f->rsp) ? LX_SS_ONSTACK : 0)
                                                             : LX_SS_DISABLE,
                                            0, t->altstack_size };
    struct lx_sigcontext *m = &frame->uc.uc_mcontext;
    *m = (struct lx_sigcontext){
        .r8 = f->r8, .r9 = f->r9, .r10 = f->r10, .r11 = f->r11, .r12 = f->r12, .r13 = f->r13,
        .r14 = f->r14, .r15 = f->r15, .rdi = f->rdi, .rsi = f->rsi, .rbp = f->rbp, .rbx = f->rbx,
        .rdx = f->rdx, .rax = f->rax, .rcx = f->rcx, .rsp = f->rsp, .rip = f->rip,
        .eflags = f->rflags, .cs = (uint16_t)f->cs, .ss = (uint16_t)f->ss,
        .err = f->vector < 32 ? f->error : 0, .trapno = f->vector < 32 ? f->vector : 0,
        .oldmask = t->sig_blocked, .cr2 = f->vector == 14 ? info->u.addr : 0,
        .fpstate = fpstate,
    };
    frame->uc.uc_sigmask = t->sig_blocked;
    f->rip = act->handler;
    f->rsp = sp;
    f->rdi = (uint64_t)sig;
    f->rsi = (uint64_t)&frame->info;
    f->rdx = (uint64_t)&frame->uc;
    f->rax = 0;
    f->rflags &= ~0x500ull; /* TF, DF */
    t->sig_blocked |= act->mask | ((act->flags & LX_SA_NODEFER) ? 0 : bit(sig));
    t->sig_blocked &= ~unblockable;
    if (act->flags & LX_SA_RESETHAND)
        act->handler = LX_SIG_DFL;
}

static int fault_signal(uint64_t vector, int *code)
{
    switch (vector) {
    case 0: *code = LX_FPE_INTDIV; return LX_SIGFPE;
    case 16: case 19: *code = 0; return LX_SIGFPE;
    case 1: case 3: *code = LX_TRAP_BRKPT; return LX_SIGTRAP;
    case 6: *code = LX_ILL_ILLOPN; return LX_SIGILL;
    case 17: *code = LX_BUS_ADRALN; return LX_SIGBUS;
    case 14: *code = LX_SEGV_MAPERR; return LX_SIGSEGV;
    default: *code = 0; return LX_SIGSEGV; /* #GP, #SS, #NP ... */
    }
}

void signal_fault(struct cpu *c, struct trapframe *f, uint64_t fault_addr)
{
    int code, sig = fault_signal(f->vector, &code);
    struct thread *t = c->current;
    if (f->vector == 14 && (f->error & 1))
        code = LX_SEGV_ACCERR;
    spin_lock(&big_kernel_lock);
    uint64_t handler = actions[sig].handler;
    bool handled = t && handler > LX_SIG_IGN && !(t->sig_blocked & bit(sig));
    if (handled) {
        struct lx_siginfo info = { .si_signo = sig, .si_code = code };
        info.u.addr = f->vector == 14 ? fault_addr : f->rip;
        enter_handler(c, f, sig, &info);
    }
    spin_unlock(&big_kernel_lock);
    if (!handled) /* a fault cannot be ignored or blocked away: it kills */
        signal_fatal(f, sig, f->vector == 14 ? fault_addr : 0);
}

void signal_deliver_pending(struct cpu *c, struct trapframe *f)
{
    spin_lock(&big_kernel_lock);
    struct thread *t = c->current;
    for (uint64_t ready; t && (ready = t->sig_pending & ~t->sig_blocked);) {
        int sig = __builtin_ctzll(ready) + 1;
        t->sig_pending &= ~bit(sig);
        uint64_t handler = actions[sig].handler;
        if (handler == LX_SIG_IGN || (handler == LX_SIG_DFL && !default_is_fatal(sig)))
            continue;
        if (handler == LX_SIG_DFL) {
            spin_unlock(&big_kernel_lock);
            f->vector = ~0ull; /* not an exception: a signal */
            signal_fatal(f, sig, 0);
        }
        struct lx_siginfo info = { .si_signo = sig, .si_code = LX_SI_TKILL };
        info.u.kill.pid = 1;
        enter_handler(c, f, sig, &info);
        break; /* one handler at a time; the next on its way back */
    }
    spin_unlock(&big_kernel_lock);
}

/* Make `sig` pending for thread tid (0: the process, i.e. a thread not blocking it). */
int signal_send(int tid, int sig, int code)
{
    (void)code;
    if (sig < 1 || sig > LX_NSIG)
        return -LX_EINVAL;
    struct thread *t = NULL;
    if (tid)
        t = sched_find(tid);
    else if (!(t = sched_not_blocking(bit(sig))))
        t = sched_find(1); /* everyone blocks it: pending on the main thread */
    if (!t)
        return -LX_ESRCH;
    t->sig_pending |= bit(sig);
    if (t->sig_blocked & bit(sig))
        return 0;
    if (!sched_interrupt_wait(t)) { /* running elsewhere: make it look on its way back */
        for (unsigned i = 0; i < kernel.boot->ncpus; i++)
            if (cpus[i].current == t && i != this_cpu()->id)
                apic_send_ipi(i, VEC_WAKEUP);
    }
    return 0;
}

static int64_t sys_rt_sigreturn(struct cpu *c, struct trapframe *f)
{
    struct thread *t = c->current;
    uint64_t sp = f->rsp - 8; /* the handler's ret took pretcode */
    if (!user_range_ok(sp, sizeof(struct lx_rt_sigframe)))
        signal_fatal(f, LX_SIGSEGV, sp);
    /* One copy of the frame, read once: another thread of the program may rewrite it
     * while we look (a checked fpstate swapped for a kernel address before the copy). */
    struct lx_rt_sigframe copy;
    memcpy(&copy, (const void *)sp, sizeof copy);
    const struct lx_rt_sigframe *frame = &copy;
    const struct lx_sigcontext *m = &frame->uc.uc_mcontext;
    uint8_t fx[512] __attribute__((aligned(16)));
    bool fp = m->fpstate != 0;
    if (fp && !user_range_ok(m->fpstate, sizeof fx))
        signal_fatal(f, LX_SIGSEGV, m->fpstate); /* as Linux: a bad frame is fatal */
    if (fp) {
        memcpy(fx, (const void *)m->fpstate, sizeof fx);
        uint32_t mxcsr;
        memcpy(&mxcsr, fx + 24, 4);
        mxcsr &= 0xffff; /* reserved MXCSR bits would make fxrstor fault in ring 0 */
        memcpy(fx + 24, &mxcsr, 4);
    }
    f->r8 = m->r8, f->r9 = m->r9, f->r10 = m->r10, f->r11 = m->r11, f->r12 = m->r12;
    f->r13 = m->r13, f->r14 = m->r14, f->r15 = m->r15, f->rdi = m->rdi, f->rsi = m->rsi;
    f->rbp = m->rbp, f->rbx = m->rbx, f->rdx = m->rdx, f->rax = m->rax, f->rcx = m->rcx;
    f->rsp = m->rsp, f->rip = m->rip;
    f->rflags = (m->eflags & RFLAGS_USER) | RFLAGS_IF | 2;
    f->cs = USER_CS;
    f->ss = USER_DS;
    t->sig_blocked = frame->uc.uc_sigmask & ~unblockable;
    if (fp)
        __asm__ volatile("fxrstor64 %0" ::"m"(fx));
    return LX_KEEP_RAX;
}

int64_t signal_syscall(struct cpu *c, struct trapframe *f, uint64_t nr, bool *handled)
{
    uint64_t a0 = f->rdi, a1 = f->rsi, a2 = f->rdx, a3 = f->r10;
    struct thread *t = c->current;
    *handled = true;
    switch (nr) {
    case LX_rt_sigaction: {
        int sig = (int)a0;
        if (sig < 1 || sig > LX_NSIG || a3 != 8 ||
            (a1 && (sig == LX_SIGKILL || sig == LX_SIGSTOP)))
            return -LX_EINVAL;
        if ((a1 && !user_range_ok(a1, sizeof(struct lx_sigaction))) ||
            (a2 && !user_range_ok(a2, sizeof(struct lx_sigaction))))
            return -LX_EFAULT;
        struct lx_sigaction old = actions[sig];
        if (a1) {
            actions[sig] = *(const struct lx_sigaction *)a1;
            actions[sig].mask &= ~unblockable;
        }
        if (a2)
            *(struct lx_sigaction *)a2 = old;
        return 0;
    }
    case LX_rt_sigprocmask: {
        if (a3 != 8)
            return -LX_EINVAL;
        if ((a1 && !user_range_ok(a1, 8)) || (a2 && !user_range_ok(a2, 8)))
            return -LX_EFAULT;
        uint64_t old = t->sig_blocked;
        if (a1) {
            uint64_t set = *(const uint64_t *)a1;
            if (a0 == LX_SIG_BLOCK)
                t->sig_blocked |= set;
            else if (a0 == LX_SIG_UNBLOCK)
                t->sig_blocked &= ~set;
            else if (a0 == LX_SIG_SETMASK)
                t->sig_blocked = set;
            else
                return -LX_EINVAL;
            t->sig_blocked &= ~unblockable;
        }
        if (a2)
            *(uint64_t *)a2 = old;
        return 0;
    }
    case LX_rt_sigpending:
        if (a1 != 8 || !user_range_ok(a0, 8))
            return -LX_EINVAL;
        *(uint64_t *)a0 = t->sig_pending;
        return 0;
    case LX_sigaltstack: {
        if ((a0 && !user_range_ok(a0, sizeof(struct lx_stack))) ||
            (a1 && !user_range_ok(a1, sizeof(struct lx_stack))))
            return -LX_EFAULT;
        struct lx_stack old = { t->altstack_sp,
                                t->altstack_size ? (on_altstack(t, f->rsp) ? LX_SS_ONSTACK : 0)
                                                 : LX_SS_DISABLE,
                                0, t->altstack_size };
        if (a0) {
            const struct lx_stack *ss = (const struct lx_stack *)a0;
            if (on_altstack(t, f->rsp))
                return -LX_EPERM;
            if (ss->flags & LX_SS_DISABLE) {
                t->altstack_sp = t->altstack_size = 0;
            } else {
                if (ss->size < LX_MINSIGSTKSZ)
                    return -12; /* ENOMEM, as Linux */
                if (!user_range_ok(ss->sp, ss->size))
                    return -LX_EFAULT;
                t->altstack_sp = ss->sp;
                t->altstack_size = ss->size;
            }
        }
        if (a1)
            *(struct lx_stack *)a1 = old;
        return 0;
    }
    case LX_rt_sigreturn:
        return sys_rt_sigreturn(c, f);
    case LX_kill: /* the program is process 1; it can signal only itself */
        if ((int64_t)a0 != 1 && (int64_t)a0 != 0 && (int64_t)a0 != -1)
            return -LX_ESRCH;
        return a1 ? signal_send(0, (int)a1, LX_SI_USER) : 0;
    case LX_tkill:
        if (!sched_find((int)a0))
            return -LX_ESRCH;
        return a1 ? signal_send((int)a0, (int)a1, LX_SI_TKILL) : 0;
    case LX_tgkill:
        if (a0 != 1 || !sched_find((int)a1))
            return -LX_ESRCH;
        return a2 ? signal_send((int)a1, (int)a2, LX_SI_TKILL) : 0;
    case LX_pause:
        t->in_sigwait = 1;
        f->rax = (uint64_t)-LX_EINTR;
        sched_block(c, f);
        return LX_KEEP_RAX;
    default:
        *handled = false;
        return -LX_ENOSYS;
    }
}
