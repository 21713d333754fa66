/* Test program: T threads (threads=T) each add K times (adds=K) to a counter under a
 * mutex and to an atomic counter, then return their index, which join must give back.
 * Exit status 0 when both counters and every join value are exact. */
#include "guest.h"

static struct mutex lock = MUTEX_INIT;
static uint64_t locked_counter; /* guarded by lock */
static uint64_t atomic_counter;
static long adds;

static long adder(void *arg)
{
    for (long i = 0; i < adds; i++) {
        mutex_lock(&lock);
        uint64_t v = locked_counter; /* read-modify-write that only the lock keeps exact */
        __asm__ volatile("" ::: "memory");
        locked_counter = v + 1;
        mutex_unlock(&lock);
        __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_RELAXED);
    }
    return (long)(uintptr_t)arg * 1000 + 7;
}

int main(void)
{
    long threads = guest_arg("threads", 16);
    adds = guest_arg("adds", 20000);
    if (threads < 1 || threads > 200)
        threads = 16;
    int tids[200];
    for (long i = 0; i < threads; i++)
        tids[i] = thread_spawn(adder, (void *)(uintptr_t)i);
    int joins_ok = 1;
    for (long i = 0; i < threads; i++)
        if (thread_join(tids[i]) != i * 1000 + 7)
            joins_ok = 0;
    uint64_t expected = (uint64_t)threads * (uint64_t)adds;
    printf("locked counter %lu, atomic counter %lu, expected %lu, joins %s\n", locked_counter,
           atomic_counter, expected, joins_ok ? "ok" : "WRONG");
    return locked_counter == expected && atomic_counter == expected && joins_ok ? 0 : 1;
}
