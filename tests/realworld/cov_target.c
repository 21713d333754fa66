/* A program for the coverage report's test: what the queue's inputs reach is marked
 * "reached", what none of them reaches "not reached". */
#include <stdio.h>

int main(int argc, char **argv)
{
    char b[8] = { 0 };
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f || fread(b, 1, sizeof b, f) < 1)
        return 2;
    if (b[0] == 'K') {
        puts("key"); /* reached */
        if (b[1] == '!')
            puts("bang"); /* not reached */
    }
    return 0;
}
