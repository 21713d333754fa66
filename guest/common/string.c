/* The memory and string functions the compiler may call on its own, for the
 * freestanding guest kernel and guest programs. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

/* Fuzz targets log the operands of memory and string compares that differ (the
 * compare log of guest/lib/coverage.c); in the kernel and other programs this weak
 * hook is absent. a_len: the meaningful bytes of a (at most n). */
void symhv_cmplog_strings(const void *a, unsigned long a_len, const void *b, unsigned long n)
    __attribute__((weak));

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) {
            if (symhv_cmplog_strings)
                symhv_cmplog_strings(a, n, b, n);
            return x[i] < y[i] ? -1 : 1;
        }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    const char *a0 = a, *b0 = b;
    while (*a && *a == *b) {
        a++;
        b++;
    }
    if (*a != *b && symhv_cmplog_strings)
        symhv_cmplog_strings(a0, strlen(a0), b0, strlen(b0));
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || !a[i]) {
            if (a[i] != b[i] && symhv_cmplog_strings) {
                size_t la = 0, lb = 0;
                while (la < n && a[la])
                    la++;
                while (lb < n && b[lb])
                    lb++;
                symhv_cmplog_strings(a, la, b, lb);
            }
            return (unsigned char)a[i] - (unsigned char)b[i];
        }
    }
    return 0;
}
