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

void fz_classify(uint8_t *trace, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (trace[i])
            trace[i] = bucket(trace[i]);
}

int fz_merge_coverage(uint8_t *seen, const uint8_t *trace, size_t n)
{
    int news = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t t = trace[i];
        if (!t || (seen[i] & t) == t)
            continue;
        news = seen[i] == 0 ? 2 : (news > 1 ? news : 1);
        seen[i] |= t;
    }
    return news;
}

size_t fz_count_edges(const uint8_t *seen, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += seen[i] != 0;
    return c;
}
