#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

#ifndef KVM_CAP_EXIT_ON_EMULATION_FAILURE /* linux/kvm.h before 5.17 */
#define KVM_CAP_EXIT_ON_EMULATION_FAILURE 204
#endif
#include "util.h"

/* Unused by Linux x86 in long mode but required by KVM on Intel hosts: three pages
 * just below the 4 GiB boundary, outside guest RAM. */
#define HV_TSS_ADDR 0xfffbd000ul

static int open_kvm(struct vm *vm, const char *path)
{
    vm->kvm_fd = open(path, O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        int e = errno;
        if (e == ENOENT)
            hv_error("cannot open %s: no such device (is KVM enabled in the kernel and "
                     "the kvm module loaded?)", path);
        else if (e == EACCES || e == EPERM)
            hv_error("cannot open %s: permission denied (run as root or join the group "
                     "that owns it, usually 'kvm')", path);
        else
            hv_error("cannot open %s: %s", path, strerror(e));
        return -1;
    }
    int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        if (version < 0)
            hv_error("%s is not a KVM device (KVM_GET_API_VERSION failed: %s)", path,
                     strerror(errno));
        else
            hv_error("%s speaks KVM API %d, symhv needs %d", path, version,
                     KVM_API_VERSION);
        return -1;
    }
    static const struct { int cap; const char *name; } required[] = {
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
        { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
        { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
        { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0) {
            hv_error("%s lacks %s, which symhv needs", path, required[i].name);
            return -1;
        }
    }
    vm->has_xsave = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
    return 0;
}

static int check_vcpu_count(struct vm *vm, unsigned n)
{
    int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (max <= 0)
        max = 4; /* KVM's documented default when neither capability is reported */
    unsigned limit = (unsigned)max < SYMHV_MAX_VCPUS ? (unsigned)max : SYMHV_MAX_VCPUS;
    if (n < 1 || n > limit) {
        hv_error("--smp %u is out of range: this host allows 1 to %u vCPUs", n, limit);
        return -1;
    }
    return 0;
}

static int get_supported_cpuid(struct vm *vm)
{
    for (int nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof *c + (size_t)nent * sizeof c->entries[0]);
        if (!c) {
            hv_error("out of memory for CPUID entries");
            return -1;
        }
        c->nent = (uint32_t)nent;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            vm->cpuid = c;
            return 0;
        }
        int e = errno;
        free(c);
        if (e != E2BIG) {
            errno = e;
            hv_error_errno("KVM_GET_SUPPORTED_CPUID failed");
            return -1;
        }
    }
    hv_error("KVM_GET_SUPPORTED_CPUID: too many entries");
    return -1;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
    memset(vm, 0, sizeof *vm);
    vm->kvm_fd = vm->vm_fd = vm->mem.fd = -1;
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS; i++)
        vm->vcpus[i].fd = -1;
    pthread_mutex_init(&vm->mem.lock, NULL);
    pthread_mutex_init(&vm->run_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* vm_join's deadline */
    pthread_cond_init(&vm->run_cond, &ca);
    pthread_condattr_destroy(&ca);
    vm->end_fn = NULL; /* vm_set_end_policy; until then, stop */

    if (cfg->mem_bytes < HV_MEM_MIN_BYTES || cfg->mem_bytes > HV_MEM_MAX_BYTES) {
        hv_error("--mem %llu MiB is out of range: symhv needs %llu MiB to %llu MiB",
                 (unsigned long long)(cfg->mem_bytes >> 20),
                 (unsigned long long)(HV_MEM_MIN_BYTES >> 20),
                 (unsigned long long)(HV_MEM_MAX_BYTES >> 20));
        return -1;
    }
    if (cfg->mem_bytes & SYMHV_PAGE_MASK) {
        hv_error("--mem must be a multiple of 4 KiB");
        return -1;
    }
    if (open_kvm(vm, cfg->kvm_path) < 0 || check_vcpu_count(vm, cfg->ncpus) < 0)
        return -1;
    vm->ncpus = cfg->ncpus;
    /* PVM (README: symhv's kernel and this machine's KVM) says so only through its module */
    vm->pvm_host = access("/sys/module/kvm_pvm", F_OK) == 0;

    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        hv_error_errno("KVM_CREATE_VM failed");
        return -1;
    }
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, HV_TSS_ADDR) < 0) {
        hv_error_errno("KVM_SET_TSS_ADDR failed");
        return -1;
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        hv_error_errno("KVM_CREATE_IRQCHIP failed");
        return -1;
    }
    /* An instruction KVM cannot emulate on trapped RAM must come to us (the RAM trap's
     * cannot_emulate: the interpreter runs it, or the page is pinned). Without this cap
     * VMX/SVM's KVM gives a ring-3 guest a #UD instead (a false SIGILL); PVM exits anyway. */
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0) {
        struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 } };
        if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
            hv_error_errno("KVM_ENABLE_CAP(KVM_CAP_EXIT_ON_EMULATION_FAILURE) failed");
            return -1;
        }
    }
    static const struct memory_pause_ops pause_ops = {
        .pause = (void (*)(void *))vm_pause,
        .resume = (void (*)(void *))vm_resume,
    };
    if (memory_init(&vm->mem, vm->vm_fd, cfg->mem_bytes, &pause_ops, vm) < 0 ||
        get_supported_cpuid(vm) < 0)
        return -1;
    return 0;
}

