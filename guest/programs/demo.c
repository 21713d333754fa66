/* The README demo: N threads (default 8) each do independent compute work and bump a
 * shared counter under a mutex. Prints per-thread and per-vCPU results, and checks the
 * counter is exact. Command line: threads=N rounds=R (symhv --cmdline). */
#include "guest.h"

#define MAX_THREADS 64

struct worker {
    int index;
    long rounds;
    uint64_t primes;        /* result of the independent work */
    uint64_t cpu_mask;      /* vCPUs this thread was seen running on */
};

static struct mutex counter_lock = MUTEX_INIT;
static uint64_t shared_counter; /* guarded by counter_lock */
static uint64_t rounds_on_cpu[SYMHV_MAX_VCPUS]; /* guarded by counter_lock */

static int is_prime(uint64_t n)
{
    if (n < 2)
        return 0;
    for (uint64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

static long worker_main(void *arg)
{
    struct worker *w = arg;
    for (long r = 0; r < w->rounds; r++) {
        /* A slice of independent work: count primes in this thread's own range. */
        uint64_t base = ((uint64_t)w->index * (uint64_t)w->rounds + (uint64_t)r) * 2000;
        for (uint64_t n = base; n < base + 2000; n++)
            w->primes += (uint64_t)is_prime(n);
        int cpu = getcpu();
        w->cpu_mask |= 1ull << cpu;
        mutex_lock(&counter_lock);
        shared_counter++;
        rounds_on_cpu[cpu]++;
        mutex_unlock(&counter_lock);
    }
    return w->index;
}

int main(void)
{
    const struct guest_info *gi = guest_info();
    long nthreads = guest_arg("threads", 8), rounds = guest_arg("rounds", 400);
    if (nthreads < 1 || nthreads > MAX_THREADS)
        nthreads = 8;
    printf("demo: %ld threads x %ld rounds on %u vCPUs\n", nthreads, rounds, gi->ncpus);

    static struct worker workers[MAX_THREADS];
    int tids[MAX_THREADS];
    uint64_t t0 = clock_ns();
    for (int i = 0; i < nthreads; i++) {
        workers[i] = (struct worker){ .index = i, .rounds = rounds };
        tids[i] = thread_spawn(worker_main, &workers[i]);
        if (tids[i] < 0) {
            printf("demo: cannot start thread %d (error %d)\n", i, -tids[i]);
            return 1;
        }
    }
    int ok = 1;
    for (int i = 0; i < nthreads; i++) {
        long v = thread_join(tids[i]);
        if (v != i)
            ok = 0;
        printf("thread %d: %lu primes, ran on vCPUs", i, workers[i].primes);
        for (unsigned c = 0; c < gi->ncpus; c++)
            if (workers[i].cpu_mask & (1ull << c))
                printf(" %u", c);
        printf("\n");
    }
    uint64_t ms = (clock_ns() - t0) / 1000000;
    for (unsigned c = 0; c < gi->ncpus; c++)
        printf("vCPU %u: %lu rounds\n", c, rounds_on_cpu[c]);
    uint64_t expected = (uint64_t)nthreads * (uint64_t)rounds;
    if (shared_counter != expected)
        ok = 0;
    printf("shared counter: %lu (expected %lu) %s, %lu ms\n", shared_counter, expected,
           ok ? "OK" : "WRONG", ms);
    return ok ? 0 : 1;
}
