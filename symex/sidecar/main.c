/* symhv-symex: the symbolic sidecar. Started by symhv with the guest RAM memfd, the
 * shared slots and the doorbells on fixed descriptors (include/symhv/sidecar.h); one
 * thread per slot serves requests until symhv says QUIT or goes away. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "doorbell.h"
#include "session.h"
#include "solver.h"
#include "symhv/sidecar.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: symhv-symex --slots N --mem-bytes BYTES --vmm-pid PID [options]\n"
            "       symhv-symex --listen SOCKET [options]\n"
            "\n"
            "The symbolic sidecar of symhv. Normally symhv starts it, with guest RAM on fd\n"
            "%d, the shared slots on fd %d and two eventfd doorbells per slot from fd %d on.\n"
            "With --listen it waits on a unix socket for one symhv run started with\n"
            "--symex-socket SOCKET (e.g. to run the sidecar under a debugger or elsewhere\n"
            "in the process tree), serves it and exits.\n"
            "\n"
            "  --listen SOCKET      wait for symhv to attach (the socket file is created)\n"
            "  --slots N            slots (vCPUs + 1)\n"
            "  --mem-bytes BYTES    guest RAM size\n"
            "  --vmm-pid PID        exit when this process goes away\n"
            "  --solver NAME        " SC_DEFAULT_SOLVER " by default; portfolio (two at once,\n"
            "                       the first answer wins), z3, z3-fresh, cvc5, bitwuzla,\n"
            "                       z3+cvc5, z3+bitwuzla, bitwuzla+cvc5 (those built)\n"
            "  --solver-timeout MS  per solver query (default 10000)\n"
            "  --max-memory MIB     memory this process may use for symbolic state (0: no\n"
            "                       limit); past it symbolic execution stops (the VMM's run\n"
            "                       goes on concretely) and the path so far is still solved\n"
            "  --max-time SEC       interpreter and solver time, likewise (0: no limit)\n"
            "  -h, --help           this text\n"
            "  -V, --version        version\n"
            "It writes no files (but the query corpus below): symhv fetches its results\n"
            "through the shared memory.\n"
            "Environment (for tests and benchmarks): SYMHV_SYMEX_SOLVER=NAME as --solver\n"
            "(symhv starts this program); SYMHV_SYMEX_NO_SLICING=1 sends flip\n"
            "queries with the whole path prefix instead of the constraints that share input\n"
            "bytes with the flipped one; SYMHV_SYMEX_NO_PRUNING=1 keeps every occurrence\n"
            "of a hot branch (else past 64 on a path only the powers of two count);\n"
            "SYMHV_SYMEX_NO_CONTEXT=1 keys branch sides without their callers;\n"
            "SYMHV_SYMEX_NO_OPTIMISTIC=1 does not ask an unsat flip again alone;\n"
            "SYMHV_SYMEX_FIRST_TIMEOUT_MS=N asks every flip first with an N ms timeout and\n"
            "the ones it cuts short after them with the full one (default 0: one pass);\n"
            "SYMHV_SYMEX_SELECT_CHAIN=1 reads through a symbolic index as a chain of address\n"
            "compares (else a tree on the index's bits);\n"
            "SYMHV_SYMEX_QUERY_DIR=DIR writes every query sent to the solver there as SMT-LIB\n"
            "(DIR/pPID-sSESSION-rROUND/rREQUEST-qN.smt2; symhv-solve runs them), at most\n"
            "SYMHV_SYMEX_QUERY_MAX (default 20000) or 4 GiB a session;\n"
            "SYMHV_SYMEX_CRASH_AFTER=N aborts after N\n"
            "interpreted instructions.\n",
            SC_FD_GUEST_MEM, SC_FD_SHARED, SC_FD_DOORBELLS);
}

/* The process ends from whichever serving thread learns it should first; exit() is
 * not safe to run on two threads at once (its handlers would run twice), and nothing
 * needs flushing (stderr is unbuffered, files are closed after each write). */
static void end_process(int status)
{
    static int ending; /* atomic */
    if (__atomic_exchange_n(&ending, 1, __ATOMIC_SEQ_CST))
        for (;;)
            pause(); /* another thread is ending the process */
    _exit(status);
}

/* Ends the process when symhv does, even while every serving thread is deep in a solver
 * call (the serving threads notice only between requests). */
static void *watch_vmm(void *arg)
{
    struct pollfd p = { .fd = *(int *)arg, .events = POLLIN };
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
    end_process(0);
    return NULL;
}

struct server {
    struct session *session;
    struct sc_shared *shared;
    unsigned index;
    int vmm_pidfd;
};

