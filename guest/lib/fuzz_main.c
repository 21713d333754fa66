/* The libFuzzer harness wrapper: turns a target's LLVMFuzzerTestOneInput(data, size)
 * into a program for symhv. The snapshot is taken in symhv_fuzz_start; every execution
 * resumes there with a new input and ends in symhv_fuzz_end (or a crash). Built by
 * scripts/symhv-build-fuzzer. Under `symhv replay FILE` it runs once on FILE. */
#include "guest.h"
#include "symhv/agent.h"
#include "symhv/coverage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t input[1u << 20] __attribute__((aligned(4096)));
/* The input's length as symhv writes it (symhv_fuzz_length): a page of its own, since
 * in a concolic run the page traps */
static union {
    volatile struct symhv_fuzz_length l;
    uint8_t page[4096];
} input_length __attribute__((aligned(4096)));

int main(void)
{
    if (LLVMFuzzerInitialize) {
        int argc = 0;
        char **argv = NULL;
        LLVMFuzzerInitialize(&argc, &argv);
    }
    long max_len = guest_arg("max_len", 4096);
    if (max_len <= 0 || max_len > (long)sizeof input)
        max_len = sizeof input;
    long n = symhv_fuzz_start_driver(input, (size_t)max_len, symhv_coverage_map,
                                     sizeof symhv_coverage_map, &symhv_cmplog,
                                     sizeof symhv_cmplog, &input_length.l);
    if (n < 0) {
        printf("fuzz: symhv_fuzz_start failed (%ld)\n", n);
        return 1;
    }
    size_t size = (size_t)n;
    int status = LLVMFuzzerTestOneInput(input, size);
    symhv_fuzz_end(status);
    return status;
}
