/* Two threads that must run at the same moment on two CPUs: they play ping-pong through
 * one shared word, ROUNDS times, spinning (no system call between turns). On one CPU
 * each turn would wait for the scheduler to switch threads (a tick, 10 ms at HZ=100),
 * so all rounds within the time limit mean they ran side by side. Each then adds its
 * share to a sum under a mutex. Prints the rounds, the CPUs they ended on and the sum
 * (exact: 2 * 1000000). Static, for the linux suite's Linux. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#define ROUNDS 20000L
#define LIMIT_S 30.0
#define PER_THREAD 1000000L

static volatile long turn; /* even: thread 0 moves, odd: thread 1 */
static volatile int gave_up;
static int cpu[2];
static long sum;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *worker(void *arg)
{
    long me = (long)arg;
    double end = now() + LIMIT_S;
    for (long t; (t = turn) < 2 * ROUNDS && !gave_up;) {
        if ((t & 1) == me)
            turn = t + 1;
        else if ((t & 1023) == 0 && now() > end)
            gave_up = 1;
    }
    cpu[me] = sched_getcpu();
    for (long i = 0; i < PER_THREAD; i++) {
        pthread_mutex_lock(&lock);
        sum++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    double t0 = now();
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("smp_threads: rounds %ld of %ld in %.1f s, cpus %d %d, sum %ld (expected %ld)\n",
           turn / 2, ROUNDS, now() - t0, cpu[0], cpu[1], sum, 2 * PER_THREAD);
    return sum == 2 * PER_THREAD && turn == 2 * ROUNDS ? 0 : 1;
}
