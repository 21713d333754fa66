/* An ordinary file parser built the way AFL++ users build theirs (afl-clang-fast
 * -static): its only coverage is AFL++'s own map (the parser: branches.h). */
#include "branches.h"

int main(int argc, char **argv)
{
    unsigned char b[64] = { 0 };
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f)
        return 2;
    parse(b, fread(b, 1, sizeof b, f));
    return 0;
}
