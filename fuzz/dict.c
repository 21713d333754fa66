#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* One token: everything between the first and last double quote, with \xNN, \\ and \"
 * escapes (AFL's name="value" form), or the whole line if it has no quotes. */
static int parse_token(const char *line, uint8_t *out, uint32_t *len)
{
    const char *start = strchr(line, '"'), *end = strrchr(line, '"');
    if (!start) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        memcpy(out, line, n);
        *len = (uint32_t)n;
        return n ? 0 : -1;
    }
    if (end == start)
        return -1;
    uint32_t n = 0;
    for (const char *p = start + 1; p < end; p++) {
        if (*p == '\\' && p + 1 < end) {
            p++;
            if (*p == 'x' && p + 2 < end && isxdigit((unsigned char)p[1]) &&
                isxdigit((unsigned char)p[2])) {
                char hex[3] = { p[1], p[2], 0 };
                out[n++] = (uint8_t)strtoul(hex, NULL, 16);
                p += 2;
                continue;
            }
        }
        out[n++] = (uint8_t)*p;
    }
    *len = n;
    return n ? 0 : -1;
}

static void add_token(struct fz_dict *d, const uint8_t *tok, uint32_t len)
{
    d->tokens = realloc(d->tokens, (d->n + 1) * sizeof *d->tokens);
    d->lens = realloc(d->lens, (d->n + 1) * sizeof *d->lens);
    if (!d->tokens || !d->lens)
        abort();
    d->tokens[d->n] = malloc(len);
    if (!d->tokens[d->n])
        abort();
    memcpy(d->tokens[d->n], tok, len);
    d->lens[d->n++] = len;
}

/* A directory (afl-fuzz -x DIR): each regular file is one token, its whole contents (at
 * most FZ_DICT_FILE_MAX bytes, as AFL++ limits them). */
static int load_dir(struct fz_dict *d, const char *path, char *err, size_t err_size)
{
    DIR *dir = opendir(path);
    if (!dir) {
        snprintf(err, err_size, "cannot read dictionary directory %s: %s", path, strerror(errno));
        return -1;
    }
    for (struct dirent *e; (e = readdir(dir));) {
        char file[PATH_MAX + 300];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (e->d_name[0] == '.' || stat(file, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size == 0 || st.st_size > FZ_DICT_FILE_MAX)
            continue;
        uint8_t tok[FZ_DICT_FILE_MAX];
        FILE *f = fopen(file, "rb");
        size_t n = f ? fread(tok, 1, sizeof tok, f) : 0;
        if (f)
            fclose(f);
        if (n)
            add_token(d, tok, (uint32_t)n);
    }
    closedir(dir);
    return 0;
}

int fz_dict_load(struct fz_dict *d, const char *path, char *err, size_t err_size)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return load_dir(d, path, err, err_size);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "cannot open dictionary %s", path);
        return -1;
    }
    char line[1024];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '#' || *p == 0)
            continue;
        uint8_t tok[1024];
        uint32_t len;
        if (parse_token(p, tok, &len) < 0) {
            snprintf(err, err_size, "%s:%u: not a token", path, lineno);
            fclose(f);
            return -1;
        }
        add_token(d, tok, len);
    }
    fclose(f);
    return 0;
}

void fz_dict_free(struct fz_dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->tokens[i]);
    free(d->tokens);
    free(d->lens);
    memset(d, 0, sizeof *d);
}
