/* Reads the file named by its argument, writes what it read to a second file and reads
 * that back, then branches on the first byte: the linux suite marks the file symbolic
 * (symhv-agent symbolic FILE) and expects the solver to find the input that takes the
 * other way. Each read() and write() is a copy Linux makes in ring 0, interpreted by the
 * sidecar while the bytes are symbolic (page cache to user buffer, user buffer to page
 * cache and back). Static, for the linux suite. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) static int accept(const char *what)
{
    printf("check_input: %s\n", what);
    return 0;
}

int main(int argc, char **argv)
{
    char buf[64], back[64];
    int in = argc > 1 ? open(argv[1], O_RDONLY) : -1;
    ssize_t n = in < 0 ? -1 : read(in, buf, sizeof buf);
    int copy = open("/check_input.copy", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (n <= 0 || copy < 0 || pwrite(copy, buf, (size_t)n, 0) != n ||
        pread(copy, back, (size_t)n, 0) != n) {
        perror("check_input");
        return 2;
    }
    if (back[0] == '!')
        return accept("the magic is there");
    return accept("no magic");
}
