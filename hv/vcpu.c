#include "vcpu.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "symhv/page.h"

/* Completing one pending access may start the next part of a split or string access:
 * KVM's emulator goes back to the guest (where immediate_exit ends KVM_RUN) after at
 * most 1024 iterations of a rep string instruction, each of which may exit once. */
#define COMPLETE_MAX_ROUNDS 1100

int vcpu_create(struct vm *vm, unsigned index)
{
    struct vcpu *v = &vm->vcpus[index];
    memset(v, 0, sizeof *v);
    v->vm = vm;
    v->index = index;
    v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (v->fd < 0) {
        hv_error_errno("vCPU %u: KVM_CREATE_VCPU failed", index);
        return -1;
    }
    int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run)) {
        hv_error_errno("vCPU %u: KVM_GET_VCPU_MMAP_SIZE failed", index);
        return -1;
    }
    v->run_size = (size_t)size;
    v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        v->run = NULL;
        hv_error_errno("vCPU %u: mmap of kvm_run failed", index);
        return -1;
    }
    /* registers and sregs in kvm_run after every exit: hypercalls and traps read them
     * without KVM_GET_REGS/SREGS */
    int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    unsigned want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    if (sync > 0 && ((unsigned)sync & want) == want) {
        v->run->kvm_valid_regs = want;
        v->sync_regs = true;
        v->sync_stale = true; /* filled by the first KVM_RUN */
    }

    /* CPUID: what KVM supports, with this vCPU's APIC id in leaves 1 and 0xb. */
    for (unsigned i = 0; i < vm->cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
        if (e->function == 1)
            e->ebx = (e->ebx & 0x00ffffffu) | (index << 24);
        if (e->function == 0xb || e->function == 0x1f)
            e->edx = index;
    }
    if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid) < 0) {
        hv_error_errno("vCPU %u: KVM_SET_CPUID2 failed", index);
        return -1;
    }
    return 0;
}

void vcpu_destroy(struct vcpu *v)
{
    if (v->run)
        munmap(v->run, v->run_size);
    if (v->fd >= 0)
        close(v->fd);
    v->run = NULL;
    v->fd = -1;
}

int vcpu_ioctl(struct vcpu *v, unsigned long request, void *arg, const char *name)
{
    if (ioctl(v->fd, request, arg) < 0) {
        hv_error_errno("vCPU %u: %s failed", v->index, name);
        return -1;
    }
    return 0;
}

/* Does the sync area hold this part (KVM_SYNC_X86_REGS or _SREGS) of the vCPU's state?
 * KVM stores it whenever KVM_RUN returns, so it does unless another thread replaced
 * the state of a parked vCPU (vcpu_state_replaced); a part written there for KVM to
 * load at the next KVM_RUN (kvm_dirty_regs) is the state whatever happened before. */
static bool sync_holds(const struct vcpu *v, unsigned part)
{
    return v->sync_regs && (!v->sync_stale || (v->run->kvm_dirty_regs & part));
}

void vcpu_state_replaced(struct vcpu *v)
{
    v->sync_stale = true;
    v->completion_due = false;
    if (v->stepping) /* KVM drops the trap flag with new registers: no step would come */
        vcpu_single_step(v, false);
}

int vcpu_load_regs(struct vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s)
{
    if (!v->sync_regs)
        return vcpu_ioctl(v, KVM_SET_SREGS, (void *)s, "KVM_SET_SREGS") < 0 ||
                       vcpu_ioctl(v, KVM_SET_REGS, (void *)r, "KVM_SET_REGS") < 0
                   ? -1
                   : 0;
    v->run->s.regs.regs = *r;
    v->run->s.regs.sregs = *s;
    /* a pending interrupt travels in the vCPU events (set with their ioctl); KVM would
     * queue the bitmap's once more when it loads these sregs */
    memset(v->run->s.regs.sregs.interrupt_bitmap, 0, sizeof v->run->s.regs.sregs.interrupt_bitmap);
    v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    return 0;
}

int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r)
{
    if (sync_holds(v, KVM_SYNC_X86_REGS)) {
        *r = v->run->s.regs.regs;
        return 0;
    }
    return vcpu_ioctl(v, KVM_GET_REGS, r, "KVM_GET_REGS");
}

int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s)
{
    if (sync_holds(v, KVM_SYNC_X86_SREGS)) {
        *s = v->run->s.regs.sregs;
        return 0;
    }
    return vcpu_ioctl(v, KVM_GET_SREGS, s, "KVM_GET_SREGS");
}

