/* Two bugs that both end in abort(): one rip (inside the C library) for both, told apart
 * only by who called abort. An ordinary static program, no instrumentation. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void check_header(const unsigned char *b)
{
    if (b[0] == 'H' && b[1] == '!')
        abort(); /* the first bug */
}

__attribute__((noinline)) static void check_body(const unsigned char *b)
{
    if (b[2] == 'B' && b[3] == '?')
        abort(); /* the second */
}

int main(int argc, char **argv)
{
    unsigned char b[8] = { 0 };
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    if (!f || fread(b, 1, sizeof b, f) < 4)
        return 2;
    check_header(b);
    check_body(b);
    puts("fine");
    return 0;
}
