#include "vcpu.h"

#include <Zydis/Zydis.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "fuzzer.h"
#include "hypercall.h"
#include "log.h"

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
    if (v->fd > 0)
        close(v->fd);
    v->run = NULL;
    v->fd = -1;
}

int vcpu_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
    struct kvm_translation tr = { .linear_address = gva };
    pthread_rwlock_rdlock(&v->vm->slots_lock);
    int rc = ioctl(v->fd, KVM_TRANSLATE, &tr);
    pthread_rwlock_unlock(&v->vm->slots_lock);
    if (rc < 0 || !tr.valid)
        return -1;
    *gpa = tr.physical_address;
    return 0;
}

int vcpu_for_each_chunk(struct vcpu *v, uint64_t gva, uint64_t len,
                        int (*fn)(struct vcpu *v, uint64_t gpa, uint64_t n, uint64_t off,
                                  void *ctx),
                        void *ctx)
{
    for (uint64_t off = 0; off < len;) {
        uint64_t gpa, n = 4096 - ((gva + off) & 4095);
        if (n > len - off)
            n = len - off;
        if (vcpu_translate(v, gva + off, &gpa) < 0 || gpa < SYMHV_KERNEL_MIN_ADDR ||
            !vm_gpa_to_host(v->vm, gpa, n))
            return -1;
        if (fn && fn(v, gpa, n, off, ctx) < 0)
            return -1;
        off += n;
    }
    return 0;
}

int vcpu_complete_pending_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    for (int rounds = 0; rounds < 64; rounds++) {
        if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
            uint8_t *h = vm_gpa_to_host(v->vm, run->mmio.phys_addr, run->mmio.len);
            memcpy(run->mmio.data, h ? h : (uint8_t[8]){ 0 }, run->mmio.len);
        }
        /* (a pending write exit is dropped: whoever replaces the registers runs the
         * instruction again, or it already retired) */
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        int rc = ioctl(v->fd, KVM_RUN, 0);
        if (rc < 0 && (errno == EINTR || errno == EAGAIN))
            return 0;
        if (rc < 0 || run->exit_reason != KVM_EXIT_MMIO) {
            hv_error_errno("vCPU %u: completing a pending exit failed (exit %u)", v->index,
                           run->exit_reason);
            return -1;
        }
    }
    return -1;
}

static int copy_virt(struct vcpu *v, uint64_t gva, void *host, size_t len, int to_guest)
{
    uint8_t *p = host;
    while (len > 0) {
        uint64_t gpa;
        size_t in_page = 4096 - (gva & 4095);
        size_t n = len < in_page ? len : in_page;
        if (vcpu_translate(v, gva, &gpa) < 0)
            return -1;
        uint8_t *hva = vm_gpa_to_host(v->vm, gpa, n);
        if (!hva)
            return -1;
        if (to_guest)
            memcpy(hva, p, n);
        else
            memcpy(p, hva, n);
        p += n;
        gva += n;
        len -= n;
    }
    return 0;
}

int vcpu_read_virt(struct vcpu *v, uint64_t gva, void *dst, size_t len)
{
    return copy_virt(v, gva, dst, len, 0);
}

int vcpu_write_virt(struct vcpu *v, uint64_t gva, const void *src, size_t len)
{
    if (v->vm->fuzzer)
        fuzzer_note_host_write(v->vm);
    return copy_virt(v, gva, (void *)src, len, 1);
}

static void dump_instruction(struct vcpu *v, uint64_t rip)
{
    uint8_t bytes[15];
    size_t n = 0;
    /* Read byte by byte: the instruction may straddle into an unmapped page. */
    while (n < sizeof bytes && vcpu_read_virt(v, rip + n, &bytes[n], 1) == 0)
        n++;
    if (n == 0) {
        fprintf(stderr, "  instruction at rip: (unreadable)\n");
        return;
    }
    ZydisDisassembledInstruction insn;
    if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, rip, bytes, n,
                                           &insn)))
        fprintf(stderr, "  instruction at rip: %s\n", insn.text);
    else
        fprintf(stderr, "  instruction at rip: (undecodable, first byte 0x%02x)\n",
                bytes[0]);
}

void vcpu_dump_state(struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        hv_error_errno("vCPU %u: cannot read registers", v->index);
        return;
    }
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
    dump_instruction(v, r.rip);
    funlockfile(stderr);
}

