#include "cpio.h"

#include <stdio.h>
#include <string.h>

#define NEWC_HEADER 110 /* "070701" and 13 fields of 8 hex digits */
#define NEWC_NAME_MAX 4096

bool cpio_is_newc(const uint8_t *buf, size_t len)
{
    return len >= NEWC_HEADER &&
           (memcmp(buf, "070701", 6) == 0 || memcmp(buf, "070702", 6) == 0);
}

static int hex8(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t c = p[i];
        unsigned d = c >= '0' && c <= '9' ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
        if (d == 16)
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t align4(size_t n) { return (n + 3) & ~(size_t)3; }

int cpio_parse(const uint8_t *buf, size_t len, cpio_fn fn, void *ctx, char *err,
               size_t err_size)
{
    size_t off = 0;
    if (err_size)
        err[0] = 0;
    for (unsigned n = 0;; n++) {
        if (len - off < NEWC_HEADER) {
            snprintf(err, err_size, "truncated at byte %zu (entry %u): no TRAILER!!! entry", off, n);
            return -1;
        }
        const uint8_t *h = buf + off;
        if (!cpio_is_newc(h, NEWC_HEADER)) {
            snprintf(err, err_size, "entry %u at byte %zu: not a newc header (magic 070701)", n, off);
            return -1;
        }
        uint32_t f[13];
        for (int i = 0; i < 13; i++) {
            if (hex8(h + 6 + 8 * i, &f[i]) < 0) {
                snprintf(err, err_size, "entry %u at byte %zu: bad hex digits in its header", n, off);
                return -1;
            }
        }
        /* ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
         * namesize check */
        uint32_t namesize = f[11];
        uint64_t filesize = f[6];
        if (namesize < 2 || namesize > NEWC_NAME_MAX) {
            snprintf(err, err_size, "entry %u at byte %zu: name size %u", n, off, namesize);
            return -1;
        }
        size_t name_at = off + NEWC_HEADER;
        if (len - name_at < namesize || h[NEWC_HEADER + namesize - 1] != 0) {
            snprintf(err, err_size, "entry %u at byte %zu: name truncated or not terminated", n, off);
            return -1;
        }
        size_t data_at = align4(name_at + namesize);
        if (data_at > len || len - data_at < filesize) {
            snprintf(err, err_size, "entry %u at byte %zu: its %llu bytes run past the end",
                     n, off, (unsigned long long)filesize);
            return -1;
        }
        struct cpio_entry e = {
            .name = (const char *)buf + name_at, .name_len = namesize - 1, .mode = f[1],
            .ino = f[0], .nlink = f[4], .mtime = f[5], .data = buf + data_at, .size = filesize,
            .rdev_major = f[9], .rdev_minor = f[10],
        };
        if (e.name_len == 10 && memcmp(e.name, "TRAILER!!!", 10) == 0)
            return 0;
        if (fn(&e, ctx) < 0) {
            if (!err[0])
                snprintf(err, err_size, "entry %u (%.*s) refused", n, (int)e.name_len, e.name);
            return -1;
        }
        off = align4(data_at + filesize);
        if (off > len) {
            snprintf(err, err_size, "truncated after entry %u: no TRAILER!!! entry", n);
            return -1;
        }
    }
}
