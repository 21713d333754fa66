/* A length from the input sizes a copy, then decides the bug: musl's memcpy copies with
 * rep movsq, whose count the interpreter must make concrete (len / 8 pinned on the path),
 * so the flip of `len > 40` is unsat with the whole path and found optimistically (the
 * branch alone; the next run confirms it). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    unsigned char d[64] = { 0 }, copy[64];
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0 || read(fd, d, sizeof d) < 8)
        return 0;
    unsigned len = d[6];
    if (len > 48) {
        puts("pinned: too long");
        return 0;
    }
    memcpy(copy, d + 7, len);
    if (len > 40) {
        puts("pinned: a long record");
        fflush(stdout);
        abort();
    }
    printf("pinned: %u bytes, first %d\n", len, len ? copy[0] : -1);
    return 0;
}
