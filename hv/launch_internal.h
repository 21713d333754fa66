/* The launch image's builder, shared by its two files (hv/ only): launch.c (the file
 * index, archives, links, the image) and launch_program.c (the program, its symbolic
 * sources, the system files it expects). */
#ifndef HV_LAUNCH_INTERNAL_H
#define HV_LAUNCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launch.h"

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
/* A new, empty file entry (no path yet); SYMHV_NO_FILE after lb_fail. */
uint32_t lb_new_file(struct builder *b);

/* launch_program.c: the program (its index), the symbolic sources, /dev, /proc, /sys. */
uint32_t lb_add_program(struct builder *b, const struct launch_config *cfg);
int lb_add_sources(struct builder *b, const struct launch_config *cfg, struct symhv_launch *hdr,
                   const char **argv_text, uint64_t *arg_room);
int lb_add_system_files(struct builder *b, const struct launch_config *cfg, uint32_t exe);

#endif
