/* Concrete parts of an input (fuzz.h): where a program's buffers took bytes of the input
 * without making them symbolic, so that a solver's input gets them back. Pure. */
#include <string.h>

#include "fuzz.h"

void fz_note_concrete(struct fz_concrete_parts *c, uint64_t off, uint64_t len)
{
    if (c->n == FZ_MAX_CONCRETE_PARTS || off > UINT32_MAX || len > FZ_MAX_CONCRETE_BYTES)
        c->overflow = true;
    else
        c->part[c->n++] = (__typeof__(c->part[0])){ (uint32_t)off, (uint32_t)len };
}

bool fz_keep_concrete(struct fz_concrete_parts *c, const uint8_t *input, size_t len)
{
    size_t b = 0;
    for (unsigned k = 0; k < c->n; k++) {
        uint32_t off = c->part[k].off, n = c->part[k].len;
        if (b + n > sizeof c->bytes) {
            c->overflow = true;
            c->n = k;
            break;
        }
        for (uint32_t i = 0; i < n; i++) /* past the input's end: zeros, as it ran */
            c->bytes[b + i] = (size_t)off + i < len ? input[off + i] : 0;
        b += n;
    }
    return !c->overflow;
}

size_t fz_put_back_concrete(const struct fz_concrete_parts *c, const uint8_t *data, size_t len,
                            uint8_t *out, size_t cap)
{
    size_t o = 0, d = 0, b = 0;
    for (unsigned k = 0; k < c->n; k++) {
        size_t take = c->part[k].off > o ? c->part[k].off - o : 0; /* symbolic bytes before */
        take = take < len - d ? take : len - d;
        take = take < cap - o ? take : cap - o;
        memcpy(out + o, data + d, take);
        o += take;
        d += take;
        size_t n = c->part[k].len < cap - o ? c->part[k].len : cap - o;
        memcpy(out + o, c->bytes + b, n);
        o += n;
        b += c->part[k].len;
    }
    size_t rest = len - d < cap - o ? len - d : cap - o;
    memcpy(out + o, data + d, rest);
    return o + rest;
}
