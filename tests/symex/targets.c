#include "targets.h"

#include <emmintrin.h>
#include <string.h>

/* A call on the guarded side forces a real branch (not a setcc/cmov). */
__attribute__((noinline)) static int reached(int which)
{
    __asm__ volatile("" ::: "memory");
    return 1000 + which;
}

int target_linear(const uint8_t *buf)
{
    uint32_t x;
    memcpy(&x, buf, 4);
    if (x * 7 + 3 == 0x1234567)
        return reached(1);
    return 0;
}

int target_magic(const uint8_t *buf)
{
    static const uint8_t magic[8] = { 'S', 'Y', 'M', 'H', 'V', '!', 0x7f, 0x01 };
    for (int i = 0; i < 8; i++)
        if (buf[i] != magic[i])
            return 0;
    return reached(2);
}

int target_magic64(const uint8_t *buf)
{
    uint64_t v;
    memcpy(&v, buf, 8);
    if (v == 0x017f2156484d5953ull)
        return reached(3);
    return 0;
}

__attribute__((noinline)) static unsigned bump(unsigned x)
{
    __asm__ volatile("" ::: "memory");
    return x + 1;
}

int target_hot_loop(const uint8_t *buf)
{
    unsigned high = 0;
    for (int i = 0; i < TARGET_HOT_BYTES; i++)
        if (buf[i] & 0x80)
            high = bump(high);
    uint32_t magic;
    memcpy(&magic, buf + 8, 4);
    if (magic == 0x474e5041u + high)
        return reached(9);
    return 0;
}

__attribute__((noinline)) static int byte_is(const uint8_t *p, uint8_t c)
{
    if (*p == c)
        return reached(0) - 999;
    return 0;
}

int target_two_callers(const uint8_t *buf)
{
    if (buf[0] == 'x') { /* both callers test the same byte: only the callers differ */
        if (byte_is(buf + 1, 'Y'))
            return reached(11);
        return 0;
    }
    if (byte_is(buf + 1, 'Z'))
        return reached(12);
    return 0;
}

int target_hot_helper(const uint8_t *buf)
{
    int seen = 0;
    for (int i = 0; i < 100; i++) /* the helper's branch, hot from this caller */
        seen += byte_is(buf + (i & 3), 'q');
    if (byte_is(buf + 8, 'Z')) /* and once from another */
        return reached(13) + (seen & 0);
    return 0;
}

int target_checksum(const uint8_t *buf)
{
    uint32_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h * 31 + buf[i];
    if (h == 0xdeadbeef)
        return reached(4);
    return 0;
}

int target_sse(const uint8_t *buf)
{
    static const uint8_t a16[16] __attribute__((aligned(16))) = {
        'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A' };
    __m128i v = _mm_loadu_si128((const __m128i *)buf);
    __m128i eq = _mm_cmpeq_epi8(v, _mm_load_si128((const __m128i *)a16));
    if (_mm_movemask_epi8(eq) == 0xffff)
        return reached(5);
    return 0;
}

int target_divide(const uint8_t *buf)
{
    volatile int divisor = buf[0] - 'a'; /* no branch guards the division */
    return 1000 / divisor;
}

int target_select(const uint8_t *buf)
{
    int hit = buf[0] == 'z'; /* a setcc or cmov, no jump */
    return hit * 1006;
}

int target_independent(const uint8_t *buf)
{
    int r = 0;
    if (buf[0] == 'a') /* two branches on other bytes first: not in the last flip's query */
        r += reached(10);
    if (buf[1] == 'b')
        r += reached(11);
    if (buf[2] == 'c')
        return reached(7);
    return r ? 1 : 0;
}

int target_switch(const uint8_t *buf)
{
    switch (buf[0] & 7) { /* a jump table at -O2: the case is a loaded address */
    case 0: return reached(20);
    case 1: return reached(21) + 1;
    case 2: return reached(22) * 3;
    case 3: return reached(23) - 7;
    case 4: return reached(24) ^ 5;
    case 5: return reached(25) + 11;
    case 6: return reached(26) * 2;
    default: return 0;
    }
}

/* CRC-32 through its 256-entry table, over 4 bytes: each step reads the table at an
 * index that depends on the input (a table-driven parser's shape). */
int target_crc_table(const uint8_t *buf)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t crc = ~0u;
    for (int i = 0; i < 4; i++)
        crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    if (~crc == 0xdeadbeefu)
        return reached(14);
    return 0;
}