void vm_destroy(struct vm *vm)
{
    memory_destroy(&vm->mem);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    free(vm->cpuid);
    vm->cpuid = NULL;
    vm->vm_fd = vm->kvm_fd = -1;
}

int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len, pio_fn fn, void *opaque)
{
    for (unsigned i = 0; i < vm->npio; i++) {
        const struct pio_range *r = &vm->pio[i];
        if (base < r->base + r->len && r->base < base + len) {
            hv_error("port range 0x%x+%u overlaps 0x%x+%u", base, len, r->base, r->len);
            return -1;
        }
    }
    if (vm->npio == VM_MAX_PIO || len == 0) {
        hv_error("cannot register port range 0x%x+%u", base, len);
        return -1;
    }
    vm->pio[vm->npio++] = (struct pio_range){ base, len, fn, opaque };
    return 0;
}

int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, mmio_fn fn, void *opaque)
{
    if (len == 0 || base + len < base || base < vm->mem.bytes || vm->nmmio == VM_MAX_MMIO) {
        hv_error("cannot register MMIO range 0x%llx+%llu", (unsigned long long)base,
                 (unsigned long long)len);
        return -1;
    }
    for (unsigned i = 0; i < vm->nmmio; i++) {
        const struct mmio_range *r = &vm->mmio[i];
        if (base < r->base + r->len && r->base < base + len) {
            hv_error("MMIO range 0x%llx+%llu overlaps another", (unsigned long long)base,
                     (unsigned long long)len);
            return -1;
        }
    }
    vm->mmio[vm->nmmio++] = (struct mmio_range){ base, len, fn, opaque };
    return 0;
}

void vm_set_breakpoint_hook(struct vm *vm, breakpoint_fn fn, void *opaque)
{
    atomic_store(&vm->breakpoint_opaque, opaque);
    atomic_store(&vm->breakpoint_hook, fn);
}

int vm_register_state(struct vm *vm, const struct vm_state_hook *h)
{
    if (vm->nstate_hooks == VM_MAX_STATE_HOOKS) {
        hv_error("cannot register the state of %s: %d devices have theirs", h->name,
                 VM_MAX_STATE_HOOKS);
        return -1;
    }
    vm->state_hooks[vm->nstate_hooks++] = *h;
    return 0;
}

