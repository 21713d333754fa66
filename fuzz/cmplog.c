/* Input-to-state (AFL++'s CMPLOG, after REDQUEEN): the target logged the operands of its
 * comparisons; where one operand's bytes appear in the input, the input probably became
 * that operand, so an input with the other operand's bytes there is likely to take the
 * other side of the comparison. Numbers are tried as they are and byte-swapped (a
 * big-endian field), strings may extend the input. */
#include <string.h>

#include "fuzz.h"

/* The n-byte (2, 4 or 8) little-endian number at v, byte-swapped in place. */
static void swap_bytes(uint8_t v[8], unsigned n)
{
    uint64_t x = 0;
    memcpy(&x, v, n);
    x = __builtin_bswap64(x) >> (64 - 8 * n);
    memcpy(v, &x, n);
}

/* Every place `pattern` occurs in the input: emit the input with `with` there. */
static size_t replace_all(const uint8_t *in, uint32_t len, const uint8_t *pattern,
                          unsigned plen, const uint8_t *with, unsigned wlen, uint32_t max_len,
                          uint8_t *scratch, fz_candidate_fn emit, void *ctx, size_t budget)
{
    size_t made = 0;
    if (plen == 0 || plen > len || wlen == 0)
        return 0;
    for (uint32_t at = 0; at + plen <= len && made < budget; at++) {
        if (memcmp(in + at, pattern, plen) != 0)
            continue;
        uint32_t out_len = len;
        if (at + wlen > out_len)
            out_len = at + wlen > max_len ? max_len : at + wlen;
        memcpy(scratch, in, len);
        memcpy(scratch + at, with, out_len - at < wlen ? out_len - at : wlen);
        emit(ctx, scratch, out_len);
        made++;
    }
    return made;
}

size_t fz_i2s_candidates(const uint8_t *input, uint32_t len, const struct fz_compare *cmps,
                         size_t n, uint32_t max_len, uint8_t *scratch, fz_candidate_fn emit,
                         void *ctx, size_t budget)
{
    size_t made = 0;
    if (max_len > FZ_MAX_INPUT) /* scratch holds FZ_MAX_INPUT bytes, whatever the caller says */
        max_len = FZ_MAX_INPUT;
    if (len > max_len)
        len = max_len;
    for (size_t i = 0; i < n && made < budget; i++) {
        const struct fz_compare *c = &cmps[i];
        unsigned size = c->size < FZ_CMP_BYTES ? c->size : FZ_CMP_BYTES;
        unsigned a_len = c->a_len < FZ_CMP_BYTES ? c->a_len : FZ_CMP_BYTES;
        if (size == 0 || (a_len == size && memcmp(c->a, c->b, size) == 0))
            continue; /* equal operands: nothing to put in (the hooks log every compare) */
        bool number = size <= 8 && a_len == size && (size & (size - 1)) == 0;
        /* one-byte numbers match everywhere: only where the whole input is short */
        if (number && size == 1 && len > 64)
            continue;
        made += replace_all(input, len, c->a, a_len, c->b, size, max_len, scratch, emit, ctx,
                            budget - made);
        made += replace_all(input, len, c->b, size, c->a, a_len, max_len, scratch, emit, ctx,
                            budget - made);
        if (number && size > 1) {
            uint8_t a[8], b[8];
            memcpy(a, c->a, size);
            memcpy(b, c->b, size);
            swap_bytes(a, size);
            swap_bytes(b, size);
            made += replace_all(input, len, a, size, b, size, max_len, scratch, emit, ctx,
                                budget - made);
            made += replace_all(input, len, b, size, a, size, max_len, scratch, emit, ctx,
                                budget - made);
        }
    }
    return made;
}

/* ---- AFL++'s CMPLOG map (symhv fuzz -c) ------------------------------------------------ */

enum { AFL_CMP_INS = 1, AFL_CMP_RTN = 2, AFL_CMP_H = 32, AFL_CMP_RTN_H = 8 };

static unsigned afl_hits(uint64_t h) { return (unsigned)(h & 0xffffff); }
static unsigned afl_shape(uint64_t h) { return (unsigned)(h >> 48) & 31; }
static unsigned afl_type(uint64_t h) { return (unsigned)(h >> 53) & 3; }

size_t fz_afl_cmp_key_slots(uint64_t header)
{
    unsigned hits = afl_hits(header);
    if (afl_type(header) == AFL_CMP_INS) /* one slot per hit, the last H of them */
        return hits < AFL_CMP_H ? hits : AFL_CMP_H;
    if (afl_type(header) == AFL_CMP_RTN) /* two slots per hit, the last H/4 of them */
        return 2 * (hits < AFL_CMP_RTN_H ? hits : AFL_CMP_RTN_H);
    return 0;
}

static bool seen_before(const struct fz_compare *out, size_t n, const struct fz_compare *c)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].size == c->size && out[i].a_len == c->a_len &&
            memcmp(out[i].a, c->a, c->a_len) == 0 && memcmp(out[i].b, c->b, c->size) == 0)
            return true;
    return false;
}

size_t fz_afl_cmp_key(uint64_t header, const uint8_t slots[FZ_AFL_CMP_KEY_BYTES],
                      struct fz_compare *out, size_t cap)
{
    size_t n = 0, nslots = fz_afl_cmp_key_slots(header);
    bool ins = afl_type(header) == AFL_CMP_INS;
    for (size_t i = 0; i < nslots && n < cap; i += ins ? 1 : 2) {
        const uint8_t *s = slots + i * 32;
        struct fz_compare c = { 0 };
        if (ins) { /* v0, v1, v0_128, v1_128: shape + 1 bytes of each, little-endian */
            unsigned size = afl_shape(header) + 1;
            size = size > 16 ? 16 : size;
            uint8_t a[16], b[16];
            memcpy(a, s, 8);
            memcpy(a + 8, s + 16, 8);
            memcpy(b, s + 8, 8);
            memcpy(b + 8, s + 24, 8);
            c.size = c.a_len = (uint8_t)size;
            memcpy(c.a, a, size);
            memcpy(c.b, b, size);
        } else { /* v0[31], v0_len, v1[31], v1_len (0x80: a length-bounded routine) */
            unsigned a_len = s[31] & 0x7f, b_len = s[63] & 0x7f;
            a_len = a_len > 31 ? 31 : a_len;
            b_len = b_len > 31 ? 31 : b_len;
            c.a_len = (uint8_t)a_len;
            c.size = (uint8_t)b_len;
            memcpy(c.a, s, a_len);
            memcpy(c.b, s + 32, b_len);
        }
        if (c.size && !seen_before(out, n, &c))
            out[n++] = c;
    }
    return n;
}