/* The guest crashed: say why, show its state, stop the VM. */
__attribute__((format(printf, 2, 3)))
static void guest_crash(struct vcpu *v, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    console_flush(&v->vm->console);
    /* Only the first crashing vCPU reports; the others were stopped by it. */
    if (vm_is_stopping(v->vm))
        return;
    hv_error("vCPU %u: %s", v->index, why);
    vcpu_dump_state(v);
    vm_request_stop(v->vm, HV_EXIT_GUEST_CRASH);
}

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    uint16_t port = run->io.port;
    int in = run->io.direction == KVM_EXIT_IO_IN;

    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        if (port >= SYMHV_SERIAL_PORT && port < SYMHV_SERIAL_PORT + 8) {
            if (in)
                data[0] = console_uart_in(&v->vm->console, port - SYMHV_SERIAL_PORT);
            else
                console_uart_out(&v->vm->console, port - SYMHV_SERIAL_PORT, data[0]);
        } else if (port == SYMHV_HYPERCALL_PORT && in && run->io.size == 4) {
            int32_t result = hypercall_handle(v);
            memcpy(data, &result, 4);
        } else if (in) {
            memset(data, 0xff, run->io.size); /* nothing there: floating bus */
        }
    }
}

/* An access to RAM that is not in a memslot: a symbolic page. 0, or -1 to stop. */
static int ram_access(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct vm *vm = v->vm;
    uint64_t gpa = run->mmio.phys_addr;
    unsigned len = run->mmio.len;
    if (run->mmio.is_write) {
        /* The instruction has retired; a native vCPU only ever writes concrete values,
         * so these bytes stop being symbolic. */
        memcpy(vm->mem + gpa, run->mmio.data, len);
        if (symmem_any(vm, gpa, len)) {
            engine_concretise(v, gpa, len);
            symmem_note(vm, SYM_WRITE_CONCRETISED);
        }
        return 0;
    }
    if (symmem_any(vm, gpa, len)) {
        /* Symbolic data: the interpreter runs this vCPU until its registers are
         * concrete, then it re-enters KVM where the interpreter stopped. */
        symmem_note(vm, SYM_READ_SYMBOLIC);
        if (engine_handoff(v) < 0) {
            guest_crash(v, "handing the vCPU to the interpreter failed");
            return -1;
        }
        return 0;
    }
    symmem_note(vm, SYM_READ_EMULATED);
    memcpy(run->mmio.data, vm->mem + gpa, len); /* completed on the next KVM_RUN */
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

/* Returns 0 to keep running, -1 when the vCPU must stop. */
static int handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(v);
        return 0;
    case KVM_EXIT_MMIO:
        if (run->mmio.phys_addr < v->vm->mem_bytes &&
            run->mmio.len <= v->vm->mem_bytes - run->mmio.phys_addr) {
            return ram_access(v);
        }
        /* Reads exit before the instruction retires, writes after it. */
        guest_crash(v, "guest %s %u bytes at unmapped guest-physical address 0x%llx "
                       "(outside RAM and every device)%s",
                    run->mmio.is_write ? "wrote" : "read", run->mmio.len,
                    (unsigned long long)run->mmio.phys_addr,
                    run->mmio.is_write ? "; rip is already past the writing instruction" : "");
        return -1;
    case KVM_EXIT_SHUTDOWN:
        guest_crash(v, "guest triple fault (KVM_EXIT_SHUTDOWN): an exception occurred "
                       "that the guest could not handle");
        return -1;
    case KVM_EXIT_INTERNAL_ERROR:
        guest_crash(v, "KVM internal error %u: %s", run->internal.suberror,
                    internal_error_name(run->internal.suberror));
        return -1;
    case KVM_EXIT_FAIL_ENTRY:
        guest_crash(v, "KVM could not enter the guest (hardware reason 0x%llx)",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        return -1;
    case KVM_EXIT_SYSTEM_EVENT:
        console_flush(&v->vm->console);
        hv_info("vCPU %u: guest requested %s", v->index,
                run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "a reset" : "power off");
        vm_request_stop(v->vm, 0);
        return -1;
    case KVM_EXIT_HLT:
        guest_crash(v, "guest halted with no way to wake up");
        return -1;
    default:
        guest_crash(v, "unexpected KVM exit reason %u", run->exit_reason);
        return -1;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    for (;;) {
        if (v->vm->fuzzer)
            fuzzer_park_point(v);
        if (!vm_enter_guest(v->vm, v))
            break;
        int rc = ioctl(v->fd, KVM_RUN, 0);
        int err = errno;
        vm_leave_guest(v->vm);
        errno = err;
        if (rc < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue; /* kicked: stop or pause */
            hv_error_errno("vCPU %u: KVM_RUN failed", v->index);
            vm_request_stop(v->vm, HV_EXIT_SETUP_ERROR);
            break;
        }
        if (handle_exit(v) < 0)
            break;
    }
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

void vcpu_kick(struct vcpu *v)
{
    if (!v->run)
        return;
    /* KVM_RUN returns at once with EINTR while immediate_exit is set; the signal
     * interrupts a KVM_RUN already in progress. */
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->thread_started)
        pthread_kill(v->thread, SIGUSR1);
}