static void *serve(void *arg)
{
    struct server *sv = arg;
    struct sc_slot *slot = &sv->shared->slots[sv->index];
    struct doorbell bell;
    int rc = doorbell_init(&bell, SC_FD_DOORBELLS + 2 * (int)sv->index,
                           SC_FD_DOORBELLS + 2 * (int)sv->index + 1, sv->vmm_pidfd);
    if (rc < 0) {
        fprintf(stderr, "symhv-symex: io_uring setup for slot %u failed: %s\n", sv->index,
                strerror(-rc));
        end_process(1);
    }
    /* the last request answered: one the VMM posted before this thread ran is served */
    uint64_t last = __atomic_load_n(&slot->rep_seq, __ATOMIC_ACQUIRE);
    for (;;) {
        /* the next request (sidecar.h); a ring with none is a spare one */
        while (__atomic_load_n(&slot->req_seq, __ATOMIC_ACQUIRE) == last) {
            enum doorbell_result r = doorbell_wait(&bell, -1);
            if (r == DOORBELL_PEER_GONE)
                end_process(0); /* symhv is gone: nobody to serve */
            if (r != DOORBELL_RUNG) {
                fprintf(stderr, "symhv-symex: doorbell of slot %u failed: %s\n", sv->index,
                        strerror(errno));
                end_process(1);
            }
        }
        last = __atomic_load_n(&slot->req_seq, __ATOMIC_ACQUIRE);
        uint64_t t0 = now_ns();
        session_handle(sv->session, slot);
        slot->served_ns = now_ns() - t0;
        __atomic_store_n(&slot->rep_seq, last, __ATOMIC_RELEASE);
        if (doorbell_ring(&bell) < 0) {
            fprintf(stderr, "symhv-symex: doorbell of slot %u failed: %s\n", sv->index,
                    strerror(errno));
            end_process(1);
        }
        if (slot->op == SC_OP_QUIT)
            end_process(0); /* answered; the process ends */
    }
    return NULL;
}

/* --listen: accept one symhv, take its descriptors and parameters (sidecar.h). Fills
 * the run's parameters; the descriptors end up on the SC_FD_* numbers. */
