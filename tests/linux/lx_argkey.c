/* A key on the command line (--sym-arg: argv[1]), and with argv[2] "pipe" a system
 * call symhv's kernel lacks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[2], "pipe") == 0) {
        int fds[2];
        int r = pipe(fds);
        printf("pipe %d errno %d\n", r, r < 0 ? errno : 0);
        return 0;
    }
    const char *key = argc > 1 ? argv[1] : "";
    if (key[0] == 'K' && key[1] == 'E' && key[2] == 'Y' && key[3] == '!') {
        printf("key accepted\n");
        fflush(stdout);
        *(volatile char *)0 = 1;
    }
    printf("key refused\n");
    return 0;
}
