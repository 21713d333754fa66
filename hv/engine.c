#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "doorbell.h"
#include "elf_loader.h"
#include "log.h"
#include "symhv/sidecar.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_INPUTS 64
#define WAIT_TICK_MS 200          /* how often a waiting vCPU thread looks at the VM */
#define CANCEL_GRACE_S 10.0       /* after a cancel, the sidecar gets this long */
#define QUIT_WAIT_S 5.0

extern char **environ;

struct input_record {
    char name[SYMHV_INPUT_NAME_MAX + 1];
    uint32_t len;
    uint8_t *initial; /* the concrete input of this run */
};

enum sidecar_state { SIDECAR_NONE, SIDECAR_RUNNING, SIDECAR_DEAD };

struct engine {
    struct vm *vm;
    pthread_mutex_t lock;       /* inputs, bugs, sidecar start (held across a request) */
    pthread_mutex_t death_lock; /* the RUNNING -> DEAD transition and `death` */
    struct input_record inputs[MAX_INPUTS];
    uint32_t ninputs;
    char output_dir[PATH_MAX];
    uint8_t *preset;            /* bytes written into the input buffer (--replay, --seed) */
    size_t preset_len;
    bool replaying;             /* --replay: the input stays concrete */
    unsigned bugs;
    unsigned solver_timeout_ms;
    double clock_slow_down;     /* 0: off; else guest time runs this much slower while
                                   a vCPU is interpreted (INFINITY: paused) */

    /* the sidecar */
    _Atomic int state;          /* enum sidecar_state */
    pid_t pid;
    bool child;                 /* we started it (else attached: not ours to reap) */
    char symex_socket[PATH_MAX];
    int pidfd;
    int shared_fd;
    struct sc_shared *shared;
    size_t shared_size;
    const uint64_t *bitmap;     /* symbolic bytes, one bit each (written by the sidecar) */
    unsigned nslots;
    int to_sidecar[SYMHV_MAX_VCPUS + 1], to_vmm[SYMHV_MAX_VCPUS + 1];
    struct doorbell *bells[SYMHV_MAX_VCPUS + 1]; /* each used by its slot's thread only */
    char death[256];            /* why the sidecar died, for the summary */

    atomic_ullong handoffs, resumed_from_checkpoint, clock_paused_cycles;
    pthread_mutex_t clock_lock; /* the guest's symhv_pv_clock record */
    unsigned clock_active;      /* vCPUs being interpreted */
};

/* ---- the sidecar process --------------------------------------------------------------- */

static const char *find_sidecar(char *buf, size_t size)
{
    const char *env = getenv("SYMHV_SYMEX");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            /* installed next to symhv, or in the build tree's symex/sidecar/ */
            static const char *const rel[] = { "symhv-symex", "../symex/sidecar/symhv-symex" };
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(buf, size, "%s/%s", self, rel[i]);
                if (access(buf, X_OK) == 0)
                    return buf;
            }
        }
    }
    return "symhv-symex"; /* from PATH */
}

static void close_sidecar_fds(struct engine *e)
{
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS + 1; i++) {
        if (e->bells[i]) {
            doorbell_destroy(e->bells[i]);
            free(e->bells[i]);
            e->bells[i] = NULL;
        }
        if (e->to_sidecar[i] >= 0)
            close(e->to_sidecar[i]);
        if (e->to_vmm[i] >= 0)
            close(e->to_vmm[i]);
        e->to_sidecar[i] = e->to_vmm[i] = -1;
    }
    if (e->shared)
        munmap(e->shared, e->shared_size);
    e->shared = NULL;
    if (e->shared_fd >= 0)
        close(e->shared_fd);
    if (e->pidfd >= 0)
        close(e->pidfd);
    e->shared_fd = e->pidfd = -1;
}

