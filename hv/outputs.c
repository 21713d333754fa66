#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void outputs_init(struct outputs *o, const char *dir, bool numbered)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    snprintf(o->dir, sizeof o->dir, "%s", dir ? dir : "");
    o->numbered = numbered && o->dir[0];
}

#define MAX_NUMBERED 100000

/* dir-N for the first N whose mkdir succeeds (concurrent runs each get their own), then
 * symhv-last -> it beside it (replaced atomically). 0, or -1 with errno. */
static int make_numbered_dir(struct outputs *o)
{
    char base[PATH_MAX], path[PATH_MAX];
    snprintf(base, sizeof base, "%s", o->dir);
    for (unsigned n = 0; n < MAX_NUMBERED; n++) {
        if (snprintf(path, sizeof path, "%s-%u", base, n) >= (int)sizeof path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (mkdir(path, 0755) == 0) {
            snprintf(o->dir, sizeof o->dir, "%s", path);
            char link_tmp[PATH_MAX + 16], target[PATH_MAX];
            const char *slash = strrchr(path, '/');
            snprintf(target, sizeof target, "%s", slash ? slash + 1 : path);
            int plen = slash ? (int)(slash - path + 1) : 0;
            snprintf(link_tmp, sizeof link_tmp, "%.*ssymhv-last.%d", plen, path, (int)getpid());
            char link_path[PATH_MAX + 16];
            snprintf(link_path, sizeof link_path, "%.*ssymhv-last", plen, path);
            unlink(link_tmp);
            if (symlink(target, link_tmp) < 0 || rename(link_tmp, link_path) < 0) {
                hv_error_errno("cannot point %s at %s", link_path, path);
                unlink(link_tmp);
            }
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

const char *outputs_dir(struct outputs *o)
{
    pthread_mutex_lock(&o->lock);
    const char *d = o->dir;
    pthread_mutex_unlock(&o->lock);
    return d;
}

int outputs_write(struct outputs *o, const char *name, const void *data, size_t len)
{
    pthread_mutex_lock(&o->lock);
    int rc = -1;
    if (!o->dir[0]) {
        rc = 0; /* a run without an output directory */
    } else if (!o->created && (o->numbered ? make_numbered_dir(o) : make_dir(o->dir)) < 0) {
        if (!o->failed)
            hv_error_errno("cannot create output directory %s", o->dir);
        o->failed = true;
    } else {
        o->created = true;
        /* "SUB/NAME": into the subdirectory SUB, made when first used */
        char sub[PATH_MAX + 64];
        const char *slash = strchr(name, '/');
        if (slash && snprintf(sub, sizeof sub, "%s/%.*s", o->dir, (int)(slash - name), name) <
                         (int)sizeof sub && make_dir(sub) == 0)
            rc = write_file_atomic(sub, slash + 1, data, len);
        else if (!slash)
            rc = write_file_atomic(o->dir, name, data, len);
        if (rc < 0) {
            hv_error_errno("cannot write %s/%s", o->dir, name);
            o->failed = true;
        }
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

void outputs_name(char *out, size_t size, const char *prefix, const char *input_name,
                  const char *suffix)
{
    char safe[128];
    sanitize_file_name(input_name, safe, sizeof safe);
    snprintf(out, size, "%s%s%s", prefix, safe, suffix);
}

bool outputs_failed(struct outputs *o)
{
    pthread_mutex_lock(&o->lock);
    bool f = o->failed;
    pthread_mutex_unlock(&o->lock);
    return f;
}
