#include "native_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define INT3 0xcc
#define ARM_CHUNK (64u << 10) /* blocks armed with one read and one write of this span */
#define MAX_FOREIGN 64        /* processes that exec'd another image: not ours to patch */

enum { BLOCK_UNREAD = 0, BLOCK_ARMABLE, BLOCK_NEVER };

static int open_mem(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)tid);
    return open(path, O_RDWR | O_CLOEXEC);
}

/* Where the kernel put the program: AT_ENTRY (the entry point as loaded) less the ELF's
 * own; 0 for a program at its link address. */
static uint64_t load_bias(const struct native_blocks *b, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t aux[2], bias = 0;
    while (fd >= 0 && read(fd, aux, sizeof aux) == (ssize_t)sizeof aux && aux[0] != AT_NULL)
        if (aux[0] == AT_ENTRY)
            bias = aux[1] - b->entry;
    if (fd >= 0)
        close(fd);
    return bias;
}

/* An int3 at every block no run reached yet, in the freshly exec'd process `pid` (its
 * blocks `bias` bytes from the ELF's addresses). */
static void arm(struct native_blocks *b, pid_t pid, uint64_t bias)
{
    int fd = open_mem(pid);
    if (fd < 0)
        return;
    uint8_t *buf = malloc(ARM_CHUNK);
    for (size_t i = 0; buf && i < b->n;) {
        if (b->hit[i] || b->state[i] == BLOCK_NEVER) {
            i++;
            continue;
        }
        uint64_t lo = b->addr[i] + bias;
        size_t j = i;
        while (j < b->n && b->addr[j] + bias - lo < ARM_CHUNK)
            j++;
        size_t len = (size_t)(b->addr[j - 1] + bias - lo + 1);
        bool whole = pread(fd, buf, len, (off_t)lo) == (ssize_t)len;
        for (size_t k = i; k < j; k++) {
            if (b->hit[k] || b->state[k] == BLOCK_NEVER)
                continue;
            uint8_t *at = &buf[b->addr[k] + bias - lo];
            if (!whole && pread(fd, at, 1, (off_t)(b->addr[k] + bias)) != 1) {
                b->state[k] = BLOCK_NEVER; /* not mapped: the file's sweep saw more */
                continue;
            }
            if (b->state[k] == BLOCK_UNREAD) {
                b->state[k] = *at == INT3 ? BLOCK_NEVER : BLOCK_ARMABLE; /* the program's own */
                b->orig[k] = *at;
            }
            if (b->state[k] != BLOCK_ARMABLE)
                continue;
            *at = INT3;
            if (!whole && pwrite(fd, at, 1, (off_t)(b->addr[k] + bias)) != 1)
                b->state[k] = BLOCK_NEVER;
        }
        if (whole && pwrite(fd, buf, len, (off_t)lo) != (ssize_t)len)
            for (size_t k = i; k < j; k++) /* nothing armed there: no hit will come */
                b->state[k] = BLOCK_NEVER;
        i = j;
    }
    free(buf);
    close(fd);
}

/* A SIGTRAP stop of thread tid: one of our int3s? Then its byte goes back (in tid's
 * process: a forked child has its own copy), tid runs the instruction, and the block
 * counts. False: the program's own trap, delivered. */
