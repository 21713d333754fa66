/* Path normalising, one copy for the VMM (the launch image's index) and symhv's kernel
 * (the Linux ABI's lookups): both name files as "/dir/name". Pure, freestanding. */
#ifndef SYMHV_PATH_H
#define SYMHV_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Append the components of p[0..len) to the absolute path out[0..*n) (out[0] == '/',
 * *n >= 1): empty and "." components dropped, ".." climbs one (never above "/") when
 * climb is true. Not NUL-terminated. 0; -1 on ".." when climb is false or a NUL byte
 * inside (out unchanged in meaning but partly written), -2 when the result would not
 * leave room for a terminating NUL in cap bytes. */
static inline int symhv_path_join(char *out, size_t *n, size_t cap, const char *p, size_t len,
                                  bool climb)
{
    for (size_t i = 0; i < len;) {
        while (i < len && p[i] == '/')
            i++;
        size_t start = i;
        while (i < len && p[i] != '/')
            i++;
        size_t k = i - start;
        if (k == 0 || (k == 1 && p[start] == '.'))
            continue;
        if (k == 2 && p[start] == '.' && p[start + 1] == '.') {
            if (!climb)
                return -1;
            while (*n > 1 && out[*n - 1] != '/')
                (*n)--;
            if (*n > 1)
                (*n)--;
            continue;
        }
        for (size_t c = start; c < i; c++)
            if (p[c] == 0)
                return -1;
        if (*n + k + 2 > cap)
            return -2;
        if (*n > 1)
            out[(*n)++] = '/';
        for (size_t c = 0; c < k; c++)
            out[(*n)++] = p[start + c];
    }
    return 0;
}

#endif