/* --symex-socket: hand the descriptors to a sidecar waiting in symhv-symex --listen. */
static int attach_sidecar(struct engine *e)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(e->symex_socket) >= sizeof addr.sun_path) {
        hv_error("--symex-socket: path too long for a unix socket: %s", e->symex_socket);
        if (s >= 0)
            close(s);
        return -1;
    }
    memcpy(addr.sun_path, e->symex_socket, strlen(e->symex_socket) + 1);
    if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        hv_error_errno("cannot attach to the sidecar at %s (start symhv-symex --listen %s)",
                       e->symex_socket, e->symex_socket);
        if (s >= 0)
            close(s);
        return -1;
    }
    struct sc_attach msg = { .magic = SC_MAGIC, .version = SC_VERSION, .nslots = e->nslots,
                             .solver_timeout_ms = e->solver_timeout_ms,
                             .mem_bytes = e->vm->mem_bytes };
    snprintf(msg.output_dir, sizeof msg.output_dir, "%s", e->output_dir);
    int fds[2 + 2 * (SYMHV_MAX_VCPUS + 1)], nfds = 0;
    fds[nfds++] = e->vm->mem_fd;
    fds[nfds++] = e->shared_fd;
    for (unsigned i = 0; i < e->nslots; i++) {
        fds[nfds++] = e->to_sidecar[i];
        fds[nfds++] = e->to_vmm[i];
    }
    union {
        char buf[CMSG_SPACE(sizeof fds)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { &msg, sizeof msg };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int)) };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    struct ucred peer;
    socklen_t plen = sizeof peer;
    if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof msg ||
        getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &plen) < 0) {
        hv_error_errno("handing the VM to the sidecar at %s failed", e->symex_socket);
        close(s);
        return -1;
    }
    close(s);
    e->pid = peer.pid;
    e->pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
    if (e->pidfd < 0) {
        hv_error_errno("pidfd_open for the sidecar (pid %d) failed", (int)e->pid);
        return -1;
    }
    hv_info("attached to the symbolic sidecar at %s (pid %d, %u slots)", e->symex_socket,
            (int)e->pid, e->nslots);
    e->child = false;
    atomic_store(&e->state, SIDECAR_RUNNING);
    return 0;
}

/* Start symhv-symex with guest RAM, the slots and the doorbells (or attach to one).
 * Caller holds e->lock. */
