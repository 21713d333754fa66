/* A libFuzzer target: a type-length-value parser whose bug needs a record of type 7
 * with a length of exactly 0x41 and its 65 bytes of value (67+ bytes from a short seed).
 * The compares give the values away (input-to-state); the length takes growing inputs. */
#include <stddef.h>
#include <stdint.h>

static volatile uintptr_t unmapped_address = 8;

__attribute__((noinline)) static void crash(void)
{
    *(volatile int *)unmapped_address = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t type = data[i], len = data[i + 1];
        if (i + 2 + len > size)
            return 0; /* a truncated record */
        if (type == 7 && len == 0x41)
            crash();
        i += 2 + (size_t)len;
    }
    return 0;
}
