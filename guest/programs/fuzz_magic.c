/* A libFuzzer-style target: a 4-byte magic, then a checksum byte over the next three,
 * then a crash. Random mutation does not guess the 32-bit magic; the solver does. */
#include <stddef.h>
#include <stdint.h>

static volatile uintptr_t unmapped_address = 8; /* volatile: the compiler keeps the write */

__attribute__((noinline)) static void crash(void)
{
    *(volatile int *)unmapped_address = 1; /* page fault in ring 3: the kernel reports it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint32_t magic;
    __builtin_memcpy(&magic, data, 4);
    if (magic != 0x5a46484d) /* "MHFZ" */
        return 0;
    uint8_t sum = 0;
    for (int i = 4; i < 7; i++)
        sum = (uint8_t)(sum * 31 + data[i]);
    if (sum != data[7])
        return 0;
    crash();
    return 0;
}