void vm_irq_line(struct vm *vm, unsigned irq, bool level)
{
    struct kvm_irq_level l = { .irq = irq, .level = level };
    if (vm->vm_fd >= 0 && ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
        hv_error_errno("KVM_IRQ_LINE (irq %u, level %d) failed", irq, (int)level);
}

void vm_set_kick_hooks(struct vm *vm, kick_fn kick, kick_fn step, void *opaque)
{
    vm->kick_hook = kick;
    vm->step_hook = step;
    vm->kick_opaque = opaque;
}

void vm_set_ram_trap(struct vm *vm, const struct ram_trap_ops *ops, void *opaque)
{
    vm->ram_trap = ops;
    vm->ram_trap_opaque = opaque;
}

/* Without a policy: stop, with the guest's status or the crash status. */
static void stop_on_end(struct vcpu *v, const struct guest_end *e, void *opaque)
{
    (void)opaque;
    if (e->kind != GUEST_EXIT && e->why)
        hv_error("vCPU %u: %s", v->index, e->why);
    vm_request_stop(v->vm, e->kind == GUEST_CRASH          ? HV_EXIT_GUEST_CRASH
                           : e->kind == GUEST_SYMHV_FAILED ? HV_EXIT_SETUP_ERROR
                                                           : e->status);
}

void vm_set_end_policy(struct vm *vm, guest_end_fn fn, void *opaque)
{
    vm->end_fn = fn ? fn : stop_on_end;
    vm->end_opaque = opaque;
}

void vm_set_emulation_fix(struct vm *vm, emulation_fix_fn fn, void *opaque)
{
    vm->emulation_fix = fn;
    vm->emulation_fix_opaque = opaque;
}

void vm_guest_ended(struct vcpu *v, const struct guest_end *e)
{
    (v->vm->end_fn ? v->vm->end_fn : stop_on_end)(v, e, v->vm->end_opaque);
}

/* ---- starting and stopping ------------------------------------------------------------ */

static void kick_all(struct vm *vm);

/* Waits until no vCPU thread is live or `deadline` (CLOCK_MONOTONIC) passes. */
static bool wait_threads_done(struct vm *vm, const struct timespec *deadline)
{
    pthread_mutex_lock(&vm->run_lock);
    int rc = 0;
    while (vm->live_threads > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&vm->run_cond, &vm->run_lock, deadline);
    bool done = vm->live_threads == 0;
    pthread_mutex_unlock(&vm->run_lock);
    return done;
}

int vm_join(struct vm *vm)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += VM_STOP_GRACE_S / 2;
    if (!wait_threads_done(vm, &deadline)) {
        kick_all(vm); /* in case one was lost */
        deadline.tv_sec += VM_STOP_GRACE_S - VM_STOP_GRACE_S / 2;
        if (!wait_threads_done(vm, &deadline)) {
            for (unsigned i = 0; i < vm->ncpus; i++) {
                struct vcpu *v = &vm->vcpus[i];
                if (v->thread_started && pthread_tryjoin_np(v->thread, NULL) != 0)
                    hv_error("vCPU %u did not end within %d s of the stop (%s, last exit "
                             "reason %u)", i, VM_STOP_GRACE_S,
                             atomic_load(&v->in_kvm_run) ? "inside KVM_RUN"
                                                         : "in the VMM, handling an exit",
                             v->run ? v->run->exit_reason : 0);
            }
            return -1;
        }
    }
    for (unsigned i = 0; i < vm->ncpus; i++) {
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    }
    return 0;
}

bool vm_is_stopping(struct vm *vm)
{
    return atomic_load(&vm->stopping) != 0;
}

void vm_kick(struct vcpu *v)
{
    if (!v->run)
        return;
    /* KVM_RUN returns at once with EINTR while immediate_exit is set; the signal
     * interrupts a KVM_RUN already in progress. */
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->thread_started)
        pthread_kill(v->thread, SIGUSR1);
}

void vm_thread_starting(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->live_threads++;
    pthread_mutex_unlock(&vm->run_lock);
}

static void kick_all(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        vm_kick(&vm->vcpus[i]);
}

void vm_request_stop(struct vm *vm, int exit_status)
{
    /* Under run_lock: a vCPU checks `stopping` and clears immediate_exit under it too,
     * so the kick below cannot be lost between the two. */
    pthread_mutex_lock(&vm->run_lock);
    int expected = 0;
    if (atomic_compare_exchange_strong(&vm->stopping, &expected, 1))
        vm->exit_status = exit_status;
    pthread_cond_broadcast(&vm->run_cond); /* threads waiting out a pause see the stop */
    pthread_mutex_unlock(&vm->run_lock);
    kick_all(vm);
}

