/* Reads its input file (@@), then, for inputs starting with 'Q', one byte of stdin,
 * which under symhv fuzz/explore is empty (afl-fuzz gives a target /dev/null there). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char b[64], c;
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
    ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (n > 0 && b[0] == 'Q')
        return read(0, &c, 1) == 0 ? 0 : 1;
    return 0;
}
