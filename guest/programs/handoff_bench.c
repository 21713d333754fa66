/* Guest side of scripts/bench-handoff (2 vCPUs). Thread 2 counts on the other vCPU.
 * Main measures, iters=N times each:
 *   exit    - read a concrete byte of a symbolic page: one trapped, emulated access;
 *   handoff - read a symbolic byte into a register and overwrite it: the vCPU goes to
 *             the interpreter for two instructions and comes back;
 * and the counter's rate during the handoff loop and during a native spin as long. */
#include "guest.h"
#include "symhv/agent.h"
#include "background_counter.h"

static uint8_t page[4096] __attribute__((aligned(4096)));
int main(void)
{
    long iters = guest_arg("iters", 2000);
    background_counter_start();
    if (symhv_make_symbolic(page + 2048, 16, "b") < 0) {
        printf("handoff-bench: make_symbolic failed\n");
        return 1;
    }
    uint64_t t0 = clock_ns();
    for (long i = 0; i < iters; i++)
        __asm__ volatile("movzbl (%0), %%eax" ::"r"(page) : "rax", "memory");
    uint64_t t1 = clock_ns(), c1 = background_counter_read();
    for (long i = 0; i < iters; i++)
        __asm__ volatile("movzbl (%0), %%eax\n\txorl %%eax, %%eax" ::"r"(page + 2048)
                         : "rax", "memory", "cc");
    uint64_t t2 = clock_ns(), c2 = background_counter_read();
    while (clock_ns() < t2 + (t2 - t1))
        for (volatile int i = 0; i < 10000; i++)
            ;
    uint64_t t3 = clock_ns(), c3 = background_counter_read();
    background_counter_stop();
    printf("handoff-bench iters=%ld exit_ns=%lu handoff_ns=%lu rate_handoff=%lu rate_native=%lu\n",
           iters, (t1 - t0) / (uint64_t)iters, (t2 - t1) / (uint64_t)iters,
           (c2 - c1) * 1000000 / ((t2 - t1) / 1000 + 1), (c3 - c2) * 1000000 / ((t3 - t2) / 1000 + 1));
    return 0;
}