static int start_sidecar(struct engine *e)
{
    struct vm *vm = e->vm;
    e->nslots = vm->ncpus + 1;
    e->shared_size = sc_shared_size(e->nslots, vm->mem_bytes);
    e->shared_fd = memfd_create("symhv-sidecar-slots", MFD_CLOEXEC);
    if (e->shared_fd < 0 || ftruncate(e->shared_fd, (off_t)e->shared_size) < 0) {
        hv_error_errno("cannot create the sidecar's shared memory");
        return -1;
    }
    e->shared = mmap(NULL, e->shared_size, PROT_READ | PROT_WRITE, MAP_SHARED, e->shared_fd, 0);
    if (e->shared == MAP_FAILED) {
        e->shared = NULL;
        hv_error_errno("cannot map the sidecar's shared memory");
        return -1;
    }
    e->shared->magic = SC_MAGIC;
    e->shared->version = SC_VERSION;
    e->shared->nslots = e->nslots;
    e->shared->mem_bytes = vm->mem_bytes;
    e->shared->bitmap_offset = sc_bitmap_offset(e->nslots);
    e->bitmap = (const uint64_t *)((uint8_t *)e->shared + e->shared->bitmap_offset);
    for (unsigned i = 0; i < e->nslots; i++) {
        e->to_sidecar[i] = eventfd(0, EFD_CLOEXEC);
        e->to_vmm[i] = eventfd(0, EFD_CLOEXEC);
        if (e->to_sidecar[i] < 0 || e->to_vmm[i] < 0) {
            hv_error_errno("cannot create the sidecar's doorbells");
            return -1;
        }
    }

    if (e->symex_socket[0])
        return attach_sidecar(e);

    /* The child gets them on fixed numbers (sidecar.h). Sources are first moved above
     * every target so no dup2 clobbers a source still to be copied. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int high[2 * (SYMHV_MAX_VCPUS + 1) + 2], nhigh = 0;
    int sources[2 * (SYMHV_MAX_VCPUS + 1) + 2], ns = 0;
    sources[ns++] = vm->mem_fd;
    sources[ns++] = e->shared_fd;
    for (unsigned i = 0; i < e->nslots; i++) {
        sources[ns++] = e->to_sidecar[i];
        sources[ns++] = e->to_vmm[i];
    }
    int rc = 0;
    for (int i = 0; i < ns && rc == 0; i++) {
        high[nhigh] = fcntl(sources[i], F_DUPFD_CLOEXEC, 1024);
        if (high[nhigh] < 0) {
            hv_error_errno("cannot pass descriptors to the sidecar");
            rc = -1;
            break;
        }
        posix_spawn_file_actions_adddup2(&fa, high[nhigh], SC_FD_GUEST_MEM + i);
        nhigh++;
    }
    char sidecar_path[PATH_MAX + 64], slots[16], mem[32], pid[16], timeout[16];
    const char *exe = find_sidecar(sidecar_path, sizeof sidecar_path);
    snprintf(slots, sizeof slots, "%u", e->nslots);
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)vm->mem_bytes);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(timeout, sizeof timeout, "%u", e->solver_timeout_ms);
    char *argv[] = { (char *)exe, "--slots", slots, "--mem-bytes", mem, "--vmm-pid", pid,
                     "--solver-timeout", timeout,
                     "--output", e->output_dir[0] ? e->output_dir : "", NULL };
    /* Own process group (a terminal's ^C goes to symhv, which ends the run in order);
     * default signal handling and an empty mask whatever this thread blocks. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    if (rc == 0) {
        int err = posix_spawnp(&e->pid, exe, &fa, &attr, argv, environ);
        if (err) {
            errno = err;
            hv_error_errno("cannot start the symbolic sidecar %s (set SYMHV_SYMEX to its path)",
                           exe);
            rc = -1;
        }
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < nhigh; i++)
        close(high[i]);
    if (rc < 0)
        return -1;
    e->pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
    if (e->pidfd < 0) {
        hv_error_errno("pidfd_open for the sidecar (pid %d) failed", (int)e->pid);
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
        return -1;
    }
    hv_info("symbolic sidecar %s started (pid %d, %u slots)", exe, (int)e->pid, e->nslots);
    e->child = true;
    atomic_store(&e->state, SIDECAR_RUNNING);
    return 0;
}

/* ---- the VMM's copy of the symbolic page bitmap ------------------------------------ */

static void sync_page(struct engine *e, uint64_t page)
{
    uint64_t bits[64];
    if (page >= e->vm->mem_bytes)
        return;
    for (int i = 0; i < 64; i++)
        bits[i] = __atomic_load_n(&e->bitmap[page / 64 + (uint64_t)i], __ATOMIC_ACQUIRE);
    symmem_set_page(e->vm, page, bits);
}

/* Pages a reply lists (or all of RAM when it overflowed). */
static void sync_pages(struct engine *e, const struct sc_slot *slot)
{
    if (slot->pages_overflow) {
        for (uint64_t page = 0; page < e->vm->mem_bytes; page += 4096) {
            bool any = symmem_any(e->vm, page, 4096);
            for (int i = 0; i < 64 && !any; i++)
                any = __atomic_load_n(&e->bitmap[page / 64 + (uint64_t)i], __ATOMIC_ACQUIRE) != 0;
            if (any)
                sync_page(e, page);
        }
        return;
    }
    for (uint32_t i = 0; i < slot->npages && i < SC_MAX_PAGES; i++)
        sync_page(e, slot->pages[i]);
}

/* The sidecar died: the run goes on concretely. Memory always holds the concrete
 * values, so releasing every symbolic page is all it takes. */
static void sidecar_died(struct engine *e, const char *when)
{
    pthread_mutex_lock(&e->death_lock);
    if (atomic_load(&e->state) != SIDECAR_RUNNING) {
        pthread_mutex_unlock(&e->death_lock);
        return;
    }
    int status = 0;
    char how[64] = "it stopped answering";
    if (!e->child) {
        snprintf(how, sizeof how, "pid %d, attached", (int)e->pid);
        kill(e->pid, SIGKILL);
    } else if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        else
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
    } else {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
    }
    snprintf(e->death, sizeof e->death, "the sidecar died (%s) %s", how, when);
    atomic_store(&e->state, SIDECAR_DEAD);
    pthread_mutex_unlock(&e->death_lock);
    hv_error("%s; the run continues concretely without symbolic execution", e->death);
    symmem_release_all(e->vm);
}

/* One request in `slot`: ring and wait for the answer. While waiting, a stopping VM
 * cancels a handoff; a sidecar that dies, or ignores the cancel, is handled as dead.
 * Returns 0 with the reply in the slot, or -1 (the sidecar is dead). */
