/* symhv-agent: the guest agent as a command, for Linux guests (S2E users know it as
 * s2ecmd). Runs inside the guest as root. A call is a read of symhv's hypercall page,
 * mapped from /dev/mem at its own address (abi.h: SYMHV_HC_MMIO_ADDR), or where that is
 * not possible a read of the hypercall port after ioperm() (on PVM hosts ring-3 port I/O
 * faults whatever the I/O permissions, so only the page works there). Arguments are
 * checked before any hypercall is issued. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symhv/abi.h"
#include "symhv/stack.h"

static const char usage_text[] =
    "usage: symhv-agent COMMAND [ARGS]\n"
    "\n"
    "Talk to symhv from inside a guest (as root: maps symhv's hypercall page through\n"
    "/dev/mem, else uses the hypercall port 0x510).\n"
    "\n"
    "  kill STATUS MESSAGE    end the run with STATUS, logging MESSAGE\n"
    "  bug MESSAGE            report a bug here (saved with the input that reaches it)\n"
    "  print TEXT             print TEXT on symhv's output\n"
    "  symbolic FILE [NAME]   make FILE's bytes (at most 1 MiB) symbolic as input NAME\n"
    "                         (default: the file's name), in its page cache: programs\n"
    "                         that map or read it later see symbolic data\n"
    "  run [--sym-file FILE]... -- PROGRAM [ARGS]\n"
    "                         make each FILE symbolic (as `symbolic FILE`), run PROGRAM\n"
    "                         and end symhv's run (or the execution of explore/fuzz)\n"
    "                         with its exit status, or as a crash if a signal kills it\n"
    "                         (its registers, instruction and stack, read by ptrace)\n"
    "  -h, --help             this text\n";

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "symhv-agent: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see symhv-agent --help)\n");
    return 2;
}

static bool use_page;     /* set once by open_channel, before any call */
static bool channel_open; /* likewise */

static long call(long nr, long a0, long a1, long a2)
{
    return use_page ? symhv_mmio_hypercall(nr, a0, a1, a2, 0)
                    : symhv_port_hypercall(nr, a0, a1, a2, 0);
}

static int open_channel(void)
{
    if (channel_open)
        return 0;
    channel_open = true;
    int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd >= 0) {
        void *page = mmap((void *)(uintptr_t)SYMHV_HC_MMIO_ADDR, SYMHV_HC_MMIO_SIZE,
                          PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd,
                          SYMHV_HC_MMIO_ADDR);
        close(fd);
        if (page == (void *)(uintptr_t)SYMHV_HC_MMIO_ADDR) {
            use_page = true;
            return 0;
        }
    }
    int page_errno = errno;
    if (ioperm(SYMHV_HYPERCALL_PORT, 1, 1) < 0) {
        fprintf(stderr, "symhv-agent: cannot reach symhv: /dev/mem: %s, ioperm(0x%x): %s "
                        "(run as root, inside symhv)\n",
                strerror(page_errno), SYMHV_HYPERCALL_PORT, strerror(errno));
        channel_open = false;
        return -1;
    }
    return 0;
}

static int make_file_symbolic(const char *path, const char *name)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "symhv-agent: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (st.st_size <= 0 || st.st_size > SYMHV_SYMBOLIC_MAX_BYTES) {
        fprintf(stderr, "symhv-agent: %s: size %lld is not 1 byte to 1 MiB\n", path,
                (long long)st.st_size);
        return 1;
    }
    size_t len = (size_t)st.st_size;
    /* The file's own pages (its page cache), mapped and locked: symhv makes those bytes
     * symbolic where they are, so every later reader sees symbolic data, whether it maps
     * the file or read()s it (Linux's copy, interpreted by the sidecar). */
    uint8_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (buf == MAP_FAILED || mlock(buf, len) < 0) {
        fprintf(stderr, "symhv-agent: cannot map %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (open_channel() < 0)
        return 1;
    int id = (int)call(SYMHV_HC_MAKE_SYMBOLIC, (long)buf, (long)len, (long)name);
    if (id < 0) {
        fprintf(stderr, "symhv-agent: symhv refused %s: error %d\n", path, -id);
        return 1;
    }
    printf("symhv-agent: %s is symbolic input %d '%s' (%zu bytes)\n", path, id, name, len);
    return 0;
}

/* ---- run: a program under ptrace, its end reported ------------------------------------ */

/* The signals that kill with a core dump: a fault of the program's own (or abort()). */
static bool fatal_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
           sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS;
}

