/* The code bench_interp runs natively and in the interpreter: an FNV-style hash with a
 * data-dependent branch per byte, the shape of a parser's inner loop. */
#include <stddef.h>
#include <stdint.h>

uint32_t interp_workload(const uint8_t *buf, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h ^= buf[i];
        h *= 16777619u;
        if (buf[i] == 'x')
            h += 7;
    }
    return h;
}
