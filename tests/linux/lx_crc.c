/* A CRC-32 computed with one branch per bit, compared with the input's last four bytes:
 * 32 symbolic branches before the compare that matters. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned char in[8] = { 0 };
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f)
        return 2;
    fread(in, 1, sizeof in, f);
    fclose(f);
    uint32_t crc = 0xffffffff;
    for (int i = 0; i < 4; i++) {
        crc ^= in[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    crc = ~crc;
    uint32_t want;
    memcpy(&want, in + 4, 4);
    if (crc == want && in[0] == 'C') {
        puts("crc ok");
        fflush(stdout);
        *(volatile int *)0 = 1;
    }
    puts("bad crc");
    return 0;
}