/* The XSAVE layout: the XMM registers in the legacy area, XSTATE_BV in the header. */
#define XSAVE_XMM_OFFSET 160
#define XSAVE_XSTATE_BV_OFFSET 512
#define XSTATE_SSE (1ull << 1)

int vcpu_get_xmm(struct vcpu *v, struct vcpu_fpu_state *state, uint8_t xmm[16][16])
{
    state->xsave = v->vm->has_xsave;
    if (!state->xsave) {
        if (vcpu_ioctl(v, KVM_GET_FPU, &state->fpu, "KVM_GET_FPU") < 0)
            return -1;
        memcpy(xmm, state->fpu.xmm, 16 * 16);
        return 0;
    }
    if (vcpu_ioctl(v, KVM_GET_XSAVE, &state->area, "KVM_GET_XSAVE") < 0)
        return -1;
    memcpy(xmm, (const uint8_t *)state->area.region + XSAVE_XMM_OFFSET, 16 * 16);
    return 0;
}

int vcpu_set_xmm(struct vcpu *v, struct vcpu_fpu_state *state, const uint8_t xmm[16][16],
                 bool always)
{
    if (!state->xsave) {
        if (!always && memcmp(state->fpu.xmm, xmm, 16 * 16) == 0)
            return 0;
        memcpy(state->fpu.xmm, xmm, 16 * 16);
        return vcpu_ioctl(v, KVM_SET_FPU, &state->fpu, "KVM_SET_FPU");
    }
    uint8_t *area = (uint8_t *)state->area.region;
    if (!always && memcmp(area + XSAVE_XMM_OFFSET, xmm, 16 * 16) == 0)
        return 0;
    memcpy(area + XSAVE_XMM_OFFSET, xmm, 16 * 16);
    uint64_t bv;
    memcpy(&bv, area + XSAVE_XSTATE_BV_OFFSET, sizeof bv);
    bv |= XSTATE_SSE; /* else the registers written are the init state's zeros */
    memcpy(area + XSAVE_XSTATE_BV_OFFSET, &bv, sizeof bv);
    return vcpu_ioctl(v, KVM_SET_XSAVE, &state->area, "KVM_SET_XSAVE");
}

int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r)
{
    if (v->sync_regs) { /* KVM loads them at the next KVM_RUN: no ioctl (one less exit
                           to the host kernel on every handoff) */
        v->run->s.regs.regs = *r;
        v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return 0;
    }
    return vcpu_ioctl(v, KVM_SET_REGS, (void *)r, "KVM_SET_REGS");
}

int vcpu_single_step(struct vcpu *v, bool on)
{
    /* No interrupt is injected while stepping: the frame it pushes would keep the trap
     * flag, and the guest would take a #DB of its own when it returns. */
    struct kvm_guest_debug dbg = {
        .control = on ? KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ : 0,
    };
    if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
        return -1;
    v->stepping = on;
    return 0;
}

int vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error_code, uint32_t error_code)
{
    struct kvm_vcpu_events ev;
    if (vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS") < 0)
        return -1;
    ev.exception.injected = 1;
    ev.exception.nr = (uint8_t)vector;
    ev.exception.has_error_code = has_error_code;
    ev.exception.error_code = error_code;
    ev.flags = 0; /* change nothing else (NMI, SIPI, shadow) */
    return vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
}

/* A read of trapped RAM exited and its page left the trap before the instruction was
 * finished (another vCPU ended a watch meanwhile): KVM would finish it over re-laid
 * memslots, and on a shadow-paging host (PVM) the write half of a read-modify-write
 * then faults in the guest. The page is trapped again until the instruction is done;
 * UINT64_MAX if nothing was trapped. Not while the VM settles (an execution's end), nor
 * for a completion the settle asked for (v counts as in the guest then): trapping pauses
 * the VM, which waits for every vCPU counted in the guest, and that vCPU may wait for a
 * lock the caller holds. */
static uint64_t retrap_for_completion(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint64_t page = page_floor(run->mmio.phys_addr);
    if (v->settle_completion || vm_settle_requested(v->vm))
        return UINT64_MAX;
    if (run->exit_reason != KVM_EXIT_MMIO || run->mmio.is_write || !v->vm->ram_trap ||
        !vm_gpa_to_host(v->vm, run->mmio.phys_addr, run->mmio.len) ||
        memory_is_trapped(&v->vm->mem, page))
        return UINT64_MAX;
    atomic_fetch_add(&v->vm->completion_traps, 1);
    struct trap_change c = { page, true, MEM_TRAP_COMPLETION };
    if (memory_set_traps(&v->vm->mem, &c, 1) == 0)
        return page;
    atomic_fetch_sub(&v->vm->completion_traps, 1);
    return UINT64_MAX;
}

static int complete_rounds(struct vcpu *v, bool abandon);

static int complete(struct vcpu *v, bool abandon)
{
    uint64_t retrapped = retrap_for_completion(v);
    int rc = complete_rounds(v, abandon);
    if (retrapped != UINT64_MAX) {
        struct trap_change c = { retrapped, false, MEM_TRAP_COMPLETION };
        if (memory_set_traps(&v->vm->mem, &c, 1) != 0) {
            hv_error("vCPU %u: guest page 0x%llx, trapped while an access finished, could "
                     "not be given back", v->index, (unsigned long long)retrapped);
            rc = -1;
        }
        atomic_fetch_sub(&v->vm->completion_traps, 1);
    }
    return rc;
}

/* Wait (1 s at most) for the pages trapped for another vCPU's completion to be given
 * back; true if there were some and they were. */
static bool wait_for_completion_traps(struct vm *vm)
{
    if (atomic_load(&vm->completion_traps) == 0)
        return false;
    for (int i = 0; i < 20000 && atomic_load(&vm->completion_traps) > 0; i++)
        usleep(50);
    return atomic_load(&vm->completion_traps) == 0;
}

static int complete_rounds(struct vcpu *v, bool abandon)
{
    struct kvm_run *run = v->run;
    for (int rounds = 0; rounds < COMPLETE_MAX_ROUNDS; rounds++) {
        /* the exit pending at round 0 was handled when it came: a read of RAM is given
         * again (the same bytes), a device's answer (a hypercall's result) is kept as it
         * was given, a write is not made twice (another vCPU may have written there
         * since) */
        if (run->exit_reason == KVM_EXIT_MMIO && (rounds > 0 || !run->mmio.is_write)) {
            uint8_t *h = vm_gpa_to_host(v->vm, run->mmio.phys_addr, run->mmio.len);
            if (!run->mmio.is_write) {
                if (h || rounds > 0)
                    memcpy(run->mmio.data, h ? h : (uint8_t[8]){ 0 }, run->mmio.len);
            } else if (abandon) {
                /* the instruction runs again elsewhere, from before it */
            } else if (h && v->vm->ram_trap && memory_is_trapped(&v->vm->mem, run->mmio.phys_addr)) {
                /* the write half of a read-modify-write on trapped RAM: its owner's */
                v->vm->ram_trap->write(v, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                                       v->vm->ram_trap_opaque);
            } else if (h) { /* the next part of a split write: it must not be lost */
                memory_write(&v->vm->mem, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
            }
        }
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        atomic_store(&v->in_kvm_run, true);
        int rc = ioctl(v->fd, KVM_RUN, 0);
        int err = errno;
        atomic_store(&v->in_kvm_run, false);
        errno = err;
        v->sync_stale = false;
        if ((rc < 0 && (errno == EINTR || errno == EAGAIN)) ||
            (rc == 0 && run->exit_reason == KVM_EXIT_DEBUG)) {
            /* done (a single-stepping vCPU stops after the instruction instead; its next
             * step is the loop's) */
            v->completion_due = false;
            return 0;
        }
        if (rc < 0 || run->exit_reason != KVM_EXIT_MMIO) {
            hv_error_errno("vCPU %u: completing a pending exit failed (exit %u)", v->index,
                           run->exit_reason);
            return -1;
        }
    }
    hv_error("vCPU %u: completing a pending exit did not end", v->index);
    return -1;
}

int vcpu_complete_pending_exit(struct vcpu *v) { return complete(v, false); }

int vcpu_abandon_pending_exit(struct vcpu *v)
{
    /* KVM's emulator re-reads registers given to it while an access is pending (it
     * must: a VMware backdoor's I/O changes them): with RCX = 1 a rep string
     * instruction's current iteration is its last. Nothing else of the instruction
     * reads RCX after its decode, and the caller replaces every register afterwards. */
    struct kvm_regs r;
    if (v->run->exit_reason == KVM_EXIT_MMIO && !v->run->mmio.is_write) {
        if (vcpu_get_regs(v, &r) < 0)
            return -1;
        r.rcx = 1;
        if (vcpu_set_regs(v, &r) < 0)
            return -1;
    }
    return complete(v, true);
}

/* ---- exit dispatch -------------------------------------------------------------------- */

/* A crash the VMM saw itself; `signal` as a Linux process would get it (an access
 * outside RAM is a SIGSEGV, a machine that cannot go on an abort). */
static void crashed(struct vcpu *v, const char *why, int signal)
{
    struct guest_end e = { .kind = GUEST_CRASH, .why = why, .vmm_saw_it = true,
                           .signal = signal };
    vm_guest_ended(v, &e);
}

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct vm *vm = v->vm;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint16_t port = run->io.port;
    bool in = run->io.direction == KVM_EXIT_IO_IN;
    unsigned size = run->io.size;
    /* the data area lives in the kvm_run mapping: never past its end */
    if (size == 0 || size > 4 || run->io.data_offset >= v->run_size ||
        (uint64_t)run->io.count * size > v->run_size - run->io.data_offset)
        return;
    const struct pio_range *dev = NULL;
    for (unsigned i = 0; i < vm->npio && !dev; i++)
        if (port >= vm->pio[i].base && port - vm->pio[i].base < vm->pio[i].len)
            dev = &vm->pio[i];
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        if (dev)
            dev->fn(v, port, data, size, in, dev->opaque);
        else if (in)
            memset(data, 0xff, size); /* nothing there: a floating bus */
    }
}

