/* A forced order of two accesses (fuzz.h) as text: in crash file names and in
 * `--schedule`. Pure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void fz_order_format(const struct fz_order *o, char *buf, size_t size)
{
    snprintf(buf, size, "w%" PRIx64 ".f%" PRIx64 ".p%" PRIx64, o->wait_pc, o->for_pc, o->page);
}

/* One field: its letter, then hex digits (at most 16), then `end`. */
static const char *hex_field(const char *p, char letter, char end, uint64_t *v)
{
    if (*p != letter)
        return NULL;
    p++;
    size_t n = strspn(p, "0123456789abcdefABCDEF");
    if (n == 0 || n > 16 || p[n] != end)
        return NULL;
    *v = strtoull(p, NULL, 16);
    return p + n + (end != 0);
}

int fz_order_parse(const char *text, struct fz_order *o)
{
    struct fz_order got;
    const char *p = hex_field(text, 'w', '.', &got.wait_pc);
    p = p ? hex_field(p, 'f', '.', &got.for_pc) : NULL;
    p = p ? hex_field(p, 'p', 0, &got.page) : NULL;
    if (!p || (got.page & 0xfff))
        return -1;
    *o = got;
    return 0;
}

int fz_order_from_name(const char *name, struct fz_order *o)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    /* symhv's own names only: id:..., the field after op:'s (another tool's sched: is
     * not an order) */
    const char *op = strstr(base, ",op:");
    if (strncmp(base, "id:", 3) != 0 || !op)
        return 0;
    const char *at = strstr(op, ",sched:");
    if (!at)
        return 0;
    at += 7;
    char field[FZ_ORDER_TEXT];
    size_t n = strcspn(at, ",");
    if (n >= sizeof field)
        return -1;
    memcpy(field, at, n);
    field[n] = 0;
    return fz_order_parse(field, o) == 0 ? 1 : -1;
}