static int sidecar_call(struct engine *e, unsigned index, const char *what)
{
    if (atomic_load(&e->state) != SIDECAR_RUNNING)
        return -1;
    struct sc_slot *slot = &e->shared->slots[index];
    if (!e->bells[index]) {
        struct doorbell *d = calloc(1, sizeof *d);
        int rc = d ? doorbell_init(d, e->to_vmm[index], e->to_sidecar[index], e->pidfd) : -ENOMEM;
        if (rc < 0) {
            errno = -rc;
            hv_error_errno("io_uring setup for the sidecar's slot %u failed", index);
            free(d);
            return -1;
        }
        e->bells[index] = d;
    }
    __atomic_store_n(&slot->cancel, 0, __ATOMIC_RELEASE);
    double cancelled_for = 0;
    bool killed = false;
    enum doorbell_result r = doorbell_ring_wait(e->bells[index], true, WAIT_TICK_MS);
    while (r == DOORBELL_TIMEOUT) {
        if (vm_is_stopping(e->vm) && slot->op == SC_OP_HANDOFF) {
            __atomic_store_n(&slot->cancel, 1, __ATOMIC_RELEASE);
            cancelled_for += WAIT_TICK_MS / 1000.0;
            if (cancelled_for > CANCEL_GRACE_S && !killed) {
                kill(e->pid, SIGKILL); /* the next wait sees it gone */
                killed = true;
            }
        }
        r = doorbell_ring_wait(e->bells[index], false, WAIT_TICK_MS);
    }
    if (r == DOORBELL_RUNG)
        return 0;
    char when[128];
    if (r == DOORBELL_ERROR)
        hv_error_errno("doorbell of the sidecar's slot %u failed", index);
    snprintf(when, sizeof when, "during %s", what);
    sidecar_died(e, when);
    return -1;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int engine_create(struct vm *vm, const struct vm_config *cfg)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->vm = vm;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->clock_lock, NULL);
    pthread_mutex_init(&e->death_lock, NULL);
    e->pidfd = e->shared_fd = -1;
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS + 1; i++)
        e->to_sidecar[i] = e->to_vmm[i] = -1;
    snprintf(e->output_dir, sizeof e->output_dir, "%s", cfg->output_dir ? cfg->output_dir : "");
    snprintf(e->symex_socket, sizeof e->symex_socket, "%s",
             cfg->symex_socket ? cfg->symex_socket : "");
    e->solver_timeout_ms = cfg->solver_timeout_ms;
    e->clock_slow_down = cfg->clock_slow_down;
    const char *preset = cfg->replay_path ? cfg->replay_path : cfg->seed_path;
    e->replaying = cfg->replay_path != NULL;
    if (preset) {
        char err[256];
        e->preset = read_file(preset, SYMHV_SYMBOLIC_MAX_BYTES, &e->preset_len, err, sizeof err);
        if (!e->preset) {
            hv_error("%s input %s: %s", cfg->replay_path ? "replay" : "seed", preset, err);
            free(e);
            return -1;
        }
    }
    vm->engine = e;
    return 0;
}

int engine_check_vcpu(struct vcpu *v)
{
    struct engine *e = v->vm->engine;
    if (!e->clock_slow_down || !v->vm->pvh_entry)
        return 0; /* symhv's boot protocol: the kernel may use symhv_pv_clock */
    struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET };
    if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &attr) < 0) {
        hv_error_errno("--clock-slow-down needs KVM's per-vCPU TSC offset "
                       "(KVM_VCPU_TSC_OFFSET, Linux 5.16+), which this KVM lacks");
        return -1;
    }
    return 0;
}

void engine_destroy(struct vm *vm)
{
    struct engine *e = vm->engine;
    if (!e)
        return;
    if (atomic_load(&e->state) == SIDECAR_RUNNING) {
        struct sc_slot *slot = &e->shared->slots[e->nslots - 1];
        slot->op = SC_OP_QUIT;
        sidecar_call(e, e->nslots - 1, "shutdown"); /* if it fails, sidecar_died reaped it */
        /* An attached sidecar exits by itself and is not ours to wait for. */
        if (e->child && atomic_load(&e->state) == SIDECAR_RUNNING) {
            bool gone = false;
            for (double waited = 0; waited < QUIT_WAIT_S && !gone; waited += 0.01) {
                gone = waitpid(e->pid, NULL, WNOHANG) == e->pid;
                if (!gone)
                    usleep(10000);
            }
            if (!gone) {
                kill(e->pid, SIGKILL);
                waitpid(e->pid, NULL, 0);
            }
        }
    }
    close_sidecar_fds(e);
    for (uint32_t i = 0; i < e->ninputs; i++)
        free(e->inputs[i].initial);
    free(e->preset);
    pthread_mutex_destroy(&e->lock);
    free(e);
    vm->engine = NULL;
}

/* ---- requests from the vCPUs --------------------------------------------------------- */

