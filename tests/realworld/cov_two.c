/* A program of two symbolic sources for the coverage report's test (an argument and a
 * file, as KLEE users give them): each marked line needs its part of the test case. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char b[8] = { 0 };
    FILE *f = argc > 2 ? fopen(argv[2], "rb") : NULL;
    if (!f || fread(b, 1, sizeof b, f) < 4)
        return 3;
    if (strcmp(argv[1], "-x") == 0) {
        puts("flag"); /* the argument */
        if (memcmp(b, "KLEE", 4) == 0)
            puts("both"); /* the argument and the file */
    }
    return 0;
}
