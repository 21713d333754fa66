/* scripts/bench-explore's search-size target: an ordinary program (musl, static) that
 * reads up to 64 bytes from the file named on its command line and parses them as
 * records (type, length, value) with a handful of checks per type. No bug: many paths,
 * so the search keeps finding new ones for minutes and paths per minute compare. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static int parse_number(const uint8_t *v, unsigned n)
{
    int x = 0;
    for (unsigned i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

static int record(uint8_t type, const uint8_t *v, unsigned n)
{
    switch (type) {
    case 1: /* a decimal number in a range */
        return parse_number(v, n) > 100 ? 2 : 1;
    case 2: { /* a checksummed pair */
        if (n < 3)
            return 0;
        return (uint8_t)(v[0] + v[1]) == v[2] ? 3 : 1;
    }
    case 3: /* flags */
        if (n < 1)
            return 0;
        return (v[0] & 0x80 ? 1 : 0) + (v[0] & 0x01 ? 2 : 0) + (v[0] & 0x10 ? 4 : 0);
    case 4: /* a name */
        return n >= 4 && memcmp(v, "name", 4) == 0 ? 5 : 1;
    case 5: { /* a little-endian length that must agree */
        if (n < 2)
            return 0;
        unsigned want = v[0] | v[1] << 8;
        return want == n ? 6 : want < n ? 2 : 1;
    }
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    uint8_t in[64];
    size_t len = fread(in, 1, sizeof in, f);
    fclose(f);
    unsigned score = 0, pos = 0, records = 0;
    while (pos + 2 <= len && records < 8) {
        uint8_t type = in[pos], n = in[pos + 1];
        if (n > len - pos - 2)
            break;
        score += (unsigned)record(type, in + pos + 2, n);
        pos += 2u + n;
        records++;
    }
    printf("%u records, score %u\n", records, score);
    return 0;
}