static void fill_paging(struct sc_cpu *cpu, const struct kvm_sregs *sregs)
{
    cpu->cr0 = sregs->cr0;
    cpu->cr3 = sregs->cr3;
    cpu->cr4 = sregs->cr4;
    cpu->efer = sregs->efer;
    cpu->cpl = sregs->cs.selector & 3;
    cpu->fs_base = sregs->fs.base;
    cpu->gs_base = sregs->gs.base;
}

static int add_extent(struct vcpu *v, uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    (void)v;
    struct sc_slot *slot = ctx;
    if (slot->nextents == SC_MAX_EXTENTS)
        return -1;
    slot->extents[slot->nextents++] = (struct sc_extent){ gpa, (uint32_t)n, (uint32_t)off };
    return 0;
}

int engine_make_symbolic(struct vcpu *v, uint64_t gva, uint64_t len, const char *name)
{
    struct engine *e = v->vm->engine;
    pthread_mutex_lock(&e->lock);
    if (e->ninputs == MAX_INPUTS) {
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EINVAL;
    }
    uint32_t id = e->ninputs;
    struct input_record *in = &e->inputs[id];
    if (e->preset && id == 0) /* --replay / --seed bytes go to the first input */
        vcpu_write_virt(v, gva, e->preset, e->preset_len < len ? e->preset_len : len);
    in->initial = malloc(len);
    if (!in->initial || vcpu_read_virt(v, gva, in->initial, len) < 0) {
        free(in->initial);
        in->initial = NULL;
        pthread_mutex_unlock(&e->lock);
        return -SYMHV_EFAULT;
    }
    snprintf(in->name, sizeof in->name, "%s", name);
    in->len = (uint32_t)len;
    e->ninputs++;
    if (e->replaying) { /* the input stays concrete */
        pthread_mutex_unlock(&e->lock);
        return (int)id;
    }
    if (atomic_load(&e->state) == SIDECAR_NONE && start_sidecar(e) < 0) {
        snprintf(e->death, sizeof e->death, "the sidecar could not be started");
        atomic_store(&e->state, SIDECAR_DEAD);
    }
    if (atomic_load(&e->state) != SIDECAR_RUNNING) {
        pthread_mutex_unlock(&e->lock);
        hv_error("vCPU %u: input '%s' stays concrete: %s", v->index, name, e->death);
        return (int)id;
    }
    struct sc_slot *slot = &e->shared->slots[v->index];
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0)
        fill_paging(&slot->cpu, &sregs);
    slot->op = SC_OP_MAKE_SYMBOLIC;
    slot->vcpu = v->index;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->input_len = (uint32_t)len;
    slot->nextents = 0;
    vcpu_for_each_chunk(v, gva, len, add_extent, slot); /* the caller checked the range */
    /* The lock keeps input ids in the same order here and in the sidecar. */
    int rc = sidecar_call(e, v->index, "make_symbolic");
    pthread_mutex_unlock(&e->lock);
    if (rc == 0 && slot->status != SC_OK)
        hv_error("vCPU %u: sidecar refused input '%s': %s", v->index, name, slot->message);
    if (rc == 0)
        sync_pages(e, slot);
    return (int)id;
}

int engine_concretise(struct vcpu *v, uint64_t gpa, uint64_t len)
{
    struct engine *e = v->vm->engine;
    if (atomic_load(&e->state) != SIDECAR_RUNNING)
        return 0;
    struct sc_slot *slot = &e->shared->slots[v->index];
    slot->op = SC_OP_CONCRETISE;
    slot->vcpu = v->index;
    slot->gpa = gpa;
    slot->len = len;
    if (sidecar_call(e, v->index, "a concrete write") < 0)
        return 0; /* everything is concrete now */
    sync_pages(e, slot);
    return slot->status == SC_OK ? 0 : -1;
}

