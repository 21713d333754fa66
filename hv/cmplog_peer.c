#include "cmplog_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "symhv/abi.h"
#include "util.h"

enum { MSG_HELLO = 0x6f6c6c68, MSG_INPUT = 0x75706e69, MSG_LOG = 0x676f6c63 };

struct msg_header {
    uint32_t type, count;
};

/* ---- whole messages over the socket ---------------------------------------------------- */

enum { IO_OK = 0, IO_END = 1, IO_ERROR = -1, IO_LATE = -2, IO_STOP = -3 };

/* SIGINT or SIGTERM is waiting (both are blocked: symhv's main loop takes them): a wait
 * for the other side ends for it, and the main loop then stops the run. */
static bool stop_signal_pending(void)
{
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

/* fd ready for `events` by `deadline` (now_s(); 0: none), looking for a stop signal
 * every 100 ms. IO_OK, IO_LATE, IO_STOP or IO_ERROR. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        if (stop_signal_pending())
            return IO_STOP;
        int slice_ms = 100;
        if (deadline) {
            double left = deadline - now_s();
            if (left <= 0)
                return IO_LATE;
            if (left * 1000 < slice_ms)
                slice_ms = (int)(left * 1000) + 1;
        }
        struct pollfd pfd = { .fd = fd, .events = events };
        int r = poll(&pfd, 1, slice_ms);
        if (r < 0 && errno != EINTR)
            return IO_ERROR;
        if (r > 0)
            return IO_OK; /* readable, writable, or hung up: the call after says which */
    }
}

/* len bytes out by `deadline`. IO_OK, IO_LATE, IO_STOP, or IO_ERROR (errno: EPIPE when
 * the other side is gone). */
static int send_all(int fd, const void *buf, size_t len, double deadline)
{
    const uint8_t *p = buf;
    while (len) {
        int w = wait_fd(fd, POLLOUT, deadline);
        if (w != IO_OK)
            return w;
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT); /* gone: EPIPE, no signal */
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0)
            return IO_ERROR;
        p += n;
        len -= (size_t)n;
    }
    return IO_OK;
}

/* len bytes in by `deadline`. IO_OK; IO_END at the end of the stream before any byte;
 * IO_ERROR on an error or a stream cut short; IO_LATE; IO_STOP. */
static int recv_all(int fd, void *buf, size_t len, double deadline)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        int w = wait_fd(fd, POLLIN, deadline);
        if (w != IO_OK)
            return w;
        ssize_t n = recv(fd, p + got, len - got, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            return IO_ERROR;
        if (n == 0)
            return got ? IO_ERROR : IO_END;
        got += (size_t)n;
    }
    return IO_OK;
}

/* Why the peer is given up on; NULL for a stop signal (the run ends: nothing to say). */
static const char *io_failure(int rc, const char *what)
{
    return rc == IO_LATE ? "did not answer in time" : rc == IO_STOP ? NULL
         : rc == IO_END ? "ended" : what;
}

/* ---- the campaign's side --------------------------------------------------------------- */

int cmplog_peer_fork(struct cmplog_peer *p, const char *program, int *peer_fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        hv_error_errno("fuzz -c: cannot make the socket to the CMPLOG peer");
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        hv_error_errno("fuzz -c: cannot fork the CMPLOG peer");
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        /* it ends with the campaign: its socket closes, or (a campaign killed) it is killed;
         * a ^C goes to the campaign's process group only, which then ends it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        setpgid(0, 0);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) { /* the program's start-up output is the campaign's to show */
            dup2(null, STDOUT_FILENO);
            close(null);
        }
        hv_log_set_who("cmplog peer: ");
        *peer_fd = sv[1];
        return 0;
    }
    close(sv[1]);
    *p = (struct cmplog_peer){ .fd = sv[0], .pid = pid, .program = program };
    return 1;
}

/* The peer is killed and reaped; why (NULL: nothing) is said. */
static void give_up(struct cmplog_peer *p, const char *why)
{
    if (why)
        hv_error("fuzz -c: the CMPLOG peer (%s) %s; input-to-state goes on without it",
                 p->program, why);
    p->gone = true;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = -1;
}

/* Executions in a row without a comparison that make a CMPLOG build unlikely. */
#define SILENT_ANSWERS 4

static void say_if_silent(struct cmplog_peer *p)
{
    if (p->silence_noted || p->logged || !p->answers || p->gone)
        return;
    p->silence_noted = true;
    hv_notice("fuzz -c %s: its %u executions so far logged no comparison: is it built with "
              "AFL_LLVM_CMPLOG=1 (afl-clang-fast)? an AFL++ build without it attaches the map "
              "and never writes it", p->program, p->answers);
}

