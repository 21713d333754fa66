/* Reading cpio archives in the "newc" format (magic 070701, or 070702 with checksums),
 * the format Linux uses for initramfs. Pure: no VM, no files. */
#ifndef HV_CPIO_H
#define HV_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpio_entry {
    const char *name;    /* as stored: may start with "./" or "/"; not NUL-terminated */
    size_t name_len;
    uint32_t mode;       /* st_mode bits */
    uint32_t ino, nlink;
    uint32_t rdev_major, rdev_minor; /* a device node's numbers */
    uint64_t mtime;
    const uint8_t *data; /* into the archive */
    uint64_t size;
};

/* Does buf start like a newc archive? */
bool cpio_is_newc(const uint8_t *buf, size_t len);

/* Call fn for every entry up to the TRAILER!!! (not included); fn returns < 0 to stop.
 * Hard links are given as stored (newc keeps the bytes with the last link only).
 * 0, or -1 with a one-line reason in err (truncated or malformed archive, fn's stop). */
typedef int (*cpio_fn)(const struct cpio_entry *e, void *ctx);
int cpio_parse(const uint8_t *buf, size_t len, cpio_fn fn, void *ctx, char *err,
               size_t err_size);

#endif
