#include "sidecar_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doorbell.h"
#include "log.h"
#include "util.h"
#include "vm.h"

#define WAIT_TICK_MS 200        /* how often a waiting thread looks at the VM */
#define CANCEL_GRACE_S 10.0     /* after a cancel, the sidecar gets this long */
#define QUIT_WAIT_S 5.0

extern char **environ;

enum sidecar_state { SIDECAR_NONE, SIDECAR_RUNNING, SIDECAR_DEAD, SIDECAR_QUITTING };

struct sidecar {
    struct vm *vm;
    struct sidecar_config cfg;
    char socket_path[PATH_MAX];
    void (*on_death)(void *ctx, const char *why);
    void *death_ctx;

    _Atomic int state;          /* enum sidecar_state */
    pthread_mutex_t death_lock; /* the RUNNING -> DEAD transition and `death` */
    char death[256];
    pid_t pid;
    bool child;                 /* we started it (else attached: not ours to reap) */
    int pidfd;
    int shared_fd;
    struct sc_shared *shared;
    size_t shared_size;
    unsigned nslots;
    int to_sidecar[SYMHV_MAX_VCPUS + 1], to_vmm[SYMHV_MAX_VCPUS + 1];
    struct doorbell *bells[SYMHV_MAX_VCPUS + 1]; /* each used by its slot's thread only */
    void *in_process;           /* cfg.in_process's state, once open */
};

struct sidecar *sidecar_new(struct vm *vm, const struct sidecar_config *cfg,
                            void (*on_death)(void *ctx, const char *why), void *ctx)
{
    struct sidecar *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->vm = vm;
    sc->cfg = *cfg;
    snprintf(sc->socket_path, sizeof sc->socket_path, "%s", cfg->socket_path ? cfg->socket_path : "");
    sc->cfg.socket_path = sc->socket_path;
    sc->on_death = on_death;
    sc->death_ctx = ctx;
    pthread_mutex_init(&sc->death_lock, NULL);
    sc->pidfd = sc->shared_fd = -1;
    sc->nslots = vm->ncpus + 1;
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS + 1; i++)
        sc->to_sidecar[i] = sc->to_vmm[i] = -1;
    return sc;
}

bool sidecar_alive(struct sidecar *sc) { return atomic_load(&sc->state) == SIDECAR_RUNNING; }
const char *sidecar_death(struct sidecar *sc) { return sc->death; }
unsigned sidecar_control(const struct sidecar *sc) { return sc->nslots - 1; }
static struct sc_slot *slot_of(struct sidecar *sc, unsigned index) { return &sc->shared->slots[index]; }

const uint64_t *sidecar_bitmap(const struct sidecar *sc)
{
    return sc->shared ? (const uint64_t *)((const uint8_t *)sc->shared + sc->shared->bitmap_offset)
                      : NULL;
}

uint32_t *sidecar_rmw_lock(struct sidecar *sc) { return sc->shared ? &sc->shared->rmw_lock : NULL; }

static const uint8_t *data_area(const struct sidecar *sc)
{
    return (const uint8_t *)sc->shared + sc->shared->data_offset;
}

static const char *find_sidecar(char *buf, size_t size)
{
    /* installed next to symhv, or in the build tree's symex/sidecar/ */
    static const char *const rel[] = { "symhv-symex", "../symex/sidecar/symhv-symex" };
    const char *found = find_companion("SYMHV_SYMEX", rel, sizeof rel / sizeof rel[0], X_OK,
                                       buf, size);
    return found ? found : "symhv-symex"; /* from PATH */
}

static void close_fds(struct sidecar *sc)
{
    for (unsigned i = 0; i < SYMHV_MAX_VCPUS + 1; i++) {
        if (sc->bells[i]) {
            doorbell_destroy(sc->bells[i]);
            free(sc->bells[i]);
            sc->bells[i] = NULL;
        }
        if (sc->to_sidecar[i] >= 0)
            close(sc->to_sidecar[i]);
        if (sc->to_vmm[i] >= 0)
            close(sc->to_vmm[i]);
        sc->to_sidecar[i] = sc->to_vmm[i] = -1;
    }
    if (sc->shared) {
        memory_remove_writer(&sc->vm->mem, (uint64_t *)((uint8_t *)sc->shared + sc->shared->written_offset));
        munmap(sc->shared, sc->shared_size);
    }
    sc->shared = NULL;
    if (sc->shared_fd >= 0)
        close(sc->shared_fd);
    if (sc->pidfd >= 0)
        close(sc->pidfd);
    sc->shared_fd = sc->pidfd = -1;
}