/* A word of the stopped process's memory; false where it has none. */
static bool peek(pid_t tid, uint64_t addr, uint64_t *word)
{
    errno = 0;
    long w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)addr, NULL);
    if (errno)
        return false;
    *word = (uint64_t)w;
    return true;
}

static int read_tracee(void *ctx, uint64_t va, void *buf, unsigned len)
{
    pid_t tid = *(pid_t *)ctx;
    uint8_t *out = buf;
    for (unsigned done = 0; done < len; done += 8) {
        uint64_t w;
        if (!peek(tid, va + done, &w))
            return -1;
        memcpy(out + done, &w, len - done < 8 ? len - done : 8);
    }
    return 0;
}

/* What the VMM shows of a crash: registers, signal, the bytes at rip and the return
 * addresses nearest the top of the stack (as symhv reads them for its own kernel's
 * programs: the first words from rsp up that follow a call). */
static void read_crash(pid_t tid, const char *program, struct symhv_program_crash *c)
{
    memset(c, 0, sizeof *c);
    struct user_regs_struct r;
    siginfo_t si;
    if (ptrace(PTRACE_GETREGS, tid, NULL, &r) == 0) {
        c->regs = (struct symhv_user_regs){
            .r15 = r.r15, .r14 = r.r14, .r13 = r.r13, .r12 = r.r12, .r11 = r.r11,
            .r10 = r.r10, .r9 = r.r9, .r8 = r.r8, .rbp = r.rbp, .rdi = r.rdi, .rsi = r.rsi,
            .rdx = r.rdx, .rcx = r.rcx, .rbx = r.rbx, .rax = r.rax, .vector = ~0ull,
            .rip = r.rip, .cs = r.cs, .rflags = r.eflags, .rsp = r.rsp, .ss = r.ss };
        for (unsigned i = 0; i < 2; i++) {
            uint64_t w;
            if (!peek(tid, r.rip + 8 * i, &w))
                break;
            memcpy(c->insn + 8 * i, &w, 8);
            c->insn_len += 8;
        }
        symhv_stack_frames(read_tracee, &tid, r.rip, r.rsp, 256, c->frames, SYMHV_CRASH_FRAMES);
    }
    if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0) {
        c->signal = (uint64_t)si.si_signo;
        c->code = (uint64_t)(int64_t)si.si_code;
        c->address = (uint64_t)(uintptr_t)si.si_addr;
    }
    c->pid = (uint32_t)tid;
    snprintf(c->program, sizeof c->program, "%s", program);
}

/* Run argv[0] traced (its threads too: a fault in any of them is seen where it happens;
 * not the processes it forks, so run the program itself, not a shell that starts it),
 * pass every signal on, and keep what the last fatal one found. Returns the wait status
 * of its end, or -1. */
static int run_traced(char **argv, struct symhv_program_crash *crash, bool *have_crash)
{
    pid_t child = fork();
    if (child < 0) {
        perror("symhv-agent: fork");
        return -1;
    }
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
            perror("symhv-agent: ptrace (the program runs untraced)");
        execv(argv[0], argv);
        fprintf(stderr, "symhv-agent: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    *have_crash = false;
    bool started = false;
    for (;;) {
        int st;
        pid_t tid = waitpid(-1, &st, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            perror("symhv-agent: waitpid");
            return -1;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (tid == child)
                return st;
            continue; /* one of its threads */
        }
        if (!WIFSTOPPED(st))
            continue;
        int sig = WSTOPSIG(st), pass = 0;
        if (!started && tid == child && sig == SIGTRAP) { /* its execve */
            started = true;
            ptrace(PTRACE_SETOPTIONS, child, NULL,
                   (void *)(uintptr_t)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
                                       PTRACE_O_EXITKILL));
        } else if ((st >> 16) != 0) {
            /* a clone event (the new thread starts traced) or a later execve (an event,
             * not the SIGTRAP that would otherwise be passed on and kill it) */
        } else if (sig == SIGSTOP) {
            /* a new thread's first stop (a SIGSTOP sent to the program is lost: rare in
             * programs under test, and a stopped program would only end at -t) */
        } else {
            if (fatal_fault(sig)) {
                read_crash(tid, argv[0], crash);
                *have_crash = true;
            }
            pass = sig;
        }
        ptrace(PTRACE_CONT, tid, NULL, (void *)(uintptr_t)pass);
    }
}

