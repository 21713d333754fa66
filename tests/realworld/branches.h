/* The parser of the realworld AFL++ programs (afl_branches.c, afl_persistent.c): byte
 * ranges that random mutation reaches within a few hundred executions, then a four-byte
 * chain to an abort(). */
#include <stdio.h>
#include <stdlib.h>

static int classify(unsigned char c)
{
    if (c < 0x20)
        return 0;
    if (c < 0x40)
        return 1;
    if (c < 0x80)
        return 2;
    return 3;
}

static void parse(const unsigned char *b, size_t n)
{
    int kinds[4] = { 0 };
    for (size_t i = 0; i < n && i < 8; i++)
        kinds[classify(b[i])]++;
    if (kinds[0] > 2)
        puts("control");
    if (kinds[3] > 1)
        puts("high");
    if (n >= 4 && b[0] == 'F' && b[1] == 'U' && b[2] == 'Z' && b[3] == 'Z')
        abort();
    printf("%zu bytes: %d %d %d %d\n", n, kinds[0], kinds[1], kinds[2], kinds[3]);
}