/* --symex-socket: hand the descriptors to a sidecar waiting in symhv-symex --listen. */
static int attach(struct sidecar *sc)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(sc->socket_path) >= sizeof addr.sun_path) {
        hv_error("--symex-socket: path too long for a unix socket: %s", sc->socket_path);
        return -1;
    }
    memcpy(addr.sun_path, sc->socket_path, strlen(sc->socket_path) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        hv_error_errno("cannot attach to the sidecar at %s (start symhv-symex --listen %s)",
                       sc->socket_path, sc->socket_path);
        if (s >= 0)
            close(s);
        return -1;
    }
    struct sc_attach msg = { .magic = SC_MAGIC, .version = SC_VERSION, .nslots = sc->nslots,
                             .solver_timeout_ms = sc->cfg.solver_timeout_ms,
                             .mem_bytes = sc->vm->mem.bytes,
                             .max_memory_bytes = sc->cfg.max_memory_bytes,
                             .max_seconds = sc->cfg.max_seconds };
    int fds[2 + 2 * (SYMHV_MAX_VCPUS + 1)], nfds = 0;
    fds[nfds++] = sc->vm->mem.fd;
    fds[nfds++] = sc->shared_fd;
    for (unsigned i = 0; i < sc->nslots; i++) {
        fds[nfds++] = sc->to_sidecar[i];
        fds[nfds++] = sc->to_vmm[i];
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
        hv_error_errno("handing the VM to the sidecar at %s failed", sc->socket_path);
        close(s);
        return -1;
    }
    close(s);
    sc->pid = peer.pid;
    sc->pidfd = (int)syscall(SYS_pidfd_open, sc->pid, 0);
    if (sc->pidfd < 0) {
        hv_error_errno("pidfd_open for the sidecar (pid %d) failed", (int)sc->pid);
        return -1;
    }
    hv_info("attached to the symbolic sidecar at %s (pid %d, %u slots)", sc->socket_path,
            (int)sc->pid, sc->nslots);
    sc->child = false;
    return 0;
}

static int spawn(struct sidecar *sc)
{
    /* The child gets the descriptors on fixed numbers (sidecar.h). Sources are first
     * moved above every target so no dup2 clobbers a source still to be copied. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int high[2 * (SYMHV_MAX_VCPUS + 1) + 2], nhigh = 0;
    int sources[2 * (SYMHV_MAX_VCPUS + 1) + 2], ns = 0;
    sources[ns++] = sc->vm->mem.fd;
    sources[ns++] = sc->shared_fd;
    for (unsigned i = 0; i < sc->nslots; i++) {
        sources[ns++] = sc->to_sidecar[i];
        sources[ns++] = sc->to_vmm[i];
    }
    int rc = 0;
    /* above every target number, and no higher: F_DUPFD refuses a minimum at or past
     * RLIMIT_NOFILE (1024 by default, where 1024 itself failed: EINVAL) */
    int above = SC_FD_GUEST_MEM + ns;
    for (int i = 0; i < ns && rc == 0; i++) {
        high[nhigh] = fcntl(sources[i], F_DUPFD_CLOEXEC, above);
        if (high[nhigh] < 0) {
            hv_error_errno("cannot pass descriptors to the sidecar");
            rc = -1;
            break;
        }
        posix_spawn_file_actions_adddup2(&fa, high[nhigh], SC_FD_GUEST_MEM + i);
        nhigh++;
    }
    char path[PATH_MAX + 64], slots[16], mem[32], pid[16], timeout[16], maxmem[32], maxtime[32];
    const char *exe = find_sidecar(path, sizeof path);
    snprintf(slots, sizeof slots, "%u", sc->nslots);
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)sc->vm->mem.bytes);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(timeout, sizeof timeout, "%u", sc->cfg.solver_timeout_ms);
    snprintf(maxmem, sizeof maxmem, "%llu", (unsigned long long)(sc->cfg.max_memory_bytes >> 20));
    snprintf(maxtime, sizeof maxtime, "%.3f", sc->cfg.max_seconds);
    char *argv[] = { (char *)exe, "--slots", slots, "--mem-bytes", mem, "--vmm-pid", pid,
                     "--solver-timeout", timeout, "--max-memory", maxmem, "--max-time",
                     maxtime, sc->cfg.solver ? "--solver" : NULL, (char *)sc->cfg.solver, NULL };
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
        int err = posix_spawnp(&sc->pid, exe, &fa, &attr, argv, environ);
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
    sc->pidfd = (int)syscall(SYS_pidfd_open, sc->pid, 0);
    if (sc->pidfd < 0) {
        hv_error_errno("pidfd_open for the sidecar (pid %d) failed", (int)sc->pid);
        kill(sc->pid, SIGKILL);
        waitpid(sc->pid, NULL, 0);
        return -1;
    }
    hv_info("symbolic sidecar %s started (pid %d, %u slots)", exe, (int)sc->pid, sc->nslots);
    sc->child = true;
    return 0;
}