static int handle_mmio(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct vm *vm = v->vm;
    uint64_t gpa = run->mmio.phys_addr;
    unsigned len = run->mmio.len;
    if (len <= sizeof run->mmio.data && vm_gpa_to_host(vm, gpa, len) && vm->ram_trap) {
        int rc = run->mmio.is_write
                     ? vm->ram_trap->write(v, gpa, run->mmio.data, len, vm->ram_trap_opaque)
                     : vm->ram_trap->read(v, gpa, run->mmio.data, len, vm->ram_trap_opaque);
        if (rc < 0) {
            struct guest_end e = { .kind = GUEST_SYMHV_FAILED, .vmm_saw_it = true,
                                   .why = "an access to trapped guest RAM could not be served" };
            vm_guest_ended(v, &e);
        }
        return 0;
    }
    for (unsigned i = 0; i < vm->nmmio; i++) {
        const struct mmio_range *r = &vm->mmio[i];
        if (gpa >= r->base && gpa - r->base < r->len && len <= sizeof run->mmio.data &&
            len <= r->len - (gpa - r->base)) {
            r->fn(v, gpa, run->mmio.data, len, run->mmio.is_write, r->opaque);
            return 0;
        }
    }
    char why[256];
    /* reads exit before the instruction retires, writes after it */
    snprintf(why, sizeof why,
             "guest %s %u bytes at unmapped guest-physical address 0x%llx (outside RAM and "
             "every device)%s", run->mmio.is_write ? "wrote" : "read", len,
             (unsigned long long)gpa,
             run->mmio.is_write ? "; rip is already past the writing instruction" : "");
    crashed(v, why, 11);
    return 0;
}

static const char *internal_error_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
        return "instruction emulation failed (on PVM hosts ring-0 xsave/xrstor and int3 "
               "cannot be emulated)";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "failure while delivering an event";
    default: return "unknown suberror";
    }
}