void vm_thread_done(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->live_threads--;
    pthread_cond_broadcast(&vm->run_cond);
    pthread_mutex_unlock(&vm->run_lock);
}

/* ---- pausing -------------------------------------------------------------------------- */

static void begin(struct vm *vm, bool settle)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->pausers++;
    vm->settlers += settle;
    pthread_cond_broadcast(&vm->run_cond); /* waiting vCPUs: settle now */
    pthread_mutex_unlock(&vm->run_lock);
    /* after the count: a vCPU entering the guest now sees it, one inside is kicked */
    kick_all(vm);
}

void vm_pause(struct vm *vm)
{
    begin(vm, false);
    pthread_mutex_lock(&vm->run_lock);
    while (vm->in_guest > 0)
        pthread_cond_wait(&vm->run_cond, &vm->run_lock);
    pthread_mutex_unlock(&vm->run_lock);
}

void vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->pausers--;
    pthread_cond_broadcast(&vm->run_cond);
    pthread_mutex_unlock(&vm->run_lock);
}

void vm_begin_settle(struct vm *vm) { begin(vm, true); }

/* SIGINT/SIGTERM wait, blocked in every thread, for the main loop (run.c) to take them. */
static bool stop_signal_pending(void)
{
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

bool vm_wait_settled(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    while (vm->parked < vm->live_threads && !vm_is_stopping(vm)) {
        /* a kick can land just before a vCPU's KVM_RUN began: kick again now and then */
        struct timespec ts = deadline_after_ms(20);
        if (pthread_cond_timedwait(&vm->run_cond, &vm->run_lock, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&vm->run_lock);
            /* a vCPU that never parks (its thread blocked in the host) must not make
             * the user's signal wait: the stop ends that wait too */
            if (stop_signal_pending()) {
                hv_error("interrupted while the vCPUs settle, stopping the guest");
                vm_request_stop(vm, HV_EXIT_SIGNAL);
            }
            kick_all(vm);
            pthread_mutex_lock(&vm->run_lock);
        }
    }
    bool ok = !vm_is_stopping(vm);
    pthread_mutex_unlock(&vm->run_lock);
    return ok;
}

bool vm_pause_settled(struct vm *vm)
{
    begin(vm, true);
    return vm_wait_settled(vm);
}

void vm_resume_settled(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->settlers--;
    vm->pausers--;
    pthread_cond_broadcast(&vm->run_cond);
    pthread_mutex_unlock(&vm->run_lock);
}

bool vm_settle_requested(struct vm *vm)
{
    return __atomic_load_n(&vm->settlers, __ATOMIC_RELAXED) > 0;
}

enum vm_gate vm_enter_guest(struct vm *vm, struct vcpu *v)
{
    pthread_mutex_lock(&vm->run_lock);
    while (!vm_is_stopping(vm) && vm->pausers > 0) {
        if (vm->settlers > 0 && v->completion_due) {
            /* settle: the caller lets KVM finish the exit (it does not enter the
             * guest), counted as in the guest until its vm_leave_guest */
            vm->in_guest++;
            pthread_mutex_unlock(&vm->run_lock);
            return VM_GATE_COMPLETE;
        }
        bool settled = !v->completion_due;
        if (settled) {
            vm->parked++;
            pthread_cond_broadcast(&vm->run_cond);
        }
        pthread_cond_wait(&vm->run_cond, &vm->run_lock);
        if (settled)
            vm->parked--;
    }
    bool go = !vm_is_stopping(vm);
    if (go) {
        vm->in_guest++;
        /* A kick while we waited set immediate_exit; it is stale now. A stop or pause
         * from here on sets it again after taking run_lock. */
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&vm->run_lock);
    return go ? VM_GATE_RUN : VM_GATE_STOP;
}

void vm_leave_guest(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->in_guest--;
    pthread_cond_broadcast(&vm->run_cond);
    pthread_mutex_unlock(&vm->run_lock);
}
