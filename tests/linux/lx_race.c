/* Two threads add to one counter for a while. The first byte of the input file says
 * how: 'p' without a lock (a data race), 'l' under a mutex, 'a' with atomic adds, 's'
 * under a mutex now and then, with a statistics counter beside it bumped without one
 * all the time (a benign race: the program is still right). Usage: lx_race FILE
 * MILLISECONDS */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { PLAIN, LOCKED, ATOMIC, STATS };

static volatile long counter;
static volatile long stat_ops;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int mode;
static double until;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void add_plain(void) { counter = counter + 1; }

__attribute__((noinline)) void add_locked(void)
{
    pthread_mutex_lock(&lock);
    counter = counter + 1;
    pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) void add_atomic(void) { __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST); }

__attribute__((noinline)) void note_stat(void) { stat_ops = stat_ops + 1; }

static void *work(void *arg)
{
    (void)arg;
    long n = 0;
    /* The clock is read seldom: a system call is most of a PVM host's time (ring 0 is
     * emulated there), and a vCPU kicked in the kernel gives no sample. */
    do {
        for (int k = 0; k < 100; k++) {
            for (int i = 0; i < 1000; i++) {
                if (mode == PLAIN)
                    add_plain();
                else if (mode == ATOMIC)
                    add_atomic();
                else if (mode == LOCKED || i % 64 == 0)
                    add_locked();
                if (mode == STATS)
                    note_stat();
            }
            n += 1000;
        }
    } while (now() < until);
    return (void *)n;
}

int main(int argc, char **argv)
{
    unsigned char c = 0;
    int fd = argc > 2 ? open(argv[1], O_RDONLY) : -1;
    if (fd < 0 || read(fd, &c, 1) != 1) {
        puts("usage: lx_race FILE MILLISECONDS (FILE's first byte: p, l, a or s)");
        return 2;
    }
    /* one branch per mode, each with a call: `mode` is a constant on each path */
    if (c == 'p') {
        puts("race: plain adds");
        mode = PLAIN;
    } else if (c == 'a') {
        puts("race: atomic adds");
        mode = ATOMIC;
    } else if (c == 's') {
        puts("race: locked adds, statistics without a lock");
        mode = STATS;
    } else {
        puts("race: locked adds");
        mode = LOCKED;
    }
    fflush(stdout);
    until = now() + atoi(argv[2]) / 1000.0;
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, work, NULL);
    long total = 0;
    for (int i = 0; i < 2; i++) {
        void *n;
        pthread_join(t[i], &n);
        total += (long)n;
    }
    if (mode == STATS) /* locked adds at i = 0, 64, ..., 960 of each 1000 */
        total = total / 1000 * 16;
    printf("race: counter %ld of %ld adds\n", counter, total);
    return 0;
}
