#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static void entry_release(struct fz_entry *e)
{
    free(e->data);
    free(e->edges);
    free(e->file);
}

void fz_queue_free(struct fz_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        entry_release(&q->entries[i]);
    free(q->entries);
    q->entries = NULL;
    q->n = q->cap = 0;
}

struct fz_entry *fz_queue_add(struct fz_queue *q, const uint8_t *data, uint32_t len,
                              enum fz_origin origin)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        struct fz_entry *e = realloc(q->entries, cap * sizeof *e);
        if (!e)
            abort();
        q->entries = e;
        q->cap = cap;
    }
    struct fz_entry *e = &q->entries[q->n];
    e->data = malloc(len ? len : 1);
    if (!e->data)
        abort();
    memcpy(e->data, data, len);
    e->len = len;
    e->origin = origin;
    e->id = (uint32_t)q->n;
    e->concolic_done = false;
    e->picked_cycle = 0;
    e->from[0] = 0;
    e->edges = NULL;
    e->nedges = 0;
    e->file = NULL;
    e->order = (struct fz_order){ 0, 0, 0 };
    e->order_crashes = 0;
    e->orders_tried = 0;
    q->n++;
    return e;
}

struct fz_entry fz_queue_pop(struct fz_queue *q)
{
    return q->entries[--q->n];
}

struct fz_entry fz_queue_shift(struct fz_queue *q)
{
    struct fz_entry e = q->entries[0];
    memmove(&q->entries[0], &q->entries[1], --q->n * sizeof q->entries[0]);
    return e;
}

void fz_entry_free(struct fz_entry *e)
{
    entry_release(e);
    e->data = NULL;
    e->edges = NULL;
    e->file = NULL;
}

int fz_out_dir_init(const char *out_dir, char *err, size_t err_size)
{
    static const char *const subdirs[] = { "", "/queue", "/crashes", "/hangs" };
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s", out_dir, subdirs[i]);
        if (mkdir(path, 0777) < 0 && errno != EEXIST) {
            snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int fz_load_dir(struct fz_queue *q, const char *dir, uint32_t max_len, enum fz_origin origin,
                char *err, size_t err_size)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name); /* sorted: the same order every run */
    if (n < 0) {
        snprintf(err, err_size, "cannot read directory %s: %s", dir, strerror(errno));
        return -1;
    }
    int loaded = 0;
    uint8_t *buf = malloc(max_len);
    if (!buf)
        abort();
    for (int i = 0; i < n && loaded >= 0; i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size == 0)
            continue;
        /* as afl-fuzz: a file over the limit or one that cannot be read is refused, not
         * cut short or passed over in silence */
        if ((uint64_t)st.st_size > max_len) {
            snprintf(err, err_size, "%s is %lld bytes, over the limit of %u for one input",
                     path, (long long)st.st_size, max_len);
            loaded = -1;
            break;
        }
        FILE *f = fopen(path, "rb");
        size_t len = f ? fread(buf, 1, max_len, f) : 0;
        if (!f || ferror(f) || len != (size_t)st.st_size) {
            snprintf(err, err_size, "cannot read %s: %s", path,
                     f && !ferror(f) ? "it changed size while read" : strerror(errno));
            if (f)
                fclose(f);
            loaded = -1;
            break;
        }
        fclose(f);
        struct fz_entry *e = fz_queue_add(q, buf, (uint32_t)len, origin);
        e->file = strdup(names[i]->d_name);
        if (!e->file)
            abort();
        loaded++;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(buf);
    return loaded;
}

size_t fz_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}