int sidecar_start(struct sidecar *sc)
{
    if (atomic_load(&sc->state) != SIDECAR_NONE)
        return sidecar_alive(sc) ? 0 : -1;
    struct vm *vm = sc->vm;
    sc->shared_size = sc_shared_size(sc->nslots, vm->mem.bytes);
    sc->shared_fd = memfd_create("symhv-sidecar-slots", MFD_CLOEXEC);
    if (sc->shared_fd < 0 || ftruncate(sc->shared_fd, (off_t)sc->shared_size) < 0) {
        hv_error_errno("cannot create the sidecar's shared memory");
        goto fail;
    }
    sc->shared = mmap(NULL, sc->shared_size, PROT_READ | PROT_WRITE, MAP_SHARED, sc->shared_fd, 0);
    if (sc->shared == MAP_FAILED) {
        sc->shared = NULL;
        hv_error_errno("cannot map the sidecar's shared memory");
        goto fail;
    }
    sc->shared->magic = SC_MAGIC;
    sc->shared->version = SC_VERSION;
    sc->shared->nslots = sc->nslots;
    sc->shared->mem_bytes = vm->mem.bytes;
    sc->shared->bitmap_offset = sc_bitmap_offset(sc->nslots);
    sc->shared->written_offset = sc_written_offset(sc->nslots, vm->mem.bytes);
    sc->shared->data_offset = sc_data_offset(sc->nslots, vm->mem.bytes);
    memory_add_writer(&vm->mem, (uint64_t *)((uint8_t *)sc->shared + sc->shared->written_offset));
    if (sc->cfg.in_process) {
        sc->in_process = sc->cfg.in_process->open(sc->shared, vm->mem.ram, vm->mem.bytes);
        if (!sc->in_process)
            goto fail;
        atomic_store(&sc->state, SIDECAR_RUNNING);
        return 0;
    }
    for (unsigned i = 0; i < sc->nslots; i++) {
        sc->to_sidecar[i] = eventfd(0, EFD_CLOEXEC);
        sc->to_vmm[i] = eventfd(0, EFD_CLOEXEC);
        if (sc->to_sidecar[i] < 0 || sc->to_vmm[i] < 0) {
            hv_error_errno("cannot create the sidecar's doorbells");
            goto fail;
        }
    }
    if ((sc->socket_path[0] ? attach(sc) : spawn(sc)) < 0)
        goto fail;
    atomic_store(&sc->state, SIDECAR_RUNNING);
    return 0;
fail:
    snprintf(sc->death, sizeof sc->death, "the sidecar could not be started");
    atomic_store(&sc->state, SIDECAR_DEAD);
    return -1;
}

/* Declare the sidecar dead (once): reap or kill it, say why, let the owner make
 * everything concrete. */
static void died(struct sidecar *sc, const char *when)
{
    pthread_mutex_lock(&sc->death_lock);
    if (atomic_load(&sc->state) != SIDECAR_RUNNING) {
        pthread_mutex_unlock(&sc->death_lock);
        return;
    }
    int status = 0;
    char how[64] = "it stopped answering";
    if (!sc->child) {
        snprintf(how, sizeof how, "pid %d, attached", (int)sc->pid);
        kill(sc->pid, SIGKILL);
    } else if (waitpid(sc->pid, &status, WNOHANG) == sc->pid) {
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        else
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
    } else {
        kill(sc->pid, SIGKILL);
        waitpid(sc->pid, NULL, 0);
    }
    snprintf(sc->death, sizeof sc->death, "the sidecar died (%s) %s", how, when);
    atomic_store(&sc->state, SIDECAR_DEAD);
    pthread_mutex_unlock(&sc->death_lock);
    hv_error("%s; the run continues concretely without symbolic execution", sc->death);
    if (sc->on_death)
        sc->on_death(sc->death_ctx, sc->death);
}