static int run_program(int argc, char **argv)
{
    int i = 2;
    const char *files[16];
    unsigned nfiles = 0;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--sym-file") != 0 || i + 1 >= argc)
            return fail("run: '%s' is not --sym-file FILE", argv[i]);
        if (nfiles == sizeof files / sizeof files[0])
            return fail("%s", "run: at most 16 --sym-file");
        files[nfiles++] = argv[++i];
    }
    if (i + 1 >= argc)
        return fail("%s", "run needs -- PROGRAM [ARGS]");
    char **prog = argv + i + 1;
    if (open_channel() < 0)
        return 1;
    for (unsigned f = 0; f < nfiles; f++) {
        const char *name = strrchr(files[f], '/') ? strrchr(files[f], '/') + 1 : files[f];
        if (make_file_symbolic(files[f], name) != 0)
            return 1;
    }
    fflush(stdout); /* before the program writes to the same console */
    struct symhv_program_crash crash;
    bool have_crash;
    int st = run_traced(prog, &crash, &have_crash);
    if (st < 0)
        return 1;
    if (WIFSIGNALED(st)) {
        if (!have_crash || (int)crash.signal != WTERMSIG(st)) { /* e.g. SIGKILL */
            memset(&crash, 0, sizeof crash);
            crash.signal = (uint64_t)WTERMSIG(st);
            crash.regs.vector = ~0ull;
            snprintf(crash.program, sizeof crash.program, "%s", prog[0]);
        }
        for (;;) /* the VM stops; the call does not return */
            call(SYMHV_HC_PROGRAM_CRASH, (long)&crash, 0, 0);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "%.80s exited %d", prog[0], WEXITSTATUS(st));
    for (;;)
        call(SYMHV_HC_KILL, WEXITSTATUS(st), (long)msg, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fail("%s", "no command given");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "kill")) {
        char *end;
        long status = argc == 4 ? strtol(argv[2], &end, 10) : -1;
        if (argc != 4 || *end || end == argv[2] || status < 0 || status > 255)
            return fail("%s", "kill needs STATUS (0..255) and MESSAGE");
        if (open_channel() < 0)
            return 1;
        for (;;) /* the VM stops; the call does not return */
            call(SYMHV_HC_KILL, status, (long)argv[3], 0);
    }
    if (!strcmp(cmd, "bug") || !strcmp(cmd, "print")) {
        if (argc != 3)
            return fail("%s needs one argument", cmd);
        if (open_channel() < 0)
            return 1;
        long rc = cmd[0] == 'b' ? call(SYMHV_HC_REPORT_BUG, (long)argv[2], 0, 0)
                                : call(SYMHV_HC_PRINT, (long)argv[2], (long)strlen(argv[2]), 0);
        if (rc < 0)
            fprintf(stderr, "symhv-agent: symhv refused the %s call: error %ld\n", cmd, -rc);
        return rc < 0 ? 1 : 0;
    }
    if (!strcmp(cmd, "symbolic")) {
        if (argc != 3 && argc != 4)
            return fail("%s", "symbolic needs FILE and an optional NAME");
        const char *name = argc == 4 ? argv[3] : strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2];
        if (!*name || strlen(name) > SYMHV_INPUT_NAME_MAX)
            return fail("input name '%s' must be 1 to 63 characters", name);
        return make_file_symbolic(argv[2], name);
    }
    if (!strcmp(cmd, "run"))
        return run_program(argc, argv);
    return fail("unknown command '%s'", cmd);
}
