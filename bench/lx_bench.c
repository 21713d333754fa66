/* One static Linux program for scripts/bench-linux, run natively on the host and under
 * `symhv run` (the very same binary): it times itself, so symhv's start-up is not in
 * the figure.
 *   lx_bench compute N       the xorshift loop of compute_loop.h, N iterations
 *   lx_bench threads T N     T threads running it at once
 *   lx_bench syscalls N      N system calls of each kind: getppid, read of a file's
 *                            first byte, write to /dev/null, clock_gettime
 * It prints name=nanoseconds lines. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "compute_loop.h"

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t iterations;

static void *worker(void *arg)
{
    return (void *)(uintptr_t)compute_loop((uint64_t)(uintptr_t)arg, iterations);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "compute")) {
        iterations = strtoull(argv[2], NULL, 10);
        uint64_t t0 = now_ns(), x = compute_loop(1, iterations), t1 = now_ns();
        printf("compute=%llu (result %llx)\n", (unsigned long long)(t1 - t0), (unsigned long long)x);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "threads")) {
        int n = atoi(argv[2]);
        iterations = strtoull(argv[3], NULL, 10);
        pthread_t t[64];
        if (n < 1 || n > 64)
            return 2;
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++)
            pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        printf("threads=%llu\n", (unsigned long long)(now_ns() - t0));
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "syscalls")) {
        long n = atol(argv[2]);
        char byte;
        int file = open(argv[0], O_RDONLY), null = open("/dev/null", O_WRONLY);
        if (file < 0 || null < 0)
            return 2;
        struct timespec ts;
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            syscall(SYS_getppid);
        uint64_t t1 = now_ns();
        for (long i = 0; i < n; i++)
            pread(file, &byte, 1, 0);
        uint64_t t2 = now_ns();
        for (long i = 0; i < n; i++)
            write(null, &byte, 1);
        uint64_t t3 = now_ns();
        for (long i = 0; i < n; i++)
            clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t4 = now_ns();
        printf("getppid=%llu\npread=%llu\nwrite=%llu\nclock_gettime=%llu\n",
               (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
               (unsigned long long)(t3 - t2), (unsigned long long)(t4 - t3));
        return 0;
    }
    fprintf(stderr, "usage: lx_bench compute N | threads T N | syscalls N\n");
    return 2;
}
