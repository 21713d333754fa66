/* A libFuzzer target with a bug and no branch before it: a division by a 32-bit value
 * of the input minus a constant. Mutation does not guess the value, nothing is compared
 * (so no compare log); the solver's division-by-zero candidate finds it. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                 (uint32_t)data[3] << 24;
    volatile uint32_t divisor = v - 0x1234abcdu;
    return (int)(1000u / divisor);
}
