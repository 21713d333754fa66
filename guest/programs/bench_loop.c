/* Guest side of scripts/bench-smp: threads=N (default: one per vCPU) each run
 * compute_loop(iters=M); prints the wall time of the whole parallel section. */
#include "../../bench/compute_loop.h"
#include "guest.h"

static long iterations;
static uint64_t results[SYMHV_MAX_VCPUS * 4];

static long runner(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    results[i] = compute_loop(i + 1, (uint64_t)iterations);
    return 0;
}

int main(void)
{
    long threads = guest_arg("threads", guest_info()->ncpus);
    iterations = guest_arg("iters", 1000000000);
    if (threads < 1 || threads > SYMHV_MAX_VCPUS * 4)
        threads = 1;
    int tids[SYMHV_MAX_VCPUS * 4];
    uint64_t t0 = clock_ns();
    for (long i = 0; i < threads; i++)
        tids[i] = thread_spawn(runner, (void *)(uintptr_t)i);
    for (long i = 0; i < threads; i++)
        thread_join(tids[i]);
    uint64_t ns = clock_ns() - t0;
    uint64_t checksum = 0;
    for (long i = 0; i < threads; i++)
        checksum ^= results[i];
    printf("bench-loop threads=%ld iters=%ld ns=%lu checksum=%lx\n", threads, iterations, ns,
           checksum);
    return 0;
}
