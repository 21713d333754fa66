/* A division by a difference of input bytes, with no branch in front of it. */
#include <stdio.h>

int main(int argc, char **argv)
{
    unsigned char in[4] = { 1, 2, 3, 4 };
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f)
        return 2;
    fread(in, 1, sizeof in, f);
    fclose(f);
    volatile int a = in[0] + 1000, b = (int)in[1] - (int)in[2];
    volatile int q = a / b;
    (void)q;
    puts("divided");
    return 0;
}