int vcpu_handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct vm *vm = v->vm;
    char why[256];
    /* a step ends at its instruction: another exit, but for an access the instruction
     * is still making (its trap flag is in KVM's emulator then, written back when it
     * completes: switched off now, the guest would keep it and take a #DB of its own),
     * means the flag may be gone and the step hook would never hear again */
    if (v->stepping && run->exit_reason != KVM_EXIT_DEBUG && run->exit_reason != KVM_EXIT_MMIO &&
        run->exit_reason != KVM_EXIT_IO && vcpu_single_step(v, false) < 0)
        hv_error_errno("vCPU %u: single-stepping could not be switched off", v->index);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        v->completion_due = true;
        handle_io(v);
        return 0;
    case KVM_EXIT_MMIO:
        v->completion_due = true;
        return handle_mmio(v);
    case KVM_EXIT_SHUTDOWN:
        crashed(v, "guest triple fault (KVM_EXIT_SHUTDOWN): an exception occurred that the "
                   "guest could not handle", 6);
        return 0;
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && wait_for_completion_traps(vm))
            return 0; /* perhaps on a page trapped a moment for another vCPU: retry it */
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && vm->ram_trap &&
            vm->ram_trap->cannot_emulate && vm->ram_trap->cannot_emulate(v, vm->ram_trap_opaque) > 0)
            return 0; /* an instruction on trapped RAM, made runnable: retry it */
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && vm->emulation_fix &&
            vm->emulation_fix(v, vm->emulation_fix_opaque) > 0)
            return 0; /* the VMM did what the host's emulator could not */
        snprintf(why, sizeof why, "KVM internal error %u: %s", run->internal.suberror,
                 internal_error_name(run->internal.suberror));
        crashed(v, why, 6);
        return 0;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(why, sizeof why, "KVM could not enter the guest (hardware reason 0x%llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        crashed(v, why, 6);
        return 0;
    case KVM_EXIT_SYSTEM_EVENT: {
        snprintf(why, sizeof why, "guest requested %s",
                 run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "a reset" : "power off");
        struct guest_end e = { .kind = GUEST_EXIT, .status = 0, .why = why };
        vm_guest_ended(v, &e);
        return 0;
    }
    case KVM_EXIT_HLT:
        crashed(v, "guest halted with no way to wake up", 6);
        return 0;
    case KVM_EXIT_DEBUG:
        if (vm->step_hook) { /* one instruction done; nothing pending */
            v->completion_due = false;
            vm->step_hook(v, vm->kick_opaque);
            return 0;
        }
        snprintf(why, sizeof why, "unexpected single-step exit at rip 0x%llx",
                 (unsigned long long)run->debug.arch.pc);
        crashed(v, why, 6);
        return 0;
    default:
        snprintf(why, sizeof why, "unexpected KVM exit reason %u", run->exit_reason);
        crashed(v, why, 6);
        return 0;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    for (;;) {
        enum vm_gate gate = vm_enter_guest(vm, v);
        if (gate == VM_GATE_STOP)
            break;
        if (gate == VM_GATE_COMPLETE) { /* a settle wants the pending exit finished */
            v->settle_completion = true;
            vcpu_complete_pending_exit(v);
            v->settle_completion = false;
            vm_leave_guest(vm);
            continue;
        }
        atomic_store(&v->in_kvm_run, true);
        int rc = ioctl(v->fd, KVM_RUN, 0);
        int err = errno;
        atomic_store(&v->in_kvm_run, false);
        v->sync_stale = false;
        vm_leave_guest(vm);
        if (rc < 0) {
            if (err == EINTR || err == EAGAIN) { /* kicked: stop, pause, or a hook's */
                if (vm->kick_hook)
                    vm->kick_hook(v, vm->kick_opaque);
                continue;
            }
            errno = err;
            hv_error_errno("vCPU %u: KVM_RUN failed", v->index);
            vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
            break;
        }
        if (vcpu_handle_exit(v) < 0)
            break;
    }
    vm_thread_done(vm);
    return NULL;
}

int vcpu_start(struct vcpu *v)
{
    int err = pthread_create(&v->thread, NULL, vcpu_thread, v);
    if (err) {
        errno = err;
        hv_error_errno("vCPU %u: cannot create its host thread", v->index);
        return -1;
    }
    v->thread_started = true;
    return 0;
}

/* ---- all vCPUs of a VM ---------------------------------------------------------------- */

int vcpus_create(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vcpu_create(vm, i) < 0)
            return -1;
    return 0;
}

void vcpus_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS; i++)
        if (vm->vcpus[i].fd >= 0)
            vcpu_destroy(&vm->vcpus[i]);
}

static void on_kick_signal(int sig) { (void)sig; }

int vcpus_start(struct vm *vm)
{
    /* SIGUSR1 (vm_kick) only interrupts KVM_RUN; it must not restart it. */
    struct sigaction sa = { .sa_handler = on_kick_signal };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) {
        hv_error_errno("cannot install the vCPU kick handler");
        return -1;
    }
    for (unsigned i = 0; i < vm->ncpus; i++) {
        vm_thread_starting(vm);
        if (vcpu_start(&vm->vcpus[i]) < 0) {
            vm_thread_done(vm);
            vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
            return -1;
        }
    }
    return 0;
}
