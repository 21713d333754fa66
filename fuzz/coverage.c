/* Coverage maps are mostly zero: every pass below skips zero 8-byte words (a 64 KiB map
 * costs a few microseconds instead of a byte loop's hundreds under the test build). */
#include <string.h>

#include "fuzz.h"

static uint8_t bucket(uint8_t hits)
{
    if (hits <= 3)
        return hits == 3 ? 4 : hits;   /* 0, 1, 2, 3 -> 0, 1, 2, 4 */
    if (hits <= 7)
        return 8;
    if (hits <= 15)
        return 16;
    if (hits <= 31)
        return 32;
    if (hits <= 127)
        return 64;
    return 128;
}

static uint64_t word_at(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

void fz_classify(uint8_t *trace, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        if (!word_at(trace + i))
            continue;
        for (size_t k = i; k < i + 8; k++)
            if (trace[k])
                trace[k] = bucket(trace[k]);
    }
    for (; i < n; i++)
        if (trace[i])
            trace[i] = bucket(trace[i]);
}

static int merge_byte(uint8_t *seen, uint8_t t, int news)
{
    if (!t || (*seen & t) == t)
        return news;
    news = *seen == 0 ? 2 : (news > 1 ? news : 1);
    *seen |= t;
    return news;
}

int fz_merge_coverage(uint8_t *seen, const uint8_t *trace, size_t n)
{
    int news = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t t = word_at(trace + i);
        if (!t || (word_at(seen + i) & t) == t)
            continue;
        for (size_t k = i; k < i + 8; k++)
            news = merge_byte(&seen[k], trace[k], news);
    }
    for (; i < n; i++)
        news = merge_byte(&seen[i], trace[i], news);
    return news;
}

size_t fz_count_edges(const uint8_t *seen, size_t n)
{
    size_t c = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        if (!word_at(seen + i))
            continue;
        for (size_t k = i; k < i + 8; k++)
            c += seen[k] != 0;
    }
    for (; i < n; i++)
        c += seen[i] != 0;
    return c;
}

uint64_t fz_trace_hash(const uint8_t *trace, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, trace + i, n - i < 8 ? n - i : 8);
        if (w)
            h = (h ^ w ^ i) * 1099511628211ull;
    }
    return h;
}
