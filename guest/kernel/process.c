/* The process as a whole: the system calls it used that the kernel lacks (listed once
 * when it ends), and its end (exit_group, the last thread, a fatal signal): under
 * symhv fuzz/explore the end of one execution, else the run's status to the VMM. */
#include "kernel.h"
#include "process.h"
#include "linux_abi.h"

static uint64_t unknown_calls[LX_NR_MAX / 64]; /* numbers that returned ENOSYS */
static bool unknown_any, unknown_noted;

static const struct { uint16_t nr; const char *name; } known_names[] = {
    { LX_pipe, "pipe" }, { 23, "select" }, { 29, "shmget" }, { 30, "shmat" },
    { LX_getitimer, "getitimer" }, { LX_alarm, "alarm" }, { LX_setitimer, "setitimer" },
    { 41, "socket" }, { 42, "connect" }, { 43, "accept" }, { 49, "bind" }, { 50, "listen" },
    { LX_fork, "fork" }, { LX_vfork, "vfork" }, { LX_execve, "execve" }, { LX_wait4, "wait4" },
    { LX_rt_sigtimedwait, "rt_sigtimedwait" }, { LX_rt_sigsuspend, "rt_sigsuspend" },
    { 213, "epoll_create" }, { 232, "epoll_wait" }, { 233, "epoll_ctl" },
    { 270, "pselect6" }, { 281, "epoll_pwait" }, { 283, "timerfd_create" },
    { 284, "eventfd" }, { 290, "eventfd2" }, { 291, "epoll_create1" }, { LX_pipe2, "pipe2" },
    { 319, "memfd_create" }, { 288, "accept4" },
};

void linux_report_unknown(void)
{
    if (unknown_noted || !unknown_any) /* the scan below is slow where ring 0 is emulated */
        return;
    unknown_noted = true;
    char line[480];
    int n = format(line, sizeof line, "the program used system calls this kernel lacks "
                                      "(they returned ENOSYS):");
    bool any = false;
    for (unsigned nr = 0; nr < LX_NR_MAX && n < (int)sizeof line - 40; nr++) {
        if (!(unknown_calls[nr / 64] & (1ull << (nr % 64))))
            continue;
        const char *name = NULL;
        for (size_t k = 0; k < sizeof known_names / sizeof known_names[0]; k++)
            if (known_names[k].nr == nr)
                name = known_names[k].name;
        n += format(line + n, sizeof line - (size_t)n, name ? " %u (%s)" : " %u", nr, name);
        any = true;
    }
    if (any)
        knote("%s", line);
}

void linux_exit_process(int status)
{
    linux_report_unknown();
    if (kernel.harness) /* symhv fuzz / explore: one execution ends (not a crash) */
        hypercall(SYMHV_HC_FUZZ_END, 0, 0, 0, 0);
    hypercall(SYMHV_HC_EXIT, (uint64_t)(status & 0xff), 0, 0, 0);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void process_note_unknown(uint64_t nr)
{
    if (nr < LX_NR_MAX)
        unknown_calls[nr / 64] |= 1ull << (nr % 64);
    unknown_any = true;
}

