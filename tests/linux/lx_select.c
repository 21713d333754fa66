/* An `if` the compiler turns into cmov: a limit chosen without a branch, then a copy
 * that overflows a buffer when the large limit is chosen. */
#include <stdio.h>

int main(int argc, char **argv)
{
    unsigned char in[4] = { 0 };
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f)
        return 2;
    fread(in, 1, sizeof in, f);
    fclose(f);
    int limit = in[0] > 200 ? 64 : 16;
    volatile char buf[16];
    for (int i = 0; i < limit; i++) {
        if (i >= 16)
            *(volatile int *)0 = 1; /* the overflow, made loud */
        buf[i] = 0;
    }
    puts("copied");
    return 0;
}
