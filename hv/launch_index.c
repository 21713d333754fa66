/* The launch image's file system while it is built: files by normalized path (an open
 * addressing index), directories linked to their entries, buffers the builder owns
 * (launch_index.h). The bottom of launch_build.c and launch_program.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "launch_index.h"
#include "symhv/path.h"

int lb_fail(struct builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, b->err_size, fmt, ap);
    va_end(ap);
    return -1;
}

void *lb_own(struct builder *b, void *p)
{
    if (!p)
        return NULL;
    if (b->nowned == b->owned_cap) {
        unsigned cap = b->owned_cap ? 2 * b->owned_cap : 16;
        void **grown = realloc(b->owned, cap * sizeof *grown);
        if (!grown) {
            free(p);
            return NULL;
        }
        b->owned = grown;
        b->owned_cap = cap;
    }
    return b->owned[b->nowned++] = p;
}

/* "./a//b/" -> "/a/b"; "" and "." -> "/". -1 on "..", NUL or too long. */
int lb_normalize(const char *in, size_t len, char *out, size_t *out_len)
{
    size_t o = 1;
    out[0] = '/';
    if (symhv_path_join(out, &o, MAX_PATH_LEN, in, len, false) < 0)
        return -1;
    out[o] = 0;
    *out_len = o;
    return 0;
}

uint32_t lb_find(struct builder *b, const char *path, size_t len)
{
    if (!b->index_cap)
        return SYMHV_NO_FILE;
    uint32_t mask = b->index_cap - 1;
    for (uint32_t h = symhv_path_hash(path, len) & mask;; h = (h + 1) & mask) {
        uint32_t k = b->index[h];
        if (!k)
            return SYMHV_NO_FILE;
        struct bfile *f = &b->f[k - 1];
        if (f->path_len == len && memcmp(f->path, path, len) == 0)
            return k - 1;
    }
}

int lb_index_insert(struct builder *b, uint32_t i)
{
    if (2 * (b->n + 1) > b->index_cap) { /* keep it at most half full */
        uint32_t cap = b->index_cap ? 2 * b->index_cap : 256;
        uint32_t *grown = calloc(cap, sizeof *grown);
        if (!grown)
            return lb_fail(b, "out of memory");
        uint32_t *old = b->index, old_cap = b->index_cap;
        b->index = grown;
        b->index_cap = cap;
        for (uint32_t h = 0; h < old_cap; h++) {
            if (!old[h])
                continue;
            struct bfile *f = &b->f[old[h] - 1];
            uint32_t s = symhv_path_hash(f->path, f->path_len) & (cap - 1);
            while (grown[s])
                s = (s + 1) & (cap - 1);
            grown[s] = old[h];
        }
        free(old);
    }
    struct bfile *f = &b->f[i];
    uint32_t s = symhv_path_hash(f->path, f->path_len) & (b->index_cap - 1);
    while (b->index[s])
        s = (s + 1) & (b->index_cap - 1);
    b->index[s] = i + 1;
    return 0;
}

uint32_t lb_new_file(struct builder *b)
{
    if (b->n == SYMHV_LAUNCH_MAX_FILES) {
        lb_fail(b, "more than %u files", SYMHV_LAUNCH_MAX_FILES);
        return SYMHV_NO_FILE;
    }
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? 2 * b->cap : 64;
        struct bfile *grown = realloc(b->f, cap * sizeof *grown);
        if (!grown) {
            lb_fail(b, "out of memory");
            return SYMHV_NO_FILE;
        }
        b->f = grown;
        b->cap = cap;
    }
    uint32_t i = b->n++;
    b->f[i] = (struct bfile){ .parent = SYMHV_NO_FILE, .first_child = SYMHV_NO_FILE,
                              .last_child = SYMHV_NO_FILE, .next_sibling = SYMHV_NO_FILE,
                              .link = SYMHV_NO_FILE, .hash_next = SYMHV_NO_FILE,
                              .mtime = b->now };
    return i;
}


/* The directory holding `path` (created, with its own parents, if missing). */
static uint32_t parent_dir(struct builder *b, const char *path, size_t len)
{
    size_t cut = len;
    while (cut > 0 && path[cut - 1] != '/')
        cut--;
    if (cut <= 1)
        return 0; /* "/x": the root */
    return lb_add_path(b, path, cut - 1, 040755);
}

/* The file at the normalized `path`: found, or new with `mode` (and linked into its
 * directory). A directory asked for where a non-directory stands (or the reverse, for
 * a parent) is an error. */
uint32_t lb_add_path(struct builder *b, const char *path, size_t len, uint32_t mode)
{
    uint32_t i = lb_find(b, path, len);
    if (i != SYMHV_NO_FILE) {
        if (S_TYPE(mode) == 040000 && S_TYPE(b->f[i].mode) != 040000) {
            lb_fail(b, "%.*s is both a file and a directory", (int)len, path);
            return SYMHV_NO_FILE;
        }
        return i;
    }
    uint32_t parent = parent_dir(b, path, len);
    if (parent == SYMHV_NO_FILE)
        return SYMHV_NO_FILE;
    if (S_TYPE(b->f[parent].mode) != 040000) {
        lb_fail(b, "%.*s: a parent is not a directory", (int)len, path);
        return SYMHV_NO_FILE;
    }
    char *copy = lb_own(b, strndup(path, len));
    if (!copy || (i = lb_new_file(b)) == SYMHV_NO_FILE) {
        if (!copy)
            lb_fail(b, "out of memory");
        return SYMHV_NO_FILE;
    }
    struct bfile *f = &b->f[i];
    f->path = copy;
    f->path_len = len;
    f->mode = mode;
    f->kind = S_TYPE(mode) == 040000 ? SYMHV_FILE_DIR : SYMHV_FILE_DATA;
    f->parent = parent;
    struct bfile *p = &b->f[parent];
    if (p->last_child == SYMHV_NO_FILE)
        p->first_child = i;
    else
        b->f[p->last_child].next_sibling = i;
    p->last_child = i;
    if (lb_index_insert(b, i) < 0)
        return SYMHV_NO_FILE;
    return i;
}

/* A file with these bytes at `path` (replacing what stood there). */
uint32_t lb_put_file(struct builder *b, const char *path, uint32_t mode, uint32_t kind,
                     const void *data, uint64_t size)
{
    char norm[MAX_PATH_LEN];
    size_t len;
    if (lb_normalize(path, strlen(path), norm, &len) < 0) {
        lb_fail(b, "bad guest path '%s' ('..' and NUL are not allowed)", path);
        return SYMHV_NO_FILE;
    }
    uint32_t i = lb_add_path(b, norm, len, mode);
    if (i == SYMHV_NO_FILE)
        return i;
    struct bfile *f = &b->f[i];
    if (f->kind == SYMHV_FILE_DIR && S_TYPE(mode) != 040000)
        return lb_fail(b, "%s is a directory", norm), SYMHV_NO_FILE;
    f->mode = mode;
    f->kind = kind;
    f->data = data;
    f->size = f->capacity = size;
    return i;
}
