/* N threads on the vCPUs: a mutex-protected counter, a condition variable, joins with
 * return values, and which CPUs the threads ran on. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_ready = PTHREAD_COND_INITIALIZER;
static long counter, ready;
static int cpu_seen[256];

static void *work(void *arg)
{
    long n = (long)arg;
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&all_ready);
    pthread_mutex_unlock(&lock);
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        int c = sched_getcpu();
        if (c >= 0 && c < 256)
            cpu_seen[c] = 1;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(n * 2);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    long per = argc > 2 ? atol(argv[2]) : 20000;
    pthread_t t[64];
    if (threads < 1 || threads > 64)
        return 2;
    printf("nproc %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, work, (void *)per) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    pthread_mutex_lock(&lock);
    while (ready < threads)
        pthread_cond_wait(&all_ready, &lock);
    pthread_mutex_unlock(&lock);
    long joined = 0;
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        joined += (long)r;
    }
    int cpus = 0;
    for (int i = 0; i < 256; i++)
        cpus += cpu_seen[i];
    printf("counter %ld expected %ld joined %ld cpus %d\n", counter, threads * per, joined, cpus);
    return counter == threads * per && joined == 2 * threads * per ? 0 : 1;
}