/* Wait up to timeout_ms for the answer to request seq: RUNG once it is there. */
static enum doorbell_result await_reply(struct sc_slot *slot, struct doorbell *d, uint64_t seq,
                                        int timeout_ms)
{
    enum doorbell_result r = DOORBELL_RUNG;
    while (r == DOORBELL_RUNG && __atomic_load_n(&slot->rep_seq, __ATOMIC_ACQUIRE) != seq)
        r = doorbell_wait(d, timeout_ms); /* RUNG again: a spare ring */
    if (__atomic_load_n(&slot->rep_seq, __ATOMIC_ACQUIRE) == seq)
        return DOORBELL_RUNG; /* answered, whatever else the wait saw */
    return r;
}

/* Post the request in the slot and ring the sidecar (sidecar.h), then wait one tick. */
static enum doorbell_result post_request(struct sc_slot *slot, struct doorbell *d, uint64_t *seq)
{
    *seq = __atomic_load_n(&slot->req_seq, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&slot->req_seq, *seq, __ATOMIC_RELEASE);
    if (doorbell_ring(d) < 0)
        return DOORBELL_ERROR;
    return await_reply(slot, d, *seq, WAIT_TICK_MS);
}

static int call(struct sidecar *sc, unsigned index, const char *what)
{
    if (!sidecar_alive(sc))
        return -1;
    struct sc_slot *slot = &sc->shared->slots[index];
    if (sc->in_process) {
        sc->cfg.in_process->serve(sc->in_process, slot);
        return 0;
    }
    if (!sc->bells[index]) {
        struct doorbell *d = calloc(1, sizeof *d);
        int rc = d ? doorbell_init(d, sc->to_vmm[index], sc->to_sidecar[index], sc->pidfd) : -ENOMEM;
        if (rc < 0) {
            errno = -rc;
            hv_error_errno("io_uring setup for the sidecar's slot %u failed", index);
            free(d);
            return -1;
        }
        sc->bells[index] = d;
    }
    __atomic_store_n(&slot->cancel, 0, __ATOMIC_RELEASE);
    double cancelled_for = 0, still = 0;
    uint64_t beat = __atomic_load_n(&slot->heartbeat, __ATOMIC_ACQUIRE);
    bool killed = false;
    char when[160];
    snprintf(when, sizeof when, "during %s", what);
    uint64_t seq;
    enum doorbell_result r = post_request(slot, sc->bells[index], &seq);
    if (r == DOORBELL_RUNG)
        return 0;
    while (r == DOORBELL_TIMEOUT) {
        double tick = WAIT_TICK_MS / 1000.0;
        /* A handoff gives way when the VM stops or settles; solving when the user
         * interrupts (SIGINT/SIGTERM wait, blocked, for the main thread: it may be this
         * one, busy here). Both keep what they have so far. */
        sigset_t pending;
        bool signalled = sigpending(&pending) == 0 &&
                         (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
        bool give_way = slot->op == SC_OP_HANDOFF
                            ? vm_is_stopping(sc->vm) || vm_settle_requested(sc->vm)
                            : slot->op == SC_OP_FINISH &&
                                  (signalled || (vm_is_stopping(sc->vm) &&
                                                 sc->vm->exit_status == HV_EXIT_SIGNAL));
        if (give_way) {
            __atomic_store_n(&slot->cancel, 1, __ATOMIC_RELEASE);
            cancelled_for += tick;
            if (cancelled_for > CANCEL_GRACE_S && !killed) {
                kill(sc->pid, SIGKILL); /* the next wait sees it gone */
                killed = true;
            }
        }
        uint64_t now = __atomic_load_n(&slot->heartbeat, __ATOMIC_ACQUIRE);
        still = now == beat ? still + tick : 0;
        beat = now;
        if (sc->cfg.stall_timeout_s > 0 && still > sc->cfg.stall_timeout_s && !killed) {
            snprintf(when, sizeof when, "during %s: no progress for %.0f s (--symex-stall-timeout)",
                     what, sc->cfg.stall_timeout_s);
            kill(sc->pid, SIGKILL);
            killed = true;
        }
        r = await_reply(slot, sc->bells[index], seq, WAIT_TICK_MS);
    }
    if (r == DOORBELL_RUNG)
        return 0;
    if (r == DOORBELL_ERROR)
        hv_error_errno("doorbell of the sidecar's slot %u failed", index);
    died(sc, when);
    return -1;
}

void sidecar_cancel(struct sidecar *sc, unsigned index)
{
    if (sidecar_alive(sc) && index < sc->nslots)
        __atomic_store_n(&sc->shared->slots[index].cancel, 1, __ATOMIC_RELEASE);
}

void sidecar_cancel_handoffs(struct sidecar *sc)
{
    if (!sidecar_alive(sc))
        return;
    for (unsigned i = 0; i + 1 < sc->nslots; i++)
        if (sc->shared->slots[i].op == SC_OP_HANDOFF)
            __atomic_store_n(&sc->shared->slots[i].cancel, 1, __ATOMIC_RELEASE);
}

void sidecar_free(struct sidecar *sc)
{
    if (!sc)
        return;
    if (sc->in_process) {
        sc->cfg.in_process->close(sc->in_process);
        sc->in_process = NULL;
        atomic_store(&sc->state, SIDECAR_QUITTING);
    }
    if (sidecar_alive(sc)) {
        /* An orderly end: the sidecar answers QUIT and exits; its exit is expected. */
        struct sc_slot *slot = &sc->shared->slots[sidecar_control(sc)];
        slot->op = SC_OP_QUIT;
        struct doorbell *d = sc->bells[sidecar_control(sc)];
        struct doorbell tmp;
        if (!d && doorbell_init(&tmp, sc->to_vmm[sidecar_control(sc)],
                                sc->to_sidecar[sidecar_control(sc)], sc->pidfd) == 0)
            d = &tmp;
        atomic_store(&sc->state, SIDECAR_QUITTING);
        if (d) {
            double waited = 0;
            uint64_t seq;
            enum doorbell_result r = post_request(slot, d, &seq);
            while (r == DOORBELL_TIMEOUT && (waited += WAIT_TICK_MS / 1000.0) < QUIT_WAIT_S)
                r = await_reply(slot, d, seq, WAIT_TICK_MS);
            if (d == &tmp)
                doorbell_destroy(&tmp);
        }
        /* An attached sidecar exits by itself and is not ours to wait for. */
        if (sc->child) {
            bool gone = false;
            for (double waited = 0; waited < QUIT_WAIT_S && !gone; waited += 0.01) {
                gone = waitpid(sc->pid, NULL, WNOHANG) == sc->pid;
                if (!gone)
                    usleep(10000);
            }
            if (!gone) {
                hv_error("the sidecar (pid %d) did not exit after QUIT; killing it", (int)sc->pid);
                kill(sc->pid, SIGKILL);
                waitpid(sc->pid, NULL, 0);
            }
        }
    }
    close_fds(sc);
    pthread_mutex_destroy(&sc->death_lock);
    free(sc);
}

/* ---- the requests ------------------------------------------------------------------------ */

/* The answer to the request just made in slot index: 0 (OK), 1 (refused: why), -1 (dead). */
static int answer(struct sidecar *sc, unsigned index, int called, char *why, size_t why_size)
{
    if (called < 0)
        return -1;
    const struct sc_slot *slot = slot_of(sc, index);
    if (slot->status == SC_OK)
        return 0;
    if (why && why_size)
        snprintf(why, why_size, "%.*s", (int)(sizeof slot->message), slot->message);
    return 1;
}

int sidecar_make_symbolic(struct sidecar *sc, unsigned index, const struct sc_paging *pg,
                          const char *name, uint32_t len, const struct sc_extent *extents,
                          uint32_t nextents, char *why, size_t why_size)
{
    if (nextents > SC_MAX_EXTENTS) {
        snprintf(why, why_size, "more than %d extents", SC_MAX_EXTENTS);
        return 1;
    }
    struct sc_slot *slot = slot_of(sc, index);
    slot->op = SC_OP_MAKE_SYMBOLIC;
    slot->vcpu = index;
    slot->cpu.cr0 = pg->cr0;
    slot->cpu.cr3 = pg->cr3;
    slot->cpu.cr4 = pg->cr4;
    slot->cpu.efer = pg->efer;
    slot->cpu.cpl = pg->cpl;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    slot->input_len = len;
    slot->nextents = nextents;
    memcpy(slot->extents, extents, nextents * sizeof *extents);
    return answer(sc, index, call(sc, index, "make_symbolic"), why, why_size);
}

int sidecar_concretise(struct sidecar *sc, unsigned index, uint64_t gpa, uint64_t len, bool pin,
                       char *why, size_t why_size)
{
    struct sc_slot *slot = slot_of(sc, index);
    slot->op = pin ? SC_OP_PIN : SC_OP_CONCRETISE;
    slot->vcpu = index;
    slot->gpa = gpa;
    slot->len = len;
    return answer(sc, index, call(sc, index, pin ? "pinning a page" : "a concrete write"), why,
                  why_size);
}

int sidecar_handoff(struct sidecar *sc, unsigned index, struct sc_cpu *cpu, uint64_t rent_ns,
                    struct sc_handoff_reply *reply)
{
    struct sc_slot *slot = slot_of(sc, index);
    slot->op = SC_OP_HANDOFF;
    slot->vcpu = index;
    slot->cpu = *cpu;
    __atomic_store_n(&slot->checkpoint_seq, 0, __ATOMIC_RELEASE);
    slot->rent_ns = rent_ns;
    if (call(sc, index, "a handoff") < 0)
        return -1;
    *cpu = slot->cpu;
    reply->stop = (enum sc_stop)slot->stop;
    snprintf(reply->stopped_at, sizeof reply->stopped_at, "%.*s", (int)sizeof slot->message,
             slot->stop == SC_STOP_NATIVE ? slot->message : "");
    reply->served_ns = slot->served_ns;
    reply->rented_returns = slot->rented_returns;
    reply->fault_addr = slot->fault_addr;
    reply->fault_error = slot->fault_error & 7u; /* P, W/R, U/S: nothing else */
    return 0;
}

/* a checkpoint torn by a writer that died mid-copy is retried this often */
#define CHECKPOINT_READ_TRIES 100

bool sidecar_checkpoint(struct sidecar *sc, unsigned index, struct sc_cpu *out)
{
    struct sc_slot *slot = slot_of(sc, index);
    for (int tries = 0; tries < CHECKPOINT_READ_TRIES; tries++) {
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

int sidecar_finish(struct sidecar *sc, unsigned index, uint32_t flags, uint64_t budget_ms,
                   struct sc_stats *st, char *why, size_t why_size)
{
    struct sc_slot *slot = slot_of(sc, index);
    slot->op = SC_OP_FINISH;
    slot->input = flags;
    slot->len = budget_ms;
    int rc = call(sc, index, "the final solving");
    if (rc == 0)
        *st = slot->stats;
    return answer(sc, index, rc, why, why_size);
}

int sidecar_results(struct sidecar *sc, unsigned index, uint64_t nresults, uint32_t ninputs,
                    sidecar_result_fn fn, void *ctx)
{
    struct sc_slot *slot = slot_of(sc, index);
    for (uint64_t r = 0; r < nresults; r++) {
        for (uint32_t j = 0; j < ninputs; j++) {
            slot->op = SC_OP_RESULT;
            slot->index = r;
            slot->input = j;
            if (answer(sc, index, call(sc, index, "fetching a generated input"), NULL, 0) != 0)
                return -1;
            struct sc_result res = slot->result;
            if (res.input_len > SC_DATA_MAX)
                res.input_len = SC_DATA_MAX;
            if (!fn(ctx, &res, j, ninputs, data_area(sc)))
                return 0;
        }
    }
    return 0;
}

int sidecar_text(struct sidecar *sc, unsigned index, enum sc_text which, struct text *t)
{
    struct sc_slot *slot = slot_of(sc, index);
    for (uint64_t off = 0;;) {
        slot->op = SC_OP_TEXT;
        slot->index = which;
        slot->gpa = off;
        if (answer(sc, index, call(sc, index, "fetching text"), NULL, 0) != 0)
            return -1;
        uint64_t n = slot->data_len < SC_DATA_MAX ? slot->data_len : SC_DATA_MAX;
        text_append(t, (const char *)data_area(sc), n);
        off += n;
        if (n == 0 || off >= slot->len)
            return 0;
    }
}

int sidecar_reset(struct sidecar *sc, unsigned index)
{
    slot_of(sc, index)->op = SC_OP_RESET;
    return answer(sc, index, call(sc, index, "a reset"), NULL, 0);
}

bool sidecar_reply_pages(struct sidecar *sc, unsigned index, uint64_t *pages, size_t *n)
{
    const struct sc_slot *slot = slot_of(sc, index);
    if (slot->pages_overflow)
        return false;
    *n = slot->npages < SC_MAX_PAGES ? slot->npages : SC_MAX_PAGES;
    memcpy(pages, slot->pages, *n * sizeof *pages);
    return true;
}
