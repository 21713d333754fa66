/* KLEE's --sym-args: a crash only with exactly two optional arguments, "-a" then "-b";
 * one argument, or three, or others, end well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "-a") == 0 && strcmp(argv[2], "-b") == 0)
        abort();
    printf("%d arguments\n", argc - 1);
    return 0;
}
