/* Guest side of scripts/bench-handoff's handoff-bound case: a loop over a 4 KiB
 * symbolic buffer with a read and a branch per byte, the byte's register overwritten
 * before the next read (as a parser's loop leaves it), so each read finds the registers
 * concrete: without renting (SYMHV_HANDOFF_RENT=0) the vCPU goes back and forth once
 * per byte. Prints the loop's guest time; the run's summary has the interpreter's own
 * time for the same instructions. */
#include "guest.h"
#include "symhv/agent.h"

#define BYTES 4096
static uint8_t buf[BYTES] __attribute__((aligned(4096)));

int main(void)
{
    for (int i = 0; i < BYTES; i++)
        buf[i] = (uint8_t)("symhv parses "[i % 13]);
    if (symhv_make_symbolic(buf, BYTES, "buf") < 0) {
        printf("parse-bench: make_symbolic failed\n");
        return 1;
    }
    unsigned long count = 0;
    uint64_t t0 = clock_ns();
    for (long i = 0; i < BYTES; i++)
        __asm__ volatile("movzbl (%1), %%eax\n\t"
                         "cmpb $0x73, %%al\n\t"
                         "jne 1f\n\t"
                         "incq %0\n"
                         "1:\n\t"
                         "xorl %%eax, %%eax"
                         : "+r"(count)
                         : "r"(buf + i)
                         : "rax", "memory", "cc");
    uint64_t t1 = clock_ns();
    printf("parse-bench bytes=%d matches=%lu loop_ns=%lu\n", BYTES, count, (unsigned long)(t1 - t0));
    return 0;
}
