/* Two vCPUs call symhv_fuzz_start at the same moment, one with a 64 KiB coverage map and
 * one without. Exactly one call may own the snapshot; the other must be refused. Each
 * execution ends with status 5 (a "crash") if both calls claim to have succeeded, and
 * uses the map the snapshot's call gave. (Before the fix the VMM mixed the sizes of the
 * two calls and overflowed a heap buffer.) */
#include "guest.h"
#include "symhv/agent.h"

static uint8_t buf[4096] __attribute__((aligned(4096)));
static uint8_t map[65536] __attribute__((aligned(4096)));
static volatile int ready, go;
static volatile long result[2];
static volatile int done[2];

static void finish(int self, long n)
{
    result[self] = n;
    done[self] = 1;
    if (n < 0)
        for (;;) /* refused: this thread's part is over */
            yield();
    while (!done[!self])
        __asm__ volatile("pause");
    if (result[!self] >= 0)
        symhv_fuzz_end(5); /* two snapshots claimed at once */
    map[buf[0]]++;
    symhv_fuzz_end(0);
}

static long other(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
    while (!go)
        __asm__ volatile("pause");
    finish(1, symhv_fuzz_start(buf, sizeof buf, NULL, 0));
    return 0;
}

int main(void)
{
    thread_spawn(other, 0);
    while (!ready)
        yield();
    go = 1;
    finish(0, symhv_fuzz_start(buf, sizeof buf, map, sizeof map));
    return 0;
}