long cmplog_peer_ask(struct cmplog_peer *p, const uint8_t *input, uint32_t len,
                     double timeout_s, struct fz_compare *out, size_t cap)
{
    if (p->gone)
        return CMPLOG_PEER_GONE;
    double deadline = now_s() + timeout_s + (p->ready ? 0 : CMPLOG_PEER_START_S);
    struct msg_header h;
    int rc;
    if (!p->ready) {
        if ((rc = recv_all(p->fd, &h, sizeof h, deadline)) == IO_STOP) {
            give_up(p, io_failure(rc, ""));
            return CMPLOG_PEER_GONE;
        }
        if (rc != IO_OK || h.type != MSG_HELLO) {
            hv_error("fuzz -c %s: the CMPLOG peer %s (its messages are above)", p->program,
                     rc == IO_LATE ? "did not reach its snapshot in time"
                     : rc == IO_OK ? "sent a malformed first message" : "ended before its snapshot");
            give_up(p, NULL); /* said above */
            return CMPLOG_PEER_NO_START;
        }
        p->ready = true;
        if (h.count != 1) {
            hv_error("fuzz -c %s: the program attached no CMPLOG map (__AFL_CMPLOG_SHM_ID): "
                     "it is no AFL++ build; build it with AFL_LLVM_CMPLOG=1 afl-clang-fast "
                     "-static (or -c 0 when the target itself is that build)", p->program);
            p->gone = true;
            return CMPLOG_PEER_NO_START;
        }
        hv_notice("fuzz: -c: %s runs in a second symhv process (pid %d, a VM of its own): "
                  "input-to-state from its compare map", p->program, (int)p->pid);
    }
    h = (struct msg_header){ MSG_INPUT, len };
    if ((rc = send_all(p->fd, &h, sizeof h, deadline)) != IO_OK ||
        (rc = send_all(p->fd, input, len, deadline)) != IO_OK) {
        give_up(p, io_failure(rc, "ended"));
        return CMPLOG_PEER_GONE;
    }
    if ((rc = recv_all(p->fd, &h, sizeof h, deadline)) != IO_OK || h.type != MSG_LOG ||
        h.count > CMPLOG_PEER_MAX_COMPARES) {
        give_up(p, io_failure(rc, rc == IO_OK ? "sent a malformed message" : "ended"));
        return CMPLOG_PEER_GONE;
    }
    size_t keep = h.count < cap ? h.count : cap;
    if (keep && (rc = recv_all(p->fd, out, keep * sizeof *out, deadline)) != IO_OK) {
        give_up(p, io_failure(rc, "ended in the middle of a message"));
        return CMPLOG_PEER_GONE;
    }
    for (size_t i = keep; i < h.count; i++) { /* past the caller's room: read, dropped */
        struct fz_compare skip;
        if ((rc = recv_all(p->fd, &skip, sizeof skip, deadline)) != IO_OK) {
            give_up(p, io_failure(rc, "ended in the middle of a message"));
            return CMPLOG_PEER_GONE;
        }
    }
    p->answers++;
    p->logged += h.count > 0;
    if (p->answers == SILENT_ANSWERS)
        say_if_silent(p);
    return (long)keep;
}

void cmplog_peer_end(struct cmplog_peer *p)
{
    if (p->fd < 0)
        return;
    say_if_silent(p);
    close(p->fd);
    p->fd = -1;
    if (p->pid < 0)
        return; /* given up on and reaped */
    /* it stops its VM when the socket closes: a second at most, then it is killed */
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(p->pid, NULL, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD))
            return;
        usleep(10 * 1000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
}

/* ---- the peer's side ---------------------------------------------------------------------- */

/* A write to the campaign failed: said, unless the campaign is simply gone (it ended). */
static int write_failed(int rc)
{
    if (rc == IO_ERROR && errno != EPIPE && errno != ECONNRESET)
        hv_error_errno("cannot write to the campaign");
    return -1;
}

int cmplog_peer_hello(int fd, bool have_map)
{
    struct msg_header h = { MSG_HELLO, have_map };
    int rc = send_all(fd, &h, sizeof h, 0);
    return rc == IO_OK ? 0 : write_failed(rc);
}

int cmplog_peer_take_input(int fd, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    struct msg_header h;
    int rc = recv_all(fd, &h, sizeof h, 0);
    if (rc == IO_END || rc == IO_STOP)
        return 0;
    /* longer than this program's buffer: its first cap bytes, as a seed is cut */
    uint32_t keep = rc == IO_OK && h.count > cap ? cap : h.count;
    if (rc != IO_OK || h.type != MSG_INPUT || (keep && recv_all(fd, buf, keep, 0) != IO_OK)) {
        hv_error("a malformed input message from the campaign");
        return -1;
    }
    for (uint32_t left = h.count - keep; left;) {
        uint8_t skip[4096];
        uint32_t n = left < sizeof skip ? left : (uint32_t)sizeof skip;
        if (recv_all(fd, skip, n, 0) != IO_OK) {
            hv_error("a malformed input message from the campaign");
            return -1;
        }
        left -= n;
    }
    *len = keep;
    return 1;
}

int cmplog_peer_send_log(int fd, const struct guest_as *as, uint64_t gva, uint64_t *headers,
                         struct fz_compare *scratch)
{
    static const uint64_t slots_at = SYMHV_AFL_CMP_MAP_W * 8ull;
    uint32_t n = 0;
    bool cut = false;
    /* a map the program unmapped or never wrote reads as no comparison */
    if (guest_read(as, gva, headers, SYMHV_AFL_CMP_MAP_W * 8ull) < 0)
        memset(headers, 0, SYMHV_AFL_CMP_MAP_W * 8ull);
    for (uint32_t k = 0; k < SYMHV_AFL_CMP_MAP_W && !cut; k++) {
        size_t nslots = fz_afl_cmp_key_slots(headers[k]);
        if (!nslots)
            continue;
        uint8_t slots[FZ_AFL_CMP_KEY_BYTES];
        if (guest_read(as, gva + slots_at + (uint64_t)k * FZ_AFL_CMP_KEY_BYTES, slots,
                       nslots * SYMHV_AFL_CMP_SLOT) < 0)
            continue;
        n += (uint32_t)fz_afl_cmp_key(headers[k], slots, scratch + n,
                                      CMPLOG_PEER_MAX_COMPARES - n);
        cut = n == CMPLOG_PEER_MAX_COMPARES;
    }
    struct msg_header h = { MSG_LOG, n };
    int rc = send_all(fd, &h, sizeof h, 0);
    if (rc == IO_OK)
        rc = send_all(fd, scratch, n * sizeof *scratch, 0);
    return rc == IO_OK ? cut : write_failed(rc);
}
