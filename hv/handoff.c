#include "handoff.h"

#include <string.h>

#include "guest_clock.h"
#include "guest_insn.h"
#include "log.h"
#include "sidecar_client.h"
#include "util.h"
#include "vcpu.h"


static void cpu_from_kvm(struct sc_cpu *cpu, const struct kvm_regs *r, const struct kvm_sregs *s)
{
    const uint64_t gpr[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    memcpy(cpu->gpr, gpr, sizeof gpr);
    cpu->rip = r->rip;
    cpu->rflags = r->rflags;
    cpu->cr0 = s->cr0;
    cpu->cr3 = s->cr3;
    cpu->cr4 = s->cr4;
    cpu->efer = s->efer;
    cpu->cpl = s->cs.selector & 3;
    cpu->fs_base = s->fs.base;
    cpu->gs_base = s->gs.base;
}

static void cpu_to_kvm(const struct sc_cpu *cpu, struct kvm_regs *r)
{
    const uint64_t *g = cpu->gpr;
    r->rax = g[0]; r->rcx = g[1]; r->rdx = g[2]; r->rbx = g[3];
    r->rsp = g[4]; r->rbp = g[5]; r->rsi = g[6]; r->rdi = g[7];
    r->r8 = g[8]; r->r9 = g[9]; r->r10 = g[10]; r->r11 = g[11];
    r->r12 = g[12]; r->r13 = g[13]; r->r14 = g[14]; r->r15 = g[15];
    r->rip = cpu->rip;
    r->rflags = cpu->rflags;
}

/* What taking a vCPU and giving it back costs, for the sidecar's renting (sidecar.h):
 * the VMM's own part of a handoff so far (mean), doubled for the trap and the re-entry
 * it cannot time; a first guess before any. */
#define RENT_FIRST_GUESS_NS 50000ull
static uint64_t rent_ns(struct handoff_stats *st)
{
    uint64_t n = atomic_load(&st->handoffs);
    if (n == 0)
        return RENT_FIRST_GUESS_NS;
    uint64_t call = atomic_load(&st->ns_call), served = atomic_load(&st->ns_served);
    uint64_t own = atomic_load(&st->ns_state_in) + atomic_load(&st->ns_complete) +
                   (call > served ? call - served : 0) + atomic_load(&st->ns_state_out);
    return 2 * own / n;
}

/* A page fault the interpreter met goes to the guest, unless the guest's handler already
 * had this one (same instruction, same address) HANDOFF_FAULT_REPEATS times in a row: a
 * fault the guest does not fix (the interpreter's view and the CPU's differ) then goes
 * to the CPU, as an instruction the interpreter does not model does. Says so once. */
#define HANDOFF_FAULT_REPEATS 4
static bool deliver_again(struct handoff_stats *st, struct vcpu *v, const struct sc_cpu *cpu,
                          struct sc_handoff_reply *reply)
{
    struct handoff_fault *last = &st->last_fault[v->index];
    if (last->rip == cpu->rip && last->addr == reply->fault_addr) {
        if (++last->repeats >= HANDOFF_FAULT_REPEATS) {
            if (!atomic_exchange(&st->fault_loop_said, true))
                hv_error("vCPU %u: the guest did not resolve the page fault at 0x%llx "
                         "(rip 0x%llx) the interpreter met %d times: the CPU runs the "
                         "instruction (said once)", v->index,
                         (unsigned long long)reply->fault_addr, (unsigned long long)cpu->rip,
                         HANDOFF_FAULT_REPEATS);
            reply->stop = SC_STOP_NATIVE;
            last->repeats = 0;
            return false;
        }
    } else {
        *last = (struct handoff_fault){ cpu->rip, reply->fault_addr, 1 };
    }
    atomic_fetch_add(&st->page_faults, 1);
    return true;
}

/* Whether KVM's completion of the pending read may have written an SSE or MMX register
 * (a load into XMM, a pxor from memory): then the XMM registers are set again whatever
 * the interpreter left in them. An instruction that cannot be decoded counts as one. */
static bool read_may_write_xmm(struct vcpu *v, const struct kvm_regs *r,
                               const struct kvm_sregs *s)
{
    if (v->run->exit_reason != KVM_EXIT_MMIO || v->run->mmio.is_write)
        return false;
    struct guest_as as;
    guest_as_from_sregs(&as, v->vm, s, (s->cs.selector & 3) == 3);
    struct guest_insn in;
    return guest_insn_decode(&as, r, s, r->rip, &in) < 0 || strstr(in.text, "mm") != NULL;
}

int handoff_run(struct vcpu *v, struct sidecar *sc, struct guest_clock *clk,
                struct handoff_stats *st)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    static __thread struct vcpu_fpu_state fpu; /* 4 KiB of XSAVE area: per vCPU thread */
    struct sc_cpu cpu;
    /* the state before the trapping instruction, then let KVM drop the access: the
     * registers are replaced below, so KVM must not complete it later; the interpreter
     * runs the instruction again from this state, all of it */
    uint64_t n0 = now_ns();
    if (vcpu_get_regs(v, &regs) < 0 || vcpu_get_sregs(v, &sregs) < 0 ||
        vcpu_get_xmm(v, &fpu, cpu.xmm) < 0)
        return -1;
    /* XMM is set again when the completion below may have written it, else only when
     * the interpreter changed it */
    bool xmm_reloaded = read_may_write_xmm(v, &regs, &sregs);
    uint64_t n1 = now_ns();
    if (vcpu_abandon_pending_exit(v) < 0)
        return -1;
    uint64_t n2 = now_ns();
    atomic_fetch_add(&st->ns_state_in, n1 - n0);
    atomic_fetch_add(&st->ns_complete, n2 - n1);
    if (!sidecar_alive(sc)) /* the pages are being released: the CPU retries */
        return vcpu_set_regs(v, &regs) < 0 || vcpu_set_xmm(v, &fpu, cpu.xmm, xmm_reloaded) < 0
                   ? -1 : 0;

    uint64_t t0 = guest_clock_enter(clk);
    cpu_from_kvm(&cpu, &regs, &sregs);
    uint8_t xmm_before[16][16];
    memcpy(xmm_before, cpu.xmm, sizeof xmm_before);
    struct sc_handoff_reply reply;
    atomic_fetch_add(&st->handoffs, 1);
    uint64_t n3 = now_ns();
    int called = sidecar_handoff(sc, v->index, &cpu, st->rent ? rent_ns(st) : 0, &reply);
    atomic_fetch_add(&st->ns_call, now_ns() - n3);
    bool page_fault = false;
    const uint8_t(*xmm_after)[16] = xmm_before;
    if (called == 0) {
        page_fault = reply.stop == SC_STOP_PAGE_FAULT && deliver_again(st, v, &cpu, &reply);
        if (reply.stop == SC_STOP_NATIVE) /* what the interpreter left to the CPU */
            hv_info("vCPU %u: '%s' at rip 0x%llx runs natively (not modelled: its symbolic "
                    "operands were made concrete)", v->index, reply.stopped_at,
                    (unsigned long long)cpu.rip);
        atomic_fetch_add(&st->ns_served, reply.served_ns);
        atomic_fetch_add(&st->rented, reply.rented_returns);
        cpu_to_kvm(&cpu, &regs);
        xmm_after = cpu.xmm;
    } else if (sidecar_checkpoint(sc, v->index, &cpu)) {
        /* resume after the last retired instruction */
        cpu_to_kvm(&cpu, &regs);
        xmm_after = cpu.xmm;
        atomic_fetch_add(&st->resumed_from_checkpoint, 1);
        hv_error("vCPU %u resumes natively at rip 0x%llx, after the last instruction the "
                 "sidecar retired", v->index, (unsigned long long)regs.rip);
    } /* else: nothing retired, the CPU re-executes the trapped access */
    guest_clock_leave(clk, v, t0);
    uint64_t n4 = now_ns();
    /* the registers through kvm_run (vcpu.h); the FPU ioctl only when needed: each ioctl
     * is an exit to the host kernel, the dearest part of a handoff here */
    if (page_fault) { /* CR2 with the registers, then the exception on top */
        sregs.cr2 = reply.fault_addr;
        if (vcpu_load_regs(v, &regs, &sregs) < 0 ||
            vcpu_inject_exception(v, 14, true, reply.fault_error) < 0 ||
            vcpu_set_xmm(v, &fpu, xmm_after, xmm_reloaded) < 0)
            return -1;
    } else if (vcpu_set_regs(v, &regs) < 0 ||
               vcpu_set_xmm(v, &fpu, xmm_after, xmm_reloaded) < 0) {
        return -1;
    }
    atomic_fetch_add(&st->ns_state_out, now_ns() - n4);
    return 0;
}