static bool take_hit(struct native_blocks *b, uint64_t bias, pid_t tid,
                     struct native_result *res)
{
    siginfo_t si;
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0 || si.si_code != SI_KERNEL ||
        ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
        return false;
    uint64_t pc = regs.rip - 1, at = pc - bias; /* at: the ELF's address */
    size_t lo = lower_bound_u64(b->addr, b->n, at);
    if (lo == b->n || b->addr[lo] != at || b->state[lo] != BLOCK_ARMABLE)
        return false;
    /* The byte is ours to put back if it is our int3; if it is the program's byte
     * already, another thread of the process hit the same int3 a moment earlier and
     * put it back (the program's own int3s are never armed: BLOCK_NEVER). */
    int fd = open_mem(tid);
    uint8_t now = 0;
    bool ours = fd >= 0 && pread(fd, &now, 1, (off_t)pc) == 1 &&
                (now == b->orig[lo] ||
                 (now == INT3 && pwrite(fd, &b->orig[lo], 1, (off_t)pc) == 1));
    if (fd >= 0)
        close(fd);
    if (!ours)
        return false;
    regs.rip = pc;
    if (ptrace(PTRACE_SETREGS, tid, NULL, &regs) < 0)
        return false;
    if (!b->hit[lo]) {
        b->hit[lo] = 1;
        res->new_blocks++;
    }
    return true;
}

static bool is_foreign(const pid_t *foreign, unsigned n, pid_t pid)
{
    for (unsigned k = 0; k < n; k++)
        if (foreign[k] == pid)
            return true;
    return false;
}

/* The child's side: its own process group (the time limit kills the group), its stdio,
 * its environment, traced from its exec on; an errno down `report` if it fails. */
static void start_child(const struct native_run *r, const sigset_t *mask, int report)
{
    int err = 0;
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, mask, NULL);
    int in = open(r->stdin_path ? r->stdin_path : "/dev/null", O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        err = errno ? errno : EIO;
    if (in > 2)
        close(in);
    if (out > 2)
        close(out);
    for (size_t k = 0; !err && k < r->nenv_add; k++)
        if (putenv(r->env_add[k]) != 0)
            err = errno;
    if (!err && r->blocks && ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
        err = -errno; /* negative: ptrace's own */
    if (!err) {
        execv(r->program, r->argv);
        err = errno;
    }
    if (write(report, &err, sizeof err) != (ssize_t)sizeof err)
        _exit(126);
    _exit(127);
}

/* The run's process group, for on_signal: set around each run by the one thread that
 * runs programs (symhv cov is single-threaded), read by the handler. */
static volatile sig_atomic_t running_group;
static char cleanup_paths[NATIVE_MAX_CLEANUP][PATH_MAX]; /* set before the handlers */
static unsigned ncleanup;

/* SIGINT, SIGTERM, SIGHUP while programs run: the program's group goes, the files named
 * for cleanup go, then the signal's own end. Async-signal-safe calls only. */
static void on_signal(int sig)
{
    if (running_group > 0)
        kill(-(pid_t)running_group, SIGKILL);
    for (unsigned k = 0; k < ncleanup; k++) {
        unlink(cleanup_paths[k]);
        rmdir(cleanup_paths[k]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int native_cleanup_on_signal(const char *const *paths, size_t n)
{
    if (n > NATIVE_MAX_CLEANUP)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (snprintf(cleanup_paths[k], PATH_MAX, "%s", paths[k]) >= PATH_MAX)
            return -1;
    ncleanup = (unsigned)n;
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGINT, &sa, NULL) | sigaction(SIGTERM, &sa, NULL) |
           sigaction(SIGHUP, &sa, NULL);
}

/* Every child of this process, killed (their /proc stat's parent is us). With this
 * process a child subreaper, a program's orphans are its children too: a daemon that
 * left the program's group goes as well. */
static unsigned kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    unsigned killed = 0;
    pid_t self = getpid();
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[64], stat[512];
        if (snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name) >= (int)sizeof path)
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (n <= 0)
            continue;
        stat[n] = 0;
        const char *paren = strrchr(stat, ')'); /* the name may hold spaces and parens */
        int ppid = 0;
        char state;
        if (paren && sscanf(paren + 1, " %c %d", &state, &ppid) == 2 && ppid == self) {
            kill((pid_t)atoi(e->d_name), SIGKILL);
            killed++;
        }
    }
    closedir(d);
    return killed;
}