static void cpu_from_kvm(struct sc_cpu *cpu, const struct kvm_regs *r, const struct kvm_fpu *fpu)
{
    const uint64_t gpr[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    memcpy(cpu->gpr, gpr, sizeof gpr);
    cpu->rip = r->rip;
    cpu->rflags = r->rflags;
    memcpy(cpu->xmm, fpu->xmm, sizeof cpu->xmm);
}

static void cpu_to_kvm(const struct sc_cpu *cpu, struct kvm_regs *r, struct kvm_fpu *fpu)
{
    const uint64_t *g = cpu->gpr;
    r->rax = g[0]; r->rcx = g[1]; r->rdx = g[2]; r->rbx = g[3];
    r->rsp = g[4]; r->rbp = g[5]; r->rsi = g[6]; r->rdi = g[7];
    r->r8 = g[8]; r->r9 = g[9]; r->r10 = g[10]; r->r11 = g[11];
    r->r12 = g[12]; r->r13 = g[13]; r->r14 = g[14]; r->r15 = g[15];
    r->rip = cpu->rip;
    r->rflags = cpu->rflags;
    memcpy(fpu->xmm, cpu->xmm, sizeof cpu->xmm);
}

/* The last state the sidecar published for this slot, if it retired anything. */
static bool read_checkpoint(struct sc_slot *slot, struct sc_cpu *out)
{
    for (int tries = 0; tries < 100; tries++) {
        uint64_t seq = __atomic_load_n(&slot->checkpoint_seq, __ATOMIC_ACQUIRE);
        if (seq == 0)
            return false;
        if (seq & 1)
            continue; /* torn: the writer died mid-copy, or is copying */
        memcpy(out, &slot->checkpoint, sizeof *out);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&slot->checkpoint_seq, __ATOMIC_RELAXED) == seq)
            return true;
    }
    return false;
}

/* The guest's symhv_pv_clock record, if the guest kernel uses it (symhv's does). */
static struct symhv_pv_clock *pv_clock(struct engine *e)
{
    struct symhv_boot_info *info = vm_gpa_to_host(e->vm, SYMHV_BOOT_INFO_ADDR, sizeof *info);
    if (!e->clock_slow_down || e->vm->pvh_entry || !info ||
        !__atomic_load_n(&info->clock.enabled, __ATOMIC_ACQUIRE))
        return NULL;
    return &info->clock;
}

/* --clock-slow-down with symhv_pv_clock: while any vCPU is interpreted the whole
 * guest's time stands still (or runs 1/N), so clocks stay monotonic across vCPUs. */
static void pv_clock_enter(struct engine *e, struct symhv_pv_clock *c)
{
    pthread_mutex_lock(&e->clock_lock);
    if (e->clock_active++ == 0) {
        __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
        c->base_tsc = __rdtsc();
        c->divisor = isinf(e->clock_slow_down) ? 0 : (uint32_t)e->clock_slow_down;
        c->active = 1;
        __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&e->clock_lock);
}

static void pv_clock_leave(struct engine *e, struct symhv_pv_clock *c)
{
    pthread_mutex_lock(&e->clock_lock);
    if (--e->clock_active == 0) {
        uint64_t elapsed = __rdtsc() - c->base_tsc;
        uint64_t hide = elapsed - (c->divisor ? elapsed / c->divisor : 0);
        __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
        c->hidden += hide;
        c->active = 0;
        __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
        atomic_fetch_add(&e->clock_paused_cycles, hide);
    }
    pthread_mutex_unlock(&e->clock_lock);
}

/* --clock-slow-down for other guests: take the interpreted time (or part of it) out of
 * this vCPU's TSC offset. */
static void slow_tsc(struct engine *e, struct vcpu *v, uint64_t host_cycles)
{
    uint64_t hide = (uint64_t)((double)host_cycles * (1.0 - 1.0 / e->clock_slow_down));
    uint64_t offset;
    struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
                                    .addr = (uint64_t)(uintptr_t)&offset };
    if (ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr) < 0) {
        hv_error_errno("vCPU %u: reading the TSC offset failed", v->index);
        return;
    }
    offset -= hide;
    if (ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr) < 0) {
        hv_error_errno("vCPU %u: setting the TSC offset failed", v->index);
        return;
    }
    atomic_fetch_add(&e->clock_paused_cycles, hide);
}

