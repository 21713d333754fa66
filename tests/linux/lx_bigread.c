/* Reads a whole file of any size (a real input: kilobytes to a megabyte) by one of the
 * ways programs read files, then looks at two bytes far apart: the bug needs byte 3000
 * to be 'X' and byte 60000 to be 'Y' (in smaller files: the last byte to be 'Z').
 *   lx_bigread FILE read|fread|pread|readv|mmap|stdin
 * (stdin: the file is stdin; FILE is ignored). Exit 0, or SIGABRT for the bug. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_BYTES (2u << 20)

static size_t read_all(int fd, unsigned char *b, size_t cap)
{
    size_t got = 0;
    for (ssize_t n; got < cap && (n = read(fd, b + got, cap - got)) > 0;)
        got += (size_t)n;
    return got;
}

int main(int argc, char **argv)
{
    const char *how = argc > 2 ? argv[2] : "read";
    unsigned char *b = calloc(1, MAX_BYTES);
    size_t n = 0;
    if (!b)
        return 2;
    if (!strcmp(how, "stdin")) {
        n = read_all(0, b, MAX_BYTES);
    } else if (!strcmp(how, "fread")) {
        FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
        if (!f)
            return 2;
        n = fread(b, 1, MAX_BYTES, f);
    } else {
        int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
            return 2;
        if (!strcmp(how, "read")) {
            n = read_all(fd, b, MAX_BYTES);
        } else if (!strcmp(how, "pread")) {
            for (ssize_t k; n < MAX_BYTES && (k = pread(fd, b + n, MAX_BYTES - n, (off_t)n)) > 0;)
                n += (size_t)k;
        } else if (!strcmp(how, "readv")) {
            struct iovec iov[3] = { { b, 100 }, { b + 100, 4000 }, { b + 4100, MAX_BYTES - 4100 } };
            ssize_t k = readv(fd, iov, 3);
            n = k > 0 ? (size_t)k : 0;
        } else if (!strcmp(how, "mmap")) {
            n = st.st_size < MAX_BYTES ? (size_t)st.st_size : MAX_BYTES;
            void *m = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
            if (n && m == MAP_FAILED)
                return 2;
            if (n)
                memcpy(b, m, n);
        } else {
            return 2;
        }
    }
    printf("lx_bigread: %zu bytes by %s\n", n, how);
    fflush(stdout);
    if (n > 60000 ? b[3000] == 'X' && b[60000] == 'Y' : n > 0 && b[n - 1] == 'Z') {
        printf("lx_bigread: the bug\n");
        fflush(stdout);
        abort();
    }
    return 0;
}