static int accept_vmm(const char *path, unsigned long long *slots, unsigned long long *mem_bytes,
                      unsigned long long *vmm_pid, struct session_config *cfg)
{
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "symhv-symex: socket path too long: %s\n", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    unlink(path);
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1) < 0) {
        fprintf(stderr, "symhv-symex: cannot listen on %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(stderr, "symhv-symex: waiting for symhv on %s\n", path);
    int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    close(ls);
    unlink(path);
    if (s < 0) {
        fprintf(stderr, "symhv-symex: accept on %s failed: %s\n", path, strerror(errno));
        return -1;
    }
    struct sc_attach msg;
    enum { MAX_FDS = 2 + 2 * (SYMHV_MAX_VCPUS + 1) };
    union {
        char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { &msg, sizeof msg };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(s, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
    struct ucred peer;
    socklen_t plen = sizeof peer;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (n != (ssize_t)sizeof msg || msg.magic != SC_MAGIC || msg.version != SC_VERSION || !cm ||
        cm->cmsg_type != SCM_RIGHTS || getsockopt(s, SOL_SOCKET, SO_PEERCRED, &peer, &plen) < 0) {
        fprintf(stderr, "symhv-symex: the peer on %s is not a matching symhv (protocol %u)\n",
                path, SC_VERSION);
        return -1;
    }
    size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[MAX_FDS];
    memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
    close(s); /* before the dup2s below: it may sit on one of the SC_FD_* numbers */
    if (msg.nslots == 0 || msg.nslots > SYMHV_MAX_VCPUS + 1 || nfds != 2 + 2 * (size_t)msg.nslots) {
        fprintf(stderr, "symhv-symex: symhv sent %zu descriptors for %u slots\n", nfds, msg.nslots);
        return -1;
    }
    /* move them above the targets first (just above: F_DUPFD refuses a minimum at or past
     * RLIMIT_NOFILE, 1024 by default), then onto SC_FD_GUEST_MEM, ... */
    for (size_t i = 0; i < nfds; i++) {
        int high = fcntl(fds[i], F_DUPFD, SC_FD_GUEST_MEM + (int)nfds);
        close(fds[i]);
        fds[i] = high;
    }
    for (size_t i = 0; i < nfds; i++) {
        if (fds[i] < 0 || dup2(fds[i], SC_FD_GUEST_MEM + (int)i) < 0) {
            fprintf(stderr, "symhv-symex: cannot place descriptor %zu: %s\n", i, strerror(errno));
            return -1;
        }
        close(fds[i]);
    }
    *slots = msg.nslots;
    *mem_bytes = msg.mem_bytes;
    *vmm_pid = (unsigned long long)peer.pid;
    cfg->solver_timeout_ms = msg.solver_timeout_ms;
    cfg->max_memory_bytes = msg.max_memory_bytes;
    cfg->max_seconds = msg.max_seconds >= 0 ? msg.max_seconds : 0;
    fprintf(stderr, "symhv-symex: serving symhv pid %d (%u slots)\n", (int)peer.pid, msg.nslots);
    return 0;
}

static unsigned long long parse_number(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || end == s) {
        fprintf(stderr, "symhv-symex: %s: not a number: '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

/* Keep the memory malloc gets: returning it (munmap, or trimming a thread's heap)
 * makes the kernel interrupt every other thread of the process to flush its TLB, and
 * the memory is faulted in again at the next handoff. With two vCPUs interpreting at
 * once that cost more than the interpretation: both ran slower than one alone
 * (bench_interp --parallel shows it; README: Benchmarks). The
 * resident size stays near its peak, which --max-memory already bounds. */
static void keep_freed_memory(void)
{
#ifdef __SANITIZE_ADDRESS__
    return; /* ASan's allocator has no such settings (mallopt fails) */
#endif
    if (!mallopt(M_MMAP_THRESHOLD, 32 << 20) || !mallopt(M_TRIM_THRESHOLD, INT_MAX) ||
        !mallopt(M_TOP_PAD, 16 << 20))
        fprintf(stderr, "symhv-symex: warning: mallopt failed; interpretation on several "
                        "vCPUs at once may be slower\n");
}

int main(int argc, char **argv)
{
    enum { OPT_SLOTS = 256, OPT_MEM, OPT_PID, OPT_SOLVER, OPT_TIMEOUT, OPT_LISTEN, OPT_MAX_MEM,
           OPT_MAX_TIME };
    static const struct option longopts[] = {
        { "slots", required_argument, NULL, OPT_SLOTS },
        { "mem-bytes", required_argument, NULL, OPT_MEM },
        { "vmm-pid", required_argument, NULL, OPT_PID },
        { "max-memory", required_argument, NULL, OPT_MAX_MEM },
        { "max-time", required_argument, NULL, OPT_MAX_TIME },
        { "solver", required_argument, NULL, OPT_SOLVER },
        { "solver-timeout", required_argument, NULL, OPT_TIMEOUT },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    unsigned long long slots = 0, mem_bytes = 0, vmm_pid = 0;
    struct session_config cfg = { .solver = SC_DEFAULT_SOLVER, .solver_timeout_ms = 10000 };
    const char *listen_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SLOTS: slots = parse_number("--slots", optarg); break;
        case OPT_MEM: mem_bytes = parse_number("--mem-bytes", optarg); break;
        case OPT_PID: vmm_pid = parse_number("--vmm-pid", optarg); break;
        case OPT_MAX_MEM: cfg.max_memory_bytes = parse_number("--max-memory", optarg) << 20; break;
        case OPT_MAX_TIME: {
            char *end;
            cfg.max_seconds = strtod(optarg, &end);
            if (*end || end == optarg || !(cfg.max_seconds >= 0)) {
                fprintf(stderr, "symhv-symex: --max-time: not a number of seconds: '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_SOLVER: cfg.solver = optarg; break;
        case OPT_TIMEOUT: cfg.solver_timeout_ms = (unsigned)parse_number("--solver-timeout", optarg); break;
        case OPT_LISTEN: listen_path = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("symhv-symex %s\n", SYMHV_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (listen_path && optind == argc &&
        accept_vmm(listen_path, &slots, &mem_bytes, &vmm_pid, &cfg) < 0)
        return 1;
    if (optind < argc || slots == 0 || slots > SYMHV_MAX_VCPUS + 1 || mem_bytes == 0 || !vmm_pid) {
        fprintf(stderr, "symhv-symex: --slots (1..%d), --mem-bytes and --vmm-pid are required; "
                "symhv starts this program itself (see --help)\n", SYMHV_MAX_VCPUS + 1);
        return 2;
    }
    /* Every thread's wait also watches symhv itself: it exits when symhv does (not
     * PR_SET_PDEATHSIG, which fires when the *thread* that started us ends). */
    int vmm_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)vmm_pid, 0);
    if (vmm_pidfd < 0) {
        fprintf(stderr, "symhv-symex: the VMM (pid %llu) is gone: %s\n", vmm_pid, strerror(errno));
        return 1;
    }
    const char *crash = getenv("SYMHV_SYMEX_CRASH_AFTER");
    cfg.crash_after = crash ? parse_number("SYMHV_SYMEX_CRASH_AFTER", crash) : 0;
    const char *solver = getenv("SYMHV_SYMEX_SOLVER"); /* symhv starts us: for benchmarks */
    if (solver && *solver)
        cfg.solver = solver;
    const char *chain = getenv("SYMHV_SYMEX_SELECT_CHAIN"); /* for scripts/bench-explore */
    cfg.select_chain = chain && strcmp(chain, "0") != 0;
    const char *query_dir = getenv("SYMHV_SYMEX_QUERY_DIR"); /* the query corpus */
    if (query_dir && *query_dir) {
        struct stat qst;
        if (stat(query_dir, &qst) != 0 || !S_ISDIR(qst.st_mode)) {
            fprintf(stderr, "symhv-symex: SYMHV_SYMEX_QUERY_DIR=%s is not a directory\n",
                    query_dir);
            return 1;
        }
        cfg.query_dir = query_dir;
        const char *max = getenv("SYMHV_SYMEX_QUERY_MAX");
        cfg.query_max = max && *max ? parse_number("SYMHV_SYMEX_QUERY_MAX", max) : 20000;
    }
    const char *no_slicing = getenv("SYMHV_SYMEX_NO_SLICING"); /* for scripts/bench-explore */
    cfg.no_slicing = no_slicing && strcmp(no_slicing, "0") != 0;
    const char *no_pruning = getenv("SYMHV_SYMEX_NO_PRUNING"); /* likewise */
    cfg.no_pruning = no_pruning && strcmp(no_pruning, "0") != 0;
    const char *no_context = getenv("SYMHV_SYMEX_NO_CONTEXT"); /* likewise */
    cfg.no_context = no_context && strcmp(no_context, "0") != 0;
    const char *no_optimistic = getenv("SYMHV_SYMEX_NO_OPTIMISTIC"); /* likewise */
    cfg.no_optimistic = no_optimistic && strcmp(no_optimistic, "0") != 0;
    const char *first = getenv("SYMHV_SYMEX_FIRST_TIMEOUT_MS"); /* likewise */
    cfg.first_timeout_ms = first && *first
                               ? (unsigned)parse_number("SYMHV_SYMEX_FIRST_TIMEOUT_MS", first)
                               : SESSION_FIRST_TIMEOUT_MS;

    struct stat sb;
    if (fstat(SC_FD_SHARED, &sb) < 0 || fstat(SC_FD_GUEST_MEM, &sb) < 0) {
        fprintf(stderr, "symhv-symex: fds %d and %d must be the shared memfds: %s\n",
                SC_FD_GUEST_MEM, SC_FD_SHARED, strerror(errno));
        return 1;
    }
    size_t shared_size = sc_shared_size((uint32_t)slots, mem_bytes);
    cfg.ram = mmap(NULL, mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, SC_FD_GUEST_MEM, 0);
    cfg.shared = mmap(NULL, shared_size, PROT_READ | PROT_WRITE, MAP_SHARED, SC_FD_SHARED, 0);
    if (cfg.ram == MAP_FAILED || cfg.shared == MAP_FAILED) {
        fprintf(stderr, "symhv-symex: mapping guest RAM / slots failed: %s\n", strerror(errno));
        return 1;
    }
    cfg.ram_bytes = mem_bytes;
    if (cfg.shared->magic != SC_MAGIC || cfg.shared->version != SC_VERSION ||
        cfg.shared->nslots != slots || cfg.shared->mem_bytes != mem_bytes) {
        fprintf(stderr, "symhv-symex: the shared slots do not match (protocol %u, expected %u)\n",
                cfg.shared->version, SC_VERSION);
        return 1;
    }
    if (cfg.max_memory_bytes) /* Z3 answers "unknown" rather than outgrow the limit */
        sx_solver_set_memory_limit(cfg.max_memory_bytes);
    keep_freed_memory();
    struct session *session = session_create(&cfg);
    if (!session) {
        fprintf(stderr, "symhv-symex: out of memory\n");
        return 1;
    }
    struct server *servers = calloc(slots, sizeof *servers);
    pthread_t *threads = calloc(slots, sizeof *threads);
    if (!servers || !threads)
        return 1;
    for (unsigned i = 0; i < slots; i++) {
        servers[i] = (struct server){ session, cfg.shared, i, vmm_pidfd };
        if (pthread_create(&threads[i], NULL, serve, &servers[i]) != 0) {
            fprintf(stderr, "symhv-symex: cannot start thread %u\n", i);
            return 1;
        }
    }
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, watch_vmm, &vmm_pidfd) != 0) {
        fprintf(stderr, "symhv-symex: cannot start the thread that watches symhv\n");
        return 1;
    }
    __atomic_store_n(&cfg.shared->ready, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < slots; i++)
        pthread_join(threads[i], NULL);
    return 0;
}
