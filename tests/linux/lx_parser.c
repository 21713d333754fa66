/* A parser with a bug behind a magic value and a checksum: what --sym-file finds, without
 * changing the program. argv[1] is the file to parse (or stdin with "-"). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    unsigned char buf[64] = { 0 };
    int fd = argc > 1 && strcmp(argv[1], "-") ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0) {
        perror("open");
        return 2;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 8) {
        printf("short input\n");
        return 0;
    }
    if (memcmp(buf, "SYMH", 4) == 0) {
        printf("magic ok\n");
        fflush(stdout);
        if (buf[4] + buf[5] == 0x90) {
            printf("checksum ok\n");
            fflush(stdout);
            *(volatile int *)0 = 1; /* the bug */
        }
    }
    printf("done\n");
    return 0;
}
