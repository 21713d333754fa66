/* A fuzz target whose registrations are refused before they are made: symhv_fuzz_cmplog
 * and symhv_fuzz_length on addresses the VMM cannot write (EFAULT) or with a bad size
 * (EINVAL), then valid calls, which must succeed (a refused call keeps no claim), a second
 * valid call EBUSY, and after symhv_fuzz_start both EBUSY. A wrong answer crashes the
 * target: before the snapshot that ends the run, after it the execution is a crash. */
#include "guest.h"
#include "symhv/agent.h"
#include "symhv/coverage.h"

static struct symhv_cmplog cmplog __attribute__((aligned(4096)));
static uint8_t input[4096] __attribute__((aligned(4096)));
static uint8_t map[65536] __attribute__((aligned(4096)));
static volatile struct symhv_fuzz_length length __attribute__((aligned(4096)));

static void expect(long got, long want, const char *what)
{
    if (got == want)
        return;
    printf("fuzz_claims: %s answered %ld, not %ld\n", what, got, want);
    *(volatile int *)0 = 1;
}

int main(void)
{
    expect(symhv_fuzz_cmplog((void *)0xf0000000ul, sizeof cmplog), -SYMHV_EFAULT, "cmplog mmio");
    expect(symhv_fuzz_cmplog(&cmplog, sizeof cmplog - 1), -SYMHV_EINVAL, "cmplog short");
    expect(symhv_fuzz_cmplog((void *)0x8000000000000000ul, sizeof cmplog), -SYMHV_EFAULT,
           "cmplog non-canonical");
    expect(symhv_fuzz_cmplog((void *)0x100000ul, sizeof cmplog), -SYMHV_EFAULT, "cmplog kernel");
    expect(symhv_fuzz_cmplog(&cmplog, sizeof cmplog), 0, "cmplog after refusals");
    expect(symhv_fuzz_cmplog(&cmplog, sizeof cmplog), -SYMHV_EBUSY, "cmplog again");
    expect(symhv_fuzz_length((void *)0xf0000ffcul), -SYMHV_EFAULT, "length mmio");
    expect(symhv_fuzz_length((void *)0xfffffffffffffffcul), -SYMHV_EINVAL, "length wrapping");
    expect(symhv_fuzz_length((void *)&length), 0, "length after refusals");
    expect(symhv_fuzz_length((void *)&length), -SYMHV_EBUSY, "length again");
    long n = symhv_fuzz_start(input, sizeof input, map, sizeof map);
    map[input[0]]++;
    expect(symhv_fuzz_cmplog(&cmplog, sizeof cmplog), -SYMHV_EBUSY, "cmplog after start");
    expect(symhv_fuzz_length((void *)&length), -SYMHV_EBUSY, "length after start");
    if (n < 0 || (uint32_t)n != length.len)
        expect(n, length.len, "the length word");
    symhv_fuzz_end(0);
    return 0;
}
