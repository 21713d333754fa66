/* A file format's gate: a 4-byte magic, then a 2-byte version, each compared as one
 * word (as parsers do), and behind both a write through a null pointer (SIGSEGV). Reads
 * the file named by argv[1] whole (up to 64 KiB, in the 4 KiB pieces stdio would use).
 * The linux suite explores it inside Linux (symhv-agent run, a 4 KiB input file). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char buf[64 * 1024];

int main(int argc, char **argv)
{
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
    if (fd < 0) {
        perror("lx_gate: open");
        return 2;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, len + 4096 <= sizeof buf ? 4096 : sizeof buf - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    uint32_t magic;
    uint16_t version;
    if (len < 6) {
        puts("lx_gate: short file");
        return 0;
    }
    memcpy(&magic, buf, 4);
    memcpy(&version, buf + 4, 2);
    if (magic != 0x45544147u) { /* "GATE" */
        puts("lx_gate: no magic");
        return 0;
    }
    if (version != 0x3276u) { /* "v2" */
        puts("lx_gate: old version");
        return 0;
    }
    printf("lx_gate: version 2, %zu bytes\n", len);
    fflush(stdout);
    *(volatile int *)(uintptr_t)(len & 0xf) = 1; /* the bug */
    return 0;
}