int engine_handoff(struct vcpu *v)
{
    struct engine *e = v->vm->engine;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
        ioctl(v->fd, KVM_GET_FPU, &fpu) < 0) {
        hv_error_errno("vCPU %u: reading state for the interpreter failed", v->index);
        return -1;
    }
    if (vcpu_complete_pending_exit(v) < 0)
        return -1;
    if (atomic_load(&e->state) != SIDECAR_RUNNING)
        return 0; /* the pages are being released: the CPU retries the access */

    struct symhv_pv_clock *clock = pv_clock(e);
    if (clock)
        pv_clock_enter(e, clock);
    uint64_t t0 = __rdtsc();
    struct sc_slot *slot = &e->shared->slots[v->index];
    slot->op = SC_OP_HANDOFF;
    slot->vcpu = v->index;
    cpu_from_kvm(&slot->cpu, &regs, &fpu);
    fill_paging(&slot->cpu, &sregs);
    __atomic_store_n(&slot->checkpoint_seq, 0, __ATOMIC_RELEASE);
    atomic_fetch_add(&e->handoffs, 1);
    if (sidecar_call(e, v->index, "a handoff") == 0) {
        cpu_to_kvm(&slot->cpu, &regs, &fpu);
        sync_pages(e, slot);
    } else {
        struct sc_cpu cp;
        if (read_checkpoint(slot, &cp)) { /* resume after the last retired instruction */
            cpu_to_kvm(&cp, &regs, &fpu);
            atomic_fetch_add(&e->resumed_from_checkpoint, 1);
            hv_error("vCPU %u resumes natively at rip 0x%llx, after the last instruction the "
                     "sidecar retired", v->index, (unsigned long long)regs.rip);
        }
        /* else: nothing retired, the CPU re-executes the trapped access */
    }
    if (clock)
        pv_clock_leave(e, clock);
    else if (e->clock_slow_down)
        slow_tsc(e, v, __rdtsc() - t0);
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0 || ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
        hv_error_errno("vCPU %u: writing back the interpreted state failed", v->index);
        return -1;
    }
    return 0;
}

/* ---- outputs -------------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX + 256]; /* dir is at most PATH_MAX, names at most 128 */
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len)
        hv_error_errno("cannot write %s", path);
    if (f)
        fclose(f);
}

static int ensure_output_dir(struct engine *e)
{
    if (!e->output_dir[0])
        return -1;
    if (mkdir(e->output_dir, 0777) < 0 && errno != EEXIST) {
        hv_error_errno("cannot create output directory %s", e->output_dir);
        return -1;
    }
    return 0;
}

