#include <string.h>

#include "fuzz.h"

static const int8_t interesting8[] = { -128, -1, 0, 1, 16, 32, 64, 100, 127 };
static const int16_t interesting16[] = { -32768, -129, 128, 255, 256, 512, 1000, 1024, 4096, 32767 };
static const int32_t interesting32[] = { -2147483647 - 1, -100663046, -32769, 32768, 65535,
                                         65536, 100663045, 2147483647 };

enum { M_BITFLIP, M_BYTE_RANDOM, M_ARITH8, M_ARITH16, M_ARITH32, M_INTERESTING8,
       M_INTERESTING16, M_INTERESTING32, M_DELETE, M_CLONE, M_OVERWRITE, M_TOKEN_OVERWRITE,
       M_TOKEN_INSERT, M_SPLICE, M_INSERT_BLOCK, M_COUNT };

static uint32_t pick(struct fz_rng *r, uint32_t n) { return (uint32_t)fz_rng_below(r, n); }

/* A block length as AFL++'s havoc picks them: mostly short, now and then long (inputs
 * have to grow by tens of bytes to reach a length field's record). */
static uint32_t block_len(struct fz_rng *r)
{
    switch (pick(r, 10)) {
    case 0: return 128 + pick(r, 1400);
    case 1: case 2: case 3: return 32 + pick(r, 96);
    default: return 1 + pick(r, 32);
    }
}

static void put(uint8_t *out, uint32_t at, const void *v, uint32_t n, uint32_t len)
{
    if (at + n <= len)
        memcpy(out + at, v, n);
}

/* One mutation of out[0..len) in place (capacity max_len); returns the new length. */
static uint32_t mutate_once(struct fz_rng *r, const struct fz_queue *q,
                            const struct fz_dict *dict, uint8_t *out, uint32_t len,
                            uint32_t max_len)
{
    uint32_t at = pick(r, len);
    switch (pick(r, M_COUNT)) {
    case M_BITFLIP:
        out[at] ^= (uint8_t)(1u << pick(r, 8));
        break;
    case M_BYTE_RANDOM:
        out[at] ^= (uint8_t)(1 + pick(r, 255));
        break;
    case M_ARITH8:
        out[at] = (uint8_t)(out[at] + (pick(r, 2) ? 1 : -1) * (int)(1 + pick(r, 35)));
        break;
    case M_ARITH16: case M_ARITH32: {
        uint32_t n = pick(r, 2) ? 2 : 4, v = 0;
        if (at + n > len)
            break;
        memcpy(&v, out + at, n);
        v += (pick(r, 2) ? 1u : -1u) * (1 + pick(r, 35));
        put(out, at, &v, n, len);
        break;
    }
    case M_INTERESTING8:
        out[at] = (uint8_t)interesting8[pick(r, sizeof interesting8)];
        break;
    case M_INTERESTING16: {
        int16_t v = interesting16[pick(r, sizeof interesting16 / sizeof interesting16[0])];
        put(out, at, &v, 2, len);
        break;
    }
    case M_INTERESTING32: {
        int32_t v = interesting32[pick(r, sizeof interesting32 / sizeof interesting32[0])];
        put(out, at, &v, 4, len);
        break;
    }
    case M_DELETE:
        if (len > 1) {
            uint32_t n = 1 + pick(r, len - at < 16 ? len - at : 16);
            if (n >= len)
                n = len - 1;
            memmove(out + at, out + at + n, len - at - n);
            len -= n;
        }
        break;
    case M_CLONE:
        if (len < max_len) {
            uint32_t from = pick(r, len), n = 1 + pick(r, len - from < 16 ? len - from : 16);
            if (n > max_len - len)
                n = max_len - len;
            memmove(out + at + n, out + at, len - at);
            memmove(out + at, out + from + (from >= at ? n : 0), n);
            len += n;
        }
        break;
    case M_INSERT_BLOCK: /* a block of one byte value (random, or one of the input's) */
        if (len < max_len) {
            uint32_t where = pick(r, len + 1), n = block_len(r);
            uint8_t v = pick(r, 2) ? (uint8_t)pick(r, 256) : out[pick(r, len)];
            if (n > max_len - len)
                n = max_len - len;
            memmove(out + where + n, out + where, len - where);
            memset(out + where, v, n);
            len += n;
        }
        break;
    case M_OVERWRITE: {
        uint32_t from = pick(r, len), n = 1 + pick(r, len - (from > at ? from : at));
        memmove(out + at, out + from, n);
        break;
    }
    case M_TOKEN_OVERWRITE: case M_TOKEN_INSERT:
        if (dict && dict->n) {
            size_t t = fz_rng_below(r, dict->n);
            uint32_t n = dict->lens[t];
            if (pick(r, 2) && len + n <= max_len) { /* insert */
                memmove(out + at + n, out + at, len - at);
                memcpy(out + at, dict->tokens[t], n);
                len += n;
            } else if (at + n <= len) {
                memcpy(out + at, dict->tokens[t], n);
            }
        }
        break;
    case M_SPLICE:
        if (q->n > 1) { /* our head, another entry's tail */
            const struct fz_entry *o = &q->entries[fz_rng_below(r, q->n)];
            if (o->len == 0) /* an empty entry has no tail */
                break;
            uint32_t from = pick(r, o->len), n = o->len - from;
            if (at + n > max_len)
                n = max_len - at;
            memcpy(out + at, o->data + from, n);
            len = at + n > len ? at + n : (pick(r, 2) ? at + n : len);
            if (len == 0)
                len = 1;
        }
        break;
    }
    return len;
}

uint32_t fz_mutate(struct fz_rng *r, const struct fz_queue *q, size_t index,
                   const struct fz_dict *dict, uint8_t *out, uint32_t max_len)
{
    const struct fz_entry *e = &q->entries[index];
    uint32_t len = e->len < max_len ? e->len : max_len;
    if (len == 0) {
        out[0] = 0;
        len = 1;
    } else {
        memcpy(out, e->data, len);
    }
    uint32_t stack = 1u << (1 + pick(r, 4)); /* 2, 4, 8 or 16 mutations */
    for (uint32_t i = 0; i < stack; i++)
        len = mutate_once(r, q, dict, out, len, max_len);
    return len;
}
