/* An AFL++ harness in persistent mode with shared-memory test cases, written as AFL++'s
 * documentation writes one (__AFL_FUZZ_INIT, __AFL_INIT, __AFL_LOOP,
 * __AFL_FUZZ_TESTCASE_BUF/LEN), around the parser of afl_branches.c (branches.h).
 * Without afl-fuzz's fork server and its test-case memory, AFL++'s runtime runs the loop
 * once on the test case it reads from stdin: under symhv, one pass from the snapshot per
 * execution; the program says how many passes it made. */
#include <unistd.h> /* read(), in AFL++'s __AFL_FUZZ_TESTCASE_LEN */

#include "branches.h"

__AFL_FUZZ_INIT();

int main(void)
{
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF; /* after __AFL_INIT, before the loop */
    int passes = 0;
    while (__AFL_LOOP(10000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        passes++;
        parse(buf, len > 0 ? (size_t)len : 0);
    }
    printf("passes %d\n", passes);
    return 0;
}
