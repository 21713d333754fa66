/* A hostile Linux program: system calls with arguments meant to break a kernel. Each
 * mode prints what Linux answers and exits 0; a kernel that misbehaves crashes, panics
 * or leaks its bytes instead (exit 1).
 *   brk     brk() at an address whose page rounding wraps past 2^64, then a normal one
 *   tls     arch_prctl(ARCH_SET_FS/GS) and clone(CLONE_SETTLS) with non-canonical bases
 *   mm      munmap/mremap/madvise with lengths that wrap when rounded up to a page
 *   sigret  rt_sigreturn while another thread flips the frame's fpstate pointer to a
 *           kernel address: no kernel byte may reach xmm0 (Linux kills the program
 *           with SIGSEGV when it sees the bad pointer) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define NONCANONICAL 0x8000000000000000ul

static int mode_brk(void)
{
    long cur = syscall(SYS_brk, 0);
    long wrapped = syscall(SYS_brk, 0xfffffffffffff001ul);
    long again = syscall(SYS_brk, cur + 4096);
    printf("brk: wrapped request %s, a normal one %s\n", wrapped == cur ? "refused" : "TAKEN",
           again == cur + 4096 ? "taken" : "REFUSED");
    return wrapped == cur && again == cur + 4096 ? 0 : 1;
}

static char child_stack[65536] __attribute__((aligned(16)));
static int child(void *arg)
{
    (void)arg;
    syscall(SYS_exit, 0);
    return 0;
}

static int mode_tls(void)
{
    long fs = syscall(SYS_arch_prctl, ARCH_SET_FS, NONCANONICAL);
    int fs_err = errno;
    long gs = syscall(SYS_arch_prctl, ARCH_SET_GS, NONCANONICAL);
    int gs_err = errno;
    long c = syscall(SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                     CLONE_SYSVSEM | CLONE_SETTLS, child_stack + sizeof child_stack, 0,
                     0, NONCANONICAL);
    int c_err = errno;
    if (c == 0) /* the child, should the kernel have made one */
        child(NULL);
    printf("tls: arch_prctl FS %ld (%s), GS %ld (%s), clone %ld (%s)\n", fs, strerror(fs_err), gs,
           strerror(gs_err), c, strerror(c_err));
    return fs == -1 && fs_err == EPERM && gs == -1 && gs_err == EPERM && c == -1 && c_err == EPERM
               ? 0 : 1;
}

static int mode_mm(void)
{
    char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    p[0] = 7;
    long un = syscall(SYS_munmap, p, 0xfffffffffffff001ul);
    long re = syscall(SYS_mremap, p, 4096, 0xfffffffffffff001ul, 0, 0);
    long ad = syscall(SYS_madvise, p, 0xfffffffffffff001ul, MADV_DONTNEED);
    printf("mm: munmap %ld, mremap %ld, madvise %ld, the page still holds %d\n", un, re, ad, p[0]);
    return un == -1 && re == -1 && ad == -1 && p[0] == 7 ? 0 : 1;
}

static volatile uint64_t *volatile slot;
static volatile uint64_t good_fpstate;
static volatile uint64_t bad_fpstate;
static volatile int stop;

static void *flipper(void *arg)
{
    (void)arg;
    while (!stop) {
        volatile uint64_t *s = slot;
        if (s) {
            *s = bad_fpstate;
            *s = good_fpstate;
        }
    }
    return NULL;
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    memset(uc->uc_mcontext.fpregs->_xmm, 0, sizeof uc->uc_mcontext.fpregs->_xmm);
    good_fpstate = (uint64_t)uc->uc_mcontext.fpregs;
    slot = (volatile uint64_t *)&uc->uc_mcontext.fpregs;
}

static int mode_sigret(const char *kernel_addr)
{
    bad_fpstate = kernel_addr ? strtoull(kernel_addr, NULL, 0) : 0x200000; /* symhv's kernel */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; i < 20000; i++) {
        raise(SIGUSR1);
        slot = NULL;
        uint64_t x[2];
        __asm__ volatile("movdqu %%xmm0, %0" : "=m"(x));
        if (x[0] || x[1]) {
            printf("sigret: iteration %d: xmm0 = %016llx%016llx after sigreturn\n", i,
                   (unsigned long long)x[1], (unsigned long long)x[0]);
            stop = 1;
            return 1;
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    puts("sigret: 20000 returns, xmm0 always as the handler left it");
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(m, "brk"))
        return mode_brk();
    if (!strcmp(m, "tls"))
        return mode_tls();
    if (!strcmp(m, "mm"))
        return mode_mm();
    if (!strcmp(m, "sigret"))
        return mode_sigret(argc > 2 ? argv[2] : NULL);
    fprintf(stderr, "usage: lx_hostile brk|tls|mm|sigret [KERNEL_ADDRESS]\n");
    return 2;
}
