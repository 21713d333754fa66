/* Edge coverage for fuzz targets compiled with -fsanitize-coverage=trace-pc (GCC and
 * clang call this at every basic block): AFL's scheme, map[hash(prev) ^ hash(cur)]++.
 * The map's address goes to symhv_fuzz_start; symhv reads it after each execution. */
#include <stdint.h>

#include "symhv/coverage.h"

uint8_t symhv_coverage_map[SYMHV_COVERAGE_MAP_SIZE] __attribute__((aligned(4096)));
static uintptr_t previous_block; /* shared by threads: a race only blurs the edge */

void __sanitizer_cov_trace_pc(void)
{
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t block = (pc ^ (pc >> 16)) * 0x9e3779b1u;
    symhv_coverage_map[(block ^ previous_block) & (SYMHV_COVERAGE_MAP_SIZE - 1)]++;
    previous_block = block >> 1;
}
