/* KLEE's habit: a symbolic argument and a symbolic file at once, and no seed. The bug
 * needs both: argv[1] is "-x" and the file starts with "KLEE". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    char buf[8] = { 0 };
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) < 4)
        return 3;
    if (strcmp(argv[1], "-x") == 0 && memcmp(buf, "KLEE", 4) == 0)
        abort();
    return 0;
}
