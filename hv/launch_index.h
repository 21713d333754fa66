/* The launch image's builder (hv/ only): the files by normalized path while the image
 * is built (launch_index.c), under launch_program.c (the program, its symbolic sources,
 * the system files) and launch_build.c (archives, links, the image). */
#ifndef HV_LAUNCH_INDEX_H
#define HV_LAUNCH_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symhv/launch.h" /* SYMHV_NO_FILE, symhv_path_hash */

#define MAX_PATH_LEN 4096
#define MAX_ARGS 4096
#define MAX_SYMLINK_HOPS 8
#define S_TYPE(m) ((m) & 0170000)

struct bfile {
    char *path;
    size_t path_len;
    uint32_t mode, kind;
    const uint8_t *data;     /* borrowed: an archive, the program, an owned buffer */
    uint64_t size, capacity, mtime;
    uint32_t parent, first_child, last_child, next_sibling, link, hash_next;
    bool hidden;             /* stdin's bytes: reachable by index only */
    bool page_aligned;       /* a symbolic source: its bytes on pages of their own */
    uint32_t cpio_ino;       /* hard links of the archive being read (0: none) */
};

struct builder {
    struct bfile *f;
    uint32_t n, cap;
    uint32_t *index;         /* open addressing over paths: file + 1, 0 empty */
    uint32_t index_cap;
    void **owned;
    unsigned nowned, owned_cap;
    uint64_t now;
    char *err;
    size_t err_size;
};

/* One line into b->err; returns -1. */
int lb_fail(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* p is freed with the builder (NULL stays NULL). */
void *lb_own(struct builder *b, void *p);
/* "./a//b/" -> "/a/b"; "" and "." -> "/". -1 on "..", NUL or too long. */
int lb_normalize(const char *in, size_t len, char *out, size_t *out_len);
/* The file at a normalized path, or SYMHV_NO_FILE. */
uint32_t lb_find(struct builder *b, const char *path, size_t len);
/* The file at the normalized `path`: found, or new with `mode` (and linked into its
 * directory); SYMHV_NO_FILE after lb_fail. */
uint32_t lb_add_path(struct builder *b, const char *path, size_t len, uint32_t mode);
/* A file with these bytes at path (replacing an archive's). SYMHV_NO_FILE after lb_fail. */
uint32_t lb_put_file(struct builder *b, const char *path, uint32_t mode, uint32_t kind,
                     const void *data, uint64_t size);
/* Put file i into the path index (growing it). 0, or -1 after lb_fail. */
int lb_index_insert(struct builder *b, uint32_t i);
/* A new, empty file entry (no path yet); SYMHV_NO_FILE after lb_fail. */
uint32_t lb_new_file(struct builder *b);

#endif
