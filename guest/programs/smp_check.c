/* Test program: every vCPU must run ring-3 code. Starts 2 threads per vCPU that spin
 * until each vCPU has been seen running one of them (or 20 s pass), then prints the
 * vCPUs seen. Exit status 0 only if all were seen. */
#include "guest.h"

static uint64_t seen_mask;
static uint64_t all_mask;
static uint64_t deadline_ns;

static long spinner(void *arg)
{
    (void)arg;
    while (__atomic_load_n(&seen_mask, __ATOMIC_RELAXED) != all_mask) {
        __atomic_fetch_or(&seen_mask, 1ull << getcpu(), __ATOMIC_RELAXED);
        for (volatile int i = 0; i < 100000; i++)
            ; /* ring-3 work between samples */
        if (clock_ns() > deadline_ns)
            break;
    }
    return 0;
}

int main(void)
{
    unsigned n = guest_info()->ncpus;
    all_mask = n >= 64 ? ~0ull : (1ull << n) - 1;
    deadline_ns = clock_ns() + 20000000000ull;
    int tids[2 * SYMHV_MAX_VCPUS];
    for (unsigned i = 0; i < 2 * n; i++)
        tids[i] = thread_spawn(spinner, NULL);
    for (unsigned i = 0; i < 2 * n; i++)
        thread_join(tids[i]);
    printf("vcpus seen:");
    for (unsigned c = 0; c < n; c++)
        if (seen_mask & (1ull << c))
            printf(" %u", c);
    printf(" (of %u)\n", n);
    return seen_mask == all_mask ? 0 : 1;
}