void engine_report_bug(struct vcpu *v, const char *message)
{
    struct engine *e = v->vm->engine;
    pthread_mutex_lock(&e->lock);
    unsigned n = e->bugs++;
    if (ensure_output_dir(e) == 0) {
        char name[64], text[2048];
        int len = snprintf(text, sizeof text, "bug reported on vCPU %u: %s\n", v->index, message);
        snprintf(name, sizeof name, "bug-%03u.txt", n);
        write_file(e->output_dir, name, text, (size_t)len);
        for (uint32_t i = 0; i < e->ninputs; i++) {
            snprintf(name, sizeof name, "bug-%03u-%s.bin", n, e->inputs[i].name);
            write_file(e->output_dir, name, e->inputs[i].initial, e->inputs[i].len);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

void engine_cancel_handoffs(struct vm *vm)
{
    struct engine *e = vm->engine;
    if (atomic_load(&e->state) != SIDECAR_RUNNING)
        return;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (e->shared->slots[i].op == SC_OP_HANDOFF)
            __atomic_store_n(&e->shared->slots[i].cancel, 1, __ATOMIC_RELEASE);
}

int32_t engine_fuzz_input(struct vcpu *v, uint64_t gva, uint64_t max_len)
{
    struct engine *e = v->vm->engine;
    if (max_len == 0 || max_len > SYMHV_SYMBOLIC_MAX_BYTES || gva + max_len < gva)
        return -SYMHV_EINVAL;
    if (!e->preset)
        return 0;
    size_t n = e->preset_len < max_len ? e->preset_len : max_len;
    if (vcpu_write_virt(v, gva, e->preset, n) < 0)
        return -SYMHV_EFAULT;
    if (!e->replaying) /* --seed: this execution is symbolic */
        engine_make_symbolic(v, gva, n, "input");
    return (int32_t)n;
}

void engine_print_expr(struct vcpu *v, const char *name, uint64_t value)
{
    struct engine *e = v->vm->engine;
    hv_info("vCPU %u: %s = 0x%llx (concrete)", v->index, name, (unsigned long long)value);
    pthread_mutex_lock(&e->lock);
    if (ensure_output_dir(e) == 0) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/expressions.txt", e->output_dir);
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "vCPU %u: %s = 0x%llx (concrete)\n", v->index, name,
                    (unsigned long long)value);
            fclose(f);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

int engine_concolic_collect(struct vm *vm,
                            void (*add)(void *ctx, const uint8_t *data, size_t len), void *ctx)
{
    struct engine *e = vm->engine;
    int found = 0;
    if (atomic_load(&e->state) != SIDECAR_RUNNING || ensure_output_dir(e) < 0)
        return 0;
    struct sc_slot *slot = &e->shared->slots[e->nslots - 1];
    slot->op = SC_OP_FINISH;
    if (sidecar_call(e, e->nslots - 1, "solving a concolic run") == 0 && slot->status == SC_OK) {
        for (uint64_t b = 0; b < slot->stats.branches; b++) {
            char name[128];
            snprintf(name, sizeof name, "branch-%03llu-input.bin", (unsigned long long)b);
            char err[256];
            size_t len;
            char path[PATH_MAX + 160];
            snprintf(path, sizeof path, "%s/%s", e->output_dir, name);
            uint8_t *data = read_file(path, SYMHV_SYMBOLIC_MAX_BYTES, &len, err, sizeof err);
            if (!data)
                continue; /* that flip was unsat */
            add(ctx, data, len);
            free(data);
            unlink(path);
            found++;
        }
    }
    slot->op = SC_OP_RESET;
    if (sidecar_call(e, e->nslots - 1, "a reset") == 0 && slot->status != SC_OK)
        hv_error("sidecar: reset failed");
    pthread_mutex_lock(&e->lock);
    for (uint32_t i = 0; i < e->ninputs; i++) {
        free(e->inputs[i].initial);
        e->inputs[i].initial = NULL;
    }
    e->ninputs = 0;
    pthread_mutex_unlock(&e->lock);
    symmem_release_all(vm);
    return found;
}

void engine_finish(struct vm *vm)
{
    struct engine *e = vm->engine;
    if (!e || e->ninputs == 0 || e->replaying || ensure_output_dir(e) < 0)
        return;
    struct sc_stats st = { 0 };
    bool solved = false;
    if (atomic_load(&e->state) == SIDECAR_RUNNING) {
        hv_info("solving for the other side of the symbolic branches ...");
        struct sc_slot *slot = &e->shared->slots[e->nslots - 1];
        slot->op = SC_OP_FINISH;
        if (sidecar_call(e, e->nslots - 1, "the final solving") == 0) {
            st = slot->stats;
            solved = slot->status == SC_OK;
            if (!solved)
                hv_error("sidecar: %s", slot->message);
        }
    }
    if (st.flipped_unknown)
        hv_error("solver gave up (timeout %u ms) on %llu of %llu branch flips",
                 e->solver_timeout_ms, (unsigned long long)st.flipped_unknown,
                 (unsigned long long)st.branches);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/summary.txt", e->output_dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        hv_error_errno("cannot write %s", path);
        return;
    }
    fprintf(f, "inputs: %u\n", e->ninputs);
    for (uint32_t i = 0; i < e->ninputs; i++)
        fprintf(f, "input %u: %s, %u bytes\n", i, e->inputs[i].name, e->inputs[i].len);
    fprintf(f, "sidecar: %s\n", solved ? "ok" : e->death[0] ? e->death : "failed");
    fprintf(f, "handoffs: %llu\n", (unsigned long long)atomic_load(&e->handoffs));
    fprintf(f, "handoffs resumed from a checkpoint: %llu\n",
            (unsigned long long)atomic_load(&e->resumed_from_checkpoint));
    fprintf(f, "parallel handoffs (peak): %llu\n", (unsigned long long)st.parallel_peak);
    fprintf(f, "interpreted instructions: %llu\ninterpreter seconds: %.3f\n",
            (unsigned long long)st.instructions, st.interpreter_seconds);
    fprintf(f, "stops for native execution: %llu\n", (unsigned long long)st.stops_native);
    fprintf(f, "guest clock cycles hidden: %llu\n",
            (unsigned long long)atomic_load(&e->clock_paused_cycles));
    fprintf(f, "assumptions: %llu\nexpressions printed: %llu\n",
            (unsigned long long)st.assumptions, (unsigned long long)st.expressions_printed);
    fprintf(f, "path constraints: %llu\nsymbolic branches: %llu\n",
            (unsigned long long)st.constraints, (unsigned long long)st.branches);
    fprintf(f, "flipped: %llu sat, %llu unsat, %llu unknown\nsolver seconds: %.3f\nbugs: %u\n",
            (unsigned long long)st.flipped_sat, (unsigned long long)st.flipped_unsat,
            (unsigned long long)st.flipped_unknown, st.solver_seconds, e->bugs);
    fclose(f);
    hv_info("symbolic run: %llu handoffs, %llu instructions interpreted, %llu symbolic "
            "branches, %llu new inputs in %s", (unsigned long long)atomic_load(&e->handoffs),
            (unsigned long long)st.instructions, (unsigned long long)st.branches,
            (unsigned long long)st.flipped_sat, e->output_dir);
}
