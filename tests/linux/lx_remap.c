/* A file's bytes read into a mapping of more than 1 MiB (as a fuzz driver's input
 * buffer), the mapping let go and mapped again at the same place: it reads zero, natively
 * and in a concolic run alike. symhv's kernel zeroes the old mapping in one piece; the
 * symbolic bytes there must go with it (they once stayed when the piece was larger than
 * the sidecar takes at once, and the new mapping read the old input). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE ((1u << 20) + 4096)

int main(int argc, char **argv)
{
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0)
        return 2;
    unsigned char *a = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return 2;
    if (read(fd, a, 64) < 8)
        return 0;
    if (munmap(a, SIZE) != 0)
        return 2;
    unsigned char *b = mmap(a, SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (b == MAP_FAILED)
        return 2;
    for (int i = 0; i < 8; i++)
        if (b[i] != 0) {
            printf("remap: byte %d of the new mapping is %d, not 0\n", i, b[i]);
            fflush(stdout);
            abort();
        }
    puts("remap: the new mapping reads zero");
    return 0;
}
