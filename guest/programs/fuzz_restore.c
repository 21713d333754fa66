/* Restore check for `symhv fuzz` (2 vCPUs): every execution must start from the
 * snapshot's memory and registers on every vCPU. A thread on the other vCPU keeps a
 * counter both in a register and in memory and checks they agree at every step; the
 * main thread checks memory it dirtied last time and a register value across the
 * snapshot. Any mismatch ends the execution with a non-zero status: a "crash".
 * With --cmdline hang=1, inputs whose first byte is odd loop forever (a hang). */
#include "guest.h"
#include "symhv/agent.h"

static uint8_t input[4096] __attribute__((aligned(4096)));
static uint8_t scratch[256][4096] __attribute__((aligned(4096)));
static uint64_t generation;  /* 0 in the snapshot; each execution sets it to 1 */
static uint64_t counter_mem; /* thread 2's counter, mirrored from a register */
static int counter_started;

static long counter_thread(void *arg)
{
    (void)arg;
    uint64_t counter = 0;
    __atomic_store_n(&counter_started, 1, __ATOMIC_RELEASE);
    for (;;) {
        if (__atomic_load_n(&counter_mem, __ATOMIC_RELAXED) != counter)
            symhv_fuzz_end(2); /* memory and register disagree: a bad restore */
        counter++;
        __asm__ volatile("" : "+r"(counter));
        __atomic_store_n(&counter_mem, counter, __ATOMIC_RELAXED);
    }
    return 0;
}

int main(void)
{
    long dirty = guest_arg("dirty", 16);
    if (dirty < 0 || dirty > 256)
        dirty = 256;
    thread_spawn(counter_thread, NULL);
    while (!__atomic_load_n(&counter_started, __ATOMIC_ACQUIRE))
        yield();
    register uint64_t kept __asm__("rbx") = 0x5eed0f5a7e5eed00ull;
    __asm__ volatile("" : "+r"(kept));
    long n = symhv_fuzz_start(input, sizeof input, NULL, 0);
    __asm__ volatile("" : "+r"(kept));
    if (n < 0) {
        printf("fuzz_restore: symhv_fuzz_start failed (%ld)\n", n);
        return 1;
    }
    if (kept != 0x5eed0f5a7e5eed00ull)
        symhv_fuzz_end(3); /* a register of this vCPU was not restored */
    if (__atomic_load_n(&generation, __ATOMIC_RELAXED) != 0)
        symhv_fuzz_end(1); /* memory written by the last execution was not restored */
    for (long i = 0; i < dirty; i++)
        if (scratch[i][0] != 0)
            symhv_fuzz_end(4);
    if (guest_arg("hang", 0) && n > 0 && (input[0] & 1))
        for (;;)
            __asm__ volatile("" ::: "memory");
    __atomic_store_n(&generation, 1, __ATOMIC_RELAXED);
    for (long i = 0; i < dirty; i++)
        scratch[i][0] = (uint8_t)(1 + (n > 0 ? input[0] : 0));
    symhv_fuzz_end(0);
    return 0;
}
