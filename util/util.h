/* Small host-side helpers shared by the VMM, the sidecar and the fuzz library: reading a
 * whole file, the one atomic file writer, a text buffer, monotonic time, and file names
 * made from guest-chosen strings. */
#ifndef UTIL_UTIL_H
#define UTIL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Write a one-line reason into err (the convention of the functions here that take
 * err and err_size); returns -1, for `return err_printf(...)`. */
int err_printf(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a whole regular file of at most max_size bytes into a new malloc'd buffer.
 * NULL on error, with a one-line reason in err. */
uint8_t *read_file(const char *path, size_t max_size, size_t *size_out, char *err,
                   size_t err_size);

/* Write dir/name atomically: a temporary file in dir, every write checked, fsync, then
 * rename. A result file is whole or absent (a SIGKILL or a full disk leaves no torn or
 * empty file under its name). 0, or -1 with errno set. */
__attribute__((warn_unused_result))
int write_file_atomic(const char *dir, const char *name, const void *data, size_t len);

/* mkdir that accepts an existing directory. 0 or -1 (errno). */
int make_dir(const char *path);

/* A growing text buffer (for files assembled in memory and written atomically). */
struct text {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory at some point: the text is incomplete */
};
void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_append(struct text *t, const char *s, size_t len);
void text_free(struct text *t);

/* A file that comes with symhv: $env_var if set, else the first of `rel` (paths relative
 * to the directory of the running executable) that exists with `mode` (access(2));
 * NULL if none does. buf holds the answer. */
const char *find_companion(const char *env_var, const char *const *rel, size_t nrel, int mode,
                           char *buf, size_t size);

/* The first index of sorted[0..n) whose value is not below key (n if none). */
size_t lower_bound_u64(const uint64_t *sorted, size_t n, uint64_t key);

/* Seconds on CLOCK_MONOTONIC. */
double now_s(void);
/* The same clock in nanoseconds (for summing short intervals). */
uint64_t now_ns(void);
/* `ms` from now on CLOCK_REALTIME: the deadline pthread_cond_timedwait takes. */
struct timespec deadline_after_ms(unsigned ms);

/* A file-name-safe copy of a guest-chosen name: letters, digits, '.', '-', '_' kept,
 * every other byte (escapes, '/', 0xff ...) becomes '_'; never empty, never starting
 * with '.'. */
void sanitize_file_name(const char *name, char *out, size_t size);

#endif
