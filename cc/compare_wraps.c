/* The compare log for the library calls that compare memory: symhv-cc links the user's
 * code with --wrap=memcmp (and the others here), so the user's calls come here, are
 * logged (symhv_cmplog_strings: their operands become input-to-state candidates) and go
 * on to the libc's function. libc's own calls are not wrapped. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "symhv/coverage.h"

int __real_strcmp(const char *a, const char *b);
int __real_strncmp(const char *a, const char *b, size_t n);
int __real_strcasecmp(const char *a, const char *b);
int __real_strncasecmp(const char *a, const char *b, size_t n);
char *__real_strstr(const char *hay, const char *needle);

static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

/* Both operands' bytes up to the shorter string's end (and its NUL). */
static void log_strings(const char *a, const char *b, size_t max)
{
    size_t la = bounded_len(a, max), lb = bounded_len(b, max);
    symhv_cmplog_strings(a, la, b, lb + (lb < max));
}

/* memcmp and bcmp: both operands' n bytes */
#define WRAP_MEMORY_COMPARE(name)                                                         \
    int __real_##name(const void *a, const void *b, size_t n);                             \
    int __wrap_##name(const void *a, const void *b, size_t n)                              \
    {                                                                                     \
        symhv_cmplog_strings(a, n, b, n);                                                 \
        return __real_##name(a, b, n);                                                    \
    }
WRAP_MEMORY_COMPARE(memcmp)
WRAP_MEMORY_COMPARE(bcmp)

int __wrap_strcmp(const char *a, const char *b)
{
    log_strings(a, b, SYMHV_CMPLOG_BYTES);
    return __real_strcmp(a, b);
}

int __wrap_strncmp(const char *a, const char *b, size_t n)
{
    log_strings(a, b, n < SYMHV_CMPLOG_BYTES ? n : SYMHV_CMPLOG_BYTES);
    return __real_strncmp(a, b, n);
}

int __wrap_strcasecmp(const char *a, const char *b)
{
    log_strings(a, b, SYMHV_CMPLOG_BYTES);
    return __real_strcasecmp(a, b);
}

int __wrap_strncasecmp(const char *a, const char *b, size_t n)
{
    log_strings(a, b, n < SYMHV_CMPLOG_BYTES ? n : SYMHV_CMPLOG_BYTES);
    return __real_strncasecmp(a, b, n);
}

char *__wrap_strstr(const char *hay, const char *needle)
{
    /* the needle is what the input should hold: logged against the haystack's start */
    log_strings(hay, needle, SYMHV_CMPLOG_BYTES);
    return __real_strstr(hay, needle);
}
