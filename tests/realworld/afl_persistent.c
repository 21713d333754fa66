/* An AFL++ harness in persistent mode with shared-memory test cases, written as AFL++'s
 * documentation writes one (__AFL_FUZZ_INIT, __AFL_INIT, __AFL_LOOP,
 * __AFL_FUZZ_TESTCASE_BUF/LEN): the same parser as afl_branches.c. Without afl-fuzz's
 * fork server and its test-case memory, AFL++'s runtime runs the loop once on the test
 * case it reads from stdin: under symhv, one pass from the snapshot per execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__AFL_FUZZ_INIT();

static int classify(unsigned char c)
{
    if (c < 0x20)
        return 0;
    if (c < 0x40)
        return 1;
    if (c < 0x80)
        return 2;
    return 3;
}

int main(void)
{
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF; /* after __AFL_INIT, before the loop */
    int passes = 0;
    while (__AFL_LOOP(10000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        int kinds[4] = { 0 };
        passes++;
        for (int i = 0; i < len && i < 8; i++)
            kinds[classify(buf[i])]++;
        if (kinds[0] > 2)
            puts("control");
        if (kinds[3] > 1)
            puts("high");
        if (len >= 4 && buf[0] == 'F' && buf[1] == 'U' && buf[2] == 'Z' && buf[3] == 'Z')
            abort();
        printf("%d bytes: %d %d %d %d\n", len, kinds[0], kinds[1], kinds[2], kinds[3]);
    }
    printf("passes %d\n", passes);
    return 0;
}