int native_run(const struct native_run *r, struct native_result *res, char *why,
               size_t why_size)
{
    *res = (struct native_result){ 0 };
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0)
        return err_printf(why, why_size, "pipe: %s", strerror(errno));
    /* SIGCHLD is waited for with a timeout (sigtimedwait) rather than handled: no
     * handler, no state shared with one */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* the program's orphans come here to be ended */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(report[0]), close(report[1]);
        return err_printf(why, why_size, "fork: %s", strerror(e));
    }
    if (pid == 0)
        start_child(r, &old, report[1]);
    setpgid(pid, pid); /* as the child does: whichever runs first */
    running_group = pid;
    close(report[1]);
    int child_err = 0;
    ssize_t got = read(report[0], &child_err, sizeof child_err); /* EOF: exec'd */
    close(report[0]);
    if (got == (ssize_t)sizeof child_err) {
        waitpid(pid, NULL, __WALL);
        running_group = 0;
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (child_err < 0)
            return err_printf(why, why_size, "ptrace is not allowed here (%s): the blocks "
                              "cannot be watched; --no-blocks runs the test cases plainly",
                              strerror(-child_err));
        return err_printf(why, why_size, "%s: %s", r->program, strerror(child_err));
    }

    struct native_blocks *b = r->blocks;
    pid_t foreign[MAX_FOREIGN];
    unsigned nforeign = 0;
    bool main_done = false, first_stop = b != NULL;
    uint64_t bias = 0;
    double deadline = now_s() + r->timeout_s;
    /* The run ends when the program's first process has ended and no process of it is
     * left: at the time limit, or once that process is gone, the group and every child
     * of ours is killed, again each time nothing else happens. */
    bool ending = false;
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, __WALL | WNOHANG);
        if (w < 0 && errno == ECHILD)
            break;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            do {
                kill(-pid, SIGKILL);
                kill_children();
            } while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR);
            running_group = 0;
            sigprocmask(SIG_SETMASK, &old, NULL);
            return err_printf(why, why_size, "waitpid: %s", strerror(e));
        }
        if (w == 0) { /* nothing yet: wait for a SIGCHLD, up to the deadline */
            double left = deadline - now_s();
            if (left <= 0 && !ending) {
                res->timed_out = true;
                ending = true;
            }
            if (ending) { /* what is left: killed, and looked at again shortly */
                kill(-pid, SIGKILL);
                if (!main_done)
                    kill(pid, SIGKILL); /* it may have left its group */
                kill_children();
                left = 0.05;
            }
            struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
            sigtimedwait(&chld, NULL, &ts);
            continue;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (w == pid) {
                res->status = st;
                main_done = ending = true; /* what it started ends with it */
                kill(-pid, SIGKILL);
            }
            continue;
        }
        if (!WIFSTOPPED(st))
            continue;
        int sig = WSTOPSIG(st), event = st >> 16, deliver = 0;
        if (first_stop && w == pid) { /* the exec stop: the image is the program */
            first_stop = false;
            ptrace(PTRACE_SETOPTIONS, pid, NULL,
                   (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
                                  PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC |
                                  PTRACE_O_EXITKILL));
            bias = load_bias(b, pid);
            arm(b, pid, bias);
        } else if (event == PTRACE_EVENT_EXEC) {
            if (nforeign < MAX_FOREIGN) /* another image: its bytes are not ours */
                foreign[nforeign++] = w;
        } else if (event) {
            /* clone, fork: the new tracee starts with a SIGSTOP of its own */
        } else if (sig == SIGTRAP) {
            if (!b || is_foreign(foreign, nforeign, w) || !take_hit(b, bias, w, res))
                deliver = SIGTRAP;
        } else if (sig != SIGSTOP) {
            deliver = sig;
        }
        ptrace(PTRACE_CONT, w, NULL, (void *)(long)deliver);
    }
    running_group = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (!main_done)
        return err_printf(why, why_size, "%s: its end was not seen", r->program);
    return 0;
}
