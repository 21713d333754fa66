/* A 12-character password checked with the libc's strcmp (musl: a byte loop; glibc: its
 * SSE2 version), read from the file argv[1]. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char buf[32] = { 0 };
    FILE *f = fopen(argc > 1 ? argv[1] : "/input", "rb");
    if (!f)
        return 2;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (strcmp(buf, "s3cr3t_p4ss!") == 0) {
        puts("access granted");
        fflush(stdout);
        *(volatile int *)0 = 1;
    }
    puts("access denied");
    return 0;
}
