#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "elf_loader.h"
#include "engine.h"
#include "fuzzer.h"
#include "log.h"
#include "vcpu.h"

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

static int create_ram(struct vm *vm, uint64_t bytes)
{
    vm->mem_fd = memfd_create("symhv-guest-ram", MFD_CLOEXEC);
    if (vm->mem_fd < 0) {
        hv_error_errno("memfd_create for guest RAM failed");
        return -1;
    }
    if (ftruncate(vm->mem_fd, (off_t)bytes) < 0) {
        hv_error_errno("cannot size guest RAM memfd to %llu MiB",
                       (unsigned long long)(bytes >> 20));
        return -1;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   vm->mem_fd, 0);
    if (p == MAP_FAILED) {
        hv_error_errno("cannot map %llu MiB of guest RAM", (unsigned long long)(bytes >> 20));
        return -1;
    }
    vm->mem = p;
    vm->mem_bytes = bytes;
    return symmem_install_ram(vm);
}

/* Load kernel and initrd, then write the boot-protocol structures. */
static int load_images(struct vm *vm, const struct vm_config *cfg)
{
    char err[256];
    size_t size;
    uint8_t *file = read_file(cfg->kernel_path, vm->mem_bytes, &size, err, sizeof err);
    if (!file) {
        hv_error("kernel %s: %s", cfg->kernel_path, err);
        return -1;
    }
    struct elf_image img;
    int rc = elf_load(file, size, vm->mem, vm->mem_bytes, SYMHV_KERNEL_MIN_ADDR, &img, err,
                      sizeof err);
    free(file);
    if (rc < 0) {
        hv_error("kernel %s: %s", cfg->kernel_path, err);
        return -1;
    }
    vm->entry = img.entry;
    vm->pvh_entry = img.pvh_entry;

    struct symhv_boot_info info = {
        .magic = SYMHV_BOOT_MAGIC,
        .version = SYMHV_BOOT_VERSION,
        .ncpus = vm->ncpus,
        .mem_bytes = vm->mem_bytes,
        .kernel_end = img.high,
        .apic_timer_hz = SYMHV_APIC_TIMER_HZ,
    };
    if (cfg->cmdline) {
        if (strlen(cfg->cmdline) >= sizeof info.cmdline) {
            hv_error("--cmdline is longer than %zu bytes", sizeof info.cmdline - 1);
            return -1;
        }
        strcpy(info.cmdline, cfg->cmdline);
    }
    int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
    if (khz <= 0) {
        hv_error_errno("KVM_GET_TSC_KHZ failed");
        return -1;
    }
    info.tsc_khz = (uint64_t)khz;

    if (cfg->initrd_path) {
        uint64_t room = vm->mem_bytes - ((img.high + 4095) & ~4095ull);
        uint8_t *initrd = read_file(cfg->initrd_path, room, &size, err, sizeof err);
        if (!initrd) {
            hv_error("initrd %s: %s", cfg->initrd_path, err);
            return -1;
        }
        /* Top of RAM, page aligned, like the Linux boot protocols do. */
        info.initrd_addr = (vm->mem_bytes - size) & ~4095ull;
        info.initrd_size = size;
        memcpy(vm->mem + info.initrd_addr, initrd, size);
        free(initrd);
    }
    if (vm->pvh_entry) {
        hv_info("kernel has a PVH entry at 0x%llx: booting it through PVH",
                (unsigned long long)vm->pvh_entry);
        boot_write_pvh(vm, cfg->cmdline, info.initrd_addr, info.initrd_size);
    } else {
        boot_write_memory(vm, &info);
    }
    return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
    memset(vm, 0, sizeof *vm);
    vm->kvm_fd = vm->vm_fd = vm->mem_fd = -1;
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS; i++)
        vm->vcpus[i].fd = -1;
    console_init(&vm->console, STDOUT_FILENO);
    symmem_init(&vm->symbolic);
    pthread_mutex_init(&vm->run_lock, NULL);
    pthread_rwlock_init(&vm->slots_lock, NULL);
    pthread_cond_init(&vm->run_cond, NULL);

    if (cfg->mem_bytes < HV_MEM_MIN_BYTES || cfg->mem_bytes > HV_MEM_MAX_BYTES) {
        hv_error("--mem %llu MiB is out of range: symhv needs %llu MiB to %llu MiB",
                 (unsigned long long)(cfg->mem_bytes >> 20),
                 (unsigned long long)(HV_MEM_MIN_BYTES >> 20),
                 (unsigned long long)(HV_MEM_MAX_BYTES >> 20));
        return -1;
    }
    if (cfg->mem_bytes & 4095) {
        hv_error("--mem must be a multiple of 4 KiB");
        return -1;
    }
    if (open_kvm(vm, cfg->kvm_path) < 0 || check_vcpu_count(vm, cfg->ncpus) < 0)
        return -1;
    vm->ncpus = cfg->ncpus;

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
    if (create_ram(vm, cfg->mem_bytes) < 0 || get_supported_cpuid(vm) < 0 ||
        engine_create(vm, cfg) < 0 || (cfg->fuzz && fuzzer_create(vm, cfg->fuzz) < 0))
        return -1;
    /* The kernel must be loaded before vCPUs get their entry point, and the TSC rate
     * comes from a vCPU: create vCPU 0 first, load, then the rest. */
    if (vcpu_create(vm, 0) < 0)
        return -1;
    if (load_images(vm, cfg) < 0)
        return -1;
    for (unsigned i = 1; i < vm->ncpus; i++)
        if (vcpu_create(vm, i) < 0)
            return -1;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if ((vm->pvh_entry ? boot_setup_vcpu_pvh : boot_setup_vcpu)(&vm->vcpus[i]) < 0 ||
            engine_check_vcpu(&vm->vcpus[i]) < 0)
            return -1;
    return 0;
}

