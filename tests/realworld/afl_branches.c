/* An ordinary file parser built the way AFL++ users build theirs (afl-clang-fast
 * -static): its only coverage is AFL++'s own map. Byte ranges that random mutation
 * reaches within a few hundred executions, then a four-byte chain to an abort(). */
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

int main(int argc, char **argv)
{
    unsigned char b[64] = { 0 };
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f)
        return 2;
    size_t n = fread(b, 1, sizeof b, f);
    int kinds[4] = { 0 };
    for (size_t i = 0; i < n && i < 8; i++)
        kinds[classify(b[i])]++;
    if (kinds[0] > 2)
        puts("control");
    if (kinds[3] > 1)
        puts("high");
    if (b[0] == 'F' && b[1] == 'U' && b[2] == 'Z' && b[3] == 'Z')
        abort();
    printf("%zu bytes: %d %d %d %d\n", n, kinds[0], kinds[1], kinds[2], kinds[3]);
    return 0;
}
