/* A switch the compiler turns into a jump table; one case crashes. */
#include <stdio.h>

__attribute__((noinline)) static int dispatch(int op, int x)
{
    switch (op) {
    case 0: return x + 1;
    case 1: return x * 3;
    case 2: return x - 7;
    case 3: return x ^ 0x55;
    case 4: return x << 2;
    case 5: return x | 0x40;
    case 6: return -x;
    case 7: *(volatile int *)0 = 1; return 0;
    case 8: return x | 1;
    case 9: return x & 0xf0;
    default: return 0;
    }
}

int main(int argc, char **argv)
{
    unsigned char in[4] = { 0 };
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f)
        return 2;
    fread(in, 1, sizeof in, f);
    fclose(f);
    volatile int r = dispatch(in[0] % 10, in[1]);
    (void)r;
    puts("dispatched");
    return 0;
}