void vm_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS; i++)
        if (vm->vcpus[i].fd >= 0)
            vcpu_destroy(&vm->vcpus[i]);
    if (vm->mem)
        munmap(vm->mem, vm->mem_bytes);
    if (vm->mem_fd >= 0)
        close(vm->mem_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    free(vm->cpuid);
    fuzzer_destroy(vm);
    engine_destroy(vm);
    symmem_destroy(&vm->symbolic);
    vm->mem = NULL;
    vm->cpuid = NULL;
    vm->mem_fd = vm->vm_fd = vm->kvm_fd = -1;
}

void *vm_gpa_to_host(struct vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa > vm->mem_bytes || vm->mem_bytes - gpa < len)
        return NULL;
    return vm->mem + gpa;
}

bool vm_is_stopping(struct vm *vm)
{
    return atomic_load(&vm->stopping) != 0;
}

void vm_request_stop(struct vm *vm, int exit_status)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&vm->stopping, &expected, 1))
        vm->exit_status = exit_status;
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_kick(&vm->vcpus[i]);
}

void vm_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->pausers++;
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_kick(&vm->vcpus[i]);
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

bool vm_enter_guest(struct vm *vm, struct vcpu *v)
{
    pthread_mutex_lock(&vm->run_lock);
    while (vm->pausers > 0 && !vm_is_stopping(vm))
        pthread_cond_wait(&vm->run_cond, &vm->run_lock);
    bool go = !vm_is_stopping(vm);
    if (go) {
        vm->in_guest++;
        /* A kick while we waited set immediate_exit; it is stale now. A stop or pause
         * from here on sets it again (after taking run_lock / checking `stopping`). */
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&vm->run_lock);
    /* a stop or a fuzzer rendezvous raced with us: make KVM_RUN return at once */
    if (go && (vm_is_stopping(vm) || (vm->fuzzer && fuzzer_park_requested(v))))
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    return go;
}

void vm_leave_guest(struct vm *vm)
{
    pthread_mutex_lock(&vm->run_lock);
    vm->in_guest--;
    pthread_cond_broadcast(&vm->run_cond);
    pthread_mutex_unlock(&vm->run_lock);
}

static void on_kick_signal(int sig) { (void)sig; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int vm_run(struct vm *vm, double timeout_s)
{
    /* SIGUSR1 only interrupts KVM_RUN; it must not restart it. */
    struct sigaction sa = { .sa_handler = on_kick_signal };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) {
        hv_error_errno("cannot install the vCPU kick handler");
        return HV_EXIT_SETUP_ERROR;
    }
    /* SIGINT/SIGTERM are taken synchronously by this thread; vCPU threads inherit the
     * blocked mask so they never see them. */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

    for (unsigned i = 0; i < vm->ncpus; i++) {
        if (vcpu_start(&vm->vcpus[i]) < 0) {
            vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
            break;
        }
    }
    double deadline = timeout_s > 0 ? now_s() + timeout_s : 0;
    if (vm->fuzzer)
        fuzzer_main_loop(vm); /* its own limits; --timeout does not apply */
    while (!vm_is_stopping(vm)) {
        struct timespec wait = { 0, 20 * 1000 * 1000 };
        int sig = sigtimedwait(&stop_signals, NULL, &wait);
        if (sig == SIGINT || sig == SIGTERM) {
            console_flush(&vm->console);
            hv_error("interrupted by %s, stopping the guest", strsignal(sig));
            vm_request_stop(vm, HV_EXIT_SIGNAL);
        } else if (deadline && now_s() > deadline) {
            console_flush(&vm->console);
            hv_error("guest did not finish within --timeout %.1f s, stopping it", timeout_s);
            vm_request_stop(vm, HV_EXIT_TIMEOUT);
        }
    }
    /* Wake vCPU threads waiting out a pause so they see the stop. */
    pthread_mutex_lock(&vm->run_lock);
    pthread_cond_broadcast(&vm->run_cond);
    pthread_mutex_unlock(&vm->run_lock);
    for (unsigned i = 0; i < vm->ncpus; i++) {
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    }
    console_flush(&vm->console);
    engine_finish(vm);
    struct sym_stats st = symmem_stats(vm);
    if (st.pages_marked)
        hv_info("symbolic memory: %llu pages marked, %llu released, %llu reads emulated, "
                "%llu writes concretised, %llu symbolic reads, %llu slot changes",
                (unsigned long long)st.pages_marked, (unsigned long long)st.pages_released,
                (unsigned long long)st.reads_emulated, (unsigned long long)st.writes_concretised,
                (unsigned long long)st.symbolic_reads, (unsigned long long)st.slot_changes);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return vm->exit_status;
}
