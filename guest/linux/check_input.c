/* Reads the file named by its argument and branches on its first byte: the linux
 * suite marks the file symbolic (symhv-agent symbolic FILE) and expects the solver to
 * find the input that takes the other way. Static, for the linux suite's Linux. */
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
    char buf[8] = { 0 };
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
    if (fd < 0 || read(fd, buf, sizeof buf) < 2) {
        perror("check_input");
        return 2;
    }
    if (buf[0] == '!')
        return accept("the magic is there");
    return accept("no magic");
}
