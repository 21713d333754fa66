/* A file format behind three magic values, each an exact comparison: an 8-byte one, a
 * 4-byte big-endian one and a string. Mutation alone almost never passes the first;
 * AFL++'s CMPLOG (a second build with AFL_LLVM_CMPLOG=1, afl-fuzz -c) logs what each
 * comparison wanted and input-to-state puts it into the input. Reads up to 4 KiB. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char buf[4096];

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f)
        return 2;
    size_t n = fread(buf, 1, sizeof buf, f);
    if (n < 32)
        return 0;
    uint64_t magic;
    memcpy(&magic, buf, sizeof magic);
    if (magic != 0x31764b4c42504d53ull) /* "SMPBLKv1" */
        return 0;
    uint32_t version = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
    if (version != 0xc0ffee42u)
        return 0;
    if (strncmp((const char *)buf + 16, "unlock-me!", 10) != 0)
        return 0;
    puts("all three magic values matched");
    abort();
}
