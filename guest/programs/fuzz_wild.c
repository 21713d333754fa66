/* A libFuzzer target that, for inputs starting with 'W', reads guest-physical memory past
 * the end of a 256 MiB guest: the machine itself faults (no guest exception handler sees
 * it). A fuzzing campaign must save such an input in crashes/ and go on. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 'W')
        return *(volatile char *)0x10000201ull; /* 256 MiB + 513: outside RAM */
    return 0;
}
