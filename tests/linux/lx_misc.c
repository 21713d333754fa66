/* What a program does besides computing: memory (malloc, realloc, mmap), files from the
 * archive and directories, errors, signal handlers, time; and the ways it can crash
 * (argv[1]: null, abort, div, segv-handled). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf recover;
static volatile int got_usr1;
static volatile void *segv_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    segv_addr = si->si_addr;
    siglongjmp(recover, 1);
}

static void on_usr1(int sig) { got_usr1 = sig; }

static int memory(void)
{
    void *p[1000];
    unsigned long sum = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 1000; i++) {
            size_t n = (size_t)((i * 7919 + round * 104729) % 5000) + 1;
            if (i % 97 == 0)
                n = 300000; /* past malloc's mmap threshold */
            if (!(p[i] = malloc(n)))
                return -1;
            memset(p[i], i & 0xff, n);
        }
        for (int i = 0; i < 1000; i += 3) {
            unsigned char *q = realloc(p[i], 8000);
            if (!q || q[0] != (i & 0xff))
                return -1;
            p[i] = q;
        }
        for (int i = 0; i < 1000; i++) {
            sum += ((unsigned char *)p[i])[0];
            free(p[i]);
        }
    }
    size_t big = 16u << 20;
    char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    m[0] = 1;
    m[big - 1] = 2;
    munmap(m, big);
    char *again = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (again == MAP_FAILED || again[0] || again[big - 1])
        return -1; /* fresh mappings read zero */
    munmap(again, big);
    printf("memory ok %lu\n", sum);
    return 0;
}

static void files(void)
{
    int fd = open("/data/hello.txt", O_RDONLY);
    char buf[256] = { 0 };
    ssize_t n = read(fd, buf, sizeof buf - 1);
    struct stat st;
    fstat(fd, &st);
    printf("read %zd of %lld: %s", n, (long long)st.st_size, buf);
    lseek(fd, 6, SEEK_SET);
    memset(buf, 0, sizeof buf);
    read(fd, buf, 4);
    printf("after lseek: %s\n", buf);
    close(fd);
    FILE *f = fopen("/data/hello.txt", "r");
    char line[64] = "";
    if (f && fgets(line, sizeof line, f))
        printf("fgets: %s", line);
    if (f)
        fclose(f);
    DIR *d = opendir("/data");
    struct dirent *e;
    int entries = 0;
    while (d && (e = readdir(d)))
        entries += e->d_name[0] != '.';
    if (d)
        closedir(d);
    printf("entries in /data: %d\n", entries);
    errno = 0;
    int missing = open("/no/such/file", O_RDONLY);
    printf("missing: %d errno %d\n", missing, errno);
    errno = 0;
    int writing = open("/data/hello.txt", O_WRONLY);
    printf("writing: %d errno %d\n", writing, errno);
    char cwd[64];
    printf("cwd %s\n", getcwd(cwd, sizeof cwd));
    char exe[256] = { 0 };
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    printf("exe %s\n", strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);
    printf("null reads %zd\n", read(open("/dev/null", O_RDONLY), buf, 4));
}

static void signals(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (!sigsetjmp(recover, 1)) {
        *(volatile int *)16 = 5;
        printf("no fault\n");
    } else {
        printf("segv handled at %p\n", (void *)segv_addr);
    }
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    printf("usr1 handled %d\n", got_usr1);
}

static void timing(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    usleep(20000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("sleep %s\n", ms >= 20 && ms < 2000 ? "ok" : "wrong");
    printf("realtime %s\n", time(NULL) > 1700000000 ? "ok" : "wrong");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    if (!strcmp(mode, "null"))
        *(volatile int *)0 = 1;
    if (!strcmp(mode, "abort"))
        abort();
    if (!strcmp(mode, "div")) {
        volatile int zero = 0;
        return 10 / zero;
    }
    if (memory() < 0) {
        printf("memory failed\n");
        return 1;
    }
    files();
    signals();
    timing();
    return 7;
}
