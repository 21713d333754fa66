#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

void outputs_init(struct outputs *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    snprintf(o->dir, sizeof o->dir, "%s", dir ? dir : "");
}

int outputs_write(struct outputs *o, const char *name, const void *data, size_t len)
{
    pthread_mutex_lock(&o->lock);
    int rc = -1;
    if (!o->dir[0]) {
        rc = 0; /* a run without an output directory */
    } else if (!o->created && make_dir(o->dir) < 0) {
        if (!o->failed)
            hv_error_errno("cannot create output directory %s", o->dir);
        o->failed = true;
    } else {
        o->created = true;
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
