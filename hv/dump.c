#include "dump.h"

#include <Zydis/Zydis.h>
#include <stdio.h>

#include "guest_mem.h"
#include "log.h"
#include "vcpu.h"

static void print_instruction(uint64_t rip, const uint8_t *bytes, size_t n)
{
    ZydisDisassembledInstruction insn;
    if (n == 0)
        fprintf(stderr, "  instruction at rip: (unreadable)\n");
    else if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, rip, bytes, n, &insn)))
        fprintf(stderr, "  instruction at rip: %s\n", insn.text);
    else
        fprintf(stderr, "  instruction at rip: (undecodable, first byte 0x%02x)\n", bytes[0]);
}

static void dump_instruction(struct vcpu *v, const struct kvm_sregs *s, uint64_t rip, bool user)
{
    struct guest_as as;
    guest_as_from_sregs(&as, v->vm, s, user);
    uint8_t bytes[15];
    print_instruction(rip, bytes, guest_fetch_insn(&as, rip, bytes));
}

void dump_vcpu_state(struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (vcpu_get_regs(v, &r) < 0 || vcpu_get_sregs(v, &s) < 0)
        return;
    flockfile(stderr);
    fprintf(stderr,
            "  vCPU %u registers (CPL %u):\n"
            "  rip %016llx  rsp %016llx  rflags %016llx\n"
            "  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
            "  rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx\n"
            "  r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx\n"
            "  r13 %016llx  r14 %016llx  r15 %016llx\n"
            "  cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx  efer %llx\n"
            "  cs %04x  ss %04x  idt base %llx limit %x\n",
            v->index, s.cs.selector & 3, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
            r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
            s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.ss.selector, s.idt.base,
            s.idt.limit);
    if (s.cs.selector == 0xf000 && r.rip == 0xfff0 && v->run->exit_reason == KVM_EXIT_SHUTDOWN)
        fprintf(stderr, "  (these are the registers after a reset: AMD SVM's KVM resets a vCPU "
                        "at a triple fault, the state at the fault is lost on such hosts)\n");
    else
        dump_instruction(v, &s, r.rip, false);
    funlockfile(stderr);
}

void dump_program_state(struct vcpu *v, const struct guest_end *e)
{
    const struct symhv_user_regs *r = e->program_regs;
    struct kvm_sregs s;
    if (vcpu_get_sregs(v, &s) < 0)
        return;
    flockfile(stderr);
    fprintf(stderr,
            "  program registers (vCPU %u):\n"
            "  rip %016llx  rsp %016llx  rflags %016llx\n"
            "  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
            "  rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx\n"
            "  r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx\n"
            "  r13 %016llx  r14 %016llx  r15 %016llx\n",
            v->index, (unsigned long long)r->rip, (unsigned long long)r->rsp,
            (unsigned long long)r->rflags, (unsigned long long)r->rax,
            (unsigned long long)r->rbx, (unsigned long long)r->rcx, (unsigned long long)r->rdx,
            (unsigned long long)r->rsi, (unsigned long long)r->rdi, (unsigned long long)r->rbp,
            (unsigned long long)r->r8, (unsigned long long)r->r9, (unsigned long long)r->r10,
            (unsigned long long)r->r11, (unsigned long long)r->r12, (unsigned long long)r->r13,
            (unsigned long long)r->r14, (unsigned long long)r->r15);
    if (e->program_insn) /* another process's code, read for us by the agent */
        print_instruction(r->rip, e->program_insn, e->program_insn_len);
    else
        dump_instruction(v, &s, r->rip, true); /* the program's address space, its rights */
    funlockfile(stderr);
}

void end_plain_run(struct vcpu *v, const struct guest_end *e, void *opaque)
{
    (void)opaque;
    if (vm_is_stopping(v->vm))
        return; /* only the first ending reports; the others were stopped by it */
    if (e->kind == GUEST_SYMHV_FAILED) {
        hv_error("vCPU %u: symhv could not complete the run (a failure of symhv, not of the "
                 "guest): %s", v->index, e->why);
        dump_vcpu_state(v);
        vm_request_stop(v->vm, HV_EXIT_SETUP_ERROR);
    } else if (e->kind == GUEST_CRASH) {
        hv_error("vCPU %u: %s", v->index, e->why);
        if (e->vmm_saw_it)
            dump_vcpu_state(v);
        else if (e->program_regs)
            dump_program_state(v, e);
        vm_request_stop(v->vm, HV_EXIT_GUEST_CRASH);
    } else {
        if (e->why)
            hv_error("vCPU %u: %s", v->index, e->why);
        vm_request_stop(v->vm, e->status);
    }
}
