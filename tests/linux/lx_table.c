/* Lookup tables indexed by input bytes: only one index of each table passes. */
#include <stdio.h>

static const unsigned char sbox[256] = {
#define R(i) (unsigned char)((i) * 167 + 13)
#define R8(i) R(i), R(i + 1), R(i + 2), R(i + 3), R(i + 4), R(i + 5), R(i + 6), R(i + 7)
#define R64(i) R8(i), R8(i + 8), R8(i + 16), R8(i + 24), R8(i + 32), R8(i + 40), R8(i + 48), R8(i + 56)
    R64(0), R64(64), R64(128), R64(192)
};

int main(int argc, char **argv)
{
    unsigned char in[8] = { 0 };
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f)
        return 2;
    fread(in, 1, sizeof in, f);
    fclose(f);
    if (sbox[in[0]] == 0xfe && sbox[in[1]] == 0x42) {
        puts("table hit");
        fflush(stdout);
        *(volatile int *)0 = 1;
    }
    puts("table miss");
    return 0;
}
