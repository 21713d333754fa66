/* Maps the file named by its argument and branches on its first byte: the linux suite
 * marks the file symbolic (symhv-agent symbolic FILE) and expects the solver to find
 * the input that takes the other way. It maps rather than reads the file, so the
 * symbolic bytes reach it without a copy in ring 0. Static, for the linux suite. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((noinline)) static int accept(const char *what)
{
    printf("check_input: %s\n", what);
    return 0;
}

int main(int argc, char **argv)
{
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
    const volatile char *buf = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) {
        perror("check_input");
        return 2;
    }
    if (buf[0] == '!')
        return accept("the magic is there");
    return accept("no magic");
}
