/* A check-then-act (atomicity) violation between two threads. The checker tests a
 * shared pointer, then reads through it, reading it again; the writer replaces it now
 * and then and puts it back at once. With the input's first byte 'X' the replacement is
 * NULL, and the checker crashes if the writer's NULL comes between its check and its
 * use: a window of an instruction or two, which plain runs almost never hit. Any other
 * byte replaces it by another valid pointer: no order crashes. The shared state has a
 * page of its own, which nothing else touches. The writer goes on for MILLISECONDS.
 * Usage: lx_atomicity FILE MILLISECONDS */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define WRITER_SPIN 20000 /* pauses between two replacements */
#define CHECKER_SPIN 4

static struct shared {
    int *volatile ptr;
    volatile int stop;
    int value, other;
    char pad[4096 - sizeof(int *) - 3 * sizeof(int)];
} S __attribute__((aligned(4096))) = { /* one page, its own */ .ptr = &S.value, .value = 42, .other = 7 };

static int *replacement;
static double until;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static long check_then_use(void)
{
    if (S.ptr != NULL)   /* check */
        return *S.ptr;   /* use: the pointer is read again */
    return 0;
}

static void *checker(void *arg)
{
    (void)arg;
    long sum = 0;
    while (!S.stop) {
        sum += check_then_use();
        for (int i = 0; i < CHECKER_SPIN; i++)
            __builtin_ia32_pause();
    }
    return (void *)sum;
}

__attribute__((noinline)) static void replace_and_put_back(int *with)
{
    S.ptr = with;     /* replace */
    S.ptr = &S.value; /* put back */
}

static void *writer(void *arg)
{
    (void)arg;
    do {
        for (int i = 0; i < WRITER_SPIN; i++)
            __builtin_ia32_pause();
        replace_and_put_back(replacement);
    } while (now() < until);
    S.stop = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned char c = 0;
    int fd = argc > 2 ? open(argv[1], O_RDONLY) : -1;
    if (fd < 0 || read(fd, &c, 1) != 1) {
        puts("usage: lx_atomicity FILE MILLISECONDS (FILE's first byte: X takes the pointer "
             "away)");
        return 2;
    }
    if (c == 'X') {
        puts("atomicity: the writer takes the pointer away now and then");
        replacement = NULL;
    } else {
        puts("atomicity: the writer swaps the pointer for another now and then");
        replacement = &S.other;
    }
    fflush(stdout);
    until = now() + atoi(argv[2]) / 1000.0;
    pthread_t t[2];
    pthread_create(&t[0], NULL, checker, NULL);
    pthread_create(&t[1], NULL, writer, NULL);
    void *sum;
    pthread_join(t[0], &sum);
    pthread_join(t[1], NULL);
    printf("atomicity: checker read %ld\n", (long)sum > 0 ? 1L : 0L);
    return 0;
}
