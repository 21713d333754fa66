/* AFL++ sync directories (-M/-S NAME with -o SYNC_DIR): every instance fuzzes in
 * SYNC_DIR/NAME and publishes what it keeps in SYNC_DIR/NAME/queue as id:NNNNNN,...
 * files; the others import those files from time to time. An instance remembers, per
 * other instance, the next id it has not imported, in its own .synced/<other> (a 4-byte
 * id, as AFL++ keeps it), so each file is imported once, across restarts too. */
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
#include "util.h"

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The id in an AFL++ queue file name "id:NNNNNN..." (also "id_NNNNNN" on systems that
 * forbid ':'); -1 for other names. */
static long queue_file_id(const char *name)
{
    if (strncmp(name, "id:", 3) != 0 && strncmp(name, "id_", 3) != 0)
        return -1;
    char *end;
    errno = 0;
    long id = strtol(name + 3, &end, 10);
    if (errno || end == name + 3 || id < 0 || id > UINT32_MAX - 1)
        return -1;
    return id;
}

/* A queue file name is the other instance's to choose: one with control characters
 * (a newline ...) is no AFL++ name and would break one-line messages and listings. */
static bool plain_name(const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* The other instance's queue file `name` (in the directory dfd) into buf (max_len
 * bytes): only a regular file - lstat'd first, so a FIFO, a device or a symlink is never
 * even opened, then opened without following a symlink and without blocking (what took
 * its place in between would wait for ever in open or read, or lead elsewhere) and
 * checked again on the fd - not larger than max_len. Its length, or 0 with the reason
 * counted in `skipped`. */
static size_t read_queue_file(int dfd, const char *name, uint8_t *buf, uint32_t max_len,
                              struct fz_sync_skipped *skipped)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        skipped->unreadable++;
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        skipped->not_regular++;
        return 0;
    }
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            skipped->not_regular++;
        else
            skipped->unreadable++;
        return 0;
    }
    size_t len = 0;
    if (fstat(fd, &st) < 0)
        skipped->unreadable++;
    else if (!S_ISREG(st.st_mode))
        skipped->not_regular++;
    else if ((uint64_t)st.st_size > max_len)
        skipped->too_big++;
    else {
        while (len < max_len) {
            ssize_t n = read(fd, buf + len, max_len - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (n < 0) {
                    skipped->unreadable++;
                    len = 0;
                }
                break;
            }
            len += (size_t)n;
        }
    }
    close(fd);
    return len;
}

/* Import from one other instance's queue; returns how many entries were added. Its
 * directory and queue/ are not followed when they are symlinks either. */
static int import_from(int sync_fd, const char *sync_dir, const char *own, const char *other,
                       struct fz_queue *into, uint32_t max_len, size_t max_new,
                       struct fz_sync_skipped *skipped, char *err, size_t err_size)
{
    char synced_dir[PATH_MAX], mark[2 * PATH_MAX];
    snprintf(synced_dir, sizeof synced_dir, "%s/%s/.synced", sync_dir, own);
    snprintf(mark, sizeof mark, "%s/%s", synced_dir, other);
    int other_fd = openat(sync_fd, other, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (other_fd < 0)
        return 0; /* not a directory: not an instance */
    int queue_fd = openat(other_fd, "queue", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(other_fd);
    if (queue_fd < 0)
        return 0; /* not an instance (yet) */
    uint32_t next = 0;
    FILE *m = fopen(mark, "rb");
    if (m) {
        if (fread(&next, sizeof next, 1, m) != 1)
            next = 0;
        fclose(m);
    }
    struct dirent **names;
    int n = scandirat(queue_fd, ".", &names, NULL, by_name);
    if (n < 0) {
        close(queue_fd);
        return 0;
    }
    uint8_t *buf = malloc(max_len);
    if (!buf)
        abort();
    int added = 0;
    uint32_t new_next = next;
    for (int i = 0; i < n; i++) {
        long id = queue_file_id(names[i]->d_name);
        if (id < 0 || (uint32_t)id < next || (size_t)added >= max_new)
            continue;
        size_t len = 0;
        if (!plain_name(names[i]->d_name))
            skipped->bad_name++;
        else
            len = read_queue_file(queue_fd, names[i]->d_name, buf, max_len, skipped);
        if (len > 0) {
            struct fz_entry *e = fz_queue_add(into, buf, (uint32_t)len, FZ_FROM_SYNC);
            snprintf(e->from, sizeof e->from, "%s", other);
            added++;
        }
        if ((uint32_t)id + 1 > new_next)
            new_next = (uint32_t)id + 1;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(buf);
    close(queue_fd);
    if (new_next != next) {
        if (make_dir(synced_dir) < 0 ||
            write_file_atomic(synced_dir, other, &new_next, sizeof new_next) < 0) {
            snprintf(err, err_size, "cannot write %s: %s", mark, strerror(errno));
            return -1;
        }
    }
    return added;
}

int fz_sync_import(const char *sync_dir, const char *own, struct fz_queue *into,
                   uint32_t max_len, size_t max_new, struct fz_sync_skipped *skipped,
                   char *err, size_t err_size)
{
    struct fz_sync_skipped ignored;
    if (!skipped)
        skipped = &ignored;
    memset(skipped, 0, sizeof *skipped);
    int sync_fd = open(sync_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent **names;
    int n = sync_fd < 0 ? -1 : scandirat(sync_fd, ".", &names, NULL, by_name);
    if (n < 0) {
        snprintf(err, err_size, "cannot read sync directory %s: %s", sync_dir, strerror(errno));
        if (sync_fd >= 0)
            close(sync_fd);
        return -1;
    }
    int total = 0;
    for (int i = 0; i < n && total >= 0; i++) {
        const char *other = names[i]->d_name;
        /* the name goes into this instance's file names (sync:NAME): only one AFL++ and
         * symhv accept */
        if (other[0] == '.' || strcmp(other, own) == 0 || !fz_instance_name_ok(other))
            continue;
        int got = import_from(sync_fd, sync_dir, own, other, into, max_len,
                              max_new - (size_t)total, skipped, err, err_size);
        total = got < 0 ? -1 : total + got;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    close(sync_fd);
    return total;
}

bool fz_instance_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= FZ_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}
